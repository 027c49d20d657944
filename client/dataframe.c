/* dataframe.c: paged reads (parallel pages, serialised callbacks) and bulk dataframe writes. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "json_internal.h"

#define READ_PATH "/api/dataframe/read_data?extended=true"
#define READ_ROUTE "/api/dataframe/read_data"

/* The state of one paged read, shared by its workers. */
typedef struct reader {
    cf_client *c;
    const char *members; /* body members besides "limit" */
    size_t step;         /* records per page: what the first page held */
    size_t total;        /* from the first page */
    cf_page_fn fn;
    void *ud;
    pthread_mutex_t lock; /* guards next, failed, err */
    size_t next;          /* the next offset to fetch */
    bool failed;
    cf_error err;                 /* the first failure (or the cancel) */
    pthread_mutex_t deliver_lock; /* callbacks run one at a time; taken before lock */
    int *stop;    /* set (atomically) when the read is over: cancel in-flight pages */
    int own_stop; /* what stop points to unless the caller gave its own flag */
    bool ordered; /* pages are delivered in offset order (cf_read_opts) */
    size_t first; /* offset of the first page (cf_read_opts) */
    size_t max_pages; /* pages read at most, 0: all (cf_read_opts) */
    size_t turn;  /* ordered: the offset delivered next (guarded by lock) */
    pthread_cond_t turn_cond; /* ordered: broadcast when the turn moves or the read stops */
} reader;

/* The records of one page as exact values. */
typedef struct page_records {
    cf_json **items;
    size_t count, cap;
    cf_json_problem problem;
    bool nomem;
} page_records;

static int collect_record(void *ud, size_t index, const char *elem, size_t len)
{
    page_records *p = ud;
    cf_json *value;

    (void)index;
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        cf_json **items = realloc(p->items, cap * sizeof *items);
        if (!items) {
            p->nomem = true;
            return 1;
        }
        p->items = items;
        p->cap = cap;
    }
    value = cfi_json_parse_lazy(elem, len, CF_JSON_OBJECT_ONLY, &p->problem);
    if (!value)
        return 1;
    p->items[p->count++] = value;
    return 0;
}

static void records_free(page_records *p)
{
    for (size_t i = 0; i < p->count; i++)
        cf_json_free(p->items[i]);
    free(p->items);
    memset(p, 0, sizeof *p);
}

/* Splits a good read_data reply's `data` array into records. */
static int split_page(const cfi_reply *reply, page_records *p, cf_error *err)
{
    memset(p, 0, sizeof *p);
    if (cf_json_array_each(reply->body + reply->env.data_start, reply->env.data_len, collect_record,
                           p) == 0)
        return 0;
    if (p->nomem)
        cfi_fail(err, CF_ERR_NOMEM, reply->status, "out of memory for a page");
    else
        cfi_fail(err, CF_ERR_PROTOCOL, reply->status, "record %zu of the page: %s", p->count,
                 p->problem.what[0] ? p->problem.what : "not acceptable");
    cfi_error_where(err, reply->method, reply->path);
    records_free(p);
    return -1;
}

/* POSTs the read_data request for one page (offset 0: the first, without next_page).
 * *path is the request's path, which reply->path points to: the caller frees it after
 * the reply, in every case. */
static int fetch_page(reader *r, size_t offset, size_t limit, cfi_reply *reply, char **path,
                      cf_error *err)
{
    cfi_call call = {
        .method = "POST", .route = READ_ROUTE, .expect = CFI_DATA_ARRAY, .cancel = r->stop};
    cfi_buf path_buf = {0}, body = {0};
    char *body_text = NULL;
    int rc = -1;

    memset(reply, 0, sizeof *reply);
    cfi_buf_str(&path_buf, READ_PATH);
    if (offset > 0)
        cfi_buf_printf(&path_buf, "&next_page=%zu", offset);
    cfi_buf_printf(&body, "{\"limit\":%zu%s%s}", limit, *r->members ? "," : "", r->members);
    if (cfi_buf_take(&path_buf, path, NULL) != 0 ||
        cfi_buf_take(&body, &body_text, &call.body_len) != 0) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        goto cleanup;
    }
    call.path = *path;
    call.body = body_text;
    rc = cfi_call_run(r->c, &call, reply, err);
cleanup:
    cfi_buf_release(&path_buf);
    cfi_buf_release(&body);
    free(body_text);
    return rc;
}

/* Records the read's first failure and stops it. */
static void fail_read(reader *r, const cf_error *e)
{
    pthread_mutex_lock(&r->lock);
    if (!r->failed) {
        r->failed = true;
        r->err = *e;
    }
    __atomic_store_n(r->stop, 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&r->turn_cond);
    pthread_mutex_unlock(&r->lock);
}

/* Hands one page to the callback, never two at once; a non-zero answer cancels the read. */
static void deliver(reader *r, size_t offset, const page_records *p)
{
    cf_page page = {.offset = offset,
                    .total = r->total,
                    .count = p->count,
                    .records = (const cf_json *const *)p->items};
    cf_error cancel;

    if (p->count == 0) /* an empty result (or an empty late page) has nothing to show */
        return;
    /* The stop is set before the lock is let go, so no callback follows a cancel. */
    pthread_mutex_lock(&r->deliver_lock);
    if (!__atomic_load_n(r->stop, __ATOMIC_RELAXED) && r->fn(r->ud, &page) != 0) {
        cfi_fail(&cancel, CF_ERR_CANCELLED, 0, "the page callback stopped the read at offset %zu",
                 offset);
        fail_read(r, &cancel);
    }
    pthread_mutex_unlock(&r->deliver_lock);
}

/* Ordered reads: waits until every page before offset has been delivered, or the read
 * stops. Offsets are handed out in increasing order, so the worker holding the turn never
 * waits: the wait always ends. The timed wait notices a stop set by the caller. */
static void wait_turn(reader *r, size_t offset)
{
    pthread_mutex_lock(&r->lock);
    while (r->turn != offset && !__atomic_load_n(r->stop, __ATOMIC_RELAXED)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->turn_cond, &r->lock, &ts);
    }
    pthread_mutex_unlock(&r->lock);
}

/* Ordered reads: the page at offset is done (delivered, or empty): the next one's turn. */
static void end_turn(reader *r, size_t offset)
{
    pthread_mutex_lock(&r->lock);
    if (r->turn == offset)
        r->turn = offset + r->step;
    pthread_cond_broadcast(&r->turn_cond);
    pthread_mutex_unlock(&r->lock);
}

/* Fetches, splits and delivers the page at offset; failures stop the read. */
static void do_page(reader *r, size_t offset)
{
    cfi_reply reply;
    page_records p = {0};
    cf_error e;
    char *path = NULL;

    if (fetch_page(r, offset, r->step, &reply, &path, &e) != 0 || split_page(&reply, &p, &e) != 0) {
        fail_read(r, &e);
    } else {
        cfi_reply_free(&reply); /* the records are copies: free the page text first */
        if (r->ordered)
            wait_turn(r, offset);
        deliver(r, offset, &p);
        if (r->ordered)
            end_turn(r, offset);
    }
    cfi_reply_free(&reply);
    records_free(&p);
    free(path);
}

/* A worker takes offsets from the shared counter until none is left or the read stops. */
static void *worker(void *arg)
{
    reader *r = arg;

    for (;;) {
        size_t offset;
        bool done;
        pthread_mutex_lock(&r->lock);
        done = __atomic_load_n(r->stop, __ATOMIC_RELAXED) || r->next >= r->total ||
               (r->max_pages && (r->next - r->first) / r->step >= r->max_pages);
        offset = r->next;
        if (!done)
            r->next += r->step;
        pthread_mutex_unlock(&r->lock);
        if (done)
            break;
        do_page(r, offset);
    }
    return NULL;
}

/* Reads the first page: total and the step, then delivers it. */
static int first_page(reader *r, int limit, cf_error *err)
{
    cfi_reply reply;
    page_records p = {0};
    char *path = NULL;
    int rc = -1;

    if (fetch_page(r, r->first, (size_t)limit, &reply, &path, err) != 0 ||
        split_page(&reply, &p, err) != 0)
        goto cleanup;
    if (!reply.env.has_total) {
        cfi_fail(err, CF_ERR_PROTOCOL, reply.status, "read_data answer without a total");
        cfi_error_where(err, reply.method, reply.path);
        goto cleanup;
    }
    r->total = reply.env.total;
    if (p.count == 0 && r->total > r->first) {
        cfi_fail(err, CF_ERR_PROTOCOL, reply.status,
                 "read_data gave an empty first page but a total of %zu", r->total);
        cfi_error_where(err, reply.method, reply.path);
        goto cleanup;
    }
    /* Trust the page received: a server that capped the limit sets the step. */
    r->step = p.count;
    r->next = r->first + p.count;
    r->turn = r->first + p.count;
    cfi_reply_free(&reply);
    deliver(r, r->first, &p);
    rc = 0;
cleanup:
    cfi_reply_free(&reply);
    records_free(&p);
    free(path);
    return rc;
}

int cfi_paged_read(cf_client *c, const char *members, int limit, const cf_read_opts *opts,
                   cf_page_fn fn, void *ud, size_t *total, cf_error *err)
{
    reader r = {.c = c, .members = members, .fn = fn, .ud = ud};
    pthread_t threads[64]; /* c->workers is at most 64 */
    int started = 0, rc = -1, locks = 0;
    size_t pages;

    r.stop = opts && opts->stop ? opts->stop : &r.own_stop;
    r.ordered = opts && opts->ordered;
    r.first = opts ? opts->first : 0;
    r.max_pages = opts ? opts->max_pages : 0;
    if (total)
        *total = 0;
    for (; locks < 3; locks++) {
        int bad = locks == 2 ? pthread_cond_init(&r.turn_cond, NULL)
                             : pthread_mutex_init(locks == 0 ? &r.lock : &r.deliver_lock, NULL);
        if (bad) {
            cfi_fail(err, CF_ERR_NOMEM, 0, "cannot make a mutex");
            goto cleanup;
        }
    }
    if (first_page(&r, limit, err) != 0)
        goto cleanup;
    if (total)
        *total = r.total;
    if (r.next < r.total && !__atomic_load_n(r.stop, __ATOMIC_RELAXED) &&
        r.max_pages != 1) {
        /* The calling thread is one of the workers; the others are started per read. */
        pages = (r.total - r.next + r.step - 1) / r.step;
        for (int i = 1; i < c->workers && (size_t)i < pages; i++) {
            if (pthread_create(&threads[started], NULL, worker, &r) != 0)
                break;
            started++;
        }
        worker(&r);
        for (int i = 0; i < started; i++)
            pthread_join(threads[i], NULL);
    }
    if (r.failed) {
        if (err)
            *err = r.err;
        goto cleanup;
    }
    /* The caller's flag stopped the workers between two pages: nothing failed as such. */
    if (__atomic_load_n(r.stop, __ATOMIC_RELAXED)) {
        cfi_fail(err, CF_ERR_CANCELLED, 0, "the read was stopped by its caller");
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (locks > 0)
        pthread_mutex_destroy(&r.lock);
    if (locks > 1)
        pthread_mutex_destroy(&r.deliver_lock);
    if (locks > 2)
        pthread_cond_destroy(&r.turn_cond);
    return rc;
}

/* Paged reads with given body members: checks the arguments and counts the call. */
static int read_with(cf_client *c, const char *members, int limit, const cf_read_opts *opts,
                     cf_page_fn fn, void *ud, size_t *total, cf_error *err)
{
    if (!c || !fn || !members)
        return cfi_done(c, cfi_fail(err, members ? CF_ERR_INVALID : CF_ERR_NOMEM, 0,
                                    members ? "no client or no callback" : "out of memory"));
    return cfi_done(c, cfi_paged_read(c, members, limit, opts, fn, ud, total, err));
}

int cf_read_collection(cf_client *c, const char *app, const char *slug, cf_page_fn fn, void *ud,
                       size_t *total, cf_error *err)
{
    return cf_read_collection_opts(c, app, slug, NULL, fn, ud, total, err);
}

int cf_read_query(cf_client *c, const char *query_slug, cf_page_fn fn, void *ud, size_t *total,
                  cf_error *err)
{
    return cf_read_query_opts(c, query_slug, NULL, fn, ud, total, err);
}

int cf_read_collection_opts(cf_client *c, const char *app, const char *slug,
                            const cf_read_opts *opts, cf_page_fn fn, void *ud, size_t *total,
                            cf_error *err)
{
    char *qapp = NULL, *qslug = NULL, *members = NULL;
    cfi_buf b = {0};
    int rc;

    cf_error_clear(err);
    if (total)
        *total = 0;
    if (!app || !*app || !slug || !*slug)
        return cfi_done(c, cfi_fail(err, CF_ERR_INVALID, 0, "no app or collection given"));
    qapp = cfi_json_quote(app);
    qslug = cfi_json_quote(slug);
    if (qapp && qslug)
        cfi_buf_printf(&b, "\"app\":%s,\"collection\":%s", qapp, qslug);
    if (!qapp || !qslug || cfi_buf_take(&b, &members, NULL) != 0)
        members = NULL;
    rc = read_with(c, members, c ? c->page_size : 0, opts, fn, ud, total, err);
    cfi_buf_release(&b);
    free(qapp);
    free(qslug);
    free(members);
    return rc;
}

int cf_read_query_opts(cf_client *c, const char *query_slug, const cf_read_opts *opts,
                       cf_page_fn fn, void *ud, size_t *total, cf_error *err)
{
    char *quoted = NULL, *members = NULL;
    cfi_buf b = {0};
    int rc;

    cf_error_clear(err);
    if (total)
        *total = 0;
    if (!query_slug || !*query_slug)
        return cfi_done(c, cfi_fail(err, CF_ERR_INVALID, 0, "no query given"));
    quoted = cfi_json_quote(query_slug);
    if (quoted)
        cfi_buf_printf(&b, "\"query\":%s", quoted);
    if (!quoted || cfi_buf_take(&b, &members, NULL) != 0)
        members = NULL;
    rc = read_with(c, members, c ? c->page_size : 0, opts, fn, ud, total, err);
    cfi_buf_release(&b);
    free(quoted);
    free(members);
    return rc;
}

/* The aggregate route takes 10 to 500 records a page. */
#define AGG_MIN_LIMIT 10
#define AGG_MAX_LIMIT 500

int cf_aggregate(cf_client *c, const cf_json *options, cf_page_fn fn, void *ud, size_t *total,
                 cf_error *err)
{
    char *compact = NULL, *members = NULL;
    const char *text;
    size_t len, n = 0;
    int limit, rc;

    cf_error_clear(err);
    if (total)
        *total = 0;
    if (!options || !json_object_is_type(cf_json_object(options), json_type_object))
        return cfi_done(c, cfi_fail(err, CF_ERR_INVALID, 0, "the options must be a JSON object"));
    /* The options' members, exact, minus any "limit" (the library pages). */
    text = cf_json_text(options, &len);
    if (cf_json_compact(text, len, "limit", NULL, NULL, &compact, &n) == 0 && n >= 2) {
        memmove(compact, compact + 1, n - 2); /* without the braces */
        compact[n - 2] = '\0';
        members = compact;
        compact = NULL;
    }
    limit = c ? c->page_size : 0;
    limit = limit < AGG_MIN_LIMIT ? AGG_MIN_LIMIT : limit > AGG_MAX_LIMIT ? AGG_MAX_LIMIT : limit;
    rc = read_with(c, members, limit, NULL, fn, ud, total, err);
    free(compact);
    free(members);
    return rc;
}

/* POST/PUT/DELETE /api/dataframe/{app}/{slug}; records (an array) for POST and PUT. */
static int df_write(cf_client *c, const char *method, const char *app, const char *slug,
                    const cf_json *records, cf_error *err)
{
    cfi_call call = {
        .method = method, .route = "/api/dataframe/{app}/{slug}", .expect = CFI_DATA_OPTIONAL};
    char *path = NULL;
    int rc = -1;

    cf_error_clear(err);
    if (!c) {
        cfi_fail(err, CF_ERR_INVALID, 0, "no client");
        goto cleanup;
    }
    if (strcmp(method, "DELETE") != 0) {
        if (!records || !json_object_is_type(cf_json_object(records), json_type_array)) {
            cfi_fail(err, CF_ERR_INVALID, 0, "the records must be a JSON array");
            goto cleanup;
        }
        call.body = cf_json_text(records, &call.body_len);
    }
    if (cfi_path(&path, err, "/api/dataframe/%s/%s", app, slug) != 0)
        goto cleanup;
    call.path = path;
    rc = cfi_request(c, &call, NULL, err);
cleanup:
    free(path);
    return cfi_done(c, rc);
}

int cf_df_append(cf_client *c, const char *app, const char *slug, const cf_json *records,
                 cf_error *err)
{
    return df_write(c, "POST", app, slug, records, err);
}

int cf_df_replace(cf_client *c, const char *app, const char *slug, const cf_json *records,
                  cf_error *err)
{
    return df_write(c, "PUT", app, slug, records, err);
}

int cf_df_empty(cf_client *c, const char *app, const char *slug, cf_error *err)
{
    return df_write(c, "DELETE", app, slug, NULL, err);
}
