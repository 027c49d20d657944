/* test_listing.c: a directory listing (wr_listing_take) races saves that end meanwhile: every
 * file new before the listing began is listed, exactly once. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "cache_write.h"
#include "check.h"
#include "ops_write.h"
#include "wnode.h"

static pthread_t lister;

/* The fake server: app "a" with collection "c", holding the records saved so far. */
static int on_server; /* records n0000.. the server holds (atomic) */

static int f_list(void *ud, cf_kind kind, int extended, cf_json **out, cf_error *err)
{
    const char *t = kind == CF_APP ? "[{\"id\":\"a\"}]"
                    : kind == CF_COLLECTION ? "[{\"app\":\"a\",\"slug\":\"c\"}]" : "[]";
    (void)ud;
    (void)extended;
    (void)err;
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
    int n = __atomic_load_n(&on_server, __ATOMIC_SEQ_CST), stop;
    cf_json **recs = calloc((size_t)n + 1, sizeof *recs);
    cf_page page = {0};
    char text[64];
    (void)ud;
    (void)app;
    (void)slug;
    (void)err;
    if (!recs)
        return -1;
    for (int i = 0; i < n; i++) {
        snprintf(text, sizeof text, "{\"_id\":\"n%04d\"}", i);
        recs[i] = cf_json_parse(text, strlen(text), 0, NULL);
    }
    page.total = page.count = (size_t)n;
    page.records = (const cf_json *const *)recs;
    if (total)
        *total = (size_t)n;
    stop = fn(fn_ud, &page);
    for (int i = 0; i < n; i++)
        cf_json_free(recs[i]);
    free(recs);
    return stop ? -1 : 0;
}

static int f_get(void *ud, const char *app, const char *slug, const char *id, cf_json **out,
                 cf_error *err)
{
    (void)ud;
    (void)app;
    (void)slug;
    (void)id;
    memset(err, 0, sizeof *err);
    err->kind = CF_ERR_HTTP;
    err->status = 404;
    *out = NULL;
    return -1;
}

/* The window: the listing thread, inside the cache's snapshot (which holds the cache's
 * lock and asks the clock), says so and pauses, so that the save waiting for it puts its
 * record in the cache the moment the snapshot is taken, and races the rest of the
 * listing. */
static int listing_armed; /* the listing thread is in wr_listing_take (atomic) */
static int in_snapshot;   /* it asked the clock there (atomic) */

static double f_mono(void *ud)
{
    (void)ud;
    if (__atomic_load_n(&listing_armed, __ATOMIC_SEQ_CST) &&
        pthread_equal(pthread_self(), lister)) {
        __atomic_store_n(&in_snapshot, 1, __ATOMIC_SEQ_CST);
        usleep(1000);
    }
    return 100.0; /* the clock stands still: the listing stays fresh */
}

static time_t f_wall(void *ud)
{
    (void)ud;
    return 1700000000;
}

#define NFILES 200
#define DIR "/apps/a/c"

static fs_ctx X;
static int started; /* files whose node exists (atomic) */
static int saving_done;
static int lister_gone; /* the listings stopped on an error (atomic) */

/* The saves: each new file has its node (shown by the write side), then is saved (the
 * cache gets it), then its node goes, in the order wr_save keeps. */
static void *saver(void *arg)
{
    char path[64], name[32], key[32];
    (void)arg;
    for (int i = 0; i < NFILES; i++) {
        wnode *n;
        snprintf(name, sizeof name, "n%04d.json", i);
        snprintf(key, sizeof key, "n%04d", i);
        snprintf(path, sizeof path, DIR "/%s", name);
        wn_lock();
        n = wn_add(path, WN_NEW);
        if (n) {
            n->loaded = true;
            wbuf_set(&n->buf, "{}", 2);
        }
        wn_unlock();
        if (!n)
            break;
        __atomic_store_n(&started, i + 1, __ATOMIC_SEQ_CST);
        /* Saved while a listing takes its snapshot (the request is done by then). */
        while (!__atomic_exchange_n(&in_snapshot, 0, __ATOMIC_SEQ_CST)) {
            if (__atomic_load_n(&lister_gone, __ATOMIC_SEQ_CST))
                goto out;
            sched_yield();
        }
        __atomic_store_n(&on_server, i + 1, __ATOMIC_SEQ_CST);
        cache_put_record(X.cache, "a", "c", name, key, "{}\n", 3, NULL);
        wn_lock();
        n->state = WN_OPEN;
        wn_unlist(n); /* saved: the name shows the server's file (n freed) */
        wn_unlock();
    }
out:
    __atomic_store_n(&saving_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

typedef struct tally {
    wr_overlay *ov;
    int seen[NFILES];
    int others;
} tally;

static void count(tally *t, const char *name)
{
    int i;
    if (sscanf(name, "n%4d.json", &i) == 1 && i >= 0 && i < NFILES)
        t->seen[i]++;
    else
        t->others++;
}

static int from_cache(void *ud, const char *name, const cache_attr *attr, bool have_attr,
                      size_t index)
{
    tally *t = ud;
    cache_attr a = *attr;
    struct timespec mt = {0, 0};
    (void)index;
    if (!t->ov || wr_overlay_filter(t->ov, name, &a, &mt, &have_attr))
        count(t, name);
    return 0;
}

static int from_overlay(void *buf, const char *name, const struct stat *st, off_t off,
                        enum fuse_fill_dir_flags flags)
{
    (void)st;
    (void)off;
    (void)flags;
    count(buf, name);
    return 0;
}

static void test_listing_races_saves(void)
{
    cache_config cfg = {.ttl = 30, .content_budget = 8 << 20, .mono = f_mono, .wall = f_wall};
    cache_source src = {.list = f_list, .version = f_version, .read_collection = f_read,
                        .record_get = f_get};
    tally *t = calloc(1, sizeof *t);
    pthread_t th;
    layout_path p;
    int listings = 0, missing = 0, twice = 0;

    CHECK(t != NULL);
    lister = pthread_self();
    CHECK_INT(cache_new(&cfg, &src, &X.cache), 0);
    CHECK_INT(layout_parse(DIR, &p), 0);
    {
        /* Listed once: the cache's listing is fresh and whole from then on (the clock
         * stands still), so each listing below is a snapshot of the cache, no fetch. */
        cache_dir *d = NULL;
        CHECK_INT(cache_opendir(X.cache, &p, &d, NULL), 0);
        cache_closedir(X.cache, d);
    }
    CHECK_INT(pthread_create(&th, NULL, saver, NULL), 0);
    while (!__atomic_load_n(&saving_done, __ATOMIC_SEQ_CST)) {
        int before = __atomic_load_n(&started, __ATOMIC_SEQ_CST);
        cache_dir *snap = NULL;
        int rc;

        memset(t, 0, sizeof *t);
        __atomic_store_n(&listing_armed, 1, __ATOMIC_SEQ_CST);
        rc = wr_listing_take(&X, DIR, &p, &snap, &t->ov, NULL);
        __atomic_store_n(&listing_armed, 0, __ATOMIC_SEQ_CST);
        if (rc) {
            CHECK_INT(rc, 0);
            __atomic_store_n(&lister_gone, 1, __ATOMIC_SEQ_CST);
            break;
        }
        cache_readdir(X.cache, snap, 0, from_cache, t);
        if (t->ov)
            wr_overlay_fill(t->ov, &X, t, from_overlay, 0, 3, false);
        for (int i = 0; i < before; i++) {
            missing += t->seen[i] == 0;
            twice += t->seen[i] > 1;
        }
        wr_overlay_free(t->ov);
        cache_closedir(X.cache, snap);
        listings++;
    }
    pthread_join(th, NULL);
    CHECK_MSG(missing == 0, "%d files missing from %d listings", missing, listings);
    CHECK_MSG(twice == 0, "%d files listed twice in %d listings", twice, listings);
    CHECK(listings > 0);
    printf("# %d listings while %d files were saved\n", listings, NFILES);
    wn_free_all();
    cache_free(X.cache);
    free(t);
}

int main(void)
{
    test_listing_races_saves();
    return check_done();
}
