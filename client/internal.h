/* internal.h: private interface shared by the files of the client library (not installed). */
#ifndef CLAPPFORM_INTERNAL_H
#define CLAPPFORM_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>

#include <curl/curl.h>

#include "clappform.h"

/* Idle easy handles kept for reuse; more are made on demand and cleaned up when put back
 * beyond this count (connections live in the share, not in the handles). */
#define CFI_POOL_KEEP 64
/* Connections kept open in the shared cache (idle ones beyond are closed, oldest first). */
#define CFI_MAX_CONNECTS 64
/* Renew the token when fewer seconds than this remain (as the official client does). */
#define CFI_TOKEN_MARGIN 60

struct cf_client {
    /* Configuration, copied at creation and read-only afterwards. */
    char *base_url; /* without a trailing slash */
    char *username;
    char *password; /* wiped with explicit_bzero at free */
    size_t password_len;
    char *cafile;
    char *user_agent;
    int workers, page_size, tries;
    long timeout_ms, backoff_ms, max_body;
    bool insecure;
    bool http2; /* libcurl was built with HTTP/2 */
    cf_log_fn log;
    void *log_ud;
    cf_trace_fn trace;
    void *trace_ud;

    /* libcurl: one share (connections, DNS, TLS sessions) and a pool of easy handles. */
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    pthread_mutex_t pool_lock;
    CURL *pool[CFI_POOL_KEEP];
    size_t pool_len;

    /* The session: login_lock is held for a whole login (only one at a time);
     * token_lock guards the fields below it and is never held across I/O. */
    pthread_mutex_t login_lock;
    pthread_mutex_t token_lock;
    char *token;          /* access token, wiped at free; NULL before the first login */
    int64_t token_exp;    /* `exp` of the token; INT64_MAX when the token had none */
    int64_t token_margin; /* renew when fewer seconds remain (see auth.c) */
    uint64_t token_gen;   /* incremented by every login and every invalidation */
    /* Guarded by login_lock (login_count also read atomically outside it): logins done,
     * and whether the last one failed and how. */
    uint64_t login_count;
    bool login_failed;
    cf_error login_err;

    cf_stats stats; /* every field updated with __atomic builtins */
    /* Monotonic milliseconds until which the server counts as flaky rather than down: a
     * request that got a 502/503/504 and then succeeded on a later try ended less than
     * CFI_FLAKY_MS before (http.c; __atomic). */
    int64_t flaky_until_ms;
};

/* ---- error.c ------------------------------------------------------------ */

/* Sets err (when non-NULL) to kind/status and a printf-formatted message; leaves the
 * method, path and response_id empty. Returns -1 so callers can `return cfi_fail(...)`. */
int cfi_fail(cf_error *err, cf_error_kind kind, long status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Fills err's method and path (truncating), keeping the rest. */
void cfi_error_where(cf_error *err, const char *method, const char *path);

/* What a caller wants in an answer's `data`. */
typedef enum cfi_expect {
    CFI_DATA_OPTIONAL = 0, /* anything, or absent */
    CFI_DATA_ANY,          /* any value, must be present */
    CFI_DATA_OBJECT,
    CFI_DATA_ARRAY,
} cfi_expect;

/* The parts of an answer's envelope the library uses. Spans index the body text. */
typedef struct cfi_envelope {
    bool has_data;
    size_t data_start, data_len;
    bool has_total;
    uint64_t total;
    bool has_code;
    long code;
    char message[512];     /* "" when absent */
    char response_id[128]; /* "" when absent */
} cfi_envelope;

/* Parses the envelope of body[0..len): the text must be a JSON object (strictly checked);
 * `message`, `response_id` (strings), `code` and `total` (non-negative integers) are read
 * when present and of the right type, `data` is located. Returns 0, or -1 with a short
 * reason in why (NUL-terminated, when why_size > 0). */
int cfi_envelope_parse(const char *body, size_t len, cfi_envelope *env, char *why, size_t why_size);

/* Judges one complete answer: a non-2xx status gives CF_ERR_HTTP with the envelope's
 * message and response_id (or a description of a non-JSON body); a 2xx answer must be an
 * envelope whose `data` meets expect, else CF_ERR_PROTOCOL (an empty 2xx body passes when
 * expect is CFI_DATA_OPTIONAL). content_type may be NULL.
 * Returns 0 with *env filled for a good 2xx answer, -1 with err filled otherwise. */
int cfi_answer_check(long status, const char *content_type, const char *body, size_t len,
                     cfi_expect expect, cfi_envelope *env, cf_error *err);

/* ---- client.c: small shared helpers --------------------------------------- */

/* Logs a formatted line through the configured callback (nothing when there is none). */
void cfi_log(const cf_client *c, int level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
#define CFI_LOG(c, level, ...) cfi_log((c), (level), __FILE__, __LINE__, __VA_ARGS__)

/* Adds to one counter of the statistics atomically. */
#define CFI_COUNT(c, field, n)                                                                     \
    __atomic_fetch_add(&(c)->stats.field, (uint64_t)(n), __ATOMIC_RELAXED)

/* A growable text buffer; on allocation failure it turns `failed` and ignores appends. */
/* The pause before try n + 1 (n >= 1): backoff_ms doubling from the first, each pause at
 * most CFI_BACKOFF_CAP_MS (or backoff_ms itself when that is larger), so that many tries
 * keep asking at a steady pace rather than sleeping for hours. */
#define CFI_BACKOFF_CAP_MS 30000L
/* A 502/503/504 answer while the server is flaky (some request of the client got one and
 * then succeeded on a later try, less than this long ago) may be tried up to twice
 * `tries` in all: the failures are scattered, not an outage, and a run of `tries` of them
 * in a row is bound to happen in a long series of requests (at 15% and 4 tries, one in
 * about 2,000 requests: a cp of 1,000 files fails a file 4 runs in 10). Timeouts and
 * network failures, and a server that has not recovered from a failure within
 * CFI_FLAKY_MS, still stop at `tries`. */
#define CFI_FLAKY_MS 60000L
long cfi_backoff_pause(long backoff_ms, int n);

typedef struct cfi_buf {
    char *data; /* NUL-terminated when non-NULL */
    size_t len, cap;
    bool failed;
} cfi_buf;
void cfi_buf_add(cfi_buf *b, const char *s, size_t n);
void cfi_buf_str(cfi_buf *b, const char *s);
void cfi_buf_printf(cfi_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the text over (*out malloc'ed, NUL-terminated): 0, or -1 with *out = NULL when an
 * append failed. The buffer is empty afterwards either way. */
int cfi_buf_take(cfi_buf *b, char **out, size_t *len);
void cfi_buf_release(cfi_buf *b);

/* The JSON string literal of s (quotes included, '/' not escaped), malloc'ed; NULL when
 * out of memory. */
char *cfi_json_quote(const char *s);
/* Decodes the JSON text span text[0..len) holding one string; malloc'ed copy or NULL. */
char *cfi_json_span_string(const char *text, size_t len);
/* Builds a path from a printf format whose %s arguments are path segments: each one is
 * percent-encoded with cf_path_escape. Segments must be non-empty and neither "." nor
 * "..". Returns 0 with *out malloc'ed, or -1 with err set (CF_ERR_INVALID/CF_ERR_NOMEM). */
int cfi_path(char **out, cf_error *err, const char *fmt, ...);

/* Counts a finished public call in the statistics; returns rc. */
int cfi_done(cf_client *c, int rc);

/* ---- http.c: one API call with retries ------------------------------------ */

/* One API call. Strings are borrowed for the duration of cfi_call_run. */
typedef struct cfi_call {
    const char *method; /* "GET", "POST", "PUT", "DELETE" */
    const char *path;   /* below the base URL, with the query string: "/api/apps?extended=false" */
    const char *route;  /* template for traces: "/api/app/{id}" */
    const char *body;   /* JSON text sent, or NULL for none */
    size_t body_len;
    cfi_expect expect;
    bool anonymous;    /* true for the login itself: no Authorization header, no 401 re-login */
    const int *cancel; /* when non-NULL and *cancel becomes non-zero, the call stops with
                          CF_ERR_CANCELLED (read with __atomic_load_n) */
} cfi_call;

/* The outcome of cfi_call_run. */
typedef struct cfi_reply {
    long status; /* of the final answer, 0 when none */
    char *body;  /* the final answer's body, NUL-terminated; NULL when none */
    size_t len;
    cfi_envelope env;          /* valid after a successful run */
    int unanswered;            /* tries whose request may have reached the server without an
                                  answer reaching us (timeout, reset, gateway 5xx) */
    const char *method, *path; /* the call's, for errors raised later */
} cfi_reply;

/* Runs a call: takes a token (logging in when needed), sends, retries timeouts, resets and
 * 502/503/504 with exponential backoff, logs in again once on a 401. Returns 0 with *reply
 * holding a good 2xx answer, or -1 with err filled (method and path included) and *reply
 * still describing the last answer (status, body, unanswered). Free with cfi_reply_free
 * in both cases. */
int cfi_call_run(cf_client *c, const cfi_call *call, cfi_reply *reply, cf_error *err);
void cfi_reply_free(cfi_reply *reply);
/* The reply's `data` as an exact cf_json (its text span parsed). 0, or -1 with *out = NULL
 * and err set (CF_ERR_PROTOCOL when absent or invalid). */
int cfi_reply_data(const cfi_reply *reply, cf_json **out, cf_error *err);

/* Runs a call and, when out is non-NULL, hands out its `data` as an exact cf_json; when
 * `data` is absent (allowed with CFI_DATA_OPTIONAL) *out is the whole envelope object.
 * 0, or -1 with err filled and *out = NULL. */
int cfi_request(cf_client *c, const cfi_call *call, cf_json **out, cf_error *err);

/* Sets up / tears down the libcurl part of a client (share, locks, pool). */
int cfi_http_init(cf_client *c, cf_error *err);
void cfi_http_free(cf_client *c);

/* ---- auth.c ------------------------------------------------------------------ */

/* Gives a malloc'ed "Authorization: Bearer ..." header for a token valid for at least
 * CFI_TOKEN_MARGIN seconds (logging in first when needed, one login at a time) and the
 * generation of that token. 0, or -1 with err set (the login's error). */
int cfi_auth_header(cf_client *c, char **header, uint64_t *gen, cf_error *err);
/* Declares the token of generation gen refused (a 401): the next cfi_auth_header logs in,
 * unless another thread already replaced that token. */
void cfi_auth_invalidate(cf_client *c, uint64_t gen);
/* Wipes and frees the session state. */
void cfi_auth_free(cf_client *c);

/* ---- dataframe.c ---------------------------------------------------------------- */

/* The paged read behind cf_read_collection/cf_read_query/cf_aggregate: members is the
 * JSON text of the body's members besides "limit" (e.g. "\"query\":\"q\""), may be "".
 * opts may be NULL (unordered, no caller's stop flag). */
int cfi_paged_read(cf_client *c, const char *members, int limit, const cf_read_opts *opts,
                   cf_page_fn fn, void *ud, size_t *total, cf_error *err);

#endif /* CLAPPFORM_INTERNAL_H */
