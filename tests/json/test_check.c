/* test_check.c: cf_json_check against tables of valid and invalid texts, with positions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clappform.h"

/* A literal with its length, so texts may hold NUL bytes. */
#define S(lit) lit, sizeof(lit) - 1

struct valid_case {
    const char *text;
    size_t len;
    int flags;
};

static const struct valid_case valid[] = {
    {S("{}"), 0},
    {S("[]"), 0},
    {S("0"), 0},
    {S("-0"), 0},
    {S("-0.0e-0"), 0},
    {S("1.5E+10"), 0},
    {S("12345678901234567890123"), 0},
    {S("1E400"), 0},
    {S("\"x\""), 0},
    {S("\"\""), 0},
    {S("true"), 0},
    {S("false"), 0},
    {S("null"), 0},
    {S(" \t\r\n{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"} \r\n\t"), 0},
    {S("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""), 0},
    {S("\"\\u00e9\\u00E9\\uFFFF\""), 0},
    {S("\"caf\xc3\xa9\""), 0},
    {S("\"\\ud83d\\ude00 \xf0\x9f\x98\x80\""), 0},
    /* Lone escaped surrogates are accepted (grammar allows \uXXXX; documented). */
    {S("\"\\ud800\""), 0},
    {S("\"\\udc00\""), 0},
    {S("\"\\ud800\\u0041\""), 0},
    {S("\"\\ud800x\""), 0},
    /* UTF-8 boundaries of table 3-7. */
    {S("\"\xc2\x80 \xdf\xbf\""), 0},
    {S("\"\xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf\""), 0},
    {S("\"\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf\""), 0},
    {S("\"\x7f\""), 0},
    {S("{\"a\":1}"), CF_JSON_OBJECT_ONLY},
    {S(" {} "), CF_JSON_OBJECT_ONLY | CF_JSON_NO_DUP_KEYS},
    /* The same key in different objects is no duplicate. */
    {S("{\"a\":1,\"b\":{\"a\":2},\"c\":[{\"a\":1},{\"a\":2}]}"), CF_JSON_NO_DUP_KEYS},
    {S("{\"a\":{\"x\":1},\"b\":{\"x\":1,\"y\":{\"x\":2}},\"x\":3}"), CF_JSON_NO_DUP_KEYS},
    {S("{\"a\":1,\"A\":2,\"a \":3,\"\":4}"), CF_JSON_NO_DUP_KEYS},
    {S("{\"\\ud800\":1,\"\\udc00\":2,\"\\ud800\\udc00\":3}"), CF_JSON_NO_DUP_KEYS},
    {S("{\"a\":1,\"a\":2}"), 0},
};

struct invalid_case {
    const char *text;
    size_t len;
    int flags;
    int line, column;
    const char *what;
};

#define OO CF_JSON_OBJECT_ONLY
#define ND CF_JSON_NO_DUP_KEYS

static const struct invalid_case invalid[] = {
    /* structure */
    {S(""), 0, 1, 1, "empty input"},
    {S("  \n "), 0, 2, 2, "only white space"},
    {S("{"), 0, 1, 2, "unexpected end of input inside object"},
    {S("{\"a\""), 0, 1, 5, "unexpected end of input inside object (expected ':')"},
    {S("{\"a\":"), 0, 1, 6, "inside object (expected a value)"},
    {S("{\"a\":1"), 0, 1, 7, "inside object (expected ',' or '}')"},
    {S("[1,2"), 0, 1, 5, "unexpected end of input inside array (expected ',' or ']')"},
    {S("[1,"), 0, 1, 4, "inside array (expected a value)"},
    {S("["), 0, 1, 2, "inside array (expected a value or ']')"},
    {S("{\"a\" 1}"), 0, 1, 6, "expected ':' after object key"},
    {S("{\"a\":1 \"b\":2}"), 0, 1, 8, "expected ',' or '}' after object member"},
    {S("[1 2]"), 0, 1, 4, "expected ',' or ']' after array element"},
    {S("[1}"), 0, 1, 3, "expected ',' or ']' after array element, found '}'"},
    {S("{\"a\":1]"), 0, 1, 7, "expected ',' or '}'"},
    {S("[1,]"), 0, 1, 4, "trailing comma before ']'"},
    {S("{\"a\":1,}"), 0, 1, 8, "trailing comma before '}'"},
    {S("{a:1}"), 0, 1, 2, "expected a string key or '}', found 'a'"},
    {S("{\"a\":1,2}"), 0, 1, 8, "expected a string key, found '2'"},
    {S("{'a':1}"), 0, 1, 2, "double quotes"},
    {S("{\"a\":}"), 0, 1, 6, "expected a value, found '}'"},
    {S("[,1]"), 0, 1, 2, "expected a value, found ','"},
    {S("]"), 0, 1, 1, "expected a value, found ']'"},
    {S("{} {}"), 0, 1, 4, "trailing characters after the JSON value"},
    {S("nulls"), 0, 1, 5, "trailing characters"},
    {S("1 2"), 0, 1, 3, "trailing characters"},
    {S("// c\n{}"), 0, 1, 1, "comments are not allowed"},
    {S("[1,/* c */2]"), 0, 1, 4, "comments are not allowed"},
    {S("[\x01]"), 0, 1, 2, "expected a value, found byte 0x01"},
    {S("\xc3\xa9"), 0, 1, 1, "expected a value, found byte 0xc3"},
    /* positions over several lines (\r\n counts one line, columns count bytes) */
    {S("{\n  \"a\": 1,\n  \"b\" 2\n}"), 0, 3, 7, "expected ':' after object key"},
    {S("[\n\n  tru"), 0, 3, 6, "unexpected end of input in literal"},
    {S("{\r\n\"a\":x}"), 0, 2, 5, "invalid literal"},
    {S("[\"\xc3\xa9\xc3\xa9\", x]"), 0, 1, 10, "invalid literal"},
    /* numbers */
    {S("01"), 0, 1, 1, "number has leading zero"},
    {S("[-01]"), 0, 1, 3, "number has leading zero"},
    {S("00"), 0, 1, 1, "number has leading zero"},
    {S("[1.]"), 0, 1, 4, "expected a digit after the decimal point"},
    {S("1.e5"), 0, 1, 3, "expected a digit after the decimal point"},
    {S("1."), 0, 1, 3, "unexpected end of input in number"},
    {S("1e"), 0, 1, 3, "unexpected end of input in number"},
    {S("1e+x"), 0, 1, 4, "expected a digit in the exponent"},
    {S("-"), 0, 1, 2, "unexpected end of input in number"},
    {S("-a"), 0, 1, 2, "'-' must be followed by a digit"},
    {S("-Infinity"), 0, 1, 2, "'-' must be followed by a digit"},
    {S("+1"), 0, 1, 1, "numbers may not start with '+'"},
    {S(".5"), 0, 1, 1, "digit before the decimal point"},
    {S("0x10"), 0, 1, 2, "trailing characters"},
    /* literals */
    {S("tru"), 0, 1, 4, "unexpected end of input in literal"},
    {S("trux"), 0, 1, 1, "invalid literal"},
    {S("True"), 0, 1, 1, "invalid literal"},
    {S("NaN"), 0, 1, 1, "invalid literal"},
    {S("[Infinity]"), 0, 1, 2, "invalid literal"},
    {S("undefined"), 0, 1, 1, "invalid literal"},
    /* strings */
    {S("\"abc"), 0, 1, 5, "unexpected end of input inside string"},
    {S("[\"abc\\"), 0, 1, 7, "unexpected end of input inside string"},
    {S("\"a\tb\""), 0, 1, 3, "control character 0x09 in string"},
    {S("\"a\nb\""), 0, 1, 3, "control character 0x0a in string"},
    {S("\"\x1f\""), 0, 1, 2, "control character 0x1f"},
    {S("\"\\x\""), 0, 1, 2, "invalid escape in string: 'x' after '\\'"},
    {S("\"\\U0041\""), 0, 1, 2, "invalid escape"},
    {S("\"\\'\""), 0, 1, 2, "invalid escape"},
    {S("\"\\u12g4\""), 0, 1, 2, "invalid \\u escape in string (expected 4 hex digits)"},
    {S("\"\\u12\""), 0, 1, 2, "invalid \\u escape"},
    {S("\"\\u12"), 0, 1, 6, "unexpected end of input inside string"},
    {S("'a'"), 0, 1, 1, "double quotes"},
    /* UTF-8 */
    {S("\"\xff\""), 0, 1, 2, "invalid UTF-8 byte 0xff in string"},
    {S("\"ab\xfe\""), 0, 1, 4, "invalid UTF-8 byte 0xfe in string"},
    {S("\"\xf5\x80\x80\x80\""), 0, 1, 2, "invalid UTF-8 byte 0xf5"},
    {S("\"\x80\""), 0, 1, 2, "continuation byte without a lead byte"},
    {S("\"\xc0\xaf\""), 0, 1, 2, "overlong encoding"},
    {S("\"\xc1\xbf\""), 0, 1, 2, "overlong encoding"},
    {S("\"\xe0\x80\xaf\""), 0, 1, 2, "overlong encoding"},
    {S("\"\xe0\x9f\xbf\""), 0, 1, 2, "overlong encoding"},
    {S("\"\xf0\x80\x80\xaf\""), 0, 1, 2, "overlong encoding"},
    {S("\"\xf0\x8f\xbf\xbf\""), 0, 1, 2, "overlong encoding"},
    {S("\"\xed\xa0\x80\""), 0, 1, 2, "encoded surrogate"},
    {S("\"x\xed\xbf\xbf\""), 0, 1, 3, "encoded surrogate"},
    {S("\"\xf4\x90\x80\x80\""), 0, 1, 2, "above U+10FFFF"},
    {S("\"\xe2\x82\""), 0, 1, 2, "truncated sequence (byte 0x22 after lead byte 0xe2)"},
    {S("\"\xf0\x9f\x98x\""), 0, 1, 2, "truncated sequence"},
    {S("\"\xe2\x82"), 0, 1, 4, "unexpected end of input inside string"},
    {S("\"\xc3"), 0, 1, 3, "unexpected end of input inside string"},
    {S("{\"k\xff\":1}"), 0, 1, 4, "invalid UTF-8 byte 0xff in string"},
    /* NUL bytes, anywhere */
    {S("\0"), 0, 1, 1, "NUL byte"},
    {S("{\"a\":1}\0"), 0, 1, 8, "NUL byte"},
    {S("[1,\0]"), 0, 1, 4, "NUL byte"},
    {S("\"a\0b\""), 0, 1, 3, "NUL byte in string"},
    {S("\"a\\\0\""), 0, 1, 4, "NUL byte in string"},
    {S("{\"a\"\0:1}"), 0, 1, 5, "NUL byte"},
    /* byte order mark: refused with its own message */
    {S("\xef\xbb\xbf{}"), 0, 1, 1, "byte order mark (BOM) is not allowed"},
    {S("\xef\xbb\xbf{}"), OO, 1, 1, "byte order mark"},
    /* CF_JSON_OBJECT_ONLY */
    {S("[1]"), OO, 1, 1, "top-level value is an array, not an object"},
    {S(" \"s\""), OO, 1, 2, "top-level value is a string, not an object"},
    {S("\n-12"), OO, 2, 1, "top-level value is a number, not an object"},
    {S("true"), OO, 1, 1, "top-level value is true, not an object"},
    {S("null"), OO, 1, 1, "top-level value is null, not an object"},
    {S("nope"), OO, 1, 1, "invalid literal"},
    {S(""), OO, 1, 1, "empty input"},
    /* CF_JSON_NO_DUP_KEYS: keys compare decoded; reported at the second key */
    {S("{\"a\":1,\"a\":2}"), ND, 1, 8, "duplicate key \"a\""},
    {S("{\"a\":1,\"\\u0061\":2}"), ND, 1, 8, "duplicate key \"\\u0061\""},
    {S("{\"\xc3\xa9\":1,\"\\u00e9\":2}"), ND, 1, 9, "duplicate key \"\\u00e9\""},
    {S("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}"), ND, 1, 19, "duplicate key"},
    {S("{\"\\ud800\":1,\"\\uD800\":2}"), ND, 1, 13, "duplicate key \"\\uD800\""},
    {S("{\"x\":{\"a\":1,\"b\":2,\"a\":3}}"), ND, 1, 19, "duplicate key \"a\""},
    {S("{\"\":1,\"\":2}"), ND, 1, 7, "duplicate key \"\""},
    {S("{\"a\\/b\":1,\"a/b\":2}"), ND, 1, 11, "duplicate key \"a/b\""},
    {S("{\"name\":1,\n \"name\":2}"), ND | OO, 2, 2, "duplicate key \"name\""},
    /* the first problem in the text is the one reported */
    {S("{\"a\":1,\"a\":2,}"), ND, 1, 8, "duplicate key"},
    {S("{\"a\":1,\"a\":2,}"), 0, 1, 14, "trailing comma"},
};

static void test_valid(void)
{
    cf_json_problem pr;
    size_t i;

    for (i = 0; i < sizeof valid / sizeof *valid; ++i) {
        memset(&pr, 0x55, sizeof pr);
        CHECK_MSG(cf_json_check(valid[i].text, valid[i].len, valid[i].flags, &pr) == 0,
                  "valid case %zu refused at %d:%d: %s", i, pr.line, pr.column, pr.what);
        CHECK_MSG(pr.line == 0 && pr.what[0] == '\0', "valid case %zu: problem not cleared", i);
        CHECK(cf_json_check(valid[i].text, valid[i].len, valid[i].flags, NULL) == 0);
    }
}

static void test_invalid(void)
{
    cf_json_problem pr;
    size_t i;
    int rc;

    for (i = 0; i < sizeof invalid / sizeof *invalid; ++i) {
        const struct invalid_case *c = &invalid[i];
        memset(&pr, 0, sizeof pr);
        rc = cf_json_check(c->text, c->len, c->flags, &pr);
        CHECK_MSG(rc == -1 && pr.line == c->line && pr.column == c->column &&
                      strstr(pr.what, c->what) != NULL,
                  "invalid case %zu: rc %d at %d:%d \"%s\", want %d:%d \"%s\"", i, rc, pr.line,
                  pr.column, pr.what, c->line, c->column, c->what);
        CHECK(cf_json_check(c->text, c->len, c->flags, NULL) == -1);
    }
}

/* The offset is bytes from the start; column is bytes from the line's start. */
static void test_offsets(void)
{
    cf_json_problem pr;
    const char *text = "[1,\n 2,\n  \xc3\xa9]";

    CHECK(cf_json_check(text, strlen(text), 0, &pr) == -1);
    CHECK_INT(pr.offset, 10);
    CHECK_INT(pr.line, 3);
    CHECK_INT(pr.column, 3);
    CHECK(cf_json_check(NULL, 0, 0, &pr) == -1);
    CHECK(strstr(pr.what, "empty input") != NULL);
    CHECK(cf_json_check(NULL, 5, 0, &pr) == -1);
    CHECK(strstr(pr.what, "no text") != NULL);
}

/* The length given is the text: bytes after it are never read, and the text needs no NUL. */
static void test_length(void)
{
    char buf[8];

    memcpy(buf, "[1]]]]]]", 8);
    CHECK(cf_json_check(buf, 3, 0, NULL) == 0);
    CHECK(cf_json_check(buf, 4, 0, NULL) == -1);
    memcpy(buf, "12345678", 8);
    CHECK(cf_json_check(buf, 8, 0, NULL) == 0);
    CHECK(cf_json_check(buf, 2, 0, NULL) == 0);
}

static char *nested(int n, const char *open, const char *inner, const char *close)
{
    size_t lo = strlen(open), li = strlen(inner), lc = strlen(close);
    char *buf = malloc((size_t)n * (lo + lc) + li + 1), *p = buf;
    int i;

    if (!buf)
        return NULL;
    for (i = 0; i < n; ++i, p += lo)
        memcpy(p, open, lo);
    memcpy(p, inner, li);
    p += li;
    for (i = 0; i < n; ++i, p += lc)
        memcpy(p, close, lc);
    *p = '\0';
    return buf;
}

static void test_depth(void)
{
    cf_json_problem pr;
    char *t;

    t = nested(CF_JSON_MAX_DEPTH, "[", "", "]");
    CHECK(cf_json_check(t, strlen(t), 0, &pr) == 0);
    free(t);
    t = nested(CF_JSON_MAX_DEPTH, "[", "1", "]");
    CHECK(cf_json_check(t, strlen(t), 0, &pr) == 0);
    free(t);
    t = nested(CF_JSON_MAX_DEPTH, "{\"a\":", "{}", "}");
    CHECK(cf_json_check(t, strlen(t), 0, &pr) == -1); /* 257 objects */
    CHECK(strstr(pr.what, "nesting deeper than 256") != NULL);
    free(t);
    t = nested(CF_JSON_MAX_DEPTH - 1, "{\"a\":", "{\"b\":null}", "}");
    CHECK(cf_json_check(t, strlen(t), CF_JSON_NO_DUP_KEYS, &pr) == 0);
    free(t);
    t = nested(CF_JSON_MAX_DEPTH + 1, "[", "", "]");
    CHECK(cf_json_check(t, strlen(t), 0, &pr) == -1);
    CHECK_STR(pr.what, "nesting deeper than 256");
    CHECK_INT(pr.offset, CF_JSON_MAX_DEPTH);
    CHECK_INT(pr.column, CF_JSON_MAX_DEPTH + 1);
    free(t);
    /* far deeper than any stack would like: refused at the limit, no recursion */
    t = nested(100000, "[", "", "]");
    CHECK(cf_json_check(t, strlen(t), 0, &pr) == -1);
    CHECK_INT(pr.offset, CF_JSON_MAX_DEPTH);
    free(t);
    /* CF_JSON_WRAPPED: an envelope around a page may carry values nested to the limit */
    t = nested(CF_JSON_MAX_DEPTH + CF_JSON_WRAP_LEVELS, "[", "", "]");
    CHECK(cf_json_check(t, strlen(t), 0, &pr) == -1);
    CHECK(cf_json_check(t, strlen(t), CF_JSON_WRAPPED, &pr) == 0);
    free(t);
    t = nested(CF_JSON_MAX_DEPTH + CF_JSON_WRAP_LEVELS - 1, "{\"a\":", "{\"b\":null}", "}");
    CHECK(cf_json_check(t, strlen(t), CF_JSON_WRAPPED | CF_JSON_NO_DUP_KEYS, &pr) == 0);
    free(t);
    t = nested(CF_JSON_MAX_DEPTH + CF_JSON_WRAP_LEVELS + 1, "[", "", "]");
    CHECK(cf_json_check(t, strlen(t), CF_JSON_WRAPPED, &pr) == -1);
    CHECK_STR(pr.what, "nesting deeper than 258");
    CHECK_INT(pr.offset, CF_JSON_MAX_DEPTH + CF_JSON_WRAP_LEVELS);
    free(t);
}

/* Objects with thousands of keys: every one distinct passes, one repeat is found where
 * it is, escaped or not. */
static void test_many_keys(void)
{
    enum { N = 20000 };
    size_t cap = (size_t)N * 24 + 64, len = 0, dup_at = 0;
    char *buf = malloc(cap);
    cf_json_problem pr;
    int i;

    if (!buf)
        return;
    buf[len++] = '{';
    for (i = 0; i < N; ++i)
        len += (size_t)snprintf(buf + len, cap - len, "%s\"k%d\":%d", i ? "," : "", i, i);
    buf[len++] = '}';
    CHECK(cf_json_check(buf, len, CF_JSON_NO_DUP_KEYS, &pr) == 0);
    /* "k1234" again, spelled with an escape, as the last member */
    --len;
    dup_at = len + 1;
    len += (size_t)snprintf(buf + len, cap - len, ",\"\\u006b1234\":0}");
    CHECK(cf_json_check(buf, len, 0, &pr) == 0);
    CHECK(cf_json_check(buf, len, CF_JSON_NO_DUP_KEYS, &pr) == -1);
    CHECK_INT(pr.offset, dup_at);
    CHECK(strstr(pr.what, "duplicate key \"\\u006b1234\"") != NULL);
    /* many sibling objects with the same keys: each object's keys are its own */
    len = 0;
    buf[len++] = '[';
    for (i = 0; i < N / 4; ++i)
        len += (size_t)snprintf(buf + len, cap - len, "%s{\"a\":{\"a\":%d},\"b\":[{\"a\":1}]}",
                                i ? "," : "", i);
    buf[len++] = ']';
    CHECK(cf_json_check(buf, len, CF_JSON_NO_DUP_KEYS, &pr) == 0);
    len -= 2; /* into the last object: a repeated "b" */
    dup_at = len + 1;
    len += (size_t)snprintf(buf + len, cap - len, ",\"b\":0}]");
    CHECK(cf_json_check(buf, len, CF_JSON_NO_DUP_KEYS, &pr) == -1);
    CHECK_INT(pr.offset, dup_at);
    free(buf);
}

/* A long duplicate key is shown cut, at a character boundary. */
static void test_long_key(void)
{
    char key[301], buf[700];
    cf_json_problem pr;
    int i, len;

    for (i = 0; i < 150; ++i)
        memcpy(key + 2 * i, "\xc3\xa9", 2);
    key[300] = '\0';
    len = snprintf(buf, sizeof buf, "{\"%s\":1,\"%s\":2}", key, key);
    CHECK(cf_json_check(buf, (size_t)len, CF_JSON_NO_DUP_KEYS, &pr) == -1);
    CHECK(strncmp(pr.what, "duplicate key \"\xc3\xa9", 17) == 0);
    CHECK(strstr(pr.what, "\xc3\xa9\"...") != NULL);
    CHECK(strlen(pr.what) < sizeof pr.what - 1);
}

/* Strings are skipped 8 bytes at a time: a byte that matters must be found exactly at
 * every position within and across those blocks. */
static void test_string_alignment(void)
{
    static const struct {
        const char *ins; /* put after k letters inside a string */
        int valid;
        const char *what; /* expected at the inserted bytes, when invalid */
    } cases[] = {
        {"\\n", 1, NULL},
        {"\\u00e9", 1, NULL},
        {"\xc3\xa9", 1, NULL},
        {"\xf0\x9f\x98\x80", 1, NULL},
        {"\x7f", 1, NULL},
        {"\x01", 0, "control character 0x01"},
        {"\x1f", 0, "control character 0x1f"},
        {"\xff", 0, "invalid UTF-8 byte 0xff"},
        {"\xed\xa0\x80", 0, "surrogate"},
        {"\\q", 0, "invalid escape"},
    };
    char buf[128];
    cf_json_problem pr;
    size_t i, k, n, ok = 0, total = 0;

    for (i = 0; i < sizeof cases / sizeof *cases; ++i) {
        for (k = 0; k < 40; ++k) {
            n = 0;
            buf[n++] = '"';
            memset(buf + n, 'a', k);
            n += k;
            memcpy(buf + n, cases[i].ins, strlen(cases[i].ins));
            n += strlen(cases[i].ins);
            memset(buf + n, 'b', 40 - k);
            n += 40 - k;
            buf[n++] = '"';
            ++total;
            if (cases[i].valid)
                ok += cf_json_check(buf, n, 0, &pr) == 0 &&
                      cf_json_check(buf, k + 1 + strlen(cases[i].ins) + 1, 0, &pr) == -1;
            else
                ok += cf_json_check(buf, n, 0, &pr) == -1 && pr.offset == k + 1 &&
                      strstr(pr.what, cases[i].what) != NULL;
        }
    }
    CHECK_INT(ok, total);
    /* the closing quote at every position */
    for (ok = 0, k = 0; k < 40; ++k) {
        buf[0] = '[';
        buf[1] = '"';
        memset(buf + 2, 'x', k);
        memcpy(buf + 2 + k, "\"]", 2);
        ok += cf_json_check(buf, k + 4, 0, NULL) == 0 && cf_json_check(buf, k + 3, 0, &pr) == -1 &&
              strstr(pr.what, "inside array") != NULL;
    }
    CHECK_INT(ok, 40);
}

int main(void)
{
    test_valid();
    test_invalid();
    test_offsets();
    test_length();
    test_depth();
    test_many_keys();
    test_long_key();
    test_string_alignment();
    return check_done();
}
