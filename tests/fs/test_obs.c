/* test_obs.c: observability without a mount: JSON text escaping, the error ring, request
 * statistics, the cache's hit/miss counts, refresh (cache_drop_all), -o stale_on_error,
 * and the .clappfs control directory's operations over a fake file system. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "cache.h"
#include "check.h"
#include "conflicts.h"
#include "control.h"
#include "errlog.h"
#include "layout.h"
#include "log.h"
#include "opts.h"
#include "stats.h"
#include "textbuf.h"

/* CHECK_INT evaluates its argument twice: calls with effects go through this. */
#define EXPECT_RC(call, want)                                                                  \
    do {                                                                                       \
        long long rc_ = (call);                                                                \
        CHECK_INT(rc_, want);                                                                  \
    } while (0)

/* ------------------------------------------------------------------------- */
/* A fake server: one app "a", one collection "c" of two records               */
/* ------------------------------------------------------------------------- */

enum fail { OK, FAIL_503, FAIL_NET, FAIL_TIMEOUT, FAIL_404, FAIL_401 };

static struct {
    enum fail fail;
    int lists, reads, gets;
    const char *rec0;   /* text of record r0 */
} S;
static double now_mono = 1000.0;

static double fake_mono(void *ud)
{
    (void)ud;
    return now_mono;
}

static time_t fake_wall(void *ud)
{
    (void)ud;
    return 1700000000;
}

/* Fills err as the client would for the current failure mode; returns -1 then. */
static int failing(cf_error *err)
{
    memset(err, 0, sizeof *err);
    snprintf(err->method, sizeof err->method, "GET");
    snprintf(err->path, sizeof err->path, "/api/item/a/c/r0?token=sekrit");
    switch (S.fail) {
    case OK:
        return 0;
    case FAIL_503:
        err->kind = CF_ERR_HTTP;
        err->status = 503;
        snprintf(err->message, sizeof err->message, "Service Unavailable");
        snprintf(err->response_id, sizeof err->response_id, "rid503");
        break;
    case FAIL_NET:
        err->kind = CF_ERR_NETWORK;
        snprintf(err->message, sizeof err->message, "Failed to connect: Connection refused");
        break;
    case FAIL_TIMEOUT:
        err->kind = CF_ERR_TIMEOUT;
        snprintf(err->message, sizeof err->message, "Operation timed out");
        break;
    case FAIL_404:
        err->kind = CF_ERR_HTTP;
        err->status = 404;
        snprintf(err->message, sizeof err->message, "Item not found");
        break;
    case FAIL_401:
        err->kind = CF_ERR_HTTP;
        err->status = 401;
        snprintf(err->message, sizeof err->message, "Unauthorized");
        break;
    }
    return -1;
}

static int f_list(void *ud, cf_kind kind, int extended, cf_json **out, cf_error *err)
{
    const char *text = kind == CF_APP ? "[{\"id\":\"a\"}]"
                       : kind == CF_COLLECTION ? "[{\"app\":\"a\",\"slug\":\"c\"}]" : "[]";
    (void)ud;
    (void)extended;
    *out = NULL;
    S.lists++;
    if (failing(err))
        return -1;
    *out = cf_json_parse(text, strlen(text), 0, NULL);
    return 0;
}

static int f_version(void *ud, cf_json **out, cf_error *err)
{
    (void)ud;
    *out = NULL;
    if (failing(err))
        return -1;
    *out = cf_json_parse("{\"api\":\"1\"}", 11, 0, NULL);
    return 0;
}

static int f_read(void *ud, const char *app, const char *slug, cf_page_fn fn, void *fn_ud,
                  size_t *total, cf_error *err)
{
    cf_json *recs[2];
    int stop;
    (void)ud;
    (void)app;
    (void)slug;
    S.reads++;
    if (failing(err))
        return -1;
    recs[0] = cf_json_parse(S.rec0, strlen(S.rec0), 0, NULL);
    recs[1] = cf_json_parse("{\"_id\":\"r1\",\"v\":1}", 18, 0, NULL);
    cf_page page = {0, 2, 2, (const cf_json *const *)recs};
    if (total)
        *total = 2;
    stop = fn(fn_ud, &page);
    cf_json_free(recs[0]);
    cf_json_free(recs[1]);
    if (stop) {
        err->kind = CF_ERR_CANCELLED;
        return -1;
    }
    return 0;
}

static int f_get(void *ud, const char *app, const char *slug, const char *id, cf_json **out,
                 cf_error *err)
{
    (void)ud;
    (void)app;
    (void)slug;
    *out = NULL;
    S.gets++;
    if (failing(err))
        return -1;
    if (strcmp(id, "r0") == 0)
        *out = cf_json_parse(S.rec0, strlen(S.rec0), 0, NULL);
    else
        *out = cf_json_parse("{\"_id\":\"r1\",\"v\":1}", 18, 0, NULL);
    return 0;
}

static cache *make_cache(double ttl)
{
    cache_source src = {.list = f_list, .version = f_version, .read_collection = f_read,
                        .record_get = f_get};
    cache_config cfg;
    cache *c = NULL;
    memset(&cfg, 0, sizeof cfg);
    cfg.ttl = ttl;
    cfg.content_budget = 1 << 20;
    cfg.mount_time = 1600000000;
    cfg.mono = fake_mono;
    cfg.wall = fake_wall;
    EXPECT_RC(cache_new(&cfg, &src, &c), 0);
    return c;
}

/* Parses in place: a layout_path points into itself and must not be copied. */
static void P(layout_path *p, const char *path)
{
    EXPECT_RC(layout_parse(path, p), 0);
}

/* The content a cache_open of path gives, as a string (malloc'ed), or NULL with *rc. */
static char *open_text(cache *c, const char *path, int *rc)
{
    layout_path p;
    lru_item *item = NULL;
    cache_attr a;
    bool changed;
    cf_error err;
    char *out = NULL;

    P(&p, path);
    *rc = cache_open(c, &p, &item, &a, &changed, &err);
    if (*rc == 0) {
        out = strndup(item->data, item->len);
        lru_item_unref(item);
    }
    return out;
}

/* ------------------------------------------------------------------------- */
/* Log capture                                                                */
/* ------------------------------------------------------------------------- */

static char logged[8192];

static void sink(void *ud, log_level level, const char *file, int line, const char *msg)
{
    (void)ud;
    (void)file;
    (void)line;
    size_t used = strlen(logged);
    snprintf(logged + used, sizeof logged - used, "%s%s\n",
             level == LOG_LVL_WARNING ? "warning: " : "", msg);
}

/* ------------------------------------------------------------------------- */
/* Tests                                                                      */
/* ------------------------------------------------------------------------- */

static void test_textbuf(void)
{
    textbuf b = {0};
    size_t len;
    char *s;

    tb_json_str(&b, "a\"b\\c\n\t\x01 é \xff\xfe end");
    tb_puts(&b, " ");
    tb_json_str(&b, NULL);
    tb_printf(&b, " %d", 42);
    s = tb_take(&b, &len);
    CHECK_STR(s, "\"a\\\"b\\\\c\\n\\t\\u0001 é \\ufffd\\ufffd end\" null 42");
    CHECK_INT(len, strlen(s));
    free(s);
    /* An empty buffer gives an empty string, not NULL. */
    s = tb_take(&b, &len);
    CHECK(s != NULL && len == 0 && s[0] == '\0');
    free(s);
}

/* Parses every line of text as JSON; returns the number of lines, -1 when one fails. */
static int json_lines(const char *text, json_object **last)
{
    int n = 0;
    const char *p = text;
    *last = NULL;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, len);
        json_object *o = json_tokener_parse(line);
        free(line);
        if (!o)
            return -1;
        if (*last)
            json_object_put(*last);
        *last = o;
        n++;
        p += len + (nl ? 1 : 0);
    }
    return n;
}

static const char *field(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !v)
        return NULL;
    return json_object_get_string(v);
}

static void test_errlog(void)
{
    cf_error e;
    json_object *last;
    char *text;
    size_t len;

    errlog_reset();
    S.fail = FAIL_503;
    failing(&e);
    errlog_add("open", "/apps/a/c/r0.json", EIO, &e);
    errlog_add("getattr", "/apps/x\n\"y", EACCES, NULL);
    CHECK_INT(errlog_total(), 2);
    CHECK_INT(errlog_kept(), 2);
    EXPECT_RC(errlog_render(&text, &len), 0);
    CHECK_INT(json_lines(text, &last), 2);
    /* The first line carries the server's side; the secret query value is redacted. */
    CHECK(strstr(text, "\"op\": \"open\"") && strstr(text, "\"errno\": \"EIO\"") &&
          strstr(text, "\"status\": 503") && strstr(text, "\"response_id\": \"rid503\"") &&
          strstr(text, "\"message\": \"Service Unavailable\"") &&
          strstr(text, "GET /api/item/a/c/r0?token=REDACTED"));
    CHECK(strstr(text, "sekrit") == NULL);
    CHECK_STR(field(last, "path"), "/apps/x\n\"y");
    CHECK_STR(field(last, "errno"), "EACCES");
    CHECK(field(last, "status") == NULL);
    json_object_put(last);
    free(text);

    /* The ring keeps the last ERRLOG_CAPACITY, oldest first. */
    errlog_reset();
    for (int i = 0; i < ERRLOG_CAPACITY + 44; i++) {
        char path[32];
        snprintf(path, sizeof path, "/n%d", i);
        errlog_add("read", path, EIO, NULL);
    }
    CHECK_INT(errlog_total(), ERRLOG_CAPACITY + 44);
    CHECK_INT(errlog_kept(), ERRLOG_CAPACITY);
    EXPECT_RC(errlog_render(&text, &len), 0);
    CHECK_INT(json_lines(text, &last), ERRLOG_CAPACITY);
    CHECK(strncmp(text, "{\"time\": \"", 10) == 0 && strstr(text, "\"path\": \"/n44\"") &&
          !strstr(text, "\"path\": \"/n43\""));
    CHECK_STR(field(last, "path"), "/n299");
    json_object_put(last);
    free(text);
    errlog_reset();
}

static json_object *get_path(json_object *o, const char *a, const char *b, const char *c)
{
    json_object *v = o;
    const char *keys[3] = {a, b, c};
    for (int i = 0; i < 3 && keys[i] && v; i++)
        if (!json_object_object_get_ex(v, keys[i], &v))
            return NULL;
    return v;
}

static void test_stats(void)
{
    cf_trace t1 = {"GET", "/api/item/a/c/x", "/api/item/{app}/{slug}/{id}", 200, 1, 0.25,
                   0, 100, ""};
    cf_trace t2 = {"GET", "/api/item/a/c/y", "/api/item/{app}/{slug}/{id}", 503, 1, 0.5,
                   0, 10, ""};
    cf_trace t3 = {"GET", "/api/item/a/c/y", "/api/item/{app}/{slug}/{id}", 200, 2, 0.25,
                   0, 90, ""};
    cf_trace t4 = {"GET", "/api/apps", "/api/apps", 0, 1, 10.0, 0, 0, "Connection refused"};
    stats_view v = {.url = "http://x", .mountpoint = "/m", .cache_ttl = 30};
    json_object *o, *n;
    char *text;
    size_t len;

    stats_reset();
    stats_trace_cb(NULL, &t1);
    stats_trace_cb(NULL, &t2);
    stats_trace_cb(NULL, &t3);
    stats_trace_cb(NULL, &t4);
    stats_upload(1234, true);
    stats_upload(10, false);
    EXPECT_RC(stats_render(&v, &text, &len), 0);
    CHECK_INT(len, strlen(text));
    o = json_tokener_parse(text);
    CHECK_MSG(o != NULL, "stats is not JSON:\n%s", text);
    n = get_path(o, "routes", "GET /api/item/{app}/{slug}/{id}", "200");
    CHECK(n && json_object_get_int(get_path(n, "count", NULL, NULL)) == 2);
    CHECK(n && json_object_get_int(get_path(n, "retries", NULL, NULL)) == 1);
    CHECK(n && json_object_get_int(get_path(n, "bytes_received", NULL, NULL)) == 190);
    n = get_path(o, "routes", "GET /api/item/{app}/{slug}/{id}", "503");
    CHECK(n && json_object_get_int(get_path(n, "count", NULL, NULL)) == 1);
    n = get_path(o, "routes", "GET /api/apps", "0");
    CHECK(n && json_object_get_double(get_path(n, "seconds", NULL, NULL)) == 10.0);
    CHECK_INT(json_object_get_int(get_path(o, "uploads", "count", NULL)), 1);
    CHECK_INT(json_object_get_int(get_path(o, "uploads", "bytes", NULL)), 1234);
    CHECK_INT(json_object_get_int(get_path(o, "uploads", "failed", NULL)), 1);
    CHECK_STR(json_object_get_string(get_path(o, "mount", "url", NULL)), "http://x");
    json_object_put(o);
    free(text);

    /* More routes than the table holds: the rest is counted, under "(other)". */
    for (int i = 0; i < 300; i++) {
        char route[32];
        cf_trace t = {"GET", route, route, 200, 1, 0.0, 0, 1, ""};
        snprintf(route, sizeof route, "/api/r%d", i);
        stats_trace_cb(NULL, &t);
    }
    EXPECT_RC(stats_render(&v, &text, &len), 0);
    o = json_tokener_parse(text);
    CHECK(o != NULL);
    n = get_path(o, "routes", "* (other)", "0");
    /* 3 routes before, 252 more fit, the last slot takes the remaining 48. */
    CHECK(n && json_object_get_int(get_path(n, "count", NULL, NULL)) == 300 - (256 - 1 - 3));
    json_object_put(o);
    free(text);
    stats_reset();
}

static void test_hits_refresh_stale(void)
{
    cache *c = make_cache(10);
    cache_stats st;
    layout_path p;
    cache_attr a;
    cf_error err;
    char *text, *ring;
    json_object *last;
    size_t len;
    int rc;

    memset(&S, 0, sizeof S);
    S.rec0 = "{\"_id\":\"r0\",\"v\":0}";
    errlog_reset();
    log_use_function(sink, NULL);

    /* Hits and misses: the first open lists, the second is served from memory. */
    P(&p, "/apps/a/c");
    cache_dir *d = NULL;
    EXPECT_RC(cache_opendir(c, &p, &d, &err), 0);
    cache_closedir(c, d);
    text = open_text(c, "/apps/a/c/r0.json", &rc);
    CHECK(text && strstr(text, "\"v\": 0"));
    free(text);
    cache_get_stats(c, &st);
    CHECK_INT(st.misses, 1);
    CHECK_INT(st.hits, 1);
    CHECK_INT(S.reads, 1);
    CHECK_INT(S.gets, 0);

    /* Refresh: within the TTL, the next open asks the server and sees its change. */
    S.rec0 = "{\"_id\":\"r0\",\"v\":\"changed\"}";
    text = open_text(c, "/apps/a/c/r0.json", &rc);
    CHECK(text && strstr(text, "\"v\": 0"));
    free(text);
    cache_drop_all(c);
    text = open_text(c, "/apps/a/c/r0.json", &rc);
    CHECK(text && strstr(text, "\"changed\""));
    free(text);
    CHECK_INT(S.gets, 1);
    cache_get_stats(c, &st);
    CHECK_INT(st.drops, 1);
    CHECK_INT(st.content_items, 1);

    /* Past the TTL with the server down: an error without stale_on_error... */
    now_mono += 11;
    S.fail = FAIL_503;
    text = open_text(c, "/apps/a/c/r0.json", &rc);
    CHECK(text == NULL && rc == -EIO);
    P(&p, "/apps/a");
    EXPECT_RC(cache_getattr(c, &p, &a, &err), -EIO);
    CHECK_INT(err.status, 503);

    /* ... the old content with it, a warning naming the file and its age, an entry in the
     * error ring, and the count. */
    cache_set_stale_on_error(c, true);
    logged[0] = '\0';
    text = open_text(c, "/apps/a/c/r0.json", &rc);
    CHECK_MSG(text && strstr(text, "\"changed\""), "rc %d", rc);
    free(text);
    CHECK_MSG(strstr(logged, "warning: serving stale apps/a/c/r0.json (age 11 s): cannot reach "
                             "server: HTTP 503: Service Unavailable") != NULL,
              "logged: %s", logged);
    EXPECT_RC(cache_getattr(c, &p, &a, &err), 0);
    CHECK(strstr(logged, "serving stale list of apps") != NULL);
    P(&p, "/apps/a/c");
    d = NULL;
    EXPECT_RC(cache_opendir(c, &p, &d, &err), 0);
    cache_closedir(c, d);
    CHECK(strstr(logged, "serving stale listing of collection a/c") != NULL);
    EXPECT_RC(errlog_render(&ring, &len), 0);
    CHECK(json_lines(ring, &last) >= 3);
    CHECK(strstr(ring, "\"op\": \"stale\", \"path\": \"apps/a/c/r0.json\", \"errno\": \"0\"") &&
          strstr(ring, "\"status\": 503"));
    json_object_put(last);
    free(ring);
    cache_get_stats(c, &st);
    CHECK(st.stale_served >= 3);

    /* A network failure and a timeout are served stale too (each a moment after the
     * failure before: within CACHE_FAIL_MEMO a failed fetch is not tried again)... */
    S.fail = FAIL_NET;
    now_mono += 1;
    text = open_text(c, "/apps/a/c/r0.json", &rc);
    CHECK(text != NULL);
    free(text);
    S.fail = FAIL_TIMEOUT;
    now_mono += 1;
    text = open_text(c, "/apps/a/c/r0.json", &rc);
    CHECK(text != NULL);
    free(text);
    /* ... but never 404 or 401. */
    S.fail = FAIL_404;
    now_mono += 1;
    text = open_text(c, "/apps/a/c/r0.json", &rc);
    CHECK(text == NULL && rc == -ENOENT);
    S.fail = FAIL_401;
    text = open_text(c, "/apps/a/c/r1.json", &rc);
    CHECK(text == NULL && rc == -EACCES);
    P(&p, "/queries");
    d = NULL;
    EXPECT_RC(cache_opendir(c, &p, &d, &err), -EACCES);

    /* After a refresh, content is gone from memory: an open cannot be served stale. */
    S.fail = OK;
    text = open_text(c, "/apps/a/c/r1.json", &rc);
    free(text);
    cache_drop_all(c);
    S.fail = FAIL_503;
    text = open_text(c, "/apps/a/c/r1.json", &rc);
    CHECK(text == NULL && rc == -EIO);
    P(&p, "/apps/a/c/r1.json");
    EXPECT_RC(cache_getattr(c, &p, &a, &err), 0); /* its attributes still are */

    log_use_stderr();
    cache_free(c);
    errlog_reset();
}

/* A fetch that timed out answers the questions of the next CACHE_FAIL_MEMO seconds
 * without asking the server again (the kernel's lookup after a failed revalidation);
 * answers, failing ones too (503, 404), are not kept; a refresh forgets a timeout. */
static void test_failure_memo(void)
{
    cache *c = make_cache(10);
    layout_path p;
    cache_attr a;
    cf_error err;

    memset(&S, 0, sizeof S);
    S.rec0 = "{\"_id\":\"r0\",\"v\":0}";
    log_use_function(sink, NULL);
    P(&p, "/apps/a/c");
    EXPECT_RC(cache_getattr(c, &p, &a, &err), 0); /* the app and collection are known */
    P(&p, "/apps/a/c/r0.json");
    S.fail = FAIL_TIMEOUT;
    EXPECT_RC(cache_getattr(c, &p, &a, &err), -ETIMEDOUT);
    CHECK_INT(S.gets, 1);
    EXPECT_RC(cache_getattr(c, &p, &a, &err), -ETIMEDOUT);
    CHECK_INT(S.gets, 1);
    CHECK_INT(err.status, 0);
    now_mono += CACHE_FAIL_MEMO / 2;
    S.fail = OK;
    EXPECT_RC(cache_getattr(c, &p, &a, &err), -ETIMEDOUT);
    CHECK_INT(S.gets, 1);
    now_mono += CACHE_FAIL_MEMO;
    EXPECT_RC(cache_getattr(c, &p, &a, &err), 0);
    CHECK_INT(S.gets, 2);
    /* A 503 is an answer: asked again, so a record reads once the server is back. */
    P(&p, "/apps/a/c/r1.json");
    S.fail = FAIL_503;
    EXPECT_RC(cache_getattr(c, &p, &a, &err), -EIO);
    CHECK_INT(err.status, 503);
    S.fail = OK;
    EXPECT_RC(cache_getattr(c, &p, &a, &err), 0);
    CHECK_INT(S.gets, 4);
    /* A refresh forgets a timeout. */
    P(&p, "/apps/a/c/r9.json");
    S.fail = FAIL_TIMEOUT;
    EXPECT_RC(cache_getattr(c, &p, &a, &err), -ETIMEDOUT);
    CHECK_INT(S.gets, 5);
    cache_drop_all(c);
    EXPECT_RC(cache_getattr(c, &p, &a, &err), -ETIMEDOUT);
    CHECK_INT(S.gets, 6);
    P(&p, "/apps/a/c/r1.json");
    /* A 404 is an answer: the record is gone (kept as such for the TTL, as ever). */
    now_mono += 11;
    S.fail = FAIL_404;
    EXPECT_RC(cache_getattr(c, &p, &a, &err), -ENOENT);
    CHECK_INT(S.gets, 7);
    log_use_stderr();
    cache_free(c);
}

static void test_layout(void)
{
    layout_path p;
    bool listed = false;

    EXPECT_RC(layout_parse("/.clappfs", &p), 0);
    CHECK_INT(p.kind, LAYOUT_CONTROL);
    CHECK(layout_is_dir(LAYOUT_CONTROL) && !layout_is_dir(LAYOUT_CONTROL_FILE));
    EXPECT_RC(layout_parse("/.clappfs/stats", &p), 0);
    CHECK_INT(p.kind, LAYOUT_CONTROL_FILE);
    CHECK_STR(p.name, "stats");
    EXPECT_RC(layout_parse("/.clappfs/a/b", &p), -ENOENT);
    EXPECT_RC(layout_parse("/.clappfsx", &p), -ENOENT);
    for (int i = 0; layout_root_names[i]; i++)
        listed |= strcmp(layout_root_names[i], ".clappfs") == 0;
    CHECK(listed);
    CHECK(control_is_path("/.clappfs") && control_is_path("/.clappfs/stats"));
    CHECK(!control_is_path("/.clappfsx") && !control_is_path("/apps/.clappfs") &&
          !control_is_path("/") && !control_is_path(NULL));
}

/* The file system below the control directory: counts what reaches it. */
static int inner_calls;

static int in_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    (void)path;
    (void)fi;
    inner_calls++;
    memset(st, 0, sizeof *st);
    st->st_mode = S_IFDIR | 0755;
    return 0;
}

static int in_open(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    (void)fi;
    inner_calls++;
    return -EROFS;
}

static int fill_count;
static char fill_names[256];

static int count_filler(void *buf, const char *name, const struct stat *st, off_t off,
                        enum fuse_fill_dir_flags flags)
{
    (void)buf;
    (void)st;
    (void)off;
    (void)flags;
    fill_count++;
    strncat(fill_names, name, sizeof fill_names - strlen(fill_names) - 2);
    strcat(fill_names, " ");
    return 0;
}

static void test_control(void)
{
    const struct fuse_operations inner = {.getattr = in_getattr, .open = in_open};
    const struct fuse_operations *ops = control_operations(&inner);
    cache *c = make_cache(10);
    stats_view v = {.cache = c, .url = "http://x", .mountpoint = "/m", .cache_ttl = 10};
    struct fuse_file_info fi;
    struct stat st;
    cache_stats cs;
    char buf[65536];
    int n;

    memset(&S, 0, sizeof S);
    S.rec0 = "{\"_id\":\"r0\",\"v\":0}";
    control_init(&v);
    /* Other paths reach the file system, control paths do not. */
    EXPECT_RC(ops->getattr("/apps", &st, NULL), 0);
    CHECK_INT(inner_calls, 1);
    EXPECT_RC(ops->getattr("/.clappfs", &st, NULL), 0);
    CHECK(S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0555);
    EXPECT_RC(ops->getattr("/.clappfs/nothing", &st, NULL), -ENOENT);
    EXPECT_RC(ops->getattr("/.clappfs/refresh", &st, NULL), 0);
    CHECK_INT(st.st_mode, S_IFREG | 0600);
    EXPECT_RC(ops->getattr("/.clappfs/stats", &st, NULL), 0);
    CHECK_INT(st.st_mode, S_IFREG | 0444);
    CHECK_INT(inner_calls, 1);

    /* stats: the size at stat is the size of the text read at once after it. */
    off_t size = st.st_size;
    memset(&fi, 0, sizeof fi);
    fi.flags = O_RDONLY;
    EXPECT_RC(ops->open("/.clappfs/stats", &fi), 0);
    CHECK(fi.direct_io && (fi.fh & 1));
    n = ops->read("/.clappfs/stats", buf, sizeof buf - 1, 0, &fi);
    CHECK_INT(n, size);
    buf[n > 0 ? n : 0] = '\0';
    CHECK(strstr(buf, "\"cache\"") && strstr(buf, "\"routes\""));
    /* fstat and a read without a path (nullpath_ok) find the handle. */
    EXPECT_RC(ops->getattr(NULL, &st, &fi), 0);
    CHECK_INT(st.st_size, n);
    EXPECT_RC(ops->read(NULL, buf, 10, 0, &fi), 10);
    EXPECT_RC(ops->write("/.clappfs/stats", "x", 1, 0, &fi), -EACCES);
    EXPECT_RC(ops->release("/.clappfs/stats", &fi), 0);

    /* Read-only apart from refresh. */
    memset(&fi, 0, sizeof fi);
    fi.flags = O_WRONLY;
    EXPECT_RC(ops->open("/.clappfs/stats", &fi), -EACCES);
    fi.flags = O_RDONLY | O_TRUNC;
    EXPECT_RC(ops->open("/.clappfs/errors", &fi), -EACCES);
    EXPECT_RC(ops->create("/.clappfs/new", 0644, &fi), -EACCES);
    EXPECT_RC(ops->mkdir("/.clappfs/d", 0755), -EACCES);
    EXPECT_RC(ops->unlink("/.clappfs/stats"), -EACCES);
    EXPECT_RC(ops->rmdir("/.clappfs"), -EACCES);
    EXPECT_RC(ops->rename("/.clappfs/stats", "/apps/x", 0), -EACCES);
    EXPECT_RC(ops->rename("/apps/x", "/.clappfs/stats", 0), -EACCES);
    EXPECT_RC(ops->chmod("/.clappfs/refresh", 0666, NULL), -EACCES);
    EXPECT_RC(ops->truncate("/.clappfs/stats", 0, NULL), -EACCES);
    EXPECT_RC(ops->truncate("/.clappfs/refresh", 0, NULL), 0);
    /* ... where the file system lacks an operation, libfuse's answer stands. */
    EXPECT_RC(ops->mkdir("/apps/x", 0755), -ENOSYS);
    CHECK(ops->write_buf == NULL && ops->lock == NULL);

    /* refresh: a write forgets the cache; a read gives nothing. */
    memset(&fi, 0, sizeof fi);
    fi.flags = O_WRONLY | O_TRUNC;
    EXPECT_RC(ops->open("/.clappfs/refresh", &fi), 0);
    EXPECT_RC(ops->write("/.clappfs/refresh", "1\n", 2, 0, &fi), 2);
    EXPECT_RC(ops->release("/.clappfs/refresh", &fi), 0);
    cache_get_stats(c, &cs);
    CHECK_INT(cs.drops, 1);
    memset(&fi, 0, sizeof fi);
    fi.flags = O_RDONLY;
    EXPECT_RC(ops->open("/.clappfs/refresh", &fi), 0);
    EXPECT_RC(ops->read("/.clappfs/refresh", buf, sizeof buf, 0, &fi), 0);
    EXPECT_RC(ops->release("/.clappfs/refresh", &fi), 0);

    /* The directory lists its three files and conflicts/; other directories are the file
     * system's. */
    memset(&fi, 0, sizeof fi);
    EXPECT_RC(ops->opendir("/.clappfs", &fi), 0);
    EXPECT_RC(ops->readdir("/.clappfs", NULL, count_filler, 0, &fi, 0), 0);
    CHECK_INT(fill_count, 6);
    CHECK(strcmp(fill_names, ". .. conflicts errors refresh stats ") == 0);
    fill_count = 0;
    EXPECT_RC(ops->readdir(NULL, NULL, count_filler, 3, &fi, 0), 0);
    CHECK_INT(fill_count, 3);
    EXPECT_RC(ops->releasedir("/.clappfs", &fi), 0);
    EXPECT_RC(ops->opendir("/.clappfs/stats", &fi), -ENOTDIR);

    /* conflicts/: texts of refused saves, read, listed and removed; nothing else. */
    {
        char kept[64];
        CHECK_INT(conflicts_put("a", "c", "x.json", "{\"v\": 1}", 8, kept, sizeof kept), 0);
        CHECK(strcmp(kept, "x.json") == 0);
        CHECK_INT(conflicts_put("a", "c", "x.json", "{\"v\": 1}", 8, kept, sizeof kept), 0);
        CHECK(strcmp(kept, "x.json") == 0); /* the same text: the same file */
        CHECK_INT(conflicts_put("a", "c", "x.json", "{\"v\": 22}", 9, kept, sizeof kept), 0);
        CHECK(strcmp(kept, "x.2.json") == 0); /* another text: kept beside it */
        EXPECT_RC(ops->getattr("/.clappfs/conflicts/a/c", &st, NULL), 0);
        CHECK(S_ISDIR(st.st_mode));
        EXPECT_RC(ops->getattr("/.clappfs/conflicts/a/c/x.2.json", &st, NULL), 0);
        CHECK(S_ISREG(st.st_mode) && st.st_size == 9 && (st.st_mode & 0777) == 0644);
        memset(&fi, 0, sizeof fi);
        EXPECT_RC(ops->opendir("/.clappfs/conflicts/a/c", &fi), 0);
        fill_count = 0;
        fill_names[0] = '\0';
        EXPECT_RC(ops->readdir("/.clappfs/conflicts/a/c", NULL, count_filler, 0, &fi, 0), 0);
        CHECK(strcmp(fill_names, ". .. x.2.json x.json ") == 0);
        EXPECT_RC(ops->releasedir("/.clappfs/conflicts/a/c", &fi), 0);
        memset(&fi, 0, sizeof fi);
        fi.flags = O_RDONLY;
        EXPECT_RC(ops->open("/.clappfs/conflicts/a/c/x.json", &fi), 0);
        EXPECT_RC(ops->read("/.clappfs/conflicts/a/c/x.json", buf, sizeof buf, 0, &fi), 8);
        CHECK(memcmp(buf, "{\"v\": 1}", 8) == 0);
        EXPECT_RC(ops->release("/.clappfs/conflicts/a/c/x.json", &fi), 0);
        fi.flags = O_WRONLY;
        EXPECT_RC(ops->open("/.clappfs/conflicts/a/c/x.json", &fi), -EACCES);
        EXPECT_RC(ops->create("/.clappfs/conflicts/a/c/y.json", 0644, &fi), -EACCES);
        EXPECT_RC(ops->rmdir("/.clappfs/conflicts/a/c"), -ENOTEMPTY);
        EXPECT_RC(ops->unlink("/.clappfs/conflicts/a/c/x.json"), 0);
        EXPECT_RC(ops->unlink("/.clappfs/conflicts/a/c/x.json"), -ENOENT);
        EXPECT_RC(ops->unlink("/.clappfs/conflicts/a/c/x.2.json"), 0);
        EXPECT_RC(ops->rmdir("/.clappfs/conflicts/a/c"), 0);
        EXPECT_RC(ops->rmdir("/.clappfs/conflicts/a"), 0);
        EXPECT_RC(ops->getattr("/.clappfs/conflicts/a", &st, NULL), -ENOENT);
        EXPECT_RC(ops->rmdir("/.clappfs/conflicts"), -EACCES);
        CHECK_INT(conflicts_count(), 0);
    }
    cache_free(c);
}

static void test_opts(void)
{
    char *on[] = {"clappfs", "-o", "cache_ttl=1,stale_on_error", "http://x", "/mnt", NULL};
    char *off[] = {"clappfs", "http://x", "/mnt", NULL};
    char err[256];
    fs_opts o;

    EXPECT_RC(fs_opts_parse(5, on, &o, err, sizeof err), 0);
    CHECK(o.stale_on_error);
    fs_opts_free(&o);
    EXPECT_RC(fs_opts_parse(3, off, &o, err, sizeof err), 0);
    CHECK(!o.stale_on_error);
    fs_opts_free(&o);
}

int main(void)
{
    test_opts();
    test_textbuf();
    test_errlog();
    test_stats();
    test_hits_refresh_stale();
    test_failure_memo();
    test_layout();
    test_control();
    return check_done();
}
