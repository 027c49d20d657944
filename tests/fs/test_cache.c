/* test_cache.c: the cache over a fake source: counts, TTL, LRU and memory budget, times. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "cache_write.h"
#include "cache_int.h" /* the LRU's bytes, for a fake resident size */
#include "cache_fake.h"
#include "check.h"
#include "log.h"
#include "names.h"

/* ------------------------------------------------------------------------- */
/* Tests                                                                      */
/* ------------------------------------------------------------------------- */

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
    cache_source src = {.list = f_list, .version = f_version, .read_collection = f_read,
                        .record_get = f_get};
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

/* Names the server does not have: asked once per TTL; the second miss lists a small
 * collection, a large one is listed once as many names missed as it has pages. */
static void test_missing_names(void)
{
    cache_source src = {.list = f_list, .version = f_version, .read_collection = f_read,
                        .record_get = f_get};
    cache_config cfg = {.ttl = 2, .content_budget = 64 << 20, .mount_time = 1600000000,
                        .mono = fake_mono, .wall = fake_wall, .page_size = 10};
    cache *c = NULL;
    cache_attr a;
    char path[128];

    fake_setup(25, 10);
    EXPECT_RC(cache_new(&cfg, &src, &c), 0);
    for (int i = 0; i < 4; i++)
        EXPECT_RC(getattr(c, "/apps/a/c/new0.json", &a), -ENOENT);
    CHECK_INT(F.gets, 1);
    now_mono += 2.5; /* the TTL ran out: asked again */
    EXPECT_RC(getattr(c, "/apps/a/c/new0.json", &a), -ENOENT);
    CHECK_INT(F.gets, 2);
    /* The second missing name: a listing (3 pages) instead, then nothing is asked. */
    for (int i = 1; i < 10; i++) {
        snprintf(path, sizeof path, "/apps/a/c/new%d.json", i);
        EXPECT_RC(getattr(c, path, &a), -ENOENT);
    }
    EXPECT_RC(getattr(c, "/apps/a/c/6465e7a5c1a9f0e200000003.json", &a), 0);
    CHECK_INT(F.gets, 2);
    CHECK_INT(F.reads, 1);
    CHECK_INT(F.pages, 3);
    /* A refresh forgets what is known missing. */
    now_mono += 0.1;
    cache_drop_all(c);
    EXPECT_RC(getattr(c, "/apps/a/c/new1.json", &a), -ENOENT);
    CHECK_INT(F.gets, 3);
    cache_free(c);

    /* 20 pages, more than a small listing's 8: the first page only (it tells the pages),
     * then names alone until 20 missed, then one listing. */
    fake_setup(200, 10);
    EXPECT_RC(cache_new(&cfg, &src, &c), 0);
    for (int i = 0; i < 30; i++) {
        snprintf(path, sizeof path, "/apps/a/c/new%d.json", i);
        EXPECT_RC(getattr(c, path, &a), -ENOENT);
        if (i == 1) {
            CHECK_INT(F.reads, 1);
            CHECK_INT(F.pages, 1);
        }
    }
    CHECK_INT(F.gets, 20);
    CHECK_INT(F.reads, 2);
    CHECK_INT(F.pages, 21);
    cache_free(c);

    /* ttl 0: every question asks, nothing is listed for misses. */
    cfg.ttl = 0;
    fake_setup(25, 10);
    EXPECT_RC(cache_new(&cfg, &src, &c), 0);
    for (int i = 0; i < 3; i++)
        EXPECT_RC(getattr(c, "/apps/a/c/new0.json", &a), -ENOENT);
    EXPECT_RC(getattr(c, "/apps/a/c/new1.json", &a), -ENOENT);
    CHECK_INT(F.gets, 4);
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
    cache_source src = {.list = f_list, .version = f_version, .read_collection = f_read,
                        .record_get = f_get};
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
    test_missing_names();
    test_lru_budget();
    test_budget_follows_memory();
    test_snapshot_survives_refresh();
    return check_done();
}
