/* test_cache_reval.c: close-to-open in the cache: opens past `revalidate`, stat from the
 * cache, collection checks (relist, probe), page refreshes, conflict flags and verify. */
#include "cache_fake.h"
#include "cache_write.h"

#define ID(i) "6465e7a5c1a9f0e2" #i
#define REC(i) "/apps/a/c/6465e7a5c1a9f0e2" #i ".json"

static int changed_calls, changed_names;

static void on_changed(void *ud, const char *app_dir, const char *coll_dir, char **names, size_t n)
{
    (void)ud;
    CHECK(strcmp(app_dir, "a") == 0 && strcmp(coll_dir, "c") == 0);
    CHECK(n > 0 && strstr(names[0], ".json") != NULL);
    changed_calls++;
    changed_names += (int)n;
}

/* A page of the fake's listing at offset, alone. */
static int f_page(void *ud, const char *app, const char *slug, size_t offset, cf_page_fn fn,
                  void *fn_ud, size_t *total, cf_error *err)
{
    cf_json *prec[MAXREC];
    cf_page page;
    int n, count, stop;
    (void)ud;
    (void)app;
    (void)slug;
    (void)err;
    pthread_mutex_lock(&F.lock);
    F.pages++;
    n = F.nrec;
    count = (int)offset >= n ? 0 : n - (int)offset < F.page_size ? n - (int)offset : F.page_size;
    for (int i = 0; i < count; i++)
        prec[i] = cf_json_parse(F.rec[offset + (size_t)i], strlen(F.rec[offset + (size_t)i]), 0,
                                NULL);
    pthread_mutex_unlock(&F.lock);
    page = (cf_page){offset, (size_t)n, (size_t)count, (const cf_json *const *)prec};
    if (total)
        *total = (size_t)n;
    stop = fn(fn_ud, &page);
    for (int i = 0; i < count; i++)
        cf_json_free(prec[i]);
    return stop ? -1 : 0;
}

static cache *make(double revalidate, bool with_pages)
{
    cache_source src = {.list = f_list, .version = f_version, .read_collection = f_read,
                        .record_get = f_get, .read_page = with_pages ? f_page : NULL};
    cache_config cfg = {.ttl = 30, .content_budget = 1 << 20, .mount_time = 1600000000,
                        .mono = fake_mono, .wall = fake_wall, .page_size = 10,
                        .close_to_open = true, .revalidate = revalidate,
                        .changed = on_changed};
    cache *c = NULL;
    EXPECT_RC(cache_new(&cfg, &src, &c), 0);
    return c;
}

static int open_reader(cache *c, const char *path, char **text)
{
    layout_path p;
    lru_item *item = NULL;
    cache_attr a;
    bool changed;
    int rc;

    P(&p, path);
    rc = cache_open_reader(c, &p, &item, &a, &changed, NULL);
    *text = NULL;
    if (rc == 0) {
        *text = strdup(item->data);
        lru_item_unref(item);
    }
    return rc;
}

static int verify(cache *c, const char *name, const char *key, bool *gone, char **theirs)
{
    lru_item *item = NULL;
    cf_error err;
    int rc = cache_record_verify(c, "a", "c", name, key, gone, &item, &err);

    *theirs = item ? strdup(item->data) : NULL;
    lru_item_unref(item);
    return rc;
}

static void test_opens_and_stat(void)
{
    cache_attr a;
    char *t = NULL;
    cache *c;

    fake_setup(20, 10);
    c = make(1, true);
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    CHECK_INT(F.reads, 1);
    /* Within the interval: from the listing. */
    now_mono += 0.5;
    EXPECT_RC(open_reader(c, REC(00000003), &t), 0);
    free(t);
    CHECK_INT(F.gets, 0);
    /* Past it: one GET, which shows a change; the next open within it none. */
    set_record(3, "v2");
    now_mono += 1.0;
    EXPECT_RC(open_reader(c, REC(00000003), &t), 0);
    CHECK(t && strstr(t, "v2") != NULL);
    free(t);
    CHECK_INT(F.gets, 1);
    EXPECT_RC(open_reader(c, REC(00000003), &t), 0);
    free(t);
    CHECK_INT(F.gets, 1);
    /* stat: from the cache whatever the interval. */
    now_mono += 5;
    EXPECT_RC(getattr(c, REC(00000004), &a), 0);
    CHECK_INT(F.gets, 1);
    /* Reading on: GETs until two in the window (the one above counts), then the page of
     * each record instead (page 0 holds 0..9, page 1 10..19). Record 12 changed on the
     * server meanwhile: the page read again at record 10's open tells the kernel of it
     * (cfg.changed), the others of the page being the same. */
    set_record(12, "v3");
    changed_calls = changed_names = 0;
    for (int i = 5; i < 20; i++) {
        char path[64];
        snprintf(path, sizeof path, "/apps/a/c/6465e7a5c1a9f0e2%08x.json", i);
        EXPECT_RC(open_reader(c, path, &t), 0);
        free(t);
    }
    CHECK_INT(F.gets, 2);
    CHECK_INT(F.pages, 2 + 2); /* the listing's two, and each page once again */
    CHECK_INT(F.reads, 1);
    CHECK_INT(changed_calls, 1);
    CHECK_INT(changed_names, 1);
    cache_free(c);

    /* revalidate 0: every open asks, never a page (it would be as old at the next). */
    fake_setup(20, 10);
    c = make(0, true);
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    for (int k = 0; k < 4; k++) {
        EXPECT_RC(open_reader(c, REC(00000001), &t), 0);
        free(t);
    }
    CHECK_INT(F.gets, 4);
    CHECK_INT(F.pages, 2);
    cache_free(c);
}

static void test_collection_checks(void)
{
    cache_attr a;
    cache *c;

    /* 20 records, a page of 10: the check reads the first page's total. */
    fake_setup(20, 10);
    c = make(1, true);
    changed_calls = changed_names = 0;
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    now_mono += 2;
    EXPECT_RC(getattr(c, "/apps/a/c", &a), 0);
    CHECK_INT(F.reads, 2); /* the probe */
    CHECK_INT(changed_calls, 0);
    /* Within the interval: nothing. */
    EXPECT_RC(getattr(c, "/apps/a/c", &a), 0);
    CHECK_INT(F.reads, 2);
    /* Emptied down to 15 on the server: the probe's total differs, a listing follows; the
     * 5 gone are told and missing without a request. */
    F.nrec = 15;
    now_mono += 2;
    EXPECT_RC(getattr(c, "/apps/a/c", &a), 0);
    CHECK_INT(F.reads, 4);
    CHECK_INT(changed_calls, 1);
    CHECK_INT(changed_names, 5);
    EXPECT_RC(getattr(c, REC(00000011), &a), -ENOENT);
    CHECK_INT(F.gets, 0);
    cache_free(c);

    /* 5 records (under a page): the check is a listing, which also sees an edit. */
    fake_setup(5, 10);
    c = make(1, true);
    changed_calls = changed_names = 0;
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    set_record(2, "edited elsewhere");
    now_mono += 2;
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    CHECK_INT(F.reads, 2);
    CHECK_INT(changed_names, 1);
    cache_free(c);
}

static void test_conflicts(void)
{
    const char *name5 = ID(00000005) ".json", *key5 = ID(00000005);
    char *t = NULL, *theirs = NULL;
    bool gone;
    cache *c;

    fake_setup(20, 10);
    c = make(1, true);
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    /* Never read here: no check, no request. */
    set_record(7, "v2");
    EXPECT_RC(verify(c, ID(00000007) ".json", ID(00000007), &gone, &theirs), 0);
    CHECK(!gone && !theirs && F.gets == 0);
    /* Read, unchanged, within the interval: trusted, no request. */
    EXPECT_RC(open_reader(c, REC(00000005), &t), 0);
    free(t);
    EXPECT_RC(verify(c, name5, key5, &gone, &theirs), 0);
    CHECK_INT(F.gets, 0);
    /* Past it, unchanged: one GET, no conflict. */
    now_mono += 2;
    EXPECT_RC(verify(c, name5, key5, &gone, &theirs), 0);
    CHECK_INT(F.gets, 1);
    /* Changed on the server: EBUSY with the server's version. */
    set_record(5, "v2");
    now_mono += 2;
    EXPECT_RC(verify(c, name5, key5, &gone, &theirs), -EBUSY);
    CHECK(theirs && strstr(theirs, "v2") != NULL);
    free(theirs);
    CHECK_INT(F.gets, 2);
    /* Until a reader reads it again, every save is refused (an editor's backup written
     * back), without a request. */
    EXPECT_RC(verify(c, name5, key5, &gone, &theirs), -EBUSY);
    free(theirs);
    CHECK_INT(F.gets, 2);
    EXPECT_RC(open_reader(c, REC(00000005), &t), 0);
    free(t);
    EXPECT_RC(verify(c, name5, key5, &gone, &theirs), 0);
    /* A save made here is the writer's base: no conflict with itself. */
    set_record(5, "v3");
    now_mono += 2;
    EXPECT_RC(open_reader(c, REC(00000005), &t), 0); /* GET: v3, read */
    free(t);
    EXPECT_RC(cache_put_record(c, "a", "c", name5, key5, "{\"_id\": \"x\"}\n", 13, NULL), 0);
    EXPECT_RC(verify(c, name5, key5, &gone, &theirs), 0);
    /* Deleted on the server after it was read: gone, nothing to overwrite. */
    EXPECT_RC(open_reader(c, REC(00000009), &t), 0);
    free(t);
    F.nrec = 9;
    now_mono += 2;
    EXPECT_RC(verify(c, ID(00000009) ".json", ID(00000009), &gone, &theirs), 0);
    CHECK(gone);
    cache_free(c);
}

/* A save whose outcome is unknown (cache_forget_record): the server may hold this mount's
 * own text, so the next save is not refused for it; a reader getting the record again
 * brings the check back. */
static void test_unknown_outcome(void)
{
    const char *name6 = ID(00000006) ".json", *key6 = ID(00000006);
    char *t = NULL, *theirs = NULL;
    bool gone;
    cache *c;

    fake_setup(20, 10);
    c = make(1, true);
    EXPECT_RC(list_dir(c, "/apps/a/c", &L), 0);
    EXPECT_RC(open_reader(c, REC(00000006), &t), 0);
    free(t);
    /* The save was carried out, its answer lost: the server holds "ours". */
    set_record(6, "ours");
    cache_forget_record(c, "a", "c", name6);
    now_mono += 2;
    EXPECT_RC(verify(c, name6, key6, &gone, &theirs), 0);
    CHECK(!gone && !theirs);
    /* Read again, then changed by another client: refused again. */
    EXPECT_RC(open_reader(c, REC(00000006), &t), 0);
    CHECK(t && strstr(t, "ours") != NULL);
    free(t);
    set_record(6, "theirs");
    now_mono += 2;
    EXPECT_RC(verify(c, name6, key6, &gone, &theirs), -EBUSY);
    CHECK(theirs && strstr(theirs, "theirs") != NULL);
    free(theirs);
    cache_free(c);
}

int main(void)
{
    test_opens_and_stat();
    test_collection_checks();
    test_conflicts();
    test_unknown_outcome();
    return check_done();
}
