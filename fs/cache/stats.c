/* stats.c: per-route request counters fed by the client's trace hook, and the JSON of
 * .clappfs/stats (those counters, the client's own, the cache's, uploads and errors). */
#include "stats.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errlog.h"
#include "log.h"
#include "textbuf.h"

#define ROUTES_MAX 256

typedef struct route_count {
    char method[8];
    char route[120];
    long status;
    uint64_t count;
    uint64_t retries;        /* tries beyond the first */
    double seconds;
    uint64_t bytes_sent;
    uint64_t bytes_received;
} route_count;

/* Static tables: nothing to allocate while counting, nothing to free at exit. */
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static route_count routes[ROUTES_MAX];
static size_t nroutes;
static uint64_t uploads, upload_bytes, upload_failures;

void stats_trace_cb(void *ud, const cf_trace *t)
{
    const char *method, *route;
    route_count *r = NULL;

    if (!t)
        return;
    method = t->method ? t->method : "?";
    route = t->route ? t->route : (t->path ? t->path : "?");
    pthread_mutex_lock(&stats_lock);
    for (size_t i = 0; i < nroutes; i++) {
        if (routes[i].status == t->status && strcmp(routes[i].method, method) == 0 &&
            strncmp(routes[i].route, route, sizeof routes[i].route - 1) == 0) {
            r = &routes[i];
            break;
        }
    }
    if (!r) {
        /* The last slot gathers whatever does not fit (the client names ~30 routes). */
        if (nroutes < ROUTES_MAX) {
            r = &routes[nroutes++];
            snprintf(r->method, sizeof r->method, "%s", nroutes == ROUTES_MAX ? "*" : method);
            snprintf(r->route, sizeof r->route, "%s",
                     nroutes == ROUTES_MAX ? "(other)" : route);
            r->status = nroutes == ROUTES_MAX ? 0 : t->status;
        } else {
            r = &routes[ROUTES_MAX - 1];
        }
    }
    r->count++;
    if (t->attempt > 1)
        r->retries++;
    r->seconds += t->seconds;
    r->bytes_sent += t->bytes_sent;
    r->bytes_received += t->bytes_received;
    pthread_mutex_unlock(&stats_lock);
    log_trace_cb(ud, t);
}

void stats_upload(size_t bytes, bool ok)
{
    pthread_mutex_lock(&stats_lock);
    if (ok) {
        uploads++;
        upload_bytes += bytes;
    } else {
        upload_failures++;
    }
    pthread_mutex_unlock(&stats_lock);
}

void stats_reset(void)
{
    pthread_mutex_lock(&stats_lock);
    memset(routes, 0, sizeof routes);
    nroutes = 0;
    uploads = upload_bytes = upload_failures = 0;
    pthread_mutex_unlock(&stats_lock);
}

static int cmp_route(const void *a, const void *b)
{
    const route_count *x = a, *y = b;
    int d = strcmp(x->route, y->route);
    if (!d)
        d = strcmp(x->method, y->method);
    if (!d)
        d = (x->status > y->status) - (x->status < y->status);
    return d;
}

static void render_routes(textbuf *b, const route_count *r, size_t n)
{
    tb_puts(b, "  \"routes\": {");
    for (size_t i = 0; i < n; i++) {
        bool first_of_route = i == 0 || strcmp(r[i].route, r[i - 1].route) != 0 ||
                              strcmp(r[i].method, r[i - 1].method) != 0;
        if (first_of_route) {
            char key[sizeof r[i].method + sizeof r[i].route + 2];
            snprintf(key, sizeof key, "%s %s", r[i].method, r[i].route);
            tb_puts(b, i ? "\n    },\n    " : "\n    ");
            tb_json_str(b, key);
            tb_puts(b, ": {\n");
        } else {
            tb_puts(b, ",\n");
        }
        tb_printf(b,
                  "      \"%ld\": {\"count\": %" PRIu64 ", \"retries\": %" PRIu64
                  ", \"seconds\": %.3f, \"bytes_sent\": %" PRIu64 ", \"bytes_received\": %" PRIu64
                  "}",
                  r[i].status, r[i].count, r[i].retries, r[i].seconds, r[i].bytes_sent,
                  r[i].bytes_received);
    }
    tb_puts(b, n ? "\n    }\n  },\n" : "},\n");
}

static void render_cache(textbuf *b, cache *c)
{
    cache_stats cs;

    cache_get_stats(c, &cs);
    tb_printf(b,
              "  \"cache\": {\n"
              "    \"hits\": %" PRIu64 ",\n"
              "    \"misses\": %" PRIu64 ",\n"
              "    \"list_fetches\": %" PRIu64 ",\n"
              "    \"collection_reads\": %" PRIu64 ",\n"
              "    \"record_gets\": %" PRIu64 ",\n"
              "    \"collection_probes\": %" PRIu64 ",\n"
              "    \"page_refreshes\": %" PRIu64 ",\n"
              "    \"joined\": %" PRIu64 ",\n"
              "    \"evictions\": %" PRIu64 ",\n"
              "    \"stale_served\": %" PRIu64 ",\n"
              "    \"refreshes\": %" PRIu64 ",\n"
              "    \"content_bytes\": %zu,\n"
              "    \"content_budget\": %zu,\n"
              "    \"content_items\": %zu,\n"
              "    \"records\": %zu,\n"
              "    \"record_table_bytes\": %zu\n"
              "  },\n",
              cs.hits, cs.misses, cs.list_fetches, cs.collection_reads, cs.record_gets,
              cs.collection_probes, cs.page_refreshes, cs.joined, cs.evictions, cs.stale_served, cs.drops, cs.content_bytes,
              cs.content_budget, cs.content_items, cs.records, cs.record_table_bytes);
}

int stats_render(const stats_view *v, char **out, size_t *len)
{
    route_count *copy = malloc(sizeof routes);
    uint64_t up, up_bytes, up_failed;
    textbuf b = {0};
    size_t n;

    *out = NULL;
    if (len)
        *len = 0;
    if (!copy)
        return -1;
    pthread_mutex_lock(&stats_lock);
    n = nroutes;
    memcpy(copy, routes, n * sizeof *copy);
    up = uploads;
    up_bytes = upload_bytes;
    up_failed = upload_failures;
    pthread_mutex_unlock(&stats_lock);
    qsort(copy, n, sizeof *copy, cmp_route);

    tb_puts(&b, "{\n  \"mount\": {\n    \"url\": ");
    tb_json_str(&b, v->url);
    tb_puts(&b, ",\n    \"mountpoint\": ");
    tb_json_str(&b, v->mountpoint);
    tb_printf(&b,
              ",\n    \"uptime_seconds\": %.3f,\n    \"cache_ttl\": %g,\n"
              "    \"stale_on_error\": %s,\n    \"read_only\": %s\n  },\n",
              v->uptime, v->cache_ttl, v->stale_on_error ? "true" : "false",
              v->read_only ? "true" : "false");
    if (v->client) {
        cf_stats s;
        cf_client_stats(v->client, &s);
        tb_printf(&b,
                  "  \"requests\": {\n"
                  "    \"total\": %" PRIu64 ",\n"
                  "    \"retries\": %" PRIu64 ",\n"
                  "    \"logins\": %" PRIu64 ",\n"
                  "    \"failures\": %" PRIu64 ",\n"
                  "    \"no_answer\": %" PRIu64 ",\n"
                  "    \"by_class\": {\"2xx\": %" PRIu64 ", \"4xx\": %" PRIu64
                  ", \"5xx\": %" PRIu64 "}\n"
                  "  },\n"
                  "  \"bytes\": {\"sent\": %" PRIu64 ", \"received\": %" PRIu64 "},\n",
                  s.requests, s.retries, s.logins, s.failures, s.no_answer, s.status_2xx,
                  s.status_4xx, s.status_5xx, s.bytes_sent, s.bytes_received);
    }
    render_routes(&b, copy, n);
    free(copy);
    if (v->cache)
        render_cache(&b, v->cache);
    tb_printf(&b,
              "  \"uploads\": {\"count\": %" PRIu64 ", \"bytes\": %" PRIu64
              ", \"failed\": %" PRIu64 "},\n",
              up, up_bytes, up_failed);
    {
        const stats_journal *jc = &v->journal;
        tb_printf(&b,
                  "  \"journal\": {\"enabled\": %s, \"pending\": %" PRIu64
                  ", \"failed\": %" PRIu64 ", \"uploaded\": %" PRIu64 ", \"retries\": %" PRIu64
                  ", \"superseded\": %" PRIu64 "},\n",
                  jc->enabled ? "true" : "false", jc->pending, jc->failed, jc->uploaded,
                  jc->retries, jc->superseded);
    }
    {
        const stats_kernel *k = &v->kernel;
        tb_printf(&b,
                  "  \"kernel\": {\"lookup\": %" PRIu64 ", \"forget\": %" PRIu64
                  ", \"getattr\": %" PRIu64 ", \"setattr\": %" PRIu64 ", \"open\": %" PRIu64
                  ", \"read\": %" PRIu64 ", \"write\": %" PRIu64 ", \"flush\": %" PRIu64
                  ", \"release\": %" PRIu64 ", \"opendir\": %" PRIu64 ", \"readdir\": %" PRIu64
                  ", \"readdirplus\": %" PRIu64 ", \"create\": %" PRIu64 ", \"other\": %" PRIu64
                  ", \"nodes\": %" PRIu64 "},\n",
                  k->lookup, k->forget, k->getattr, k->setattr, k->open, k->read, k->write,
                  k->flush, k->release, k->opendir, k->readdir, k->readdirplus, k->create,
                  k->other, k->nodes);
    }
    tb_printf(&b, "  \"errors\": {\"total\": %" PRIu64 ", \"kept\": %zu}\n}\n", errlog_total(),
              errlog_kept());
    *out = tb_take(&b, len);
    return *out ? 0 : -1;
}
