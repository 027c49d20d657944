/* test_render.c: file contents of resources and records, ObjectId times, checksums. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "render.h"

static char *pretty(const char *text, const char *id)
{
    char *out = NULL;
    size_t len = 0;
    int rc = id ? render_record(text, strlen(text), id, &out, &len)
                : render_pretty(text, strlen(text), NULL, &out, &len);
    CHECK_INT(rc, 0);
    if (out)
        CHECK_INT(strlen(out), len);
    return out;
}

int main(void)
{
    time_t t = 0;
    char *a, *b;

    /* ObjectId times. */
    CHECK(render_objectid_time("6465e7a5c1a9f0e2d4000001", &t));
    CHECK_INT(t, 0x6465e7a5);
    CHECK(render_objectid_time("FFFFFFFF0000000000000000", &t));
    CHECK_INT(t, 0xffffffffLL);
    CHECK(!render_objectid_time("6465e7a5c1a9f0e2d400000", &t));   /* 23 */
    CHECK(!render_objectid_time("6465e7a5c1a9f0e2d40000012", &t)); /* 25 */
    CHECK(!render_objectid_time("6465e7a5c1a9f0e2d400000g", &t));
    CHECK(!render_objectid_time("a/b", &t));
    CHECK(!render_objectid_time(NULL, &t));

    /* Two-space indent, server key order, final newline, numbers byte for byte. */
    a = pretty("{\"b\":1,\"a\":[1E400,-0,{}],\"c\":{\"x\":\"\\t\"}}", NULL);
    CHECK_STR(a, "{\n  \"b\": 1,\n  \"a\": [\n    1E400,\n    -0,\n    {}\n  ],\n"
                 "  \"c\": {\n    \"x\": \"\\t\"\n  }\n}\n");
    /* Deterministic. */
    b = pretty("{\"b\":1,\"a\":[1E400,-0,{}],\"c\":{\"x\":\"\\t\"}}", NULL);
    CHECK_STR(b, a);
    free(a);
    free(b);

    /* Records: _id first, with the server's own escaping when the text holds it. */
    a = pretty("{\"_id\": \"tab\\there\", \"n\": 7}", "tab\there");
    CHECK_STR(a, "{\n  \"_id\": \"tab\\there\",\n  \"n\": 7\n}\n");
    free(a);
    a = pretty("{\"n\": 7, \"_id\": \"x\\/y\"}", "x/y");
    CHECK_STR(a, "{\n  \"_id\": \"x\\/y\",\n  \"n\": 7\n}\n");
    free(a);
    a = pretty("{\"n\": 7}", "abc");
    CHECK_STR(a, "{\n  \"_id\": \"abc\",\n  \"n\": 7\n}\n");
    free(a);
    a = pretty("{\"_id\":\"6465e7a5c1a9f0e2d4000001\",\"name\":\"George\"}",
               "6465e7a5c1a9f0e2d4000001");
    CHECK_STR(a, "{\n  \"_id\": \"6465e7a5c1a9f0e2d4000001\",\n  \"name\": \"George\"\n}\n");
    free(a);

    /* Invalid text: -1, nothing out. */
    {
        char *out = (char *)1;
        size_t len = 7;
        CHECK_INT(render_pretty("{\"a\":", 5, NULL, &out, &len), -1);
        CHECK(out == NULL);
    }

    /* Checksums tell contents apart. */
    CHECK(render_checksum("abc", 3) == render_checksum("abc", 3));
    CHECK(render_checksum("abc", 3) != render_checksum("abd", 3));
    CHECK(render_checksum("", 0) != render_checksum("\0", 1));
    return check_done();
}
