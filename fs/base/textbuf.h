/* textbuf.h: a growable text buffer with JSON string escaping, for generated files. */
#ifndef FS_TEXTBUF_H
#define FS_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>

/* Starts zeroed ({0}). Once an allocation fails, `failed` stays set and further appends
 * do nothing; tb_take then gives NULL. */
typedef struct textbuf {
    char *data;
    size_t len, cap;
    bool failed;
} textbuf;

void tb_append(textbuf *b, const char *s, size_t len);
void tb_puts(textbuf *b, const char *s);
void tb_printf(textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as a JSON string, quotes included: ", \ and control bytes escaped (\n, \t, \u00XX),
 * bytes of invalid UTF-8 written as \ufffd, so the output is valid JSON whatever s holds.
 * NULL is written as null. */
void tb_json_str(textbuf *b, const char *s);
/* Hands over the text (NUL-terminated, *len without the NUL) and resets b; NULL when an
 * allocation failed (b is freed then). */
char *tb_take(textbuf *b, size_t *len);
void tb_free(textbuf *b);

#endif /* FS_TEXTBUF_H */
