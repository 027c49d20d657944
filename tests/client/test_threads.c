/* test_threads.c: one client shared by 50 threads, one login for all, kept-alive connections. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "emulator.h"

#define THREADS 50
#define ROUNDS 6

static emu E;
static cf_client *C;
static pthread_barrier_t start_line;

typedef struct job {
    int index;
    int failures;
    char first_failure[600];
} job;

static void failed(job *j, const char *what, const cf_error *err)
{
    if (j->failures++ == 0)
        snprintf(j->first_failure, sizeof j->first_failure, "%s: %s %.200s: %.300s", what,
                 err->method, err->path, err->message);
}

static int count_page(void *ud, const cf_page *page)
{
    *(size_t *)ud += page->count;
    return 0;
}

/* A mix of calls; every thread starts at once so the lazy login is contended. */
static void *run(void *arg)
{
    job *j = arg;
    cf_json *v = NULL, *rec;
    cf_error err;
    char text[256], id[64];
    size_t n;

    pthread_barrier_wait(&start_line);
    for (int r = 0; r < ROUNDS; r++) {
        snprintf(id, sizeof id, "t%02d/r%d", j->index, r);
        snprintf(text, sizeof text,
                 "{\"_id\":\"%s\",\"thread\":%d,\"round\":%d,\"big\":%d12345678901234567890}", id,
                 j->index, r, j->index + 1);
        switch ((j->index + r) % 5) {
        case 0:
            if (cf_list(C, CF_APP, NULL, r % 2, &v, &err) != 0)
                failed(j, "list", &err);
            break;
        case 1:
            if (cf_get(C, CF_COLLECTION, "gapp", "gen", r % 3, &v, &err) != 0)
                failed(j, "get", &err);
            break;
        case 2:
            if (cf_me(C, r % 2, &v, &err) != 0)
                failed(j, "me", &err);
            break;
        case 3:
            n = 0;
            if (cf_read_collection(C, "gapp", "gen", count_page, &n, NULL, &err) != 0 || n != 300)
                failed(j, "read", &err);
            break;
        default:
            if (cf_version(C, &v, &err) != 0)
                failed(j, "version", &err);
            break;
        }
        cf_json_free(v);
        v = NULL;
        rec = jparse(text);
        if (cf_record_create(C, "gapp", "mt", rec, &v, &err) != 0)
            failed(j, "create", &err);
        cf_json_free(v);
        v = NULL;
        if (cf_record_get(C, "gapp", "mt", id, &v, &err) != 0)
            failed(j, "record get", &err);
        else if (strcmp(cf_json_text(v, NULL), text) != 0)
            failed(j, "record text", &err);
        cf_json_free(v);
        v = NULL;
        cf_json_free(rec);
    }
    return NULL;
}

/* Sockets of /proc/net/tcp with the given local or remote port. */
static int sockets_on(int port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    char line[512];
    unsigned lport, rport;
    int n = 0;

    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, " %*d: %*8[0-9A-Fa-f]:%x %*8[0-9A-Fa-f]:%x", &lport, &rport) == 2 &&
            ((int)lport == port || (int)rport == port))
            n++;
    }
    fclose(f);
    return n;
}

static int port_of(const emu *e)
{
    const char *colon = strrchr(e->url, ':');
    return colon ? atoi(colon + 1) : 0;
}

/* Sequential calls reuse one kept-alive connection: few sockets, quick answers. */
static void test_keepalive(void)
{
    cf_config cfg;
    cf_client *c;
    cf_json *v = NULL;
    cf_error err;
    int port = port_of(&E), ok = 0, before, after;
    double t0, t;

    emu_config(&E, &cfg);
    c = emu_client(&cfg);
    before = sockets_on(port);
    t0 = now_ms();
    for (int i = 0; i < 300; i++) {
        if (cf_version(c, &v, &err) == 0)
            ok++;
        cf_json_free(v);
    }
    t = now_ms() - t0;
    after = sockets_on(port);
    CHECK_INT(ok, 300);
    printf("# 300 sequential requests: %.0f ms; sockets on port %d: %d before, %d after\n", t, port,
           before, after);
    /* A new connection per request would leave ~300 sockets in TIME_WAIT. */
    CHECK_MSG(after < 0 || after - before <= 4, "%d sockets before, %d after", before, after);
    CHECK_MSG(t < 6000, "%.0f ms", t);
    cf_client_free(c);
}

int main(void)
{
    const char *args[] = {"--generate", "gapp/gen:300", "--generate", "gapp/mt:0", NULL};
    pthread_t threads[THREADS];
    job jobs[THREADS];
    cf_config cfg;
    cf_stats st;
    json_object *stats;
    int failures = 0, port_sockets;

    cf_global_init();
    emu_start(&E, args);
    emu_config(&E, &cfg);
    cfg.page_size = 100;
    cfg.workers = 4;
    cfg.timeout_ms = 10000; /* 50 threads on a small box: slow answers are not faults here */
    C = emu_client(&cfg);
    port_sockets = sockets_on(port_of(&E));
    pthread_barrier_init(&start_line, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].index = i;
        pthread_create(&threads[i], NULL, run, &jobs[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        if (jobs[i].failures)
            printf("# thread %d: %d failures, first: %s\n", i, jobs[i].failures,
                   jobs[i].first_failure);
        failures += jobs[i].failures;
    }
    pthread_barrier_destroy(&start_line);
    /* Connections are kept alive and shared: far fewer than one per request. */
    port_sockets = sockets_on(port_of(&E)) - port_sockets;
    printf("# sockets on the emulator's port after the threads: %d more\n", port_sockets);
    CHECK_MSG(port_sockets < 300, "%d sockets", port_sockets);
    CHECK_INT(failures, 0);
    CHECK_INT(emu_record_count(&E, "gapp", "mt"), THREADS * ROUNDS);
    stats = emu_stats(&E);
    CHECK_INT(emu_stat(stats, "POST /api/auth"), 1);
    CHECK(emu_stat(stats, "max_concurrency") > 1);
    json_object_put(stats);
    cf_client_stats(C, &st);
    CHECK_INT(st.logins, 1);
    CHECK_INT(st.failures, 0);
    CHECK(st.requests >= THREADS * ROUNDS * 3);
    cf_client_free(C);
    test_keepalive();
    emu_stop(&E);
    cf_global_cleanup();
    return check_done();
}
