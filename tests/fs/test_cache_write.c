/* test_cache_write.c: the cache after writes: saved contents read back without a request,
 * deletions hidden, list entries put and dropped, names kept for keys a server assigned
 * (across listings), counts for rmdir. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "cache_write.h"
#include "check.h"

/* An array as a pointer (CHECK_STR tests its argument for NULL). */
static const char *str_of(const char *s)
{
    return s;
}

#define EXPECT_RC(call, want)                                                                  \
    do {                                                                                       \
        long long rc_ = (call);                                                                \
        CHECK_INT(rc_, want);                                                                  \
    } while (0)

/* The fake server: app "a" with collection "c"; records kept as texts, "_id" first. */
static struct {
    int lists, reads, gets;
    int nrec;
    char *rec[16];
    char apps[512], colls[512], queries[512], flows[512];
} F;

static double mono = 100.0;

static double f_mono(void *ud)
{
    (void)ud;
    return mono;
}

static time_t f_wall(void *ud)
{
    (void)ud;
    return 1700000000;
}

static int f_list(void *ud, cf_kind kind, int extended, cf_json **out, cf_error *err)
{
    const char *t = kind == CF_APP ? F.apps : kind == CF_COLLECTION ? F.colls
                    : kind == CF_QUERY ? F.queries : kind == CF_ACTIONFLOW ? F.flows : "[]";
    (void)ud;
    (void)extended;
    (void)err;
    F.lists++;
    *out = cf_json_parse(t, strlen(t), 0, NULL);
    return *out ? 0 : -1;
}

static int f_version(void *ud, cf_json **out, cf_error *err)
{
    (void)ud;
    (void)err;
    *out = cf_json_parse("{}", 2, 0, NULL);
    return 0;
}

static int f_read(void *ud, const char *app, const char *slug, cf_page_fn fn, void *fn_ud,
                  size_t *total, cf_error *err)
{
    cf_json *recs[16];
    cf_page page;
    int stop;
    (void)ud;
    (void)app;
    (void)slug;
    (void)err;
    F.reads++;
    for (int i = 0; i < F.nrec; i++)
        recs[i] = cf_json_parse(F.rec[i], strlen(F.rec[i]), 0, NULL);
    page.offset = 0;
    page.total = page.count = (size_t)F.nrec;
    page.records = (const cf_json *const *)recs;
    if (total)
        *total = (size_t)F.nrec;
    stop = fn(fn_ud, &page);
    for (int i = 0; i < F.nrec; i++)
        cf_json_free(recs[i]);
    return stop ? -1 : 0;
}

static int f_get(void *ud, const char *app, const char *slug, const char *id, cf_json **out,
                 cf_error *err)
{
    char want[80];
    (void)ud;
    (void)app;
    (void)slug;
    F.gets++;
    snprintf(want, sizeof want, "{\"_id\":\"%s\"", id);
    for (int i = 0; i < F.nrec; i++) {
        if (strncmp(F.rec[i], want, strlen(want)) == 0) {
            *out = cf_json_parse(F.rec[i], strlen(F.rec[i]), 0, NULL);
            return 0;
        }
    }
    memset(err, 0, sizeof *err);
    err->kind = CF_ERR_HTTP;
    err->status = 404;
    *out = NULL;
    return -1;
}

static void add_record(const char *text)
{
    F.rec[F.nrec++] = strdup(text);
}

static cache *make(void)
{
    cache_config cfg = {.ttl = 30, .content_budget = 1 << 20, .mono = f_mono, .wall = f_wall};
    cache_source src = {.list = f_list, .version = f_version, .read_collection = f_read,
                        .record_get = f_get};
    cache *c = NULL;
    cache_new(&cfg, &src, &c);
    return c;
}

static void parse(const char *path, layout_path *p)
{
    int rc = layout_parse(path, p);
    CHECK_MSG(rc == 0, "parse %s: %d", path, rc);
}

static int count_fill(void *ud, const char *name, const cache_attr *attr, bool have_attr,
                      size_t index)
{
    (void)name;
    (void)attr;
    (void)have_attr;
    (void)index;
    (*(int *)ud)++;
    return 0;
}

static void read_content(cache *c, const char *path, char *out, size_t outsz)
{
    layout_path p;
    lru_item *item = NULL;
    cache_attr attr;
    bool changed;
    parse(path, &p);
    out[0] = '\0';
    if (cache_open(c, &p, &item, &attr, &changed, NULL) == 0)
        snprintf(out, outsz, "%.*s", (int)item->len, item->data);
    lru_item_unref(item);
}

static void test_records(void)
{
    cache *c = make();
    layout_path p;
    cache_attr attr;
    cache_dir *d = NULL;
    char *app, *slug, *key, text[256];
    int n = 0;

    F.nrec = 0;
    add_record("{\"_id\":\"r1\",\"v\":1}");
    add_record("{\"_id\":\"r2\",\"v\":2}");
    snprintf(F.apps, sizeof F.apps, "[{\"id\":\"a\"}]");
    snprintf(F.colls, sizeof F.colls, "[{\"app\":\"a\",\"slug\":\"c\"}]");

    /* Keys: known or decoded; a name no _id has is refused. */
    parse("/apps/a/c/r1.json", &p);
    EXPECT_RC(cache_record_key(c, &p, &app, &slug, &key, NULL), 0);
    CHECK_STR(app, "a");
    CHECK_STR(slug, "c");
    CHECK_STR(key, "r1");
    free(app), free(slug), free(key);
    parse("/apps/a/c/a%2Fb.json", &p);
    EXPECT_RC(cache_record_key(c, &p, &app, &slug, &key, NULL), 0);
    CHECK_STR(key, "a/b");
    free(app), free(slug), free(key);
    parse("/apps/a/c/%41.json", &p);
    EXPECT_RC(cache_record_key(c, &p, &app, &slug, &key, NULL), -EINVAL);

    /* A listing, then a save: the answer is the content, with no request. */
    parse("/apps/a/c", &p);
    EXPECT_RC(cache_opendir(c, &p, &d, NULL), 0);
    cache_closedir(c, d);
    CHECK_INT(F.reads, 1);
    EXPECT_RC(cache_put_record(c, "a", "c", "r1.json", "r1", "{\n  \"_id\": \"r1\"\n}\n", 18,
                               &attr),
              0);
    CHECK_INT(attr.size, 18);
    read_content(c, "/apps/a/c/r1.json", text, sizeof text);
    CHECK_STR(str_of(text), "{\n  \"_id\": \"r1\"\n}\n");
    CHECK_INT(F.gets, 0);

    /* A new record shows in the (fresh, complete) listing at once. */
    EXPECT_RC(cache_put_record(c, "a", "c", "r3.json", "r3", "{}\n", 3, NULL), 0);
    parse("/apps/a/c/r3.json", &p);
    EXPECT_RC(cache_getattr(c, &p, &attr, NULL), 0);
    CHECK_INT(attr.size, 3);
    parse("/apps/a/c", &p);
    EXPECT_RC(cache_opendir(c, &p, &d, NULL), 0);
    n = 0;
    cache_readdir(c, d, 0, count_fill, &n);
    CHECK_INT(n, 4); /* .collection.json, r1, r2, r3 */
    CHECK_INT(cache_dir_size(c, d), 4);
    CHECK(cache_dir_has(c, d, "r3.json"));
    CHECK(cache_dir_has(c, d, ".collection.json"));
    CHECK(!cache_dir_has(c, d, "r4.json"));
    cache_closedir(c, d);
    CHECK_INT(F.reads, 1);

    /* A deleted record is gone from lookups and listings without a request. */
    cache_drop_record(c, "a", "c", "r2.json");
    parse("/apps/a/c/r2.json", &p);
    EXPECT_RC(cache_getattr(c, &p, &attr, NULL), -ENOENT);
    parse("/apps/a/c", &p);
    EXPECT_RC(cache_opendir(c, &p, &d, NULL), 0);
    n = 0;
    cache_readdir(c, d, 0, count_fill, &n);
    CHECK_INT(n, 3);
    CHECK(!cache_dir_has(c, d, "r2.json"));
    cache_closedir(c, d);
    CHECK_INT(F.gets + F.reads, 1);
    {
        size_t count = 99;
        cf_error err;
        EXPECT_RC(cache_dir_count(c, &p, false, &count, &err), 0);
        CHECK_INT(count, 2);
    }

    /* A record the server gave another _id keeps the name it was made under, also after
     * the next listing (which holds the server's id). */
    EXPECT_RC(cache_put_record(c, "a", "c", "mine.json", "5f0000000000000000000001",
                               "{\"_id\":\"5f0000000000000000000001\"}", 32, NULL),
              0);
    add_record("{\"_id\":\"5f0000000000000000000001\",\"v\":9}");
    free(F.rec[1]); /* r2 is gone on the server too */
    F.rec[1] = F.rec[--F.nrec];
    mono += 100;       /* stale */
    parse("/apps/a/c", &p);
    EXPECT_RC(cache_opendir(c, &p, &d, NULL), 0);
    CHECK_INT(F.reads, 2);
    CHECK(cache_dir_has(c, d, "mine.json"));
    CHECK(!cache_dir_has(c, d, "5f0000000000000000000001.json"));
    cache_closedir(c, d);
    parse("/apps/a/c/mine.json", &p);
    EXPECT_RC(cache_record_key(c, &p, &app, &slug, &key, NULL), 0);
    CHECK_STR(key, "5f0000000000000000000001");
    free(app), free(slug), free(key);
    read_content(c, "/apps/a/c/mine.json", text, sizeof text);
    CHECK(strstr(text, "\"v\": 9") != NULL);

    /* Counting for rmdir: an empty answer is checked with the server. */
    {
        size_t count = 99;
        cf_error err;
        int reads = F.reads;
        for (int i = 0; i < F.nrec; i++)
            free(F.rec[i]);
        F.nrec = 0;
        parse("/apps/a/c", &p);
        EXPECT_RC(cache_dir_count(c, &p, false, &count, &err), 0);
        CHECK_INT(count, 2); /* the cache's (fresh) view: r1, mine */
        CHECK_INT(F.reads, reads);
        cache_drop_record(c, "a", "c", "r1.json");
        cache_drop_record(c, "a", "c", "mine.json");
        EXPECT_RC(cache_dir_count(c, &p, true, &count, &err), 0);
        CHECK_INT(count, 0);
        CHECK_INT(F.reads, reads + 1);
    }
    cache_free(c);
}

static void test_times(void)
{
    cache *c = make();
    layout_path p;
    cache_attr attr;
    cache_dir *d = NULL;

    for (int i = 0; i < F.nrec; i++)
        free(F.rec[i]);
    F.nrec = 0;
    F.reads = 0;
    add_record("{\"_id\":\"r1\",\"v\":1}");
    add_record("{\"_id\":\"r2\",\"v\":2}");
    snprintf(F.apps, sizeof F.apps, "[{\"id\":\"a\"}]");
    snprintf(F.colls, sizeof F.colls, "[{\"app\":\"a\",\"slug\":\"c\"}]");
    parse("/apps/a/c", &p);
    EXPECT_RC(cache_opendir(c, &p, &d, NULL), 0);
    cache_closedir(c, d);
    /* A time a tool set is kept in the entry, with its nanoseconds, across a listing that
     * finds the same content; a new content brings the file's own time back. */
    {
        struct timespec t = {1600000000, 123456789};
        parse("/apps/a/c/r2.json", &p);
        EXPECT_RC(cache_record_set_time(c, &p, &t, &attr), 0);
        CHECK(attr.mtime == 1600000000 && attr.mtime_ns == 123456789);
        EXPECT_RC(cache_getattr(c, &p, &attr, NULL), 0);
        CHECK(attr.mtime == 1600000000 && attr.mtime_ns == 123456789);
        mono += 100;
        parse("/apps/a/c", &p);
        EXPECT_RC(cache_opendir(c, &p, &d, NULL), 0);
        cache_closedir(c, d);
        CHECK_INT(F.reads, 2);
        parse("/apps/a/c/r2.json", &p);
        EXPECT_RC(cache_getattr(c, &p, &attr, NULL), 0);
        CHECK(attr.mtime == 1600000000 && attr.mtime_ns == 123456789);
        EXPECT_RC(cache_put_record(c, "a", "c", "r2.json", "r2", "{\"v\": 22}\n", 11, &attr),
                  0);
        CHECK(attr.mtime == 1700000000 && attr.mtime_ns == 0);
        parse("/apps/a/c/none.json", &p);
        EXPECT_RC(cache_record_set_time(c, &p, &t, NULL), -ENOENT);
    }

    cache_free(c);
}

static void test_lists(void)
{
    cache *c = make();
    layout_path p;
    cache_attr attr;
    cache_dir *d = NULL;
    char *app, *key, text[256];
    bool listed;
    int lists;

    snprintf(F.apps, sizeof F.apps, "[{\"id\":\"a\"},{\"id\":\"b\"}]");
    snprintf(F.colls, sizeof F.colls,
             "[{\"app\":\"a\",\"slug\":\"c\"},{\"app\":\"b\",\"slug\":\"d\"}]");
    snprintf(F.queries, sizeof F.queries, "[{\"slug\":\"q1\"}]");
    snprintf(F.flows, sizeof F.flows, "[{\"id\":1}]");

    parse("/queries/q1.json", &p);
    EXPECT_RC(cache_entry_key(c, &p, &app, &key, &listed, NULL), 0);
    CHECK(app == NULL && listed);
    CHECK_STR(key, "q1");
    free(key);
    parse("/queries/new%2Fone.json", &p);
    EXPECT_RC(cache_entry_key(c, &p, &app, &key, &listed, NULL), 0);
    CHECK(!listed);
    CHECK_STR(key, "new/one");
    free(key);
    parse("/apps/b/d/.collection.json", &p);
    EXPECT_RC(cache_entry_key(c, &p, &app, &key, &listed, NULL), 0);
    CHECK_STR(app, "b");
    CHECK_STR(key, "d");
    free(app), free(key);

    /* A saved query reads back at once; a new one is listed at once. */
    lists = F.lists;
    EXPECT_RC(cache_put_entry(c, CF_QUERY, NULL, "q1.json", "q1", "{\"slug\": \"q1\"}\n", 15,
                              &attr),
              0);
    read_content(c, "/queries/q1.json", text, sizeof text);
    CHECK_STR(str_of(text), "{\"slug\": \"q1\"}\n");
    EXPECT_RC(cache_put_entry(c, CF_QUERY, NULL, "q2.json", "q2", "{}\n", 3, NULL), 0);
    parse("/queries/q2.json", &p);
    EXPECT_RC(cache_getattr(c, &p, &attr, NULL), 0);
    CHECK_INT(attr.size, 3);
    CHECK_INT(F.lists, lists);
    cache_drop_entry(c, CF_QUERY, NULL, "q1.json");
    parse("/queries/q1.json", &p);
    EXPECT_RC(cache_getattr(c, &p, &attr, NULL), -ENOENT);

    /* An actionflow made as new.json got the number 2: the name stays, across lists. */
    EXPECT_RC(cache_put_entry(c, CF_ACTIONFLOW, NULL, "new.json", "2", "{\"id\": 2}\n", 10,
                              NULL),
              0);
    snprintf(F.flows, sizeof F.flows, "[{\"id\":1},{\"id\":2}]");
    mono += 100;
    parse("/actionflows", &p);
    EXPECT_RC(cache_opendir(c, &p, &d, NULL), 0);
    CHECK(cache_dir_has(c, d, "new.json"));
    CHECK(cache_dir_has(c, d, "1.json"));
    CHECK(!cache_dir_has(c, d, "2.json"));
    cache_closedir(c, d);
    parse("/actionflows/new.json", &p);
    EXPECT_RC(cache_entry_key(c, &p, &app, &key, &listed, NULL), 0);
    CHECK_STR(key, "2");
    free(key);

    /* A dropped app takes its collections along; a new collection is empty, known. */
    parse("/apps/b", &p);
    EXPECT_RC(cache_getattr(c, &p, &attr, NULL), 0);
    cache_drop_entry(c, CF_APP, NULL, "b");
    EXPECT_RC(cache_getattr(c, &p, &attr, NULL), -ENOENT);
    parse("/apps/b/d", &p);
    EXPECT_RC(cache_getattr(c, &p, &attr, NULL), -ENOENT);
    EXPECT_RC(cache_put_entry(c, CF_COLLECTION, "a", "new", "new", "{\"slug\": \"new\"}\n", 16,
                              NULL),
              0);
    cache_new_collection(c, "a", "new");
    snprintf(F.colls, sizeof F.colls,
             "[{\"app\":\"a\",\"slug\":\"c\"},{\"app\":\"a\",\"slug\":\"new\"}]");
    {
        int reads = F.reads, n = 0;
        size_t count = 9;
        cf_error err;
        parse("/apps/a/new", &p);
        EXPECT_RC(cache_opendir(c, &p, &d, NULL), 0);
        cache_readdir(c, d, 0, count_fill, &n);
        CHECK_INT(n, 1); /* .collection.json */
        cache_closedir(c, d);
        CHECK_INT(F.reads, reads);
        parse("/apps/a", &p);
        EXPECT_RC(cache_dir_count(c, &p, false, &count, &err), 0);
        CHECK_INT(count, 2);
    }
    cache_free(c);
}

int main(void)
{
    test_records();
    test_times();
    test_lists();
    for (int i = 0; i < F.nrec; i++)
        free(F.rec[i]);
    return check_done();
}
