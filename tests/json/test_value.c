/* test_value.c: cf_json values: parse, exact text, json-c tree, wrap, free. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clappform.h"

static void test_parse(void)
{
    const char *text = " {\"name\":\"x\\u00e9\",\"n\":12345678901234567890123,\"z\":-0,"
                       "\"f\":1.0e5,\"a\":[1,2,3],\"t\":true} ";
    cf_json_problem pr;
    json_object *obj, *field;
    cf_json *v;
    size_t len = 0;

    v = cf_json_parse(text, strlen(text), CF_JSON_OBJECT_ONLY | CF_JSON_NO_DUP_KEYS, &pr);
    CHECK(v != NULL);
    if (!v)
        return;
    /* the text is exactly what was given (white space included), NUL after it */
    CHECK(cf_json_text(v, &len) != NULL && len == strlen(text));
    CHECK_STR(cf_json_text(v, NULL), text);
    obj = cf_json_object(v);
    CHECK(json_object_is_type(obj, json_type_object));
    CHECK(json_object_object_get_ex(obj, "name", &field) &&
          strcmp(json_object_get_string(field), "x\xc3\xa9") == 0);
    /* json-c clamps; the text does not */
    CHECK(json_object_object_get_ex(obj, "n", &field) &&
          json_object_get_uint64(field) == UINT64_MAX);
    CHECK(json_object_object_get_ex(obj, "a", &field) && json_object_array_length(field) == 3);
    CHECK(json_object_object_get_ex(obj, "t", &field) && json_object_get_boolean(field));
    CHECK(json_object_object_get_ex(obj, "f", &field) && json_object_get_double(field) == 1e5);
    cf_json_free(v);
}

static void test_parse_refused(void)
{
    cf_json_problem pr;

    memset(&pr, 0, sizeof pr);
    CHECK(cf_json_parse("{\"a\":1,\n\"b\":}", 13, 0, &pr) == NULL);
    CHECK_INT(pr.line, 2);
    CHECK_INT(pr.column, 5);
    CHECK(strstr(pr.what, "expected a value") != NULL);
    CHECK(cf_json_parse("[1]", 3, CF_JSON_OBJECT_ONLY, &pr) == NULL);
    CHECK(strstr(pr.what, "top-level value is an array, not an object") != NULL);
    CHECK(cf_json_parse("{\"a\":1,\"a\":2}", 13, CF_JSON_NO_DUP_KEYS, &pr) == NULL);
    CHECK(strstr(pr.what, "duplicate key \"a\"") != NULL);
    CHECK(cf_json_parse("", 0, 0, NULL) == NULL);
    CHECK(cf_json_parse(NULL, 0, 0, &pr) == NULL);
}

static void test_parse_scalars(void)
{
    char buf[16];
    cf_json *v;
    size_t len;

    /* a top-level number ends where the text ends, even with no NUL after it */
    memcpy(buf, "12345", 5);
    v = cf_json_parse(buf, 3, 0, NULL);
    CHECK(v && json_object_get_int(cf_json_object(v)) == 123);
    CHECK(v && strcmp(cf_json_text(v, &len), "123") == 0 && len == 3);
    cf_json_free(v);
    v = cf_json_parse("-0", 2, 0, NULL);
    CHECK(v && json_object_get_int(cf_json_object(v)) == 0 &&
          strcmp(cf_json_text(v, NULL), "-0") == 0);
    cf_json_free(v);
    /* json-c's null is the NULL object; the value and its text exist all the same */
    v = cf_json_parse(" null ", 6, 0, NULL);
    CHECK(v && cf_json_object(v) == NULL && strcmp(cf_json_text(v, NULL), " null ") == 0);
    cf_json_free(v);
    v = cf_json_parse("\"\\ud800\"", 8, 0, NULL);
    CHECK(v && strcmp(json_object_get_string(cf_json_object(v)), "\xef\xbf\xbd") == 0);
    cf_json_free(v);
    v = cf_json_parse("\"a\\u0000b\"", 10, 0, NULL);
    CHECK(v && json_object_get_string_len(cf_json_object(v)) == 3);
    cf_json_free(v);
    cf_json_free(NULL);
    CHECK(cf_json_text(NULL, &len) == NULL && len == 0);
    CHECK(cf_json_object(NULL) == NULL);
}

/* Every text the checker accepts json-c reads, up to the deepest nesting allowed. */
static void test_parse_deep(void)
{
    char in[2 * CF_JSON_MAX_DEPTH + 8];
    json_object *o;
    cf_json *v;
    int d;

    for (d = 0; d < CF_JSON_MAX_DEPTH; ++d) {
        in[d] = '[';
        in[CF_JSON_MAX_DEPTH + 1 + d] = ']';
    }
    in[CF_JSON_MAX_DEPTH] = '7';
    v = cf_json_parse(in, 2 * CF_JSON_MAX_DEPTH + 1, 0, NULL);
    CHECK(v != NULL);
    for (o = cf_json_object(v), d = 0; json_object_is_type(o, json_type_array); ++d)
        o = json_object_array_get_idx(o, 0);
    CHECK_INT(d, CF_JSON_MAX_DEPTH);
    CHECK(json_object_get_int(o) == 7);
    cf_json_free(v);
}

static void test_wrap(void)
{
    json_object *obj = json_object_new_object(), *back;
    cf_json *v, *again;
    const char *text;
    char *pretty = NULL;
    size_t len;

    json_object_object_add(obj, "s", json_object_new_string("\xc3\xa9/\"\n"));
    json_object_object_add(obj, "n", json_object_new_int64(-5));
    json_object_object_add(obj, "a", json_object_new_array());
    v = cf_json_wrap(obj);
    CHECK(v != NULL && cf_json_object(v) == obj);
    text = cf_json_text(v, &len);
    CHECK_STR(text, "{\"s\":\"\xc3\xa9/\\\"\\n\",\"n\":-5,\"a\":[]}");
    CHECK(text && len == strlen(text));
    /* round trip: its text parses back to an equal tree */
    again = text ? cf_json_parse(text, len, CF_JSON_OBJECT_ONLY, NULL) : NULL;
    CHECK(again && json_object_equal(cf_json_object(again), obj));
    CHECK(text && cf_json_pretty(text, len, "i", &pretty, NULL) == 0);
    CHECK_STR(pretty, "{\n  \"_id\": \"i\",\n  \"s\": \"\xc3\xa9/\\\"\\n\",\n  \"n\": -5,\n"
                      "  \"a\": []\n}\n");
    free(pretty);
    cf_json_free(again);
    cf_json_free(v);

    /* the tree of a parse wraps to the text json-c writes for it */
    again = cf_json_parse("[1, 2.50]", 9, 0, NULL);
    back = again ? json_object_get(cf_json_object(again)) : NULL;
    cf_json_free(again);
    v = cf_json_wrap(back);
    CHECK(v && strcmp(cf_json_text(v, NULL), "[1,2.50]") == 0);
    cf_json_free(v);

    /* NaN has no JSON text: refused, and the reference dropped (valgrind sees no leak) */
    CHECK(cf_json_wrap(json_object_new_double(NAN)) == NULL);
    CHECK(cf_json_wrap(json_object_new_double(INFINITY)) == NULL);
    /* json-c's NULL is JSON null */
    v = cf_json_wrap(NULL);
    CHECK(v && strcmp(cf_json_text(v, NULL), "null") == 0 && cf_json_object(v) == NULL);
    cf_json_free(v);
}

int main(void)
{
    test_parse();
    test_parse_refused();
    test_parse_scalars();
    test_parse_deep();
    test_wrap();
    return check_done();
}
