/* test_paging.c: paged reads: request counts, parallel pages, server caps, cancel, token expiry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "emulator.h"

#define N_RECORDS 2345
#define READ_KEY "POST /api/dataframe/read_data"
#define AUTH_KEY "POST /api/auth"

static emu E;

/* What the page callback saw, and what it should do. */
typedef struct reading {
    size_t records, pages, calls_after_cancel;
    size_t first_offset;
    unsigned char seen[N_RECORDS];
    size_t duplicates;
    int in_callback, overlaps;
    int cancel_at_page;   /* return non-zero on this page (1-based), 0 never */
    bool expire_on_first; /* expire every token while the first page is delivered */
    bool fail_on_first;   /* make read_data fail with 500 from then on */
    bool cancelled;
} reading;

static int on_page(void *ud, const cf_page *page)
{
    reading *r = ud;
    int rc = 0;

    if (__atomic_add_fetch(&r->in_callback, 1, __ATOMIC_SEQ_CST) > 1)
        r->overlaps++;
    if (r->cancelled)
        r->calls_after_cancel++;
    if (r->pages == 0)
        r->first_offset = page->offset;
    r->pages++;
    for (size_t i = 0; i < page->count; i++) {
        json_object *seq;
        long long n = -1;
        if (json_object_object_get_ex(cf_json_object(page->records[i]), "seq", &seq))
            n = (long long)json_object_get_int64(seq);
        if (n >= 0 && n < N_RECORDS) {
            if (r->seen[n]++)
                r->duplicates++;
        }
        r->records++;
    }
    if (r->pages == 1 && r->expire_on_first)
        emu_expire_tokens(&E);
    if (r->pages == 1 && r->fail_on_first)
        emu_faults(&E,
                   "{\"fail_rate\":1.0,\"fail_statuses\":[500],\"fail_routes\":[\"/dataframe\"]}");
    usleep(2000); /* widen the window in which an overlap would show */
    if (r->cancel_at_page && (int)r->pages == r->cancel_at_page) {
        r->cancelled = true;
        rc = 1;
    }
    __atomic_sub_fetch(&r->in_callback, 1, __ATOMIC_SEQ_CST);
    return rc;
}

static reading *fresh(void)
{
    return calloc(1, sizeof(reading));
}

static bool all_once(const reading *r)
{
    for (size_t i = 0; i < N_RECORDS; i++)
        if (r->seen[i] != 1)
            return false;
    return true;
}

/* 2,345 records, 500 a page, 8 workers, 50 ms latency: 5 requests, 1 login, in parallel. */
static void test_parallel(void)
{
    reading *r = fresh();
    cf_config cfg;
    cf_client *c;
    cf_error err;
    size_t total = 0;
    json_object *st;
    double t0, t1;

    emu_faults(&E, "{\"latency_ms\":50}");
    emu_reset(&E);
    emu_config(&E, &cfg);
    cfg.page_size = 500;
    cfg.workers = 8;
    c = emu_client(&cfg);
    t0 = now_ms();
    CHECK_INT(cf_read_collection(c, "app", "c", on_page, r, &total, &err), 0);
    t1 = now_ms();
    st = emu_stats(&E);
    CHECK_INT(total, N_RECORDS);
    CHECK_INT(r->records, N_RECORDS);
    CHECK(all_once(r));
    CHECK_INT(r->pages, 5);
    CHECK_INT(r->first_offset, 0);
    CHECK_INT(r->overlaps, 0);
    CHECK_INT(emu_stat(st, READ_KEY), 5);
    CHECK_INT(emu_stat(st, AUTH_KEY), 1);
    CHECK_MSG(emu_stat(st, "max_concurrency") > 1, "max_concurrency %ld",
              emu_stat(st, "max_concurrency"));
    /* 1 login + first page + 4 pages in parallel: well under 6 sequential latencies. */
    printf("# parallel read of %d records: %.0f ms\n", N_RECORDS, t1 - t0);
    json_object_put(st);
    cf_client_free(c);
    emu_faults(&E, "{\"latency_ms\":0}");
    free(r);
}

/* workers 1: the same pages one after the other. */
static void test_sequential(void)
{
    reading *r = fresh();
    cf_config cfg;
    cf_client *c;
    cf_error err;
    json_object *st;

    emu_reset(&E);
    emu_config(&E, &cfg);
    cfg.workers = 1;
    c = emu_client(&cfg);
    CHECK_INT(cf_read_collection(c, "app", "c", on_page, r, NULL, &err), 0);
    st = emu_stats(&E);
    CHECK(all_once(r));
    CHECK_INT(emu_stat(st, READ_KEY), 5);
    CHECK_INT(emu_stat(st, "max_concurrency"), 1);
    json_object_put(st);
    cf_client_free(c);
    free(r);
}

/* Asking 1000 a page of a server that caps at 500: the step is what came back. */
static void test_server_cap(void)
{
    reading *r = fresh();
    cf_config cfg;
    cf_client *c;
    cf_error err;
    json_object *st;

    emu_reset(&E);
    emu_config(&E, &cfg);
    cfg.page_size = 1000;
    c = emu_client(&cfg);
    CHECK_INT(cf_read_collection(c, "app", "c", on_page, r, NULL, &err), 0);
    st = emu_stats(&E);
    CHECK_INT(r->records, N_RECORDS);
    CHECK(all_once(r));
    CHECK_INT(emu_stat(st, READ_KEY), 5);
    json_object_put(st);
    cf_client_free(c);
    free(r);
}

/* An empty collection: one request, no page to show. */
static void test_empty(void)
{
    reading *r = fresh();
    cf_config cfg;
    cf_client *c;
    cf_error err;
    size_t total = 99;
    json_object *st;

    emu_reset(&E);
    emu_config(&E, &cfg);
    c = emu_client(&cfg);
    CHECK_INT(cf_read_collection(c, "app", "empty", on_page, r, &total, &err), 0);
    st = emu_stats(&E);
    CHECK_INT(total, 0);
    CHECK_INT(r->pages, 0);
    CHECK_INT(emu_stat(st, READ_KEY), 1);
    json_object_put(st);
    CHECK_INT(cf_read_collection(c, "app", "missing", on_page, r, &total, &err), -1);
    CHECK_INT(err.status, 404);
    CHECK_INT(cf_read_collection(c, "app", NULL, on_page, r, &total, &err), -1);
    CHECK_INT(err.kind, CF_ERR_INVALID);
    cf_client_free(c);
    free(r);
}

/* A non-zero callback answer stops the read; no callback comes after it. */
static void test_cancel(void)
{
    reading *r = fresh();
    cf_config cfg;
    cf_client *c;
    cf_error err;
    json_object *st;

    emu_reset(&E);
    emu_config(&E, &cfg);
    cfg.page_size = 100; /* 24 pages */
    cfg.workers = 4;
    c = emu_client(&cfg);
    r->cancel_at_page = 3;
    CHECK_INT(cf_read_collection(c, "app", "c", on_page, r, NULL, &err), -1);
    st = emu_stats(&E);
    CHECK_INT(err.kind, CF_ERR_CANCELLED);
    CHECK_INT(cf_error_errno(&err), ECANCELED);
    CHECK_INT(r->pages, 3);
    CHECK_INT(r->calls_after_cancel, 0);
    CHECK_MSG(emu_stat(st, READ_KEY) < 24, "%ld requests", emu_stat(st, READ_KEY));
    json_object_put(st);
    /* Cancelling on the first page stops before any worker starts. */
    memset(r, 0, sizeof *r);
    r->cancel_at_page = 1;
    emu_reset(&E);
    CHECK_INT(cf_read_collection(c, "app", "c", on_page, r, NULL, &err), -1);
    CHECK_INT(err.kind, CF_ERR_CANCELLED);
    st = emu_stats(&E);
    CHECK_INT(emu_stat(st, READ_KEY), 1);
    json_object_put(st);
    cf_client_free(c);
    free(r);
}

/* Every token expires after the first page: the pages in flight get 401, one login
 * (not one per worker) renews the token, and the read completes. */
static void test_expire_mid_read(void)
{
    reading *r = fresh();
    cf_config cfg;
    cf_client *c;
    cf_error err;
    json_object *st;
    cf_stats cs;

    emu_reset(&E);
    emu_config(&E, &cfg);
    cfg.workers = 8;
    cfg.page_size = 200; /* 12 pages */
    c = emu_client(&cfg);
    r->expire_on_first = true;
    CHECK_INT(cf_read_collection(c, "app", "c", on_page, r, NULL, &err), 0);
    st = emu_stats(&E);
    cf_client_stats(c, &cs);
    CHECK(all_once(r));
    CHECK_INT(emu_stat(st, AUTH_KEY), 2);
    CHECK_INT(cs.logins, 2);
    CHECK(cs.status_4xx >= 1);
    json_object_put(st);
    cf_client_free(c);
    free(r);
}

/* Short-lived tokens (2 s) during a read slowed to ~3.5 s: renewed on the way. */
static void test_short_tokens(void)
{
    reading *r = fresh();
    cf_config cfg;
    cf_client *c;
    cf_error err;
    json_object *st;

    emu_faults(&E, "{\"latency_ms\":150,\"token_ttl\":2}");
    emu_reset(&E);
    emu_config(&E, &cfg);
    cfg.workers = 2;
    cfg.page_size = 50; /* 47 pages: 24 rounds of 150 ms, ~3.5 s */
    c = emu_client(&cfg);
    CHECK_INT(cf_read_collection(c, "app", "c", on_page, r, NULL, &err), 0);
    st = emu_stats(&E);
    CHECK_MSG(all_once(r), "error: %s", err.message);
    CHECK_MSG(emu_stat(st, AUTH_KEY) >= 2, "%ld logins", emu_stat(st, AUTH_KEY));
    json_object_put(st);
    cf_client_free(c);
    emu_faults(&E, "{\"latency_ms\":0,\"token_ttl\":3600}");
    free(r);
}

/* A page failing with a final status fails the whole read with that page's error. */
static void test_failed_page(void)
{
    reading *r = fresh();
    cf_config cfg;
    cf_client *c;
    cf_error err;

    emu_reset(&E);
    emu_config(&E, &cfg);
    cfg.page_size = 500;
    c = emu_client(&cfg);
    r->fail_on_first = true;
    CHECK_INT(cf_read_collection(c, "app", "c", on_page, r, NULL, &err), -1);
    CHECK_INT(err.kind, CF_ERR_HTTP);
    CHECK_INT(err.status, 500);
    CHECK_STR(err.method, "POST");
    CHECK(strstr(err.path, "/api/dataframe/read_data?extended=true&next_page=") == err.path);
    CHECK(strstr(err.message, "Injected fault") != NULL);
    CHECK_INT(r->pages, 1);
    emu_faults(&E, "{\"fail_rate\":0,\"fail_routes\":[]}");
    cf_client_free(c);
    free(r);
}

/* Ordered reads: pages in offset order whatever order the parallel answers come back in;
 * a stop flag set by the caller cancels the read. */
typedef struct ordered_reading {
    size_t next_offset, pages, records, out_of_order;
    int stop_after;   /* set the caller's flag from the callback at this page (0: never) */
    int *flag;
} ordered_reading;

static int on_ordered_page(void *ud, const cf_page *page)
{
    ordered_reading *o = ud;

    if (page->offset != o->next_offset)
        o->out_of_order++;
    o->next_offset = page->offset + page->count;
    o->pages++;
    o->records += page->count;
    if (o->stop_after && (int)o->pages == o->stop_after)
        __atomic_store_n(o->flag, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static void test_ordered(void)
{
    ordered_reading o = {0};
    cf_read_opts opts = {.ordered = true};
    cf_config cfg;
    cf_client *c;
    cf_error err;
    size_t total = 0;
    int flag = 0;
    json_object *st;

    emu_faults(&E, "{\"latency_ms\":20}");
    emu_reset(&E);
    emu_config(&E, &cfg);
    cfg.page_size = 50; /* 47 pages */
    cfg.workers = 6;
    c = emu_client(&cfg);
    CHECK_INT(cf_read_collection_opts(c, "app", "c", &opts, on_ordered_page, &o, &total, &err), 0);
    CHECK_INT(total, N_RECORDS);
    CHECK_INT(o.records, N_RECORDS);
    CHECK_INT(o.pages, 47);
    CHECK_INT(o.out_of_order, 0);
    st = emu_stats(&E);
    CHECK_INT(emu_stat(st, READ_KEY), 47);
    CHECK_MSG(emu_stat(st, "max_concurrency") > 1, "max_concurrency %ld",
              emu_stat(st, "max_concurrency"));
    json_object_put(st);

    /* The caller's flag, set (here from the callback) while pages are in flight: the read
     * ends cancelled, well before the last page. */
    memset(&o, 0, sizeof o);
    o.stop_after = 3;
    o.flag = &flag;
    opts.stop = &flag;
    emu_reset(&E);
    CHECK_INT(cf_read_collection_opts(c, "app", "c", &opts, on_ordered_page, &o, NULL, &err), -1);
    CHECK_INT(err.kind, CF_ERR_CANCELLED);
    CHECK_INT(o.pages, 3);
    CHECK_INT(o.out_of_order, 0);
    st = emu_stats(&E);
    CHECK_MSG(emu_stat(st, READ_KEY) < 47, "%ld requests", emu_stat(st, READ_KEY));
    json_object_put(st);
    cf_client_free(c);
    emu_faults(&E, "{\"latency_ms\":0}");
}

/* A part of a listing: pages from an offset, a number of them at most. */
static void test_range(void)
{
    ordered_reading o = {0};
    cf_read_opts opts = {.ordered = true, .first = 500, .max_pages = 1};
    cf_config cfg;
    cf_client *c;
    cf_error err;
    size_t total = 0;
    json_object *st;

    emu_reset(&E);
    emu_config(&E, &cfg);
    cfg.page_size = 100;
    c = emu_client(&cfg);
    o.next_offset = 500;
    CHECK_INT(cf_read_collection_opts(c, "app", "c", &opts, on_ordered_page, &o, &total, &err), 0);
    CHECK_INT(total, N_RECORDS); /* what that page says */
    CHECK_INT(o.pages, 1);
    CHECK_INT(o.records, 100);
    CHECK_INT(o.out_of_order, 0);
    st = emu_stats(&E);
    CHECK_INT(emu_stat(st, READ_KEY), 1);
    json_object_put(st);

    /* Three pages from 2200: two (the last one short), then the end. */
    memset(&o, 0, sizeof o);
    o.next_offset = 2200;
    opts.first = 2200;
    opts.max_pages = 3;
    emu_reset(&E);
    CHECK_INT(cf_read_collection_opts(c, "app", "c", &opts, on_ordered_page, &o, &total, &err), 0);
    CHECK_INT(o.pages, 2);
    CHECK_INT(o.records, N_RECORDS - 2200);
    /* Four from 0: four pages, not the whole collection. */
    memset(&o, 0, sizeof o);
    opts.first = 0;
    opts.max_pages = 4;
    emu_reset(&E);
    CHECK_INT(cf_read_collection_opts(c, "app", "c", &opts, on_ordered_page, &o, &total, &err), 0);
    CHECK_INT(o.pages, 4);
    CHECK_INT(o.records, 400);
    st = emu_stats(&E);
    CHECK_INT(emu_stat(st, READ_KEY), 4);
    json_object_put(st);
    /* Past the end: an empty page, no failure. */
    memset(&o, 0, sizeof o);
    opts.first = 5000;
    opts.max_pages = 1;
    o.next_offset = 5000;
    CHECK_INT(cf_read_collection_opts(c, "app", "c", &opts, on_ordered_page, &o, &total, &err), 0);
    CHECK_INT(o.records, 0);
    cf_client_free(c);
}

int main(void)
{
    const char *args[] = {"--generate", "app/c:2345", "--generate", "app/empty:0", NULL};

    cf_global_init();
    emu_start(&E, args);
    test_parallel();
    test_sequential();
    test_server_cap();
    test_empty();
    test_cancel();
    test_expire_mid_read();
    test_failed_page();
    test_short_tokens();
    test_ordered();
    test_range();
    emu_stop(&E);
    cf_global_cleanup();
    return check_done();
}
