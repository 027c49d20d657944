/* json_text.c: rendering JSON text (pretty, compact) and cutting exact spans out of it. */
#include <stdlib.h>
#include <string.h>

#include "json_internal.h"

/* Choices where the header is silent:
 * - Rendering works from the text's tokens only, so every string keeps its escapes as
 *   written and every number its digits (big integers, -0, 1E400 unchanged).
 * - id (pretty) and first_key (compact) are written as JSON strings: '"' and '\\'
 *   escaped, control characters as \u00XX, everything else (UTF-8 included) as is; a
 *   value that is not valid UTF-8 makes the call fail rather than write invalid JSON.
 * - pretty ignores id when the top-level value is not an object (there is no member to
 *   write); compact fails when first_key is given and the top-level value is not an
 *   object, since a body without the member asked for must not be sent.
 * - compact's drop_key and first_key are independent: to replace a member pass the same
 *   key to both. first_value must be valid JSON (else the call fails) and is written
 *   compactly, i.e. byte for byte when it is already compact as in "\"abc\"".
 * - Keys are compared after decoding escapes: "\u005fid" is the key _id.
 * - member_span: the last member with the key wins, as in json-c's tree; the whole text
 *   must be valid JSON, else -1.
 * - array_each: the whole text is checked first, so fn only ever sees elements of a
 *   valid array; fn may not be NULL. */

/* A growing output buffer; after a failed allocation every write is dropped and the
 * render fails at its end. One byte more than len is always free for the final NUL. */
struct out {
    char *buf;
    size_t len, cap;
    bool nomem;
};

static bool reserve(struct out *o, size_t n)
{
    size_t ncap = o->cap ? o->cap : 256;
    char *nbuf;

    if (o->nomem)
        return false;
    while (ncap - o->len <= n) {
        if (ncap > SIZE_MAX / 2) {
            o->nomem = true;
            return false;
        }
        ncap *= 2;
    }
    if (!(nbuf = realloc(o->buf, ncap))) {
        o->nomem = true;
        return false;
    }
    o->buf = nbuf;
    o->cap = ncap;
    return true;
}

/* Most tokens are short: copied with fixed-size moves (overlapping, never reading outside
 * src[0..n)) rather than a call to memcpy. */
static inline void put(struct out *o, const char *src, size_t n)
{
    char *d;

    if (n >= o->cap - o->len && !reserve(o, n))
        return;
    d = o->buf + o->len;
    o->len += n;
    if (n > 16) {
        memcpy(d, src, n);
    } else if (n >= 8) {
        memcpy(d, src, 8);
        memcpy(d + n - 8, src + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, src, 4);
        memcpy(d + n - 4, src + n - 4, 4);
    } else if (n > 0) {
        d[0] = src[0];
        d[n / 2] = src[n / 2];
        d[n - 1] = src[n - 1];
    }
}

static inline void put1(struct out *o, char c)
{
    if (1 >= o->cap - o->len && !reserve(o, 1))
        return;
    o->buf[o->len++] = c;
}

/* A newline and the indentation of the deepest level. */
static const char newline_indent[1 + 2 * CF_JSON_MAX_DEPTH] = {'\n',
                                                               [1 ... 2 * CF_JSON_MAX_DEPTH] = ' '};

struct render {
    bool pretty;
    const char *drop; /* a top-level key to leave out, or NULL */
    size_t drop_len;
    const char *first_key; /* JSON string text of a member written first, or NULL */
    size_t first_key_len;
    const char *first_value; /* its value, JSON text */
    size_t first_value_len;
    bool need_object; /* fail unless the top-level value is an object */
};

/* Starts an item (member or element) of the container at level: the comma after the
 * previous one and, when pretty, the new line and indentation. */
static inline void item(const struct render *r, struct out *o, unsigned char *has, int level)
{
    if (has[level])
        put1(o, ',');
    has[level] = 1;
    if (r->pretty)
        put(o, newline_indent, 1 + 2 * (size_t)level);
}

/* Renders text[0..len) as r says into *out; one pass of the strict scanner, so invalid
 * text fails wherever the problem is. */
static int render(const char *text, size_t len, const struct render *r, char **out, size_t *out_len)
{
    struct cf_jscan s;
    struct out o = {NULL, 0, 0, false};
    unsigned char has[CF_JSON_MAX_DEPTH + 1] = {0}; /* items written at each open level */
    bool after_key = false, dropping = false, first = true;
    const char *span;
    char *shrunk;
    int tok, rc = -1, d;

    *out = NULL;
    if (out_len)
        *out_len = 0;
    cf_jscan_init(&s, text, len, 0, NULL);
    if (len < SIZE_MAX / 4 && !reserve(&o, len + (r->pretty ? len / 2 : 0) + 64))
        goto cleanup;
    while ((tok = cf_jscan_next(&s)) > 0) {
        d = s.depth;
        span = text + s.tok_start;
        if (first && r->need_object && tok != CF_JTOK_OBJECT)
            goto cleanup;
        first = false;
        if (dropping) {
            /* A dropped member's value ends with a token back at depth 1: its scalar or
             * its closing bracket (its opening one already reports depth 2). */
            dropping = d > 1;
            continue;
        }
        switch (tok) {
        case CF_JTOK_KEY:
            if (d == 1 && r->drop &&
                cf_jscan_string_is(span, s.tok_len, s.tok_escaped, r->drop, r->drop_len)) {
                dropping = true;
                break;
            }
            item(r, &o, has, d);
            put(&o, span, s.tok_len);
            put(&o, ": ", r->pretty ? 2 : 1);
            after_key = true;
            break;
        case CF_JTOK_OBJECT:
        case CF_JTOK_ARRAY:
            if (!after_key && d > 1)
                item(r, &o, has, d - 1);
            after_key = false;
            put1(&o, *span);
            has[d] = 0;
            if (d == 1 && tok == CF_JTOK_OBJECT && r->first_key) {
                item(r, &o, has, 1);
                put(&o, r->first_key, r->first_key_len);
                put(&o, ": ", r->pretty ? 2 : 1);
                put(&o, r->first_value, r->first_value_len);
            }
            break;
        case CF_JTOK_OBJECT_END:
        case CF_JTOK_ARRAY_END:
            if (r->pretty && has[d + 1])
                put(&o, newline_indent, 1 + 2 * (size_t)d);
            put1(&o, *span);
            break;
        default:
            if (!after_key && d > 0)
                item(r, &o, has, d);
            after_key = false;
            put(&o, span, s.tok_len);
            break;
        }
    }
    if (tok != CF_JTOK_END)
        goto cleanup;
    if (r->pretty)
        put1(&o, '\n');
    if (o.nomem)
        goto cleanup;
    o.buf[o.len] = '\0';
    /* Rendered files may be kept a long time: give back a large unused tail. */
    if (o.cap - o.len > o.len / 4 + 4096 && (shrunk = realloc(o.buf, o.len + 1)) != NULL)
        o.buf = shrunk;
    *out = o.buf;
    if (out_len)
        *out_len = o.len;
    o.buf = NULL;
    rc = 0;
cleanup:
    cf_jscan_fini(&s);
    free(o.buf);
    return rc;
}

/* The JSON string text of a C string, or NULL when it is not valid UTF-8 (or memory ran
 * out). Checked after escaping, so what comes back is always a valid JSON string. */
static char *quote(const char *str, size_t *out_len)
{
    static const char hex[] = "0123456789abcdef";
    struct out o = {NULL, 0, 0, false};
    const unsigned char *p;
    char *quoted = NULL;

    put1(&o, '"');
    for (p = (const unsigned char *)str; *p; ++p) {
        if (*p == '"' || *p == '\\') {
            put1(&o, '\\');
            put1(&o, (char)*p);
        } else if (*p < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            put(&o, esc, sizeof esc);
        } else {
            put1(&o, (char)*p);
        }
    }
    put1(&o, '"');
    if (!o.nomem && cf_json_check(o.buf, o.len, 0, NULL) == 0) {
        o.buf[o.len] = '\0';
        *out_len = o.len;
        quoted = o.buf;
        o.buf = NULL;
    }
    free(o.buf);
    return quoted;
}

int cf_json_pretty(const char *text, size_t len, const char *id, char **out, size_t *out_len)
{
    struct render r = {.pretty = true};
    char *id_json = NULL;
    int rc = -1;

    if (!out)
        return -1;
    *out = NULL;
    if (out_len)
        *out_len = 0;
    if (id) {
        if (!(id_json = quote(id, &r.first_value_len)))
            goto cleanup;
        r.drop = "_id";
        r.drop_len = 3;
        r.first_key = "\"_id\"";
        r.first_key_len = 5;
        r.first_value = id_json;
    }
    rc = render(text, len, &r, out, out_len);
cleanup:
    free(id_json);
    return rc;
}

int cf_json_compact(const char *text, size_t len, const char *drop_key, const char *first_key,
                    const char *first_value, char **out, size_t *out_len)
{
    struct render r = {.pretty = false}, plain = {.pretty = false};
    char *key_json = NULL, *value_json = NULL;
    int rc = -1;

    if (!out)
        return -1;
    *out = NULL;
    if (out_len)
        *out_len = 0;
    if (drop_key) {
        r.drop = drop_key;
        r.drop_len = strlen(drop_key);
    }
    if (first_key) {
        if (!first_value || !(key_json = quote(first_key, &r.first_key_len)) ||
            render(first_value, strlen(first_value), &plain, &value_json, &r.first_value_len) < 0)
            goto cleanup;
        r.first_key = key_json;
        r.first_value = value_json;
        r.need_object = true;
    }
    rc = render(text, len, &r, out, out_len);
cleanup:
    free(key_json);
    free(value_json);
    return rc;
}

int cfi_json_member_spans(const char *text, size_t len, const char *const *keys, size_t n,
                          size_t *start, size_t *span_len)
{
    struct cf_jscan s;
    size_t key_len[8], value_start = 0;
    unsigned found = 0;
    bool first = true;
    int tok, wanted = -1;

    if (n > 8)
        return -1;
    for (size_t k = 0; k < n; k++) {
        start[k] = span_len[k] = 0;
        key_len[k] = keys[k] ? strlen(keys[k]) : 0;
    }
    /* Top-level members only: the text may wrap values (an envelope around a page). */
    cf_jscan_init(&s, text, len, CF_JSON_WRAPPED, NULL);
    while ((tok = cf_jscan_next(&s)) > 0) {
        if (first && tok != CF_JTOK_OBJECT)
            break;
        first = false;
        if (tok == CF_JTOK_KEY) {
            if (s.depth == 1) {
                wanted = -1;
                for (size_t k = 0; k < n && wanted < 0; k++)
                    if (keys[k] && cf_jscan_string_is(text + s.tok_start, s.tok_len,
                                                      s.tok_escaped, keys[k], key_len[k]))
                        wanted = (int)k;
            }
        } else if ((tok == CF_JTOK_OBJECT || tok == CF_JTOK_ARRAY) && s.depth == 2) {
            value_start = s.tok_start;
        } else if (s.depth == 1 && wanted >= 0) {
            /* a scalar member value, or the closing bracket of a container one; a key
             * repeated counts with its last value */
            found |= 1u << wanted;
            start[wanted] =
                tok == CF_JTOK_OBJECT_END || tok == CF_JTOK_ARRAY_END ? value_start : s.tok_start;
            span_len[wanted] = s.tok_start + s.tok_len - start[wanted];
            wanted = -1;
        }
    }
    cf_jscan_fini(&s);
    if (tok != CF_JTOK_END)
        found = 0;
    for (size_t k = 0; k < n; k++)
        if (!(found & (1u << k)))
            start[k] = span_len[k] = 0;
    return (int)found;
}

int cf_json_member_span(const char *text, size_t len, const char *key, size_t *start,
                        size_t *span_len)
{
    size_t st, sp;

    if (start)
        *start = 0;
    if (span_len)
        *span_len = 0;
    if (!key || cfi_json_member_spans(text, len, &key, 1, &st, &sp) <= 0)
        return -1;
    if (start)
        *start = st;
    if (span_len)
        *span_len = sp;
    return 0;
}

/* The end of the string whose opening quote is at p, in valid text. */
static size_t skip_string(const char *t, size_t len, size_t p)
{
    const char *q;
    size_t i, backslashes;

    for (++p;; p = i + 1) {
        q = memchr(t + p, '"', len - p);
        i = (size_t)(q - t);
        for (backslashes = 0; i - backslashes > p && t[i - backslashes - 1] == '\\';)
            ++backslashes;
        if (backslashes % 2 == 0)
            return i + 1;
    }
}

/* The end of the value starting at p, in valid text. */
static size_t skip_value(const char *t, size_t len, size_t p)
{
    size_t depth = 0;

    if (t[p] == '"')
        return skip_string(t, len, p);
    if (t[p] != '{' && t[p] != '[') {
        while (p < len && t[p] != ',' && t[p] != ']' && t[p] != '}' && t[p] != ' ' &&
               t[p] != '\n' && t[p] != '\r' && t[p] != '\t')
            ++p;
        return p;
    }
    for (;; ++p) {
        switch (t[p]) {
        case '"':
            p = skip_string(t, len, p) - 1;
            break;
        case '{':
        case '[':
            ++depth;
            break;
        case '}':
        case ']':
            if (--depth == 0)
                return p + 1;
            break;
        default:
            break;
        }
    }
}

static size_t skip_ws(const char *t, size_t len, size_t p)
{
    while (p < len && (t[p] == ' ' || t[p] == '\n' || t[p] == '\r' || t[p] == '\t'))
        ++p;
    return p;
}

int cf_json_array_each(const char *text, size_t len, cf_json_element_fn fn, void *ud)
{
    size_t p, end, index;
    int rc;

    /* The elements may nest CF_JSON_MAX_DEPTH deep; fn checks each one it takes. */
    if (!fn || cf_json_check(text, len, CF_JSON_WRAPPED, NULL) < 0)
        return -1;
    p = skip_ws(text, len, 0);
    if (text[p] != '[')
        return -1;
    for (index = 0, p = skip_ws(text, len, p + 1); text[p] != ']'; ++index) {
        end = skip_value(text, len, p);
        if ((rc = fn(ud, index, text + p, end - p)) != 0)
            return rc;
        p = skip_ws(text, len, end);
        if (text[p] == ',')
            p = skip_ws(text, len, p + 1);
    }
    return 0;
}
