/* cache_fake.h: a fake source for the cache's unit tests (one app "a", collection "c" of
 * generated records, paged; fake clocks) and helpers to ask the cache. Each test file
 * that includes it gets its own copy. */
#ifndef TESTS_FS_CACHE_FAKE_H
#define TESTS_FS_CACHE_FAKE_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "check.h"

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

static fake F __attribute__((unused));
static double now_mono __attribute__((unused)) = 1000.0;
static time_t now_wall __attribute__((unused)) = 1700000000;

static inline double fake_mono(void *ud)
{
    (void)ud;
    return now_mono;
}

static inline time_t fake_wall(void *ud)
{
    (void)ud;
    return now_wall;
}

static inline void pause_ms(int ms)
{
    if (ms)
        usleep((useconds_t)ms * 1000);
}

static inline void http_error(cf_error *err, long status, const char *msg)
{
    memset(err, 0, sizeof *err);
    err->kind = CF_ERR_HTTP;
    err->status = status;
    snprintf(err->message, sizeof err->message, "%s", msg);
    snprintf(err->response_id, sizeof err->response_id, "rid-%ld", status);
}

static inline int f_list(void *ud, cf_kind kind, int extended, cf_json **out, cf_error *err)
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

static inline int f_version(void *ud, cf_json **out, cf_error *err)
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

static inline int f_read(void *ud, const char *app, const char *slug, cf_page_fn fn, void *fn_ud,
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

static inline int f_get(void *ud, const char *app, const char *slug, const char *id, cf_json **out,
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

static inline void set_record(int i, const char *extra)
{
    char buf[256];
    snprintf(buf, sizeof buf, "{\"_id\":\"6465e7a5c1a9f0e2%08x\",\"n\":\"%04d\",\"x\":\"%s\"}",
             i, i, extra);
    pthread_mutex_lock(&F.lock);
    free(F.rec[i]);
    F.rec[i] = strdup(buf);
    pthread_mutex_unlock(&F.lock);
}

static inline void fake_setup(int nrec, int page_size)
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

static inline cache *make_cache(double ttl, size_t budget)
{
    cache_source src = {.list = f_list, .version = f_version, .read_collection = f_read,
                        .record_get = f_get};
    cache_config cfg = {.ttl = ttl, .content_budget = budget, .mount_time = 1600000000,
                        .mono = fake_mono, .wall = fake_wall};
    cache *c = NULL;
    EXPECT_RC(cache_new(&cfg, &src, &c), 0);
    return c;
}

/* Parses in place: a layout_path points into itself and must not be copied. */
static inline void P(layout_path *p, const char *path)
{
    int rc = layout_parse(path, p);
    CHECK_MSG(rc == 0, "parse %s", path);
}

static inline int getattr(cache *c, const char *path, cache_attr *a)
{
    layout_path p;
    P(&p, path);
    cf_error err;
    return cache_getattr(c, &p, a, &err);
}

/* Opens path and returns its content (malloc'ed copy) or NULL; *rc the result. */
static inline char *read_file(cache *c, const char *path, int *rc)
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

static inline int collect(void *ud, const char *name, const cache_attr *attr, bool have_attr,
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

static inline int list_dir(cache *c, const char *path, listing *l)
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

static inline int find_name(const listing *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            return i;
    return -1;
}

static listing L __attribute__((unused));

#endif /* TESTS_FS_CACHE_FAKE_H */
