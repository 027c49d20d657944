/* test_cache.c: the cache over a fake source: counts, TTL, LRU, single-flight, times. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "cache_write.h"
#include "cache_int.h" /* the LRU's bytes, for a fake resident size */
#include "check.h"
#include "log.h"
#include "names.h"

/* CHECK_INT evaluates its argument twice: calls with effects go through this. */
#define EXPECT_RC(call, want)                                                                  \
    do {                                                                                       \
        long long rc_ = (call);                                                                \
        CHECK_INT(rc_, want);                                                                  \
    } while (0)

/* ------------------------------------------------------------------------- */
/* The fake server                                                            */
/* ------------------------------------------------------------------------- */

#define MAXREC 5000

typedef struct fake {
    pthread_mutex_t lock;
    int list_calls, version_calls, reads, pages, gets;
    int delay_ms;
    int page_size;
    int nrec;                 /* records of app "a", collection "c" */
    char *rec[MAXREC];        /* their texts, "_id" first */
    const char *lists[6];     /* by cf_kind */
} fake;

static fake F;
static double now_mono = 1000.0;
static time_t now_wall = 1700000000;

static double fake_mono(void *ud)
{
    (void)ud;
    return now_mono;
}

static time_t fake_wall(void *ud)
{
    (void)ud;
    return now_wall;
}

static void pause_ms(int ms)
{
    if (ms)
        usleep((useconds_t)ms * 1000);
}

static void http_error(cf_error *err, long status, const char *msg)
{
    memset(err, 0, sizeof *err);
    err->kind = CF_ERR_HTTP;
    err->status = status;
    snprintf(err->message, sizeof err->message, "%s", msg);
    snprintf(err->response_id, sizeof err->response_id, "rid-%ld", status);
}

static int f_list(void *ud, cf_kind kind, int extended, cf_json **out, cf_error *err)
{
    (void)ud;
    (void)extended;
    pthread_mutex_lock(&F.lock);
    F.list_calls++;
    pthread_mutex_unlock(&F.lock);
    pause_ms(F.delay_ms);
    *out = cf_json_parse(F.lists[kind], strlen(F.lists[kind]), 0, NULL);
    if (!*out) {
        http_error(err, 500, "bad fixture");
        return -1;
    }
    return 0;
}

static int f_version(void *ud, cf_json **out, cf_error *err)
{
    static const char v[] = "{\"api\":\"1.0\",\"web_application\":\"1.0\",\"web_server\":\"fake\"}";
    (void)ud;
    (void)err;
    pthread_mutex_lock(&F.lock);
    F.version_calls++;
    pthread_mutex_unlock(&F.lock);
    *out = cf_json_parse(v, strlen(v), 0, NULL);
    return 0;
}

static int f_read(void *ud, const char *app, const char *slug, cf_page_fn fn, void *fn_ud,
                  size_t *total, cf_error *err)
{
    int n;
    (void)ud;
    if (strcmp(app, "a") != 0 || strcmp(slug, "c") != 0) {
        http_error(err, 404, "no such collection");
        return -1;
    }
    pthread_mutex_lock(&F.lock);
    F.reads++;
    n = F.nrec;
    pthread_mutex_unlock(&F.lock);
    pause_ms(F.delay_ms);
    if (total)
        *total = (size_t)n;
    for (int off = 0; off < n || off == 0; off += F.page_size) {
        int count = n - off < F.page_size ? n - off : F.page_size;
        cf_json *prec[MAXREC];
        cf_page page = {(size_t)off, (size_t)n, (size_t)count, (const cf_json *const *)prec};
        int stop;
        pthread_mutex_lock(&F.lock);
        F.pages++;
        for (int i = 0; i < count; i++)
            prec[i] = cf_json_parse(F.rec[off + i], strlen(F.rec[off + i]), 0, NULL);
        pthread_mutex_unlock(&F.lock);
        stop = fn(fn_ud, &page);
        for (int i = 0; i < count; i++)
            cf_json_free(prec[i]);
        if (stop) {
            err->kind = CF_ERR_CANCELLED;
            return -1;
        }
        if (n == 0)
            break;
    }
    return 0;
}

static int f_get(void *ud, const char *app, const char *slug, const char *id, cf_json **out,
                 cf_error *err)
{
    char want[128];
    (void)ud;
    *out = NULL;
    pthread_mutex_lock(&F.lock);
    F.gets++;
    pthread_mutex_unlock(&F.lock);
    pause_ms(F.delay_ms);
    if (strcmp(app, "a") == 0 && strcmp(slug, "c") == 0) {
        snprintf(want, sizeof want, "{\"_id\":\"%s\"", id);
        pthread_mutex_lock(&F.lock);
        for (int i = 0; i < F.nrec; i++)
            if (strncmp(F.rec[i], want, strlen(want)) == 0)
                *out = cf_json_parse(F.rec[i], strlen(F.rec[i]), 0, NULL);
        pthread_mutex_unlock(&F.lock);
    }
    if (!*out) {
        http_error(err, 404, "Item not found");
        return -1;
    }
    return 0;
}

static void set_record(int i, const char *extra)
{
    char buf[256];
    snprintf(buf, sizeof buf, "{\"_id\":\"6465e7a5c1a9f0e2%08x\",\"n\":\"%04d\",\"x\":\"%s\"}",
             i, i, extra);
    pthread_mutex_lock(&F.lock);
    free(F.rec[i]);
    F.rec[i] = strdup(buf);
    pthread_mutex_unlock(&F.lock);
}

static void fake_setup(int nrec, int page_size)
{
    for (int i = 0; i < MAXREC; i++) {
        free(F.rec[i]);
        F.rec[i] = NULL;
    }
    memset(&F, 0, sizeof F);
    pthread_mutex_init(&F.lock, NULL);
    F.page_size = page_size;
    F.nrec = nrec;
    for (int i = 0; i < nrec; i++)
        set_record(i, "v1");
    F.lists[CF_APP] = "[{\"id\":\"a\",\"name\":\"App A\"},{\"id\":\".odd/app\",\"name\":\"odd\"}]";
    F.lists[CF_COLLECTION] =
        "[{\"app\":\"a\",\"slug\":\"c\",\"name\":\"C\"},{\"app\":\"a\",\"slug\":\"d\"},"
        "{\"app\":\".odd/app\",\"slug\":\"s\"},{\"app\":\"nowhere\",\"slug\":\"x\"}]";
    F.lists[CF_QUERY] = "[{\"slug\":\"q%20/x\",\"query\":[]},{\"slug\":\"plain\"}]";
    F.lists[CF_ACTIONFLOW] = "[{\"id\":12,\"name\":\"flow\"},{\"id\":3.5},{\"name\":\"no id\"}]";
    F.lists[CF_QUESTIONNAIRE] = "[]";
    F.lists[CF_USER] = "[{\"email\":\"first+tag@x.test\",\"is_active\":true},"
                       "{\"email\":\"gone@x.test\",\"is_active\":false},{\"email\":\"plain@x.test\"}]";
}

static cache *make_cache(double ttl, size_t budget)
{
    cache_source src = {NULL, f_list, f_version, f_read, f_get};
    cache_config cfg = {ttl, budget, 1600000000, fake_mono, fake_wall, NULL, 0, NULL, NULL};
    cache *c = NULL;
    EXPECT_RC(cache_new(&cfg, &src, &c), 0);
    return c;
}

/* Parses in place: a layout_path points into itself and must not be copied. */
static void P(layout_path *p, const char *path)
{
    int rc = layout_parse(path, p);
    CHECK_MSG(rc == 0, "parse %s", path);
}

static int getattr(cache *c, const char *path, cache_attr *a)
{
    layout_path p;
    P(&p, path);
    cf_error err;
    return cache_getattr(c, &p, a, &err);
}

/* Opens path and returns its content (malloc'ed copy) or NULL; *rc the result. */
static char *read_file(cache *c, const char *path, int *rc)
{
    layout_path p;
    P(&p, path);
    lru_item *item = NULL;
    cache_attr a;
    bool changed;
    char *copy = NULL;
    *rc = cache_open(c, &p, &item, &a, &changed, NULL);
    if (*rc == 0) {
        copy = strdup(item->data);
        CHECK_INT(a.size, item->len);
        lru_item_unref(item);
    }
    return copy;
}

typedef struct listing {
    int n;
    char names[MAXREC + 8][64];
    cache_attr attrs[MAXREC + 8];
    bool have[MAXREC + 8];
    int stop_after;
} listing;

static int collect(void *ud, const char *name, const cache_attr *attr, bool have_attr,
                   size_t index)
{
    listing *l = ud;
    (void)index;
    snprintf(l->names[l->n], sizeof l->names[l->n], "%s", name);
    l->attrs[l->n] = *attr;
    l->have[l->n] = have_attr;
    l->n++;
    return l->stop_after && l->n >= l->stop_after;
}

static int list_dir(cache *c, const char *path, listing *l)
{
    layout_path p;
    P(&p, path);
    cache_dir *d = NULL;
    int rc = cache_opendir(c, &p, &d, NULL);
    memset(l, 0, sizeof *l);
    if (rc)
        return rc;
    cache_readdir(c, d, 0, collect, l);
    cache_closedir(c, d);
    return 0;
}

static int find_name(const listing *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            return i;
    return -1;
}

/* ------------------------------------------------------------------------- */
/* Tests                                                                      */
/* ------------------------------------------------------------------------- */

static listing L;

static void test_counts(void)
{
    cache *c;
    cache_attr a;
    int rc;
    char *text, path[128];

    fake_setup(1234, 100);
    c = make_cache(30, 64 << 20);

    /* ls / : no request (version.json's attributes are not known yet). */
    EXPECT_RC(list_dir(c, "/", &L), 0);
    size_t nroot = 0; /* the resource directories, version.json, .clappfs... */
    while (layout_root_names[nroot])
        nroot++;
    CHECK_INT(L.n, nroot);
    CHECK_INT(F.list_calls + F.version_calls, 0);
    CHECK(!L.have[find_name(&L, "version.json")]);

    /* ls apps: 1; again: 0. */
    EXPECT_RC(list_dir(c, "/apps", &L), 0);
    CHECK_INT(F.list_calls, 1);
    CHECK_INT(L.n, 2);
    CHECK(find_name(&L, "%2Eodd%2Fapp") >= 0);
    CHECK(L.attrs[0].is_dir);
    EXPECT_RC(list_dir(c, "/apps", &L), 0);
    CHECK_INT(F.list_calls, 1);

    /* ls apps/a: 1 (collections), .app.json from the apps list. */
    EXPECT_RC(list_dir(c, "/apps/a", &L), 0);
    CHECK_INT(F.list_calls, 2);
    CHECK_INT(L.n, 3);
    CHECK_STR(L.names[0], ".app.json");
    CHECK(find_name(&L, "c") >= 0 && find_name(&L, "d") >= 0);
    EXPECT_RC(list_dir(c, "/apps/%2Eodd%2Fapp", &L), 0);
    CHECK_INT(F.list_calls, 2);
    CHECK_INT(L.n, 2);
    EXPECT_RC(getattr(c, "/apps/nowhere", &a), -ENOENT);
    EXPECT_RC(getattr(c, "/apps/a/zzz", &a), -ENOENT);
    CHECK_INT(F.list_calls, 2);

    /* ls -l apps/a/c: ceil(1234/100) pages in one read, every attribute known. */
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    CHECK_INT(F.reads, 1);
    CHECK_INT(F.pages, 13);
    CHECK_INT(L.n, 1235);
    CHECK_STR(L.names[0], ".collection.json");
    CHECK_STR(L.names[1], "6465e7a5c1a9f0e200000000.json");
    CHECK_STR(L.names[1234], "6465e7a5c1a9f0e2000004d1.json");
    CHECK_INT(L.attrs[1].mtime, 0x6465e7a5);
    CHECK_INT(F.list_calls, 2);

    /* cat of every record after that: 0 requests, size == bytes. */
    for (int i = 1; i < L.n; i++) {
        snprintf(path, sizeof path, "/apps/a/c/%s", L.names[i]);
        text = read_file(c, path, &rc);
        CHECK_MSG(rc == 0 && text && strlen(text) == L.attrs[i].size, "%s", path);
        free(text);
        if (check_failed)
            break;
    }
    CHECK_INT(F.gets, 0);
    text = read_file(c, "/apps/a/c/6465e7a5c1a9f0e200000000.json", &rc);
    CHECK_STR(text, "{\n  \"_id\": \"6465e7a5c1a9f0e200000000\",\n  \"n\": \"0000\",\n  \"x\": \"v1\"\n}\n");
    free(text);

    /* A missing record in a listed, fresh collection: ENOENT, no request. */
    EXPECT_RC(getattr(c, "/apps/a/c/nothere.json", &a), -ENOENT);
    EXPECT_RC(getattr(c, "/apps/a/c/%41.json", &a), -ENOENT);
    CHECK_INT(F.gets, 0);
    /* A second listing within the TTL: 0. */
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    CHECK_INT(F.reads, 1);

    /* Lists of the other kinds. */
    EXPECT_RC(list_dir(c, "/queries", &L), 0);
    CHECK(find_name(&L, "q%2520%2Fx.json") >= 0 && find_name(&L, "plain.json") >= 0);
    EXPECT_RC(list_dir(c, "/users", &L), 0);
    CHECK_INT(L.n, 2); /* the inactive user is not shown */
    CHECK(find_name(&L, "first+tag@x.test.json") >= 0);
    EXPECT_RC(getattr(c, "/users/gone@x.test.json", &a), -ENOENT);
    EXPECT_RC(list_dir(c, "/actionflows", &L), 0);
    CHECK_INT(L.n, 1);
    CHECK_STR(L.names[0], "12.json");
    text = read_file(c, "/actionflows/12.json", &rc);
    CHECK_STR(text, "{\n  \"id\": 12,\n  \"name\": \"flow\"\n}\n");
    free(text);
    EXPECT_RC(list_dir(c, "/questionnaires", &L), 0);
    CHECK_INT(L.n, 0);

    /* version.json: 1 request, 0444; then ls / knows its attributes. */
    EXPECT_RC(getattr(c, "/version.json", &a), 0);
    CHECK_INT(a.mode, 0444);
    CHECK_INT(F.version_calls, 1);
    EXPECT_RC(list_dir(c, "/", &L), 0);
    CHECK(L.have[find_name(&L, "version.json")]);
    CHECK_INT(L.attrs[find_name(&L, "version.json")].size, a.size);

    /* Times: files without an ObjectId take the mount time. */
    EXPECT_RC(getattr(c, "/apps/a/.app.json", &a), 0);
    CHECK_INT(a.mtime, 1600000000);
    EXPECT_RC(getattr(c, "/apps/a", &a), 0);
    CHECK(a.is_dir && a.mode == 0755);
    cache_free(c);
}

static void test_single_record(void)
{
    cache *c;
    cache_attr a;
    int rc, gets;
    char *text;

    fake_setup(50, 10);
    c = make_cache(30, 64 << 20);
    EXPECT_RC(list_dir(c, "/apps", &L), 0);
    EXPECT_RC(list_dir(c, "/apps/a", &L), 0);
    /* Never listed: a single GET gives size and content; open then costs nothing. */
    EXPECT_RC(getattr(c, "/apps/a/c/6465e7a5c1a9f0e200000007.json", &a), 0);
    CHECK_INT(F.gets, 1);
    CHECK_INT(F.reads, 0);
    text = read_file(c, "/apps/a/c/6465e7a5c1a9f0e200000007.json", &rc);
    CHECK_INT(rc, 0);
    CHECK_INT(strlen(text), a.size);
    CHECK_INT(F.gets, 1);
    free(text);
    /* Missing, not listed: the server says 404 -> ENOENT. */
    EXPECT_RC(getattr(c, "/apps/a/c/missing.json", &a), -ENOENT);
    CHECK_INT(F.gets, 2);
    /* A collection the server does not have. */
    EXPECT_RC(list_dir(c, "/apps/a/d", &L), -ENOENT);
    /* Then the listing makes it complete: missing names cost nothing. */
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    gets = F.gets;
    EXPECT_RC(getattr(c, "/apps/a/c/missing.json", &a), -ENOENT);
    CHECK_INT(F.gets, gets);
    cache_free(c);
}

static void test_ttl_and_times(void)
{
    cache *c;
    cache_attr a, b;
    int rc;
    char *text;
    const char *r3 = "/apps/a/c/6465e7a5c1a9f0e200000003.json";
    const char *r4 = "/apps/a/c/6465e7a5c1a9f0e200000004.json";

    fake_setup(20, 10);
    c = make_cache(2, 64 << 20);
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    CHECK_INT(F.reads, 1);
    CHECK_INT(F.list_calls, 2);
    EXPECT_RC(getattr(c, r3, &a), 0);
    CHECK_INT(a.mtime, 0x6465e7a5);

    /* Someone changes record 3 on the server: invisible within the TTL... */
    set_record(3, "changed by someone else");
    now_mono += 1.0;
    now_wall += 1;
    text = read_file(c, r3, &rc);
    CHECK(text && strstr(text, "\"v1\""));
    free(text);
    CHECK_INT(F.gets, 0);

    /* ... visible after it: a single GET, new size, time moved to when it was seen. */
    now_mono += 1.5;
    now_wall += 100;
    EXPECT_RC(getattr(c, r3, &b), 0);
    CHECK_INT(F.gets, 1);
    CHECK(b.size > a.size);
    CHECK_INT(b.mtime, now_wall);
    text = read_file(c, r3, &rc);
    CHECK(text && strstr(text, "changed by someone else"));
    free(text);
    CHECK_INT(F.gets, 1);
    /* An unchanged record refetched keeps its time. */
    EXPECT_RC(getattr(c, r4, &b), 0);
    CHECK_INT(F.gets, 2);
    CHECK_INT(b.mtime, 0x6465e7a5);

    /* The listing refreshes after the TTL: one read, times as above. */
    now_mono += 3;
    now_wall += 50;
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    CHECK_INT(F.reads, 2);
    CHECK_INT(L.attrs[find_name(&L, "6465e7a5c1a9f0e200000003.json")].mtime, now_wall - 50);
    CHECK_INT(L.attrs[find_name(&L, "6465e7a5c1a9f0e200000004.json")].mtime, 0x6465e7a5);
    /* A change seen by the listing moves the time too. */
    set_record(5, "again");
    now_mono += 3;
    now_wall += 7;
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    CHECK_INT(F.reads, 3);
    CHECK_INT(L.attrs[find_name(&L, "6465e7a5c1a9f0e200000005.json")].mtime, now_wall);
    CHECK_INT(L.attrs[find_name(&L, "6465e7a5c1a9f0e200000006.json")].mtime, 0x6465e7a5);
    /* A record deleted on the server is gone after the TTL. */
    pthread_mutex_lock(&F.lock);
    F.nrec = 19;
    pthread_mutex_unlock(&F.lock);
    now_mono += 3;
    EXPECT_RC(getattr(c, "/apps/a/c/6465e7a5c1a9f0e200000013.json", &a), -ENOENT);
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    CHECK_INT(L.n, 20);
    cache_free(c);

    /* ttl 0: every question fetches. */
    fake_setup(5, 10);
    c = make_cache(0, 64 << 20);
    EXPECT_RC(getattr(c, "/apps/a", &a), 0);
    EXPECT_RC(getattr(c, "/apps/a", &a), 0);
    CHECK_INT(F.list_calls, 2);
    EXPECT_RC(getattr(c, r3, &a), 0);
    EXPECT_RC(getattr(c, r3, &a), 0);
    CHECK_INT(F.gets, 2);
    text = read_file(c, r3, &rc);
    CHECK_INT(F.gets, 3);
    free(text);
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    CHECK_INT(F.reads, 2);
    CHECK_INT(L.n, 6);
    cache_free(c);
}

/* Reads of an expired listing's records: single GETs until, within one TTL, as many
 * were made as a listing has pages (here 1234 / 100 = 13); then one listing again. */
static void test_relist_after_expiry(void)
{
    cache_source src = {NULL, f_list, f_version, f_read, f_get};
    cache_config cfg = {.ttl = 2, .content_budget = 64 << 20, .mount_time = 1600000000,
                        .mono = fake_mono, .wall = fake_wall, .page_size = 100};
    cache *c = NULL;
    cache_attr a;
    char path[128], *text;
    int rc;

    fake_setup(1234, 100);
    EXPECT_RC(cache_new(&cfg, &src, &c), 0);
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    CHECK_INT(F.reads, 1);
    set_record(20, "changed meanwhile");
    now_mono += 3;
    /* Sparse reads: a GET each, and the count starts again after a TTL without reads. */
    for (int i = 0; i < 12; i++) {
        snprintf(path, sizeof path, "/apps/a/c/6465e7a5c1a9f0e2%08x.json", i);
        EXPECT_RC(getattr(c, path, &a), 0);
    }
    CHECK_INT(F.gets, 12);
    now_mono += 2.5;
    for (int i = 100; i < 112; i++) {
        snprintf(path, sizeof path, "/apps/a/c/6465e7a5c1a9f0e2%08x.json", i);
        EXPECT_RC(getattr(c, path, &a), 0);
    }
    CHECK_INT(F.gets, 24);
    CHECK_INT(F.reads, 1);
    /* A reader going through the collection: 13 GETs in this TTL, then one listing. */
    for (int i = 12; i < 40; i++) {
        snprintf(path, sizeof path, "/apps/a/c/6465e7a5c1a9f0e2%08x.json", i);
        text = read_file(c, path, &rc);
        CHECK_INT(rc, 0);
        CHECK(text && (i != 20 || strstr(text, "changed meanwhile")));
        free(text);
    }
    CHECK_INT(F.gets, 25);
    CHECK_INT(F.reads, 2);
    /* Fresh again: nothing is asked, a record gone from the server is known missing. */
    EXPECT_RC(getattr(c, "/apps/a/c/6465e7a5c1a9f0e2ffffffff.json", &a), -ENOENT);
    CHECK_INT(F.gets, 25);
    cache_free(c);

    /* A collection never listed: a GET per record, however many. */
    fake_setup(1234, 100);
    EXPECT_RC(cache_new(&cfg, &src, &c), 0);
    for (int i = 0; i < 30; i++) {
        snprintf(path, sizeof path, "/apps/a/c/6465e7a5c1a9f0e2%08x.json", i);
        EXPECT_RC(getattr(c, path, &a), 0);
    }
    now_mono += 3;
    for (int i = 0; i < 30; i++) {
        snprintf(path, sizeof path, "/apps/a/c/6465e7a5c1a9f0e2%08x.json", i);
        EXPECT_RC(getattr(c, path, &a), 0);
    }
    CHECK_INT(F.gets, 60);
    CHECK_INT(F.reads, 0);
    cache_free(c);
}

static void test_lru_budget(void)
{
    cache *c;
    cache_attr a;
    cache_stats st;
    size_t one;
    int rc;
    char *text;

    fake_setup(100, 25);
    /* Every record renders to the same size: measure one, allow ten. */
    c = make_cache(30, 64 << 20);
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    cache_get_stats(c, &st);
    CHECK_INT(st.content_items, 100);
    one = st.content_bytes / 100;
    cache_free(c);

    fake_setup(100, 25);
    c = make_cache(30, 10 * one);
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    cache_get_stats(c, &st);
    CHECK_INT(st.content_items, 10);
    CHECK(st.content_bytes <= st.content_budget);
    CHECK_INT(st.evictions, 90);
    CHECK_INT(st.records, 100);
    /* Evicted records keep names, sizes and times: stat costs nothing. */
    EXPECT_RC(getattr(c, "/apps/a/c/6465e7a5c1a9f0e200000000.json", &a), 0);
    CHECK_INT(a.size, L.attrs[1].size);
    CHECK_INT(a.mtime, 0x6465e7a5);
    CHECK_INT(F.gets, 0);
    /* The newest stayed (oldest-first eviction): read at no cost. */
    text = read_file(c, "/apps/a/c/6465e7a5c1a9f0e200000063.json", &rc);
    CHECK_INT(rc, 0);
    free(text);
    CHECK_INT(F.gets, 0);
    /* An evicted one is fetched again with a single GET. */
    text = read_file(c, "/apps/a/c/6465e7a5c1a9f0e200000000.json", &rc);
    CHECK_INT(rc, 0);
    CHECK_INT(strlen(text), a.size);
    free(text);
    CHECK_INT(F.gets, 1);
    /* ... and is resident again, at the expense of the least recent one. */
    text = read_file(c, "/apps/a/c/6465e7a5c1a9f0e200000000.json", &rc);
    free(text);
    CHECK_INT(F.gets, 1);
    cache_get_stats(c, &st);
    CHECK_INT(st.content_items, 10);
    CHECK_INT(st.evictions, 91);
    text = read_file(c, "/apps/a/c/6465e7a5c1a9f0e20000005a.json", &rc); /* 90: evicted now */
    free(text);
    CHECK_INT(F.gets, 2);
    printf("# record table: %zu bytes for %zu records (%.1f per record)\n",
           st.record_table_bytes, st.records, (double)st.record_table_bytes / st.records);
    cache_free(c);

    /* Budget 0: nothing kept, reading still works (one GET per open). */
    fake_setup(10, 25);
    c = make_cache(30, 0);
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    text = read_file(c, "/apps/a/c/6465e7a5c1a9f0e200000001.json", &rc);
    CHECK(rc == 0 && text && strlen(text) == L.attrs[2].size);
    free(text);
    CHECK_INT(F.gets, 1);
    cache_free(c);
}

/* The resident size the fake system reports (resident_bytes): a rest, plus the content of
 * fake_cache (read under its lock: resident_bytes is called with it held). */
static size_t fake_rest;
static cache *fake_cache;

static size_t fake_resident(void)
{
    return fake_rest + (fake_cache ? fake_cache->lru.used : 0);
}

/* With resident_bytes set, the budget bounds the process: content gives way to what else
 * is in it, down to 1/16 of the budget; a size that cannot be read (0) changes nothing. */
static void test_budget_follows_memory(void)
{
    cache_source src = {NULL, f_list, f_version, f_read, f_get};
    cache_config cfg = {.ttl = 30, .mount_time = 1600000000, .mono = fake_mono,
                        .wall = fake_wall, .resident_bytes = fake_resident};
    cache *c = NULL;
    cache_stats st;
    size_t one;

    fake_setup(400, 100);
    c = make_cache(30, 64 << 20);
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    cache_get_stats(c, &st);
    one = st.content_bytes / 400;
    cache_free(c);

    /* A budget of 64 records' content; the rest of the process weighs 16 of them. */
    cfg.content_budget = 64 * one;
    fake_rest = 16 * one;
    fake_setup(400, 100);
    EXPECT_RC(cache_new(&cfg, &src, &c), 0);
    fake_cache = c;
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    cache_get_stats(c, &st);
    CHECK_INT(st.content_budget, 48 * one);
    CHECK_INT(st.content_items, 48);
    CHECK_INT(st.records, 400);
    /* The rest grows past the budget (the kernel-facing nodes of a listing): content is
     * cut to the floor (4 records) at the next weighing, which a listing handed out (a
     * cost per entry) brings without fetching anything. */
    fake_rest = 1000 * one;
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    CHECK_INT(F.reads, 1);
    cache_get_stats(c, &st);
    CHECK_INT(st.content_budget, 4 * one);
    CHECK(st.content_items <= 4);
    CHECK_INT(st.records, 400);
    fake_cache = NULL;
    cache_free(c);

    /* The system cannot tell (0): the budget is content's alone. */
    fake_rest = 0;
    fake_setup(400, 100);
    EXPECT_RC(cache_new(&cfg, &src, &c), 0);
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    cache_get_stats(c, &st);
    CHECK_INT(st.content_budget, 64 * one);
    CHECK_INT(st.content_items, 64);
    cache_free(c);
}

typedef struct job {
    cache *c;
    const char *path;
    int rc;
    int entries;
} job;

static void *list_job(void *arg)
{
    job *j = arg;
    layout_path p;
    P(&p, j->path);
    cache_dir *d = NULL;
    listing *l = calloc(1, sizeof *l);
    j->rc = cache_opendir(j->c, &p, &d, NULL);
    if (j->rc == 0) {
        cache_readdir(j->c, d, 0, collect, l);
        j->entries = l->n;
        cache_closedir(j->c, d);
    }
    free(l);
    return NULL;
}

static void *stat_job(void *arg)
{
    job *j = arg;
    cache_attr a;
    j->rc = getattr(j->c, j->path, &a);
    return NULL;
}

/* A save made here while a listing of the collection is under way is newer than its
 * answer: the cache must not go back to the version the listing carries. */
static void test_save_during_fetch(void)
{
    static const char saved[] = "{\n  \"_id\": \"6465e7a5c1a9f0e200000005\",\n  \"n\": \"saved\"\n}\n";
    const char *name = "6465e7a5c1a9f0e200000005.json", *key = "6465e7a5c1a9f0e200000005";
    const char *path = "/apps/a/c/6465e7a5c1a9f0e200000005.json";
    pthread_t th;
    job jb;
    cache_attr a;
    cache *c;
    char *text;
    int rc;

    /* A listing (3 pages of 150 ms) with a save of one of its records in the middle. */
    fake_setup(300, 100);
    F.delay_ms = 150;
    c = make_cache(30, 64 << 20);
    jb = (job){.c = c, .path = "/apps/a/c"};
    pthread_create(&th, NULL, list_job, &jb);
    pause_ms(100);
    EXPECT_RC(cache_put_record(c, "a", "c", name, key, saved, strlen(saved), &a), 0);
    pthread_join(th, NULL);
    CHECK_INT(jb.rc, 0);
    CHECK_INT(jb.entries, 301);
    F.delay_ms = 0;
    text = read_file(c, path, &rc);
    CHECK_MSG(rc == 0 && text && strcmp(text, saved) == 0, "got %s", text ? text : "(null)");
    free(text);
    EXPECT_RC(getattr(c, path, &a), 0);
    CHECK_INT(a.size, strlen(saved));
    cache_free(c);
}

static void test_single_flight(void)
{
    enum { T = 8 };
    pthread_t th[T];
    job jobs[T];
    cache *c;

    fake_setup(300, 50);
    F.delay_ms = 150;
    c = make_cache(30, 64 << 20);
    for (int i = 0; i < T; i++) {
        jobs[i] = (job){c, "/apps/a/c", -1, 0};
        pthread_create(&th[i], NULL, list_job, &jobs[i]);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(jobs[i].rc, 0);
        CHECK_INT(jobs[i].entries, 301);
    }
    CHECK_INT(F.reads, 1);
    CHECK_INT(F.list_calls, 2); /* apps and collections, once each */

    /* The same for one record fetched alone, after the TTL. */
    now_mono += 100;
    for (int i = 0; i < T; i++) {
        jobs[i] = (job){c, "/apps/a/c/6465e7a5c1a9f0e200000009.json", -1, 0};
        pthread_create(&th[i], NULL, stat_job, &jobs[i]);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(jobs[i].rc, 0);
    }
    CHECK_INT(F.gets, 1);
    /* Errors are shared too: one request for a missing record. */
    for (int i = 0; i < T; i++) {
        jobs[i] = (job){c, "/apps/a/c/6465e7a5c1a9f0e2ffffffff.json", 0, 0};
        pthread_create(&th[i], NULL, stat_job, &jobs[i]);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(jobs[i].rc, -ENOENT);
    }
    CHECK_INT(F.gets, 2);
    cache_free(c);
}

static void test_snapshot_survives_refresh(void)
{
    cache *c;
    layout_path p;
    cache_dir *d = NULL;

    fake_setup(30, 10);
    c = make_cache(1, 64 << 20);
    P(&p, "/apps/a/c");
    EXPECT_RC(cache_opendir(c, &p, &d, NULL), 0);
    memset(&L, 0, sizeof L);
    L.stop_after = 10;
    cache_readdir(c, d, 0, collect, &L);
    CHECK_INT(L.n, 10);
    /* Meanwhile the server drops records and the cache lists again. */
    pthread_mutex_lock(&F.lock);
    F.nrec = 5;
    pthread_mutex_unlock(&F.lock);
    now_mono += 5;
    {
        listing *other = calloc(1, sizeof *other);
        EXPECT_RC(list_dir(c, "/apps/a/c", other), 0);
        CHECK_INT(other->n, 6);
        free(other);
    }
    /* The open snapshot still reads on from where it was, to its own end. */
    L.stop_after = 0;
    cache_readdir(c, d, 10, collect, &L);
    CHECK_INT(L.n, 31);
    CHECK_STR(L.names[30], "6465e7a5c1a9f0e20000001d.json");
    cache_closedir(c, d);
    cache_free(c);
}

static void quiet(void *ud, log_level level, const char *file, int line, const char *msg)
{
    (void)ud;
    printf("# log %d %s:%d: %s\n", (int)level, file, line, msg);
}

int main(void)
{
    log_use_function(quiet, NULL);
    test_counts();
    test_single_record();
    test_ttl_and_times();
    test_relist_after_expiry();
    test_lru_budget();
    test_budget_follows_memory();
    test_single_flight();
    test_save_during_fetch();
    test_snapshot_survives_refresh();
    return check_done();
}
