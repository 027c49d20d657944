/* test_render.c: cf_json_pretty, cf_json_compact, member spans and array elements, byte exact. */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clappform.h"

/* Pretty-prints text (with id, may be NULL) and compares with want; NULL want: must fail. */
static void pretty_is(const char *text, const char *id, const char *want)
{
    char *out = (char *)"unset";
    size_t len = 99;
    int rc = cf_json_pretty(text, strlen(text), id, &out, &len);

    if (!want) {
        CHECK_MSG(rc == -1 && out == NULL && len == 0, "pretty of '%s' should fail", text);
        return;
    }
    CHECK_MSG(rc == 0 && out && strcmp(out, want) == 0 && len == strlen(want),
              "pretty of '%s':\n%s\nwant:\n%s", text, out ? out : "(null)", want);
    free(out);
}

static void test_pretty(void)
{
    pretty_is("{\"a\":1,\"b\":[1,2,{\"c\":{}}],\"d\":[],\"e\":{\"f\":null}}", NULL,
              "{\n"
              "  \"a\": 1,\n"
              "  \"b\": [\n"
              "    1,\n"
              "    2,\n"
              "    {\n"
              "      \"c\": {}\n"
              "    }\n"
              "  ],\n"
              "  \"d\": [],\n"
              "  \"e\": {\n"
              "    \"f\": null\n"
              "  }\n"
              "}\n");
    /* white space of the input is dropped, empty containers stay on one line */
    pretty_is(" \n{ \"a\" :\t[ ] , \"b\" : { \r\n } , \"c\" : [ [ ] , { } ] }\n ", NULL,
              "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    [],\n    {}\n  ]\n}\n");
    pretty_is("{}", NULL, "{}\n");
    pretty_is("[]", NULL, "[]\n");
    pretty_is("[[[]]]", NULL, "[\n  [\n    []\n  ]\n]\n");
    /* numbers byte for byte: beyond 64 bits, -0, exponents as written */
    pretty_is("[12345678901234567890123,-0,0.1,1.0e5,1E400,-1.5E-7,-12345678901234567890123]", NULL,
              "[\n  12345678901234567890123,\n  -0,\n  0.1,\n  1.0e5,\n  1E400,\n  -1.5E-7,\n"
              "  -12345678901234567890123\n]\n");
    /* strings byte for byte: escapes as written, raw UTF-8 as is */
    pretty_is("{\"caf\\u00e9\":\"caf\\u00E9\",\"r\":\"caf\xc3\xa9\",\"e\":\"\\\"\\\\\\/\\n\","
              "\"s\":\"\\ud83d\\ude00\xf0\x9f\x98\x80\",\"l\":\"\\ud800\"}",
              NULL,
              "{\n  \"caf\\u00e9\": \"caf\\u00E9\",\n  \"r\": \"caf\xc3\xa9\",\n"
              "  \"e\": \"\\\"\\\\\\/\\n\",\n  \"s\": \"\\ud83d\\ude00\xf0\x9f\x98\x80\",\n"
              "  \"l\": \"\\ud800\"\n}\n");
    /* a top-level scalar and its final newline */
    pretty_is("  \"x\"  ", NULL, "\"x\"\n");
    pretty_is("-0", NULL, "-0\n");
    pretty_is("true", NULL, "true\n");
    /* duplicate keys are kept in order without id */
    pretty_is("{\"a\":1,\"a\":2,\"_id\":3}", NULL,
              "{\n  \"a\": 1,\n  \"a\": 2,\n  \"_id\": 3\n}\n");
    /* invalid input: -1, *out NULL */
    pretty_is("{\"a\":1,}", NULL, NULL);
    pretty_is("", NULL, NULL);
    pretty_is("[1] x", NULL, NULL);
    pretty_is("{\"a\":01}", "id", NULL);
}

static void test_pretty_id(void)
{
    /* _id first; every top-level _id of the text left out, whatever its value */
    pretty_is("{\"a\":1,\"_id\":\"old\",\"b\":2,\"_id\":{\"x\":[1]}}", "abc",
              "{\n  \"_id\": \"abc\",\n  \"a\": 1,\n  \"b\": 2\n}\n");
    pretty_is("{\"_id\":\"old\"}", "abc", "{\n  \"_id\": \"abc\"\n}\n");
    pretty_is("{}", "abc", "{\n  \"_id\": \"abc\"\n}\n");
    pretty_is("{\"_id\":[],\"z\":{}}", "1", "{\n  \"_id\": \"1\",\n  \"z\": {}\n}\n");
    /* the key is compared decoded: "\u005fid" is _id */
    pretty_is("{\"\\u005fid\":1,\"a\":2}", "x", "{\n  \"_id\": \"x\",\n  \"a\": 2\n}\n");
    /* only top-level _id members are dropped; _idx is another key */
    pretty_is("{\"a\":{\"_id\":1},\"_idx\":2}", "x",
              "{\n  \"_id\": \"x\",\n  \"a\": {\n    \"_id\": 1\n  },\n  \"_idx\": 2\n}\n");
    /* id escaping: quote, backslash, control characters as \u00XX, UTF-8 and / kept */
    pretty_is("{}", "a\"b\\c\n\x01\x1f/\xc3\xa9",
              "{\n  \"_id\": \"a\\\"b\\\\c\\u000a\\u0001\\u001f/"
              "\xc3\xa9\"\n}\n");
    pretty_is("{}", "", "{\n  \"_id\": \"\"\n}\n");
    /* an id that is not UTF-8 cannot be written as JSON */
    pretty_is("{}", "\xff", NULL);
    pretty_is("{}", "\xed\xa0\x80", NULL);
    /* not an object: id ignored */
    pretty_is("[1]", "x", "[\n  1\n]\n");
    pretty_is("\"s\"", "x", "\"s\"\n");
}

/* Compacts text and compares with want; NULL want: must fail. */
static void compact_is(const char *text, const char *drop, const char *first_key,
                       const char *first_value, const char *want)
{
    char *out = (char *)"unset";
    size_t len = 99;
    int rc = cf_json_compact(text, strlen(text), drop, first_key, first_value, &out, &len);

    if (!want) {
        CHECK_MSG(rc == -1 && out == NULL && len == 0, "compact of '%s' should fail", text);
        return;
    }
    CHECK_MSG(rc == 0 && out && strcmp(out, want) == 0 && len == strlen(want),
              "compact of '%s': '%s', want '%s'", text, out ? out : "(null)", want);
    free(out);
}

static void test_compact(void)
{
    compact_is(" { \"a\" : [ 1 , 2 ] ,\n \"b\" : { } , \"c\" : \" x \" } ", NULL, NULL, NULL,
               "{\"a\":[1,2],\"b\":{},\"c\":\" x \"}");
    compact_is(" 1E400 ", NULL, NULL, NULL, "1E400");
    compact_is("[-0, 12345678901234567890123, \"\\u00e9\"]", NULL, NULL, NULL,
               "[-0,12345678901234567890123,\"\\u00e9\"]");
    /* replacing _id: drop it and write the new one first */
    compact_is("{\"x\":1,\"_id\":\"old\",\"y\":[{\"_id\":2}]}", "_id", "_id", "\"new\"",
               "{\"_id\":\"new\",\"x\":1,\"y\":[{\"_id\":2}]}");
    /* drop and first are independent */
    compact_is("{\"_id\":\"old\"}", NULL, "_id", "\"new\"", "{\"_id\":\"new\",\"_id\":\"old\"}");
    compact_is("{\"a\":1,\"b\":2,\"a\":{\"c\":[3]}}", "a", NULL, NULL, "{\"b\":2}");
    compact_is("{\"\\u0061\":1,\"b\":2}", "a", NULL, NULL, "{\"b\":2}");
    compact_is("{\"a\":1}", "a", NULL, NULL, "{}");
    compact_is("[{\"a\":1}]", "a", NULL, NULL, "[{\"a\":1}]");
    compact_is("{}", NULL, "k", "1", "{\"k\":1}");
    compact_is("{\"b\":true}", NULL, "q\"k", "null", "{\"q\\\"k\":null,\"b\":true}");
    /* first_value is checked and written compactly */
    compact_is("{\"b\":1}", NULL, "k", " { \"n\" : [ 1 ] } ", "{\"k\":{\"n\":[1]},\"b\":1}");
    compact_is("{\"b\":1}", NULL, "k", "{\"n\":", NULL);
    compact_is("{\"b\":1}", NULL, "k", NULL, NULL);
    compact_is("{\"b\":1}", NULL, "\xff", "1", NULL);
    /* a member cannot be written into something that is not an object */
    compact_is("[1]", NULL, "k", "1", NULL);
    compact_is("\"s\"", "_id", "k", "1", NULL);
    compact_is("[1]", "_id", NULL, NULL, "[1]");
    compact_is("{\"a\":}", NULL, NULL, NULL, NULL);
}

static void span_is(const char *text, const char *key, const char *want)
{
    size_t start = 77, len = 77;
    int rc = cf_json_member_span(text, strlen(text), key, &start, &len);

    if (!want) {
        CHECK_MSG(rc == -1 && start == 0 && len == 0, "span of %s in '%s' should be absent", key,
                  text);
        return;
    }
    CHECK_MSG(rc == 0 && len == strlen(want) && memcmp(text + start, want, len) == 0,
              "span of %s in '%s': rc %d '%.*s', want '%s'", key, text, rc, (int)len,
              rc == 0 ? text + start : "", want);
}

static void test_member_span(void)
{
    const char *body = " {\"ok\" : true, \"data\" : [1, {\"a\":\"]}\"}] ,\"n\":\"x\\\"y\" ,"
                       " \"o\":{ \"data\" : 5 }, \"num\":-0.5e3 } ";

    span_is(body, "data", "[1, {\"a\":\"]}\"}]");
    span_is(body, "ok", "true");
    span_is(body, "n", "\"x\\\"y\"");
    span_is(body, "o", "{ \"data\" : 5 }");
    span_is(body, "num", "-0.5e3");
    span_is(body, "a", NULL);
    span_is(body, "", NULL);
    span_is("{\"\":[]}", "", "[]");
    /* keys compare decoded; the last of repeated members wins, as in json-c */
    span_is("{\"\\u0064ata\":5}", "data", "5");
    span_is("{\"caf\\u00e9\":1}", "caf\xc3\xa9", "1");
    span_is("{\"a\":1,\"a\":{\"b\":2}}", "a", "{\"b\":2}");
    span_is("{\"a\":{\"x\":1},\"a\":2}", "a", "2");
    /* not an object, or not valid at all */
    span_is("[{\"a\":1}]", "a", NULL);
    span_is("\"a\"", "a", NULL);
    span_is("{\"a\":1,}", "a", NULL);
    span_is("{\"a\":1} x", "a", NULL);
    span_is("{\"a\":1", "a", NULL);
    CHECK(cf_json_member_span("{\"a\":1}", 7, NULL, NULL, NULL) == -1);
    CHECK(cf_json_member_span("{\"a\":1}", 7, "a", NULL, NULL) == 0);
}

struct spans {
    int calls;
    int stop_at;
    char got[512];
};

static int collect(void *ud, size_t index, const char *elem, size_t elem_len)
{
    struct spans *s = ud;
    size_t n = strlen(s->got);

    CHECK_INT(index, s->calls);
    ++s->calls;
    snprintf(s->got + n, sizeof s->got - n, "<%.*s>", (int)elem_len, elem);
    return s->calls == s->stop_at ? 7 : 0;
}

static void each_is(const char *text, int stop_at, int want_rc, const char *want)
{
    struct spans s = {0, stop_at, ""};
    int rc = cf_json_array_each(text, strlen(text), collect, &s);

    CHECK_MSG(rc == want_rc && strcmp(s.got, want) == 0,
              "array_each of '%s': rc %d '%s', "
              "want rc %d '%s'",
              text, rc, s.got, want_rc, want);
}

static void test_array_each(void)
{
    each_is(" [ {\"a\":[1,\"]\"]} , \"x\\\"y\" , 3 ,true, null,[ ],-1.5e-3,\"a\\\\\",{}\n] ", 0, 0,
            "<{\"a\":[1,\"]\"]}><\"x\\\"y\"><3><true><null><[ ]><-1.5e-3><\"a\\\\\"><{}>");
    each_is("[]", 0, 0, "");
    each_is("[ \n ]", 0, 0, "");
    each_is("[\"\\\\\\\"\",\"]\"]", 0, 0, "<\"\\\\\\\"\"><\"]\">");
    each_is("[[[\"[\"]],{\"}\":{}}]", 0, 0, "<[[\"[\"]]><{\"}\":{}}>");
    /* fn stops the walk with its value */
    each_is("[1,2,3]", 2, 7, "<1><2>");
    /* not an array, or invalid anywhere: -1 and fn never called */
    each_is("{\"a\":[1]}", 0, -1, "");
    each_is("1", 0, -1, "");
    each_is("[1,2", 0, -1, "");
    each_is("[1,2] x", 0, -1, "");
    each_is("[1,2,\"\xff\"]", 0, -1, "");
    CHECK(cf_json_array_each("[1]", 3, NULL, NULL) == -1);
}

static char *pretty_of(const char *text, size_t len, size_t *out_len)
{
    char *out = NULL;

    if (cf_json_pretty(text, len, NULL, &out, out_len) < 0)
        return NULL;
    return out;
}

/* The same text always renders to the same bytes, and whitespace does not matter. */
static void test_deterministic(void)
{
    static const char *const docs[] = {
        "{\"a\":[1,{\"b\":[[],{}]}],\"c\":\"\\u00e9\",\"d\":-0,\"e\":1E400}",
        " [ 1 , [ 2 , [ 3 ] ] , { \"x\" : { \"y\" : { } } } ] ",
        "\"only a string\"",
        "{\"k\":{\"k\":{\"k\":[true,false,null]}}}",
    };
    size_t i, l1, l2, l3, lc;
    char *p1, *p2, *p3, *c;

    for (i = 0; i < sizeof docs / sizeof *docs; ++i) {
        p1 = pretty_of(docs[i], strlen(docs[i]), &l1);
        p2 = pretty_of(docs[i], strlen(docs[i]), &l2);
        c = NULL;
        CHECK(cf_json_compact(docs[i], strlen(docs[i]), NULL, NULL, NULL, &c, &lc) == 0);
        p3 = c ? pretty_of(c, lc, &l3) : NULL;
        CHECK(p1 && p2 && l1 == l2 && memcmp(p1, p2, l1) == 0);
        CHECK(p1 && p3 && l1 == l3 && memcmp(p1, p3, l1) == 0);
        /* pretty output is itself valid, and a fixed point */
        free(p2);
        p2 = p1 ? pretty_of(p1, l1, &l2) : NULL;
        CHECK(p1 && cf_json_check(p1, l1, 0, NULL) == 0);
        CHECK(p2 && l1 == l2 && memcmp(p1, p2, l1) == 0);
        free(p1);
        free(p2);
        free(p3);
        free(c);
    }
}

/* Deep nesting renders without recursion, indentation growing two spaces a level. */
static void test_deep(void)
{
    char in[2 * CF_JSON_MAX_DEPTH + 2], indent[1 + 2 * CF_JSON_MAX_DEPTH + 3], *out = NULL;
    size_t len = 0, i;
    int d;

    for (d = 0; d < CF_JSON_MAX_DEPTH; ++d)
        in[d] = '[';
    in[CF_JSON_MAX_DEPTH] = '1';
    for (d = 0; d < CF_JSON_MAX_DEPTH; ++d)
        in[CF_JSON_MAX_DEPTH + 1 + d] = ']';
    CHECK(cf_json_pretty(in, sizeof in - 1, NULL, &out, &len) == 0);
    /* lines: 256 openings, the 1, 256 closings */
    for (d = 0, i = 0; out && i < len; ++i)
        d += out[i] == '\n';
    CHECK_INT(d, 2 * CF_JSON_MAX_DEPTH + 1);
    CHECK(out && len > 7 && memcmp(out + len - 7, "\n  ]\n]\n", 7) == 0);
    /* the 1 sits 256 levels deep: 512 spaces */
    memset(indent, ' ', sizeof indent);
    indent[0] = '\n';
    memcpy(indent + 1 + 2 * CF_JSON_MAX_DEPTH, "1\n", 3);
    CHECK(out && memmem(out, len, indent, sizeof indent - 1) != NULL);
    free(out);
    in[0] = '{';
    CHECK(cf_json_pretty(in, sizeof in - 1, NULL, &out, &len) == -1 && out == NULL);
}

int main(void)
{
    test_pretty();
    test_pretty_id();
    test_compact();
    test_member_span();
    test_array_each();
    test_deterministic();
    test_deep();
    return check_done();
}
