/* http.c: HTTP exchanges over libcurl: shared connection cache, handle pool, tries and backoff. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* ---- the share and its locks -------------------------------------------------- */

/* libcurl calls these around every use of shared data; one mutex per kind of data lets
 * DNS lookups, TLS sessions and the connection cache be used by different threads at once. */
static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
    cf_client *c = ud;

    (void)h;
    (void)access;
    if (data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
    cf_client *c = ud;

    (void)h;
    if (data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&c->share_locks[data]);
}

int cfi_http_init(cf_client *c, cf_error *err)
{
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    CURLSHcode sc = CURLSHE_NOMEM;
    int made = 0, rc = -1;
    bool pool_lock = false;

    c->http2 = info && (info->features & CURL_VERSION_HTTP2);
    for (; made < CURL_LOCK_DATA_LAST; made++) {
        if (pthread_mutex_init(&c->share_locks[made], NULL) != 0)
            goto cleanup;
    }
    if (pthread_mutex_init(&c->pool_lock, NULL) != 0)
        goto cleanup;
    pool_lock = true;
    c->share = curl_share_init();
    if (!c->share)
        goto cleanup;
    sc = curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    if (sc == CURLSHE_OK)
        sc = curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    if (sc == CURLSHE_OK)
        sc = curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    if (sc == CURLSHE_OK)
        sc = curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    if (sc == CURLSHE_OK)
        sc = curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    if (sc == CURLSHE_OK)
        sc = curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    if (sc == CURLSHE_OK)
        rc = 0;
cleanup:
    if (rc != 0) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "cannot set up libcurl: %s", curl_share_strerror(sc));
        curl_share_cleanup(c->share); /* accepts NULL */
        c->share = NULL;
        if (pool_lock)
            pthread_mutex_destroy(&c->pool_lock);
        while (made-- > 0)
            pthread_mutex_destroy(&c->share_locks[made]);
    }
    return rc;
}

void cfi_http_free(cf_client *c)
{
    if (!c->share)
        return;
    /* Handles first: the share may not be cleaned up while handles use it. */
    for (size_t i = 0; i < c->pool_len; i++)
        curl_easy_cleanup(c->pool[i]);
    c->pool_len = 0;
    curl_share_cleanup(c->share);
    c->share = NULL;
    pthread_mutex_destroy(&c->pool_lock);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->share_locks[i]);
}

/* ---- the handle pool ------------------------------------------------------------ */

/* Takes an idle easy handle or makes one attached to the share; NULL when out of memory.
 * A handle is used by one thread at a time: the one that took it. */
static CURL *handle_take(cf_client *c)
{
    CURL *h = NULL;

    pthread_mutex_lock(&c->pool_lock);
    if (c->pool_len > 0)
        h = c->pool[--c->pool_len];
    pthread_mutex_unlock(&c->pool_lock);
    if (!h) {
        h = curl_easy_init();
        if (h && curl_easy_setopt(h, CURLOPT_SHARE, c->share) != CURLE_OK) {
            curl_easy_cleanup(h);
            h = NULL;
        }
    }
    return h;
}

static void handle_put(cf_client *c, CURL *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&c->pool_lock);
    if (c->pool_len < CFI_POOL_KEEP) {
        c->pool[c->pool_len++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->pool_lock);
    if (h)
        curl_easy_cleanup(h);
}

/* ---- one try -------------------------------------------------------------------- */

/* Where an answer's body goes: bounded by max_body. */
typedef struct sink {
    cfi_buf buf;
    size_t max;
    bool too_big;
} sink;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    sink *s = ud;
    size_t n = size * nmemb;

    if (s->buf.len + n > s->max) {
        s->too_big = true;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    cfi_buf_add(&s->buf, ptr, n);
    return s->buf.failed ? 0 : n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    const int *cancel = ud;

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED) ? 1 : 0;
}

static bool cancelled(const cfi_call *call)
{
    return call->cancel && __atomic_load_n(call->cancel, __ATOMIC_RELAXED);
}

/* The outcome of one exchange. */
typedef struct attempt {
    CURLcode code;
    long status;
    sink body;
    char errbuf[CURL_ERROR_SIZE];
    char content_type[128];
    double seconds;
} attempt;

#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(h, opt, val);                                                    \
    } while (0)

/* Sets up h for the call and performs one exchange into *a. */
static void perform(cf_client *c, CURL *h, const cfi_call *call, const char *url,
                    struct curl_slist *headers, attempt *a)
{
    CURLcode rc = CURLE_OK;
    struct timespec t0, t1;
    char *ct = NULL;

    curl_easy_reset(h); /* keeps the share: connections survive */
    SET(CURLOPT_ERRORBUFFER, a->errbuf);
    SET(CURLOPT_URL, url);
    SET(CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_PATH_AS_IS, 1L);
    SET(CURLOPT_TIMEOUT_MS, c->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    /* The limit applies to the shared cache: with curl's default (5), connections of
     * parallel requests beyond five would be closed as they come back. */
    SET(CURLOPT_MAXCONNECTS, (long)CFI_MAX_CONNECTS);
    SET(CURLOPT_USERAGENT, c->user_agent);
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_ACCEPT_ENCODING, ""); /* whatever libcurl decodes (gzip...) */
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_body);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, &a->body);
    SET(CURLOPT_NOPROGRESS, call->cancel ? 0L : 1L);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_XFERINFODATA, (void *)call->cancel);
    if (c->http2)
        SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    if (c->cafile)
        SET(CURLOPT_CAINFO, c->cafile);
    SET(CURLOPT_SSL_VERIFYPEER, c->insecure ? 0L : 1L);
    SET(CURLOPT_SSL_VERIFYHOST, c->insecure ? 0L : 2L);
    if (strcmp(call->method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else {
        if (strcmp(call->method, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, call->method);
        if (call->body || strcmp(call->method, "POST") == 0) {
            SET(CURLOPT_POSTFIELDS, call->body ? call->body : "");
            SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(call->body ? call->body_len : 0));
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (rc == CURLE_OK)
        rc = curl_easy_perform(h);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    a->code = rc;
    a->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
        snprintf(a->content_type, sizeof a->content_type, "%s", ct);
    if (!a->errbuf[0] && rc != CURLE_OK)
        snprintf(a->errbuf, sizeof a->errbuf, "%s", curl_easy_strerror(rc));
}

#undef SET

/* Counts and reports one finished exchange. */
static void account(cf_client *c, CURL *h, const cfi_call *call, int number, const attempt *a)
{
    curl_off_t up = 0, down = 0;
    cf_trace t;

    curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &up);
    curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &down);
    CFI_COUNT(c, requests, 1);
    CFI_COUNT(c, bytes_sent, up > 0 ? up : 0);
    CFI_COUNT(c, bytes_received, down > 0 ? down : 0);
    if (a->status >= 200 && a->status < 300)
        CFI_COUNT(c, status_2xx, 1);
    else if (a->status >= 400 && a->status < 500)
        CFI_COUNT(c, status_4xx, 1);
    else if (a->status >= 500)
        CFI_COUNT(c, status_5xx, 1);
    else if (a->status == 0)
        CFI_COUNT(c, no_answer, 1);
    if (!c->trace)
        return;
    t.method = call->method;
    t.path = call->path;
    t.route = call->route ? call->route : call->path;
    t.status = a->status;
    t.attempt = number;
    t.seconds = a->seconds;
    t.bytes_sent = up > 0 ? (size_t)up : 0;
    t.bytes_received = down > 0 ? (size_t)down : 0;
    t.curl_error = a->code == CURLE_OK ? "" : a->errbuf;
    c->trace(c->trace_ud, &t);
}

/* What to do after an exchange. */
typedef enum verdict { DONE, FINAL, RETRY, RELOGIN } verdict;

/* Judges an exchange: fills err for anything but DONE; *maybe_sent tells whether the
 * request may have reached the server without its answer reaching us. */
static verdict judge(const cf_client *c, const cfi_call *call, bool relogged, attempt *a,
                     cfi_envelope *env, bool *maybe_sent, cf_error *err)
{
    *maybe_sent = false;
    switch (a->code) {
    case CURLE_OK:
        if (cfi_answer_check(a->status, a->content_type, a->body.buf.data, a->body.buf.len,
                             call->expect, env, err) == 0)
            return DONE;
        if (a->status == 401 && !call->anonymous && !relogged)
            return RELOGIN;
        if (a->status == 502 || a->status == 503 || a->status == 504) {
            /* A gateway's failure does not say whether the server behind it acted. */
            *maybe_sent = true;
            return RETRY;
        }
        return FINAL;
    case CURLE_OPERATION_TIMEDOUT:
        *maybe_sent = true;
        cfi_fail(err, CF_ERR_TIMEOUT, 0, "%s", a->errbuf);
        return RETRY;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
        *maybe_sent = true;
        cfi_fail(err, CF_ERR_NETWORK, 0, "%s", a->errbuf);
        return RETRY;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        cfi_fail(err, CF_ERR_NETWORK, 0, "%s", a->errbuf);
        return RETRY;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        cfi_fail(err, CF_ERR_TLS, 0, "%s", a->errbuf);
        return FINAL;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        if (a->body.buf.failed)
            cfi_fail(err, CF_ERR_NOMEM, a->status, "out of memory for the answer");
        else
            cfi_fail(err, CF_ERR_PROTOCOL, a->status, "answer larger than %ld bytes", c->max_body);
        return FINAL;
    case CURLE_ABORTED_BY_CALLBACK:
        cfi_fail(err, CF_ERR_CANCELLED, 0, "cancelled");
        return FINAL;
    case CURLE_OUT_OF_MEMORY:
        cfi_fail(err, CF_ERR_NOMEM, 0, "%s", a->errbuf);
        return FINAL;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        cfi_fail(err, CF_ERR_INVALID, 0, "%s", a->errbuf);
        return FINAL;
    case CURLE_BAD_CONTENT_ENCODING:
        cfi_fail(err, CF_ERR_PROTOCOL, a->status, "%s", a->errbuf);
        return FINAL;
    default:
        cfi_fail(err, CF_ERR_NETWORK, a->status, "%s", a->errbuf);
        return FINAL;
    }
}

/* Sleeps ms milliseconds in short steps, returning early when the call is cancelled. */
static void pause_ms(const cfi_call *call, long ms)
{
    while (ms > 0 && !cancelled(call)) {
        long step = ms < 20 ? ms : 20;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

long cfi_backoff_pause(long backoff_ms, int n)
{
    long cap = backoff_ms > CFI_BACKOFF_CAP_MS ? backoff_ms : CFI_BACKOFF_CAP_MS;
    long ms = backoff_ms;

    for (int i = 1; i < n && ms < cap; i++)
        ms *= 2;
    return ms < cap ? ms : cap;
}

/* Names the failure of a try for the retry warning. */
static void describe(const cf_error *e, char *out, size_t size)
{
    if (e->kind == CF_ERR_HTTP)
        snprintf(out, size, "HTTP %ld", e->status);
    else if (e->kind == CF_ERR_TIMEOUT)
        snprintf(out, size, "a timeout (%.200s)", e->message);
    else
        snprintf(out, size, "%.250s", e->message);
}

static struct curl_slist *make_headers(const cfi_call *call, const char *auth)
{
    struct curl_slist *list = NULL, *next;
    const char *lines[4] = {"Accept: application/json", "Expect:", NULL, NULL};
    int n = 2;

    if (call->body)
        lines[n++] = "Content-Type: application/json";
    if (auth)
        lines[n++] = auth;
    for (int i = 0; i < n; i++) {
        next = curl_slist_append(list, lines[i]);
        if (!next) {
            curl_slist_free_all(list);
            return NULL;
        }
        list = next;
    }
    return list;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The tries a request may take in all, its last try having failed with an answer of
 * `status` (answered) or without an answer: twice c->tries for a 502/503/504 while the
 * server is flaky (CFI_FLAKY_MS), else c->tries. */
static int tries_allowed(cf_client *c, long status, bool answered)
{
    if (answered && (status == 502 || status == 503 || status == 504) &&
        mono_ms() < __atomic_load_n(&c->flaky_until_ms, __ATOMIC_RELAXED))
        return 2 * c->tries;
    return c->tries;
}

int cfi_call_run(cf_client *c, const cfi_call *call, cfi_reply *reply, cf_error *err)
{
    cf_error try_err;
    CURL *h = NULL;
    char *url = NULL, *auth = NULL;
    struct curl_slist *headers = NULL;
    uint64_t gen = 0;
    bool relogged = false, maybe_sent, got_5xx = false;
    int tries = 0, number = 0, rc = -1, allowed;
    cfi_buf ub = {0};
    attempt *a = NULL;

    memset(reply, 0, sizeof *reply);
    reply->method = call->method;
    reply->path = call->path;
    cf_error_clear(err);
    a = calloc(1, sizeof *a);
    cfi_buf_str(&ub, c->base_url);
    cfi_buf_str(&ub, call->path);
    h = handle_take(c);
    if (!a || cfi_buf_take(&ub, &url, NULL) != 0 || !h) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        goto cleanup;
    }
    for (;;) {
        if (cancelled(call)) {
            cfi_fail(err, CF_ERR_CANCELLED, 0, "cancelled");
            goto cleanup;
        }
        if (!call->anonymous) {
            free(auth);
            auth = NULL;
            if (cfi_auth_header(c, &auth, &gen, err) != 0)
                goto cleanup;
        }
        curl_slist_free_all(headers);
        headers = make_headers(call, auth);
        if (!headers) {
            cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
            goto cleanup;
        }
        cfi_buf_release(&a->body.buf);
        memset(a, 0, sizeof *a);
        a->body.max = (size_t)c->max_body;
        tries++;
        number++;
        if (number > 1)
            CFI_COUNT(c, retries, 1);
        perform(c, h, call, url, headers, a);
        account(c, h, call, number, a);
        reply->status = a->code == CURLE_OK ? a->status : 0;
        switch (judge(c, call, relogged, a, &reply->env, &maybe_sent, &try_err)) {
        case DONE:
            if (got_5xx) /* scattered failures: the next ones may take more tries */
                __atomic_store_n(&c->flaky_until_ms, mono_ms() + CFI_FLAKY_MS, __ATOMIC_RELAXED);
            rc = 0;
            goto cleanup;
        case RELOGIN:
            /* The token was refused: log in again once and repeat without using up a try. */
            relogged = true;
            tries--;
            cfi_auth_invalidate(c, gen);
            continue;
        case FINAL:
            goto failed;
        case RETRY:
            if (maybe_sent)
                reply->unanswered++;
            if (a->code == CURLE_OK)
                got_5xx = true; /* RETRY of an answer: a 502/503/504 */
            allowed = tries_allowed(c, a->status, a->code == CURLE_OK);
            if (tries >= allowed)
                goto failed;
            {
                char what[300];
                describe(&try_err, what, sizeof what);
                CFI_LOG(c, CF_LOG_WARNING, "retrying %s %s after %s (try %d of %d)", call->method,
                        call->path, what, tries + 1, allowed);
                pause_ms(call, cfi_backoff_pause(c->backoff_ms, tries));
            }
            continue;
        }
    }
failed:
    if (err) {
        *err = try_err;
        if (err->kind == CF_ERR_TIMEOUT || err->kind == CF_ERR_NETWORK) {
            size_t used = strlen(err->message);
            snprintf(err->message + used, sizeof err->message - used, " (%d tr%s)", tries,
                     tries == 1 ? "y" : "ies");
        }
    }
cleanup:
    if (a) {
        /* The last answer's body stays with the reply, for callers that look at it. */
        reply->body = a->body.buf.data;
        reply->len = a->body.buf.len;
        a->body.buf.data = NULL;
        free(a);
    }
    if (rc != 0 && err && !err->method[0])
        cfi_error_where(err, call->method, call->path);
    curl_slist_free_all(headers);
    handle_put(c, h);
    free(auth);
    free(url);
    return rc;
}

void cfi_reply_free(cfi_reply *reply)
{
    if (!reply)
        return;
    free(reply->body);
    reply->body = NULL;
    reply->len = 0;
}

/* An element of a `data` array must be acceptable on its own (nesting included). */
static int element_ok(void *ud, size_t index, const char *elem, size_t len)
{
    (void)index;
    return cf_json_check(elem, len, 0, ud) == 0 ? 0 : 1;
}

int cfi_reply_data(const cfi_reply *reply, cf_json **out, cf_error *err)
{
    cf_json_problem problem;
    const char *data;
    size_t len;
    int flags = 0;

    *out = NULL;
    if (!reply->body || !reply->env.has_data) {
        cfi_fail(err, CF_ERR_PROTOCOL, reply->status, "answer without `data`");
        goto fail;
    }
    memset(&problem, 0, sizeof problem);
    data = reply->body + reply->env.data_start;
    len = reply->env.data_len;
    /* A list wraps its items: each may nest as deep as one item alone. */
    if (len > 0 && data[0] == '[') {
        flags = CF_JSON_WRAPPED;
        if (cf_json_array_each(data, len, element_ok, &problem) != 0) {
            cfi_fail(err, CF_ERR_PROTOCOL, reply->status, "an item of `data` is not acceptable "
                     "JSON: %s", problem.what[0] ? problem.what : "not an array");
            goto fail;
        }
    }
    *out = cf_json_parse(data, len, flags, &problem);
    if (*out)
        return 0;
    cfi_fail(err, CF_ERR_PROTOCOL, reply->status, "`data` is not acceptable JSON: %s",
             problem.what[0] ? problem.what : "out of memory");
fail:
    cfi_error_where(err, reply->method, reply->path);
    return -1;
}

int cfi_request(cf_client *c, const cfi_call *call, cf_json **out, cf_error *err)
{
    cfi_reply reply;
    cf_json_problem problem;
    int rc = -1;

    if (out)
        *out = NULL;
    if (cfi_call_run(c, call, &reply, err) != 0)
        goto cleanup;
    if (!out) {
        rc = 0;
        goto cleanup;
    }
    if (reply.env.has_data) {
        rc = cfi_reply_data(&reply, out, err);
        goto cleanup;
    }
    /* No `data` where it is optional: the envelope itself is the answer ({} for an
     * empty body). */
    memset(&problem, 0, sizeof problem);
    *out = reply.len > 0 ? cf_json_parse(reply.body, reply.len, 0, &problem)
                         : cf_json_parse("{}", 2, 0, &problem);
    if (*out) {
        rc = 0;
    } else {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        cfi_error_where(err, call->method, call->path);
    }
cleanup:
    cfi_reply_free(&reply);
    return rc;
}
