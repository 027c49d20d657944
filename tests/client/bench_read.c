/* bench_read.c: times a 100,000-record paged read against the emulator, workers 8 against 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emulator.h"

#define N_DEFAULT 100000

static int count_page(void *ud, const cf_page *page)
{
    *(size_t *)ud += page->count;
    return 0;
}

/* One read; prints time, records and the emulator's request counts. */
static int measure(const emu *e, int workers, int latency_ms, long expect)
{
    cf_config cfg;
    cf_client *c;
    cf_error err;
    char faults[64];
    size_t records = 0, total = 0;
    json_object *st;
    double t0, t;
    int rc;

    snprintf(faults, sizeof faults, "{\"latency_ms\":%d}", latency_ms);
    emu_faults(e, faults);
    emu_reset(e);
    emu_config(e, &cfg);
    cfg.workers = workers;
    cfg.page_size = 500;
    cfg.timeout_ms = 60000;
    c = emu_client(&cfg);
    t0 = now_ms();
    rc = cf_read_collection(c, "a", "big", count_page, &records, &total, &err);
    t = now_ms() - t0;
    st = emu_stats(e);
    if (rc != 0)
        printf("read failed: %s\n", err.message);
    printf("workers %2d  latency %3d ms  %7.0f ms  %6zu records (total %zu)  %3ld read_data  "
           "%ld login  max concurrency %ld  %.0f records/s\n",
           workers, latency_ms, t, records, total, emu_stat(st, "POST /api/dataframe/read_data"),
           emu_stat(st, "POST /api/auth"), emu_stat(st, "max_concurrency"),
           (double)records / (t / 1000.0));
    json_object_put(st);
    cf_client_free(c);
    return rc == 0 && (long)records == expect ? 0 : 1;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : N_DEFAULT;
    char spec[64];
    const char *args[] = {"--generate", spec, NULL};
    emu e;
    int bad = 0;
    double t0;

    snprintf(spec, sizeof spec, "a/big:%ld", n);
    cf_global_init();
    t0 = now_ms();
    emu_start(&e, args);
    printf("emulator with %ld generated records up in %.0f ms (%s)\n", n, now_ms() - t0, e.url);
    /* A warm-up read so that both measured reads find the same server state. */
    bad |= measure(&e, 8, 0, n);
    bad |= measure(&e, 1, 0, n);
    bad |= measure(&e, 8, 0, n);
    bad |= measure(&e, 1, 20, n);
    bad |= measure(&e, 8, 20, n);
    emu_stop(&e);
    cf_global_cleanup();
    return bad;
}
