/* test_wbuf.c: write buffers, what may be sent, identity-fixed bodies, and the
 * classification of written names (local-only versus server files). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* An array as a pointer (CHECK_STR tests its argument for NULL). */
static const char *str_of(const char *s)
{
    return s;
}
#include "wbuf.h"
#include "wname.h"

#define EXPECT_RC(call, want)                                                                  \
    do {                                                                                       \
        long long rc_ = (call);                                                                \
        CHECK_INT(rc_, want);                                                                  \
    } while (0)

static void test_buffer(void)
{
    wbuf b = {0};

    EXPECT_RC(wbuf_write(&b, "hello", 5, 0), 0);
    CHECK_INT(b.len, 5);
    CHECK_STR(b.data, "hello");
    EXPECT_RC(wbuf_write(&b, "J", 1, 0), 0);
    CHECK_STR(b.data, "Jello");
    /* Appending at the end, and writing past it leaves NUL bytes. */
    EXPECT_RC(wbuf_write(&b, "!", 1, 5), 0);
    CHECK_STR(b.data, "Jello!");
    EXPECT_RC(wbuf_write(&b, "x", 1, 8), 0);
    CHECK_INT(b.len, 9);
    CHECK(b.data[6] == '\0' && b.data[7] == '\0' && b.data[8] == 'x');
    /* Truncate cuts and extends. */
    EXPECT_RC(wbuf_truncate(&b, 2), 0);
    CHECK_INT(b.len, 2);
    CHECK_STR(b.data, "Je");
    EXPECT_RC(wbuf_truncate(&b, 4), 0);
    CHECK_INT(b.len, 4);
    CHECK(b.data[2] == '\0' && b.data[3] == '\0');
    EXPECT_RC(wbuf_truncate(&b, 0), 0);
    CHECK_INT(b.len, 0);
    EXPECT_RC(wbuf_set(&b, "{}", 2), 0);
    CHECK_STR(b.data, "{}");
    /* Limits. */
    EXPECT_RC(wbuf_write(&b, "x", 1, -1), -EINVAL);
    EXPECT_RC(wbuf_write(&b, "x", 1, (off_t)WBUF_MAX), -EFBIG);
    EXPECT_RC(wbuf_truncate(&b, (off_t)WBUF_MAX + 1), -EFBIG);
    EXPECT_RC(wbuf_truncate(&b, -1), -EINVAL);
    CHECK_STR(b.data, "{}");
    /* Growth over many small writes keeps every byte. */
    wbuf_free(&b);
    for (int i = 0; i < 10000; i++)
        wbuf_write(&b, i % 2 ? "b" : "a", 1, (off_t)b.len);
    CHECK_INT(b.len, 10000);
    CHECK(b.data[0] == 'a' && b.data[9999] == 'b' && b.data[10000] == '\0');
    wbuf_free(&b);
    CHECK(b.data == NULL && b.len == 0);
}

static void check_refused(const char *text, int line, int column, const char *what)
{
    cf_json_problem pb;
    int rc = wbuf_check(text, strlen(text), &pb);
    CHECK_INT(rc, -EINVAL);
    CHECK_MSG(pb.line == line && pb.column == column, "%.40s: line %d column %d, want %d %d",
              text, pb.line, pb.column, line, column);
    CHECK_MSG(strstr(pb.what, what) != NULL, "%.40s: \"%s\" lacks \"%s\"", text, pb.what, what);
}

static void test_check(void)
{
    cf_json_problem pb;
    const char *ok = "{\n  \"a\": 1,\n  \"b\": [1, 2.5e3, -0],\n  \"c\": \"\xc3\xa9\"\n}\n";
    char *big;

    EXPECT_RC(wbuf_check(ok, strlen(ok), &pb), 0);
    EXPECT_RC(wbuf_check("{}", 2, &pb), 0);
    check_refused("{\n  \"a\": 1\n  \"b\": 2\n}\n", 3, 3, "expected");
    check_refused("[1, 2]", 1, 1, "not an object");
    check_refused("42", 1, 1, "not an object");
    check_refused("\"text\"", 1, 1, "not an object");
    check_refused("", 1, 1, "empty");
    check_refused("  \n", 2, 1, "white space");
    check_refused("{\"a\": \"\xff\"}", 1, 8, "UTF-8");
    check_refused("{\"a\": 1, \"a\": 2}", 1, 10, "duplicate key");
    check_refused("{\"a\": 1} x", 1, 10, "trailing");
    check_refused("{\"a\": 1,}", 1, 9, "trailing comma");
    /* The size limit comes first, without a line. */
    big = malloc(CF_JSON_MAX_RECORD + 2);
    memset(big, ' ', CF_JSON_MAX_RECORD + 1);
    big[0] = '{';
    big[CF_JSON_MAX_RECORD] = '}';
    EXPECT_RC(wbuf_check(big, CF_JSON_MAX_RECORD + 1, &pb), -EINVAL);
    CHECK(pb.line == 0 && strstr(pb.what, "16 MiB") != NULL);
    EXPECT_RC(wbuf_check(big + 1, CF_JSON_MAX_RECORD - 1, &pb), -EINVAL); /* "   }" */
    big[CF_JSON_MAX_RECORD - 1] = '}';
    EXPECT_RC(wbuf_check(big, CF_JSON_MAX_RECORD, &pb), 0); /* exactly 16 MiB */
    free(big);
}

static void check_body(const char *text, const char *k1, const char *v1, const char *k2,
                       const char *v2, const char *want)
{
    char *out = NULL;
    size_t len = 0;
    int rc = wbuf_body(text, strlen(text), k1, v1, k2, v2, &out, &len);
    CHECK_INT(rc, 0);
    CHECK_STR(out, want);
    CHECK_INT(len, out ? strlen(out) : 0);
    free(out);
}

static void test_body(void)
{
    char *q;

    /* The name wins over an _id inside; exact numbers survive. */
    check_body("{\n  \"_id\": \"a\",\n  \"n\": 1.50e3,\n  \"m\": -0\n}\n", "_id", "\"b\"", NULL,
               NULL, "{\"_id\":\"b\",\"n\":1.50e3,\"m\":-0}");
    check_body("{\"n\": 12345678901234567890123}", "_id", "\"x\"", NULL, NULL,
               "{\"_id\":\"x\",\"n\":12345678901234567890123}");
    /* No _id inside: one is put first. */
    check_body("{\"z\": [ 1 , {\"y\" : null} ]}", "_id", "\"r\"", NULL, NULL,
               "{\"_id\":\"r\",\"z\":[1,{\"y\":null}]}");
    /* A NULL value drops the member (a create that leaves the id to the server). */
    check_body("{\"id\": 7, \"name\": \"f\"}", "id", NULL, NULL, NULL, "{\"name\":\"f\"}");
    check_body("{\"name\": \"f\"}", "id", "12", NULL, NULL, "{\"id\":12,\"name\":\"f\"}");
    /* Two keys: key1 first, then key2. */
    check_body("{\"slug\": \"old\", \"name\": \"N\", \"app\": \"other\"}", "app", "\"a\"", "slug",
               "\"s\"", "{\"app\":\"a\",\"slug\":\"s\",\"name\":\"N\"}");
    /* Nested members of the same name are the content's own. */
    check_body("{\"x\": {\"_id\": 1}}", "_id", "\"k\"", NULL, NULL,
               "{\"_id\":\"k\",\"x\":{\"_id\":1}}");

    q = wbuf_quote("a\"b\\c\n\x01\xc3\xa9");
    CHECK_STR(q, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
    free(q);
    q = wbuf_quote("");
    CHECK_STR(q, "\"\"");
    free(q);
    CHECK(wbuf_is_integer("0"));
    CHECK(wbuf_is_integer("12"));
    CHECK(wbuf_is_integer("-3"));
    CHECK(!wbuf_is_integer("012"));
    CHECK(!wbuf_is_integer(""));
    CHECK(!wbuf_is_integer("-"));
    CHECK(!wbuf_is_integer("1.0"));
    CHECK(!wbuf_is_integer("new"));
}

static void test_names(void)
{
    /* In a collection: records, the metadata, and everything tools leave around. */
    const char *local_names[] = {"4913", ".x.json.swp", ".x.json.swx", "x.json~", ".#x.json",
                                 "#x.json#", ".goutputstream-ABC123", ".x.json.AbC123",
                                 "sedAbC123", "x.json.tmp", "x.JSON", ".json", ".app.json",
                                 "notes.txt", "tmpk2j3_1ab", NULL};
    for (int i = 0; local_names[i]; i++) {
        CHECK_MSG(wname_file_class(LAYOUT_COLLECTION, local_names[i]) == WNAME_LOCAL, "%s",
                  local_names[i]);
        CHECK_MSG(wname_file_class(LAYOUT_LIST, local_names[i]) == WNAME_LOCAL, "%s",
                  local_names[i]);
        CHECK_MSG(strcmp(local_names[i], ".app.json") == 0 ||
                      wname_file_class(LAYOUT_APP, local_names[i]) == WNAME_LOCAL,
                  "%s", local_names[i]);
    }
    CHECK(wname_file_class(LAYOUT_COLLECTION, "x.json") == WNAME_RECORD);
    CHECK(wname_file_class(LAYOUT_COLLECTION, "5f2a0000000000000000000a.json") == WNAME_RECORD);
    CHECK(wname_file_class(LAYOUT_COLLECTION, "a b%25c.json") == WNAME_RECORD);
    CHECK(wname_file_class(LAYOUT_COLLECTION, ".collection.json") == WNAME_COLL_META);
    CHECK(wname_file_class(LAYOUT_LIST, "q.json") == WNAME_ITEM);
    CHECK(wname_file_class(LAYOUT_LIST, ".collection.json") == WNAME_LOCAL);
    CHECK(wname_file_class(LAYOUT_APP, ".app.json") == WNAME_APP_META);
    CHECK(wname_file_class(LAYOUT_APP, "x.json") == WNAME_LOCAL);
    CHECK(wname_file_class(LAYOUT_ROOT, "version.json") == WNAME_VERSION);
    CHECK(wname_file_class(LAYOUT_ROOT, "x.json") == WNAME_NONE);
    CHECK(wname_file_class(LAYOUT_ROOT, ".x.swp") == WNAME_NONE);
    CHECK(wname_file_class(LAYOUT_APPS, "x.json") == WNAME_NONE);
    CHECK(wname_file_class(LAYOUT_COLLECTION, "") == WNAME_NONE);
    CHECK(wname_file_class(LAYOUT_COLLECTION, "..") == WNAME_NONE);
    CHECK(wname_is_server(WNAME_RECORD) && wname_is_server(WNAME_ITEM) &&
          wname_is_server(WNAME_APP_META) && wname_is_server(WNAME_COLL_META) &&
          wname_is_server(WNAME_VERSION));
    CHECK(!wname_is_server(WNAME_LOCAL) && !wname_is_server(WNAME_NONE));
}

static void test_paths(void)
{
    wpath *w = malloc(sizeof *w);
    char dir[64];

    EXPECT_RC(wpath_parse("/apps/a/c/x.json", w), 0);
    CHECK(w->dir.kind == LAYOUT_COLLECTION && w->cls == WNAME_RECORD && w->self_rc == 0);
    CHECK(w->self.kind == LAYOUT_RECORD);
    CHECK_STR(w->name, "x.json");
    CHECK_STR(w->path, "/apps/a/c/x.json");
    CHECK_STR(w->dir.app, "a");
    CHECK_STR(w->dir.coll, "c");

    EXPECT_RC(wpath_parse("/apps/a/c/.x.json.swp", w), 0);
    CHECK(w->cls == WNAME_LOCAL && w->self_rc == -ENOENT);
    EXPECT_RC(wpath_parse("/apps/a/c/x.json~", w), 0);
    CHECK(w->cls == WNAME_LOCAL);
    EXPECT_RC(wpath_parse("/apps/a/4913", w), 0);
    CHECK(w->cls == WNAME_LOCAL && w->dir.kind == LAYOUT_APP);
    CHECK(w->self_rc == 0 && w->self.kind == LAYOUT_COLLECTION); /* could be a collection */
    EXPECT_RC(wpath_parse("/apps/a/.app.json", w), 0);
    CHECK(w->cls == WNAME_APP_META && w->self.kind == LAYOUT_APP_META);
    EXPECT_RC(wpath_parse("/queries/q.json", w), 0);
    CHECK(w->cls == WNAME_ITEM && w->self.kind == LAYOUT_ITEM && w->self.list == CF_QUERY);
    EXPECT_RC(wpath_parse("/users/.a@b.json.swp", w), 0);
    CHECK(w->cls == WNAME_LOCAL && w->dir.list == CF_USER);
    EXPECT_RC(wpath_parse("/version.json", w), 0);
    CHECK(w->cls == WNAME_VERSION);
    EXPECT_RC(wpath_parse("/apps/x.json", w), 0);
    CHECK(w->cls == WNAME_NONE);
    EXPECT_RC(wpath_parse("/", w), -EINVAL);
    EXPECT_RC(wpath_parse("/nothing/x.json", w), -ENOENT);
    EXPECT_RC(wpath_parse("/apps/a/c/x.json/y", w), -ENOTDIR);
    EXPECT_RC(wpath_parse("/version.json/x", w), -ENOTDIR);

    wpath_dirname("/apps/a/c/x.json", dir, sizeof dir);
    CHECK_STR(str_of(dir), "/apps/a/c");
    wpath_dirname("/apps", dir, sizeof dir);
    CHECK_STR(str_of(dir), "/");
    free(w);
}

int main(void)
{
    test_buffer();
    test_check();
    test_body();
    test_names();
    test_paths();
    return check_done();
}
