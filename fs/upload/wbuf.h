/* wbuf.h: the byte buffer of a file being written, its checks, and the body it becomes. */
#ifndef FS_WBUF_H
#define FS_WBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "clappform.h"

/* Largest buffer a file may grow to in the mount (local files included): writes beyond
 * it fail with EFBIG. Records are refused far earlier, at CF_JSON_MAX_RECORD, by the
 * check below (EINVAL at close), so an oversized save is reported, not cut. */
#define WBUF_MAX ((size_t)64 << 20)

typedef struct wbuf {
    char *data;   /* NUL-terminated when non-NULL */
    size_t len, cap;
} wbuf;

/* Writes n bytes at off, growing the buffer (a gap reads as NUL bytes, as in a sparse
 * file). Returns 0, -EFBIG beyond WBUF_MAX, -EINVAL for a negative offset, -ENOMEM. */
int wbuf_write(wbuf *b, const char *src, size_t n, off_t off);
/* Cuts or extends (with NUL bytes) to size. */
int wbuf_truncate(wbuf *b, off_t size);
/* Replaces the content. */
int wbuf_set(wbuf *b, const char *src, size_t n);
void wbuf_free(wbuf *b);

/* Whether text[0..len) may be sent as a file's content: a JSON object, strictly valid
 * (cf_json_check with CF_JSON_OBJECT_ONLY | CF_JSON_NO_DUP_KEYS), at most
 * CF_JSON_MAX_RECORD bytes. Returns 0, or -EINVAL with *pb (line, column, what) filled. */
int wbuf_check(const char *text, size_t len, cf_json_problem *pb);

/* The JSON string of s (quotes and escapes), malloc'ed; NULL when out of memory. */
char *wbuf_quote(const char *s);

/* Whether s is a JSON integer literal (digits, an optional leading '-', no leading 0). */
bool wbuf_is_integer(const char *s);

/* Makes the compact body of a checked text with its identity members replaced: top-level
 * members named key1 (and key2, when non-NULL) are dropped, and written first with the
 * JSON values val1 (and val2): the body starts with key1, then key2. A NULL value drops
 * the member without writing one. Scalars are copied byte for byte. Returns 0 and a
 * malloc'ed *out, or -ENOMEM. */
int wbuf_body(const char *text, size_t len, const char *key1, const char *val1,
              const char *key2, const char *val2, char **out, size_t *out_len);

#endif /* FS_WBUF_H */
