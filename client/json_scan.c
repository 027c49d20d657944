/* json_scan.c: the strict, non-recursive RFC 8259 scanner behind cf_json_check. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_internal.h"

/* Choices where RFC 8259 leaves room or the header is silent:
 * - A UTF-8 byte order mark is refused with its own message: RFC 8259 section 8.1 says
 *   senders must not add one, and a BOM in a user's file is more likely an editor
 *   accident than intent; the user gets told rather than having it silently dropped.
 * - A lone escaped surrogate (\ud800 without a low surrogate after it, or a stray
 *   \udc00) is accepted: the grammar allows any \uXXXX, and refusing it would make some
 *   server texts unreadable. The text keeps the escape; json-c's tree holds U+FFFD.
 * - Nesting counts open containers: 256 nested arrays holding a scalar are accepted,
 *   the 257th '[' or '{' is refused.
 * - Problems point at the first byte that cannot be right: the start of a bad UTF-8
 *   sequence, the backslash of a bad escape, the '0' of a leading zero, the opening
 *   quote of a duplicate key, the top-level value under CF_JSON_OBJECT_ONLY, and the end
 *   of the text for a premature end. */

enum state {
    ST_TOP,          /* before the one value */
    ST_OBJ_FIRST,    /* after '{': a key or '}' */
    ST_OBJ_KEY,      /* after ',' in an object: a key */
    ST_COLON,        /* after a key */
    ST_MEMBER_VALUE, /* after ':' */
    ST_ARR_FIRST,    /* after '[': a value or ']' */
    ST_ARR_NEXT,     /* after ',' in an array: a value */
    ST_AFTER,        /* after a value in a container: ',' or the closing bracket */
    ST_DONE,         /* after the one value: white space only */
    ST_FAILED,
};

static const unsigned char is_ws[256] = {[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1};

/* Bytes that stand for themselves inside a string: printable ASCII but '"' and '\\'. */
static const unsigned char is_plain[256] = {
    [0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7f] = 1};

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Flags (by its high bit) each of the 8 bytes in v that needs a look inside a string:
 * below 0x20, '"', '\\' or non-ASCII. A term flags every such byte; its borrows can also
 * flag bytes after a flagged one, never before (see first_special). */
static inline uint64_t special8(uint64_t v)
{
    uint64_t q = v ^ (ONES * '"'), b = v ^ (ONES * '\\');
    return (((v - ONES * 0x20) & ~v) | ((q - ONES) & ~q) | ((b - ONES) & ~b) | v) & HIGHS;
}

/* The index of the first byte special8 flagged in the 8 bytes at p. In each of its terms
 * a wrong flag can only follow a right one (a borrow travels towards later bytes on a
 * little-endian machine), so there the lowest flag is exact; elsewhere the bytes are
 * looked at one by one. */
static inline size_t first_special(uint64_t m, const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    (void)p;
    return (size_t)__builtin_ctzll(m) >> 3;
#else
    size_t i = 0;

    (void)m;
    while (is_plain[p[i]])
        ++i;
    return i;
#endif
}

static inline bool is_digit(unsigned c)
{
    return c - '0' < 10;
}

static int hex_value(unsigned c)
{
    if (c - '0' < 10)
        return (int)(c - '0');
    c |= 0x20;
    if (c - 'a' < 6)
        return (int)(c - 'a' + 10);
    return -1;
}

/* ---- problems ------------------------------------------------------------ */

static void vproblem(cf_json_problem *pr, const char *text, size_t offset, const char *fmt,
                     va_list ap) __attribute__((format(printf, 4, 0)));

static void vproblem(cf_json_problem *pr, const char *text, size_t offset, const char *fmt,
                     va_list ap)
{
    size_t line = 1, line_start = 0;
    const char *p = text, *end = text + offset, *nl;

    if (!pr)
        return;
    while (offset > 0 && p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        ++line;
        p = nl + 1;
    }
    if (offset > 0)
        line_start = (size_t)(p - text);
    pr->line = line > INT_MAX ? INT_MAX : (int)line;
    pr->column = offset - line_start + 1 > INT_MAX ? INT_MAX : (int)(offset - line_start + 1);
    pr->offset = offset;
    vsnprintf(pr->what, sizeof pr->what, fmt, ap);
}

int cf_jscan_problem(cf_json_problem *problem, const char *text, size_t offset, const char *fmt,
                     ...)
{
    va_list ap;

    va_start(ap, fmt);
    vproblem(problem, text, offset, fmt, ap);
    va_end(ap);
    return -1;
}

/* Records the scan's problem at offset and makes the scan fail from now on. */
static int fail(struct cf_jscan *s, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct cf_jscan *s, size_t offset, const char *fmt, ...)
{
    va_list ap;

    s->state = ST_FAILED;
    s->pos = offset;
    va_start(ap, fmt);
    vproblem(s->problem, (const char *)s->text, offset, fmt, ap);
    va_end(ap);
    return CF_JTOK_ERROR;
}

/* Writes how byte c looks in a message: 'x' when printable ASCII, else byte 0xNN. */
static const char *shown(unsigned c, char buf[16])
{
    if (c > 0x20 && c < 0x7f)
        snprintf(buf, 16, "'%c'", (char)c);
    else
        snprintf(buf, 16, "byte 0x%02x", c);
    return buf;
}

/* The problem of an unexpected byte where `expected` was due, with the usual mistakes
 * (comments, single quotes, NUL) named as such. */
static int unexpected(struct cf_jscan *s, size_t p, const char *expected)
{
    const unsigned char *t = s->text;
    unsigned c = t[p];
    char buf[16];

    if (c == 0)
        return fail(s, p, "NUL byte in the text");
    if (c == '/' && p + 1 < s->len && (t[p + 1] == '/' || t[p + 1] == '*'))
        return fail(s, p, "comments are not allowed in JSON");
    if (c == '\'')
        return fail(s, p, "strings must be in double quotes, not single quotes");
    return fail(s, p, "%s, found %s", expected, shown(c, buf));
}

/* ---- strings ------------------------------------------------------------- */

/* Checks the escape whose backslash is at *q and moves *q past it. */
static int scan_escape(struct cf_jscan *s, size_t *q)
{
    const unsigned char *t = s->text;
    size_t p = *q, i;
    unsigned c;
    char buf[16];

    if (p + 1 == s->len)
        return fail(s, s->len, "unexpected end of input inside string");
    c = t[p + 1];
    switch (c) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        *q = p + 2;
        return 0;
    case 'u':
        for (i = 2; i < 6; ++i) {
            if (p + i == s->len)
                return fail(s, s->len, "unexpected end of input inside string");
            if (hex_value(t[p + i]) < 0)
                return fail(s, p, "invalid \\u escape in string (expected 4 hex digits)");
        }
        *q = p + 6;
        return 0;
    case 0:
        return fail(s, p + 1, "NUL byte in string");
    default:
        return fail(s, p, "invalid escape in string: %s after '\\'", shown(c, buf));
    }
}

/* Checks the UTF-8 sequence whose lead byte (>= 0x80) is at *q and moves *q past it
 * (Unicode table 3-7: no overlongs, no surrogates, nothing above U+10FFFF). */
static int scan_utf8(struct cf_jscan *s, size_t *q)
{
    const unsigned char *t = s->text;
    size_t p = *q, n, i;
    unsigned c = t[p], lo = 0x80, hi = 0xbf, b;

    if (c < 0xc0)
        return fail(s, p,
                    "invalid UTF-8 byte 0x%02x in string (continuation byte without a "
                    "lead byte)",
                    c);
    if (c < 0xc2)
        return fail(s, p, "invalid UTF-8 in string: overlong encoding (lead byte 0x%02x)", c);
    if (c < 0xe0) {
        n = 1;
    } else if (c < 0xf0) {
        n = 2;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c < 0xf5) {
        n = 3;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        return fail(s, p, "invalid UTF-8 byte 0x%02x in string", c);
    }
    for (i = 1; i <= n; ++i) {
        if (p + i == s->len)
            return fail(s, s->len, "unexpected end of input inside string");
        b = t[p + i];
        if (b < 0x80 || b > 0xbf)
            return fail(s, p,
                        "invalid UTF-8 in string: truncated sequence (byte 0x%02x after "
                        "lead byte 0x%02x)",
                        b, c);
        if (i == 1 && (b < lo || b > hi)) {
            if (c == 0xed)
                return fail(s, p, "invalid UTF-8 in string: encoded surrogate (U+D800..U+DFFF)");
            if (c == 0xf4)
                return fail(s, p, "invalid UTF-8 in string: code point above U+10FFFF");
            return fail(s, p, "invalid UTF-8 in string: overlong encoding (lead byte 0x%02x)", c);
        }
    }
    *q = p + n + 1;
    return 0;
}

/* Checks the string whose opening quote is at p; *end is the offset past its closing
 * quote. Runs of plain ASCII are skipped 8 bytes at a time. */
static int scan_string(struct cf_jscan *s, size_t p, size_t *end, bool *escaped)
{
    const unsigned char *t = s->text;
    size_t len = s->len, q = p + 1;
    bool esc = false;
    uint64_t v, m;
    unsigned c;

    for (;;) {
        if (len - q >= 8) {
            memcpy(&v, t + q, 8);
            if ((m = special8(v)) == 0) {
                q += 8;
                continue;
            }
            q += first_special(m, t + q);
        } else {
            while (q < len && is_plain[t[q]])
                ++q;
            if (q == len)
                return fail(s, len, "unexpected end of input inside string");
        }
        c = t[q];
        if (c == '"')
            break;
        if (c == '\\') {
            esc = true;
            if (scan_escape(s, &q) < 0)
                return CF_JTOK_ERROR;
        } else if (c >= 0x80) {
            if (scan_utf8(s, &q) < 0)
                return CF_JTOK_ERROR;
        } else if (c == 0) {
            return fail(s, q, "NUL byte in string");
        } else {
            return fail(s, q, "control character 0x%02x in string (must be escaped)", c);
        }
    }
    *end = q + 1;
    *escaped = esc;
    return 0;
}

/* ---- numbers and literals ------------------------------------------------ */

/* Checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at p (a '-' or a digit). */
static int scan_number(struct cf_jscan *s, size_t p, size_t *end)
{
    const unsigned char *t = s->text;
    size_t len = s->len, q = p;

    if (t[q] == '-') {
        if (++q == len)
            return fail(s, len, "unexpected end of input in number");
        if (!is_digit(t[q]))
            return fail(s, q, "'-' must be followed by a digit");
    }
    if (t[q] == '0') {
        if (++q < len && is_digit(t[q]))
            return fail(s, q - 1, "number has leading zero");
    } else {
        while (q < len && is_digit(t[q]))
            ++q;
    }
    if (q < len && t[q] == '.') {
        if (++q == len)
            return fail(s, len, "unexpected end of input in number");
        if (!is_digit(t[q]))
            return fail(s, q, "expected a digit after the decimal point");
        while (q < len && is_digit(t[q]))
            ++q;
    }
    if (q < len && (t[q] | 0x20) == 'e') {
        if (++q < len && (t[q] == '+' || t[q] == '-'))
            ++q;
        if (q == len)
            return fail(s, len, "unexpected end of input in number");
        if (!is_digit(t[q]))
            return fail(s, q, "expected a digit in the exponent");
        while (q < len && is_digit(t[q]))
            ++q;
    }
    *end = q;
    return 0;
}

/* The literal starting with t[p] ('t', 'f' or 'n'), or NULL when the text has none. */
static const char *literal_at(const struct cf_jscan *s, size_t p, size_t *n)
{
    const char *word = s->text[p] == 't' ? "true" : s->text[p] == 'f' ? "false" : "null";

    *n = strlen(word);
    if (s->len - p >= *n && memcmp(s->text + p, word, *n) == 0)
        return word;
    return NULL;
}

/* ---- the grammar --------------------------------------------------------- */

static int token(struct cf_jscan *s, int tok, size_t start, size_t end)
{
    s->tok_start = start;
    s->tok_len = end - start;
    s->pos = end;
    return tok;
}

static void after_value(struct cf_jscan *s)
{
    s->state = s->depth ? ST_AFTER : ST_DONE;
}

static int open_container(struct cf_jscan *s, size_t p, unsigned c)
{
    int max = CF_JSON_MAX_DEPTH + (s->flags & CF_JSON_WRAPPED ? CF_JSON_WRAP_LEVELS : 0);

    if (s->depth == max)
        return fail(s, p, "nesting deeper than %d", max);
    s->kind[++s->depth] = (unsigned char)c;
    if (c == '[') {
        s->state = ST_ARR_FIRST;
        return token(s, CF_JTOK_ARRAY, p, p + 1);
    }
    s->state = ST_OBJ_FIRST;
    if (s->flags & CF_JSON_NO_DUP_KEYS) {
        if (!s->keys && !(s->keys = cf_jkeys_new()))
            return fail(s, p, "out of memory checking for duplicate keys");
        cf_jkeys_open(s->keys, s->depth);
    }
    return token(s, CF_JTOK_OBJECT, p, p + 1);
}

static int close_container(struct cf_jscan *s, size_t p)
{
    int tok = s->kind[s->depth] == '{' ? CF_JTOK_OBJECT_END : CF_JTOK_ARRAY_END;

    if (tok == CF_JTOK_OBJECT_END && s->keys)
        cf_jkeys_close(s->keys, s->depth);
    --s->depth;
    after_value(s);
    return token(s, tok, p, p + 1);
}

/* What the top-level value starting at p is, for CF_JSON_OBJECT_ONLY; NULL when no
 * value starts there (the syntax error is reported instead). */
static const char *top_kind(const struct cf_jscan *s, size_t p)
{
    unsigned c = s->text[p];
    size_t n;

    if (c == '[')
        return "an array";
    if (c == '"')
        return "a string";
    if (c == '-' || is_digit(c))
        return "a number";
    if (c == 't' || c == 'f' || c == 'n')
        return literal_at(s, p, &n);
    return NULL;
}

static int value(struct cf_jscan *s, size_t p)
{
    const unsigned char *t = s->text;
    unsigned c = t[p];
    const char *what;
    size_t end = 0, n;
    bool esc;

    if (s->state == ST_TOP && c != '{' && (s->flags & CF_JSON_OBJECT_ONLY) &&
        (what = top_kind(s, p)) != NULL)
        return fail(s, p, "top-level value is %s, not an object", what);
    switch (c) {
    case '{':
    case '[':
        return open_container(s, p, c);
    case '"':
        if (scan_string(s, p, &end, &esc) < 0)
            return CF_JTOK_ERROR;
        s->tok_escaped = esc;
        after_value(s);
        return token(s, CF_JTOK_STRING, p, end);
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        if (scan_number(s, p, &end) < 0)
            return CF_JTOK_ERROR;
        after_value(s);
        return token(s, CF_JTOK_NUMBER, p, end);
    case 't':
    case 'f':
    case 'n':
        if (literal_at(s, p, &n)) {
            after_value(s);
            return token(s, CF_JTOK_LITERAL, p, p + n);
        }
        if (s->len - p < n && memcmp(t + p,
                                     c == 't'   ? "true"
                                     : c == 'f' ? "false"
                                                : "null",
                                     s->len - p) == 0)
            return fail(s, s->len, "unexpected end of input in literal");
        return fail(s, p, "invalid literal (expected true, false or null)");
    case '+':
        return fail(s, p, "numbers may not start with '+'");
    case '.':
        return fail(s, p, "numbers need a digit before the decimal point");
    case ']':
        if (s->state == ST_ARR_NEXT)
            return fail(s, p, "trailing comma before ']'");
        break;
    default:
        if ((c | 0x20) - 'a' < 26)
            return fail(s, p, "invalid literal (expected true, false or null)");
        if (p == 0 && c == 0xef && s->len >= 3 && t[1] == 0xbb && t[2] == 0xbf)
            return fail(s, p, "UTF-8 byte order mark (BOM) is not allowed");
        break;
    }
    return unexpected(s, p, "expected a value");
}

/* A duplicate key is shown as written, cut at a character boundary to fit the message. */
static int duplicate(struct cf_jscan *s, size_t p, size_t end)
{
    const char *raw = (const char *)s->text + p + 1;
    size_t n = end - p - 2, shown_len = n;

    if (shown_len > 100) {
        shown_len = 100;
        while (shown_len > 0 && (raw[shown_len] & 0xc0) == 0x80)
            --shown_len;
    }
    return fail(s, p, "duplicate key \"%.*s\"%s", (int)shown_len, raw, shown_len < n ? "..." : "");
}

static int key(struct cf_jscan *s, size_t p)
{
    size_t end;
    bool esc;
    int dup;

    if (scan_string(s, p, &end, &esc) < 0)
        return CF_JTOK_ERROR;
    if (s->keys) {
        dup = cf_jkeys_add(s->keys, s->depth, (const char *)s->text + p, end - p, esc);
        if (dup < 0)
            return fail(s, p, "out of memory checking for duplicate keys");
        if (dup > 0)
            return duplicate(s, p, end);
    }
    s->tok_escaped = esc;
    s->state = ST_COLON;
    return token(s, CF_JTOK_KEY, p, end);
}

static int at_end(struct cf_jscan *s)
{
    bool obj = s->depth > 0 && s->kind[s->depth] == '{';
    size_t len = s->len;

    switch (s->state) {
    case ST_DONE:
        s->pos = len;
        return CF_JTOK_END;
    case ST_TOP:
        return fail(s, len, len ? "no JSON value, only white space" : "empty input");
    case ST_OBJ_FIRST:
        return fail(s, len, "unexpected end of input inside object (expected a key or '}')");
    case ST_OBJ_KEY:
        return fail(s, len, "unexpected end of input inside object (expected a key)");
    case ST_COLON:
        return fail(s, len, "unexpected end of input inside object (expected ':')");
    case ST_MEMBER_VALUE:
        return fail(s, len, "unexpected end of input inside object (expected a value)");
    case ST_ARR_FIRST:
        return fail(s, len, "unexpected end of input inside array (expected a value or ']')");
    case ST_ARR_NEXT:
        return fail(s, len, "unexpected end of input inside array (expected a value)");
    case ST_AFTER:
        return fail(s, len,
                    obj ? "unexpected end of input inside object (expected ',' or '}')"
                        : "unexpected end of input inside array (expected ',' or ']')");
    default:
        return CF_JTOK_ERROR;
    }
}

void cf_jscan_init(struct cf_jscan *s, const char *text, size_t len, int flags,
                   cf_json_problem *problem)
{
    s->text = (const unsigned char *)(text ? text : "");
    s->len = text ? len : 0;
    s->pos = 0;
    s->flags = flags;
    s->state = ST_TOP;
    s->depth = 0;
    s->tok_start = s->tok_len = 0;
    s->tok_escaped = false;
    s->kind[0] = 0;
    s->keys = NULL;
    s->problem = problem;
    if (!text && len)
        fail(s, 0, "no text (NULL pointer with a length of %zu)", len);
}

int cf_jscan_next(struct cf_jscan *s)
{
    const unsigned char *t = s->text;
    size_t len = s->len, p = s->pos;
    unsigned c;

    if (s->state == ST_FAILED)
        return CF_JTOK_ERROR;
    for (;;) {
        while (p < len && t[p] <= ' ' && is_ws[t[p]])
            ++p;
        if (p == len)
            return at_end(s);
        c = t[p];
        switch (s->state) {
        case ST_AFTER:
            if (c == ',') {
                s->state = s->kind[s->depth] == '{' ? ST_OBJ_KEY : ST_ARR_NEXT;
                ++p;
                continue;
            }
            if (c == (s->kind[s->depth] == '{' ? '}' : ']'))
                return close_container(s, p);
            return unexpected(s, p,
                              s->kind[s->depth] == '{' ? "expected ',' or '}' after object member"
                                                       : "expected ',' or ']' after array element");
        case ST_COLON:
            if (c == ':') {
                s->state = ST_MEMBER_VALUE;
                ++p;
                continue;
            }
            return unexpected(s, p, "expected ':' after object key");
        case ST_OBJ_FIRST:
        case ST_OBJ_KEY:
            if (c == '"')
                return key(s, p);
            if (c == '}' && s->state == ST_OBJ_FIRST)
                return close_container(s, p);
            if (c == '}')
                return fail(s, p, "trailing comma before '}'");
            return unexpected(s, p,
                              s->state == ST_OBJ_FIRST ? "expected a string key or '}'"
                                                       : "expected a string key");
        case ST_ARR_FIRST:
            if (c == ']')
                return close_container(s, p);
            return value(s, p);
        case ST_DONE:
            if (c == 0)
                return fail(s, p, "NUL byte in the text");
            return fail(s, p, "trailing characters after the JSON value");
        default:
            return value(s, p);
        }
    }
}

void cf_jscan_fini(struct cf_jscan *s)
{
    cf_jkeys_free(s->keys);
    s->keys = NULL;
}

int cf_json_check(const char *text, size_t len, int flags, cf_json_problem *problem)
{
    struct cf_jscan s;
    int tok;

    cf_jscan_init(&s, text, len, flags, problem);
    while ((tok = cf_jscan_next(&s)) > 0)
        ;
    cf_jscan_fini(&s);
    if (tok == CF_JTOK_END && problem)
        memset(problem, 0, sizeof *problem);
    return tok == CF_JTOK_END ? 0 : -1;
}
