/* json_internal.h: the strict JSON scanner and string helpers shared by the cfjson sources. */
#ifndef JSON_INTERNAL_H
#define JSON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clappform.h"

/* As cf_json_parse, but the json-c tree is made on the first cf_json_object call, if any
 * (page records: the filesystem reads their text only). json.c */
cf_json *cfi_json_parse_lazy(const char *text, size_t len, int flags, cf_json_problem *problem);

/* cf_json_member_span for up to 8 keys in one pass: start[k] and span_len[k] get key k's
 * value (0 and 0 when absent). Returns a mask of the keys found (bit k), 0 when the text
 * is not a valid object, -1 for more than 8 keys. json_text.c */
int cfi_json_member_spans(const char *text, size_t len, const char *const *keys, size_t n,
                          size_t *start, size_t *span_len);

/* Tokens of cf_jscan_next. Colons and commas are checked but never returned. */
enum cf_jtok {
    CF_JTOK_ERROR = -1, /* the text is invalid (or memory ran out); the problem is filled */
    CF_JTOK_END = 0,    /* the one value and the white space after it are consumed */
    CF_JTOK_OBJECT,     /* '{' */
    CF_JTOK_OBJECT_END, /* '}' */
    CF_JTOK_ARRAY,      /* '[' */
    CF_JTOK_ARRAY_END,  /* ']' */
    CF_JTOK_KEY,        /* a member's key (the string, quotes included) */
    CF_JTOK_STRING,     /* a string value, quotes included */
    CF_JTOK_NUMBER,
    CF_JTOK_LITERAL, /* true, false or null */
};

struct cf_jkeys;

/* A pull scanner over text[0..len): each call returns the next token of a strictly valid
 * RFC 8259 text, or CF_JTOK_ERROR at the first byte that makes the text invalid, and
 * keeps returning that error afterwards. The text is never modified and need not be
 * NUL-terminated. Tokens are only ever returned for a prefix that is valid so far: a
 * caller that needs the whole text valid must run the scanner to CF_JTOK_END. */
struct cf_jscan {
    const unsigned char *text;
    size_t len;
    size_t pos; /* next byte to look at */
    int flags;  /* CF_JSON_OBJECT_ONLY, CF_JSON_NO_DUP_KEYS, CF_JSON_WRAPPED */
    int state;
    /* Open containers after the last token: 1 inside the top-level container, so a
     * CF_JTOK_KEY at depth 1 is a top-level member and a container's own begin and end
     * tokens report the depth of its contents and of its parent respectively. */
    int depth;
    size_t tok_start; /* span of the last token in text */
    size_t tok_len;
    bool tok_escaped;                          /* the last string or key holds a backslash escape */
    unsigned char kind[CF_JSON_MAX_DEPTH + CF_JSON_WRAP_LEVELS + 1]; /* '{' or '[' of each
                                                                      * open level, from 1 */
    struct cf_jkeys *keys;    /* CF_JSON_NO_DUP_KEYS only, allocated on the first key */
    cf_json_problem *problem; /* may be NULL */
};

/* Starts a scan; problem (may be NULL) is filled when the text turns out invalid. */
void cf_jscan_init(struct cf_jscan *s, const char *text, size_t len, int flags,
                   cf_json_problem *problem);
int cf_jscan_next(struct cf_jscan *s);
/* Releases what the scan allocated; the scan may be abandoned at any token. */
void cf_jscan_fini(struct cf_jscan *s);

/* Fills *problem (when non-NULL) for text[offset], counting lines and columns. Returns -1
 * so callers can `return cf_jscan_problem(...)`. */
int cf_jscan_problem(cf_json_problem *problem, const char *text, size_t offset, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

/* Duplicate keys (CF_JSON_NO_DUP_KEYS), compared decoded; json_keys.c. */
struct cf_jkeys *cf_jkeys_new(void);
void cf_jkeys_free(struct cf_jkeys *k); /* accepts NULL */
/* An object opens, or closes, at depth (1..CF_JSON_MAX_DEPTH + CF_JSON_WRAP_LEVELS);
 * objects nest properly. */
void cf_jkeys_open(struct cf_jkeys *k, int depth);
void cf_jkeys_close(struct cf_jkeys *k, int depth);
/* Adds the valid key token[0..len) (quotes included) to the object open at depth; the
 * token must stay readable until that object closes. Returns 0 for a new key, 1 when it
 * decodes equal to an earlier key of the same object, -1 when out of memory. */
int cf_jkeys_add(struct cf_jkeys *k, int depth, const char *token, size_t len, bool escaped);

/* Decodes the contents of a valid JSON string (without its quotes, n bytes) into out,
 * which must hold n bytes: the decoded form is never longer. Escaped surrogate pairs
 * become one UTF-8 character; a lone escaped surrogate becomes its three-byte generalized
 * UTF-8 form (never produced by valid UTF-8 text, so it compares equal only to the same
 * escape). Returns the decoded length. */
size_t cf_jscan_decode(const char *raw, size_t n, char *out);

/* Whether the valid string token token[0..len) (quotes included) decodes to
 * key[0..key_len). escaped tells whether the token holds a backslash (when false the
 * bytes are compared directly). Allocates nothing. */
bool cf_jscan_string_is(const char *token, size_t len, bool escaped, const char *key,
                        size_t key_len);

#endif /* JSON_INTERNAL_H */
