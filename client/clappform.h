/* clappform.h: public interface of the Clappform API client library (libcurl + json-c). */
#ifndef CLAPPFORM_H
#define CLAPPFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Conventions of this header
 * - Every call that can fail returns 0 on success and -1 on failure; on failure it
 *   fills the caller's cf_error (when non-NULL) and sets every out-pointer to NULL.
 * - Out-pointers of type cf_json ** hand ownership to the caller: free with cf_json_free.
 * - const cf_json * arguments are borrowed for the duration of the call only.
 * - Strings given to the library are copied; strings it returns inside structures are
 *   borrowed and live as long as the structure that holds them.
 * - A cf_client is safe to use from many threads at once. A cf_json is immutable once
 *   made and may be read from many threads.
 * - Nothing here writes to stdout/stderr or exits; diagnostics go to the log callback.
 */

/* ------------------------------------------------------------------------- */
/* Errors                                                                     */
/* ------------------------------------------------------------------------- */

typedef enum cf_error_kind {
    CF_OK = 0,
    CF_ERR_HTTP,      /* the server answered a non-2xx status (status, message, response_id) */
    CF_ERR_TIMEOUT,   /* every try timed out */
    CF_ERR_NETWORK,   /* connection refused, reset, DNS failure... after every try */
    CF_ERR_TLS,       /* certificate verification or TLS handshake failed (not retried) */
    CF_ERR_PROTOCOL,  /* the answer was not JSON, not an envelope, or `data` had a wrong type */
    CF_ERR_INVALID,   /* the caller's argument was refused before anything was sent */
    CF_ERR_NOMEM,
    CF_ERR_CANCELLED, /* a callback asked to stop */
} cf_error_kind;

/* One failure. Fixed-size so it lives on the caller's stack and needs no freeing.
 * `message` holds the server's message, or curl's text, or the library's own words;
 * it never holds a password or a token. */
typedef struct cf_error {
    cf_error_kind kind;
    long status;            /* HTTP status of the final answer, 0 when there was none */
    char method[8];         /* method of the failed request, "" when none was sent */
    char path[512];         /* path of the failed request below the base URL, e.g. /api/app/x */
    char message[512];
    char response_id[128];  /* the server's response_id, "" when absent */
} cf_error;

/* Clears an error to CF_OK. */
void cf_error_clear(cf_error *err);

/* Suggested errno for an error: the one table of this library (404 ENOENT, 401/403
 * EACCES, 400/422 EINVAL, 409 EEXIST, 413 EFBIG, 429/5xx EIO, timeout ETIMEDOUT,
 * network EIO (ENOTCONN-like failures are EIO), TLS EACCES... see client/error.c). The
 * filesystem decides for itself; this is advice. Returns a positive errno; 0 for CF_OK. */
int cf_error_errno(const cf_error *err);

/* A short English name of the kind, e.g. "http", "timeout". */
const char *cf_error_kind_name(cf_error_kind kind);

/* ------------------------------------------------------------------------- */
/* JSON values: exact text plus a json-c tree                                 */
/* ------------------------------------------------------------------------- */

/* A JSON value as text, exactly as received or as given, and its json-c tree.
 * The text is authoritative: json-c clamps integers beyond 64 bits and loses the sign
 * of -0, the text keeps them, so anything rendered to a user or sent to the server is
 * made from the text. The tree is for reading fields. */
typedef struct cf_json cf_json;

/* Where and why a text is not acceptable JSON. line and column count from 1; column
 * counts bytes. */
typedef struct cf_json_problem {
    int line;
    int column;
    size_t offset;
    char what[160];
} cf_json_problem;

/* Limits and demands of cf_json_check / cf_json_parse. */
enum {
    CF_JSON_OBJECT_ONLY = 1 << 0,  /* the top-level value must be an object */
    CF_JSON_NO_DUP_KEYS = 1 << 1,  /* a key repeated in one object is refused */
    /* The text wraps values (an API answer's envelope, a page's or a chunk's array):
     * CF_JSON_WRAP_LEVELS more levels are allowed, so that the values inside may nest
     * CF_JSON_MAX_DEPTH deep, as records the filesystem accepts do. */
    CF_JSON_WRAPPED = 1 << 2,
};
#define CF_JSON_MAX_DEPTH 256           /* nesting deeper than this is refused */
#define CF_JSON_WRAP_LEVELS 2           /* an envelope around an array of values */
#define CF_JSON_MAX_RECORD (16u << 20)  /* 16 MiB: largest record text the filesystem sends */

/* Strict RFC 8259 check of text[0..len): one value, surrounded only by white space; valid
 * UTF-8 (no overlongs, no surrogates), no NUL byte, no control character inside strings,
 * nesting at most CF_JSON_MAX_DEPTH, plus the demands in flags. Returns 0 when valid,
 * -1 with *problem filled (when non-NULL) otherwise. */
int cf_json_check(const char *text, size_t len, int flags, cf_json_problem *problem);

/* Checks (as cf_json_check with flags) and parses text; the value keeps a copy of the
 * text. Returns NULL with *problem filled when invalid. Free with cf_json_free. */
cf_json *cf_json_parse(const char *text, size_t len, int flags, cf_json_problem *problem);

/* Wraps a json-c object, taking over the caller's reference; its text is made with
 * json-c's plain serializer. Returns NULL (and drops the reference) on failure. */
cf_json *cf_json_wrap(json_object *obj);

/* The exact text (not NUL-terminated in general; a NUL follows it all the same). */
const char *cf_json_text(const cf_json *value, size_t *len);

/* The json-c tree, borrowed: valid while the value lives; do not modify it. */
json_object *cf_json_object(const cf_json *value);

/* Destroys a value; accepts NULL. */
void cf_json_free(cf_json *value);

/* Renders text as the filesystem shows it: two-space indentation, `"key": value`,
 * one member or element per line, empty containers as {} and [], keys in their
 * order, every string and number copied byte for byte, and a final newline.
 * When id is non-NULL and the value is an object, a member "_id" with the JSON string
 * of id is written first and any "_id" member of the text is left out.
 * *out is malloc'ed and NUL-terminated; the caller frees it. The input must be valid
 * (cf_json_check); returns -1 with *out = NULL otherwise or when out of memory. */
int cf_json_pretty(const char *text, size_t len, const char *id, char **out, size_t *out_len);

/* Writes text compactly (no insignificant white space), scalars byte for byte. When
 * drop_key is non-NULL, top-level members with that key are left out; when first_key is
 * non-NULL, a member first_key with value first_value (JSON text, e.g. "\"abc\"") is
 * written first in the top-level object. *out is malloc'ed, NUL-terminated. */
int cf_json_compact(const char *text, size_t len, const char *drop_key, const char *first_key,
                    const char *first_value, char **out, size_t *out_len);

/* Finds a top-level member of an object text by key and gives the exact span of its
 * value. Returns 0 and sets *start and *span_len when found, -1 when absent or not an object. */
int cf_json_member_span(const char *text, size_t len, const char *key, size_t *start,
                        size_t *span_len);

/* Calls fn for each element of an array text, with the element's exact span. Stops and
 * returns fn's value when fn returns non-zero; returns -1 when text is not an array. */
typedef int (*cf_json_element_fn)(void *ud, size_t index, const char *elem, size_t elem_len);
int cf_json_array_each(const char *text, size_t len, cf_json_element_fn fn, void *ud);

/* ------------------------------------------------------------------------- */
/* The client                                                                 */
/* ------------------------------------------------------------------------- */

typedef struct cf_client cf_client;

enum cf_log_level { CF_LOG_ERROR = 0, CF_LOG_WARNING = 1, CF_LOG_INFO = 2, CF_LOG_DEBUG = 3 };

/* Diagnostics of the library, one line each without a newline; file and line are the
 * library's place that logged. Called from any thread. */
typedef void (*cf_log_fn)(void *ud, int level, const char *file, int line, const char *msg);

/* One finished HTTP exchange (each try is one), for debug logging and statistics.
 * Paths never carry secrets; the Authorization header and bodies are never reported. */
typedef struct cf_trace {
    const char *method;
    const char *path;        /* below the base URL, with the query string */
    const char *route;       /* the path's template, e.g. "/api/item/{app}/{slug}/{id}" */
    long status;             /* 0 when no answer came */
    int attempt;             /* 1 for the first try */
    double seconds;
    size_t bytes_sent;
    size_t bytes_received;
    const char *curl_error;  /* "" when the transfer itself worked */
} cf_trace;
typedef void (*cf_trace_fn)(void *ud, const cf_trace *t);

typedef struct cf_config {
    const char *base_url;  /* scheme://host[:port][/prefix], without the trailing /api */
    const char *username;  /* the e-mail address used to log in */
    const char *password;  /* copied; the caller may wipe its own copy after cf_client_new */
    int workers;           /* parallel requests of one paged read; default 8 */
    int page_size;         /* records asked for per page; default 500 */
    int tries;             /* tries in all for a retryable failure; default 4; twice as
                            * many for 502/503/504 while the server is flaky (a request
                            * got one and then succeeded, less than a minute ago) */
    long timeout_ms;       /* per try; default 10000 */
    long backoff_ms;       /* first pause between tries, doubling up to 30 s (or itself
                            * when larger); default 1000 */
    long max_body;         /* largest answer accepted, bytes; default 256 MiB */
    const char *cafile;    /* CA bundle for TLS, NULL for the system's */
    bool insecure;         /* skip TLS verification (logs a warning at creation) */
    const char *user_agent;/* NULL for "clappfs/<version> libcurl/<version>" */
    cf_log_fn log;
    void *log_ud;
    cf_trace_fn trace;
    void *trace_ud;
} cf_config;

/* Fills *cfg with the defaults above (all pointers NULL). */
void cf_config_init(cf_config *cfg);

/* Makes a client; sends nothing (login is lazy). The configuration is copied. Call
 * cf_global_init once per process before the first client (libcurl's global init). */
int cf_global_init(void);
void cf_global_cleanup(void);
int cf_client_new(const cf_config *cfg, cf_client **out, cf_error *err);
/* Destroys a client; no call may be running in it. Accepts NULL. Wipes the password. */
void cf_client_free(cf_client *client);

/* Logs in now (otherwise the first call does). Only one login runs at a time. */
int cf_login(cf_client *client, cf_error *err);
/* POST /api/auth/verify with the current token. */
int cf_verify(cf_client *client, cf_error *err);

/* Counters since the client was made (all monotonic, read atomically one by one). */
typedef struct cf_stats {
    uint64_t requests;        /* HTTP exchanges, every try counted */
    uint64_t retries;         /* tries beyond the first */
    uint64_t logins;
    uint64_t failures;        /* calls that ended in an error */
    uint64_t bytes_sent;
    uint64_t bytes_received;
    uint64_t status_2xx, status_4xx, status_5xx, no_answer;
} cf_stats;
void cf_client_stats(const cf_client *client, cf_stats *out);

/* ------------------------------------------------------------------------- */
/* Resources: apps, collections, queries, actionflows, questionnaires, users  */
/* ------------------------------------------------------------------------- */

typedef enum cf_kind {
    CF_APP,            /* key: id                     */
    CF_COLLECTION,     /* key: app + slug             */
    CF_QUERY,          /* key: slug                   */
    CF_ACTIONFLOW,     /* key: id (numeric, as text)  */
    CF_QUESTIONNAIRE,  /* key: id (numeric, as text)  */
    CF_USER,           /* key: e-mail                 */
} cf_kind;

/* `app` is used by CF_COLLECTION only (NULL otherwise); `extended` is sent where the
 * route takes it: false/true (0/1) for apps, questionnaires, users; 0..3 for
 * collections; ignored elsewhere. */

/* List: *out is the `data` array. For CF_COLLECTION with app non-NULL, only that app's
 * collections are kept (GET /collections lists every app's). */
int cf_list(cf_client *c, cf_kind kind, const char *app, int extended, cf_json **out,
            cf_error *err);
int cf_get(cf_client *c, cf_kind kind, const char *app, const char *key, int extended,
           cf_json **out, cf_error *err);
/* Create: body is the resource's fields (an object); *out the created resource.
 * Collection create goes to POST /collection/{app}. Questionnaires send only name and
 * settings, as the official client does. */
int cf_create(cf_client *c, cf_kind kind, const char *app, const cf_json *body, cf_json **out,
              cf_error *err);
/* Update: the key is in the path; for users `email` is left out of the body. */
int cf_update(cf_client *c, cf_kind kind, const char *app, const char *key, const cf_json *body,
              cf_json **out, cf_error *err);
/* Delete (users: deactivate). */
int cf_delete(cf_client *c, cf_kind kind, const char *app, const char *key, cf_error *err);

/* GET /version and GET /user/me. */
int cf_version(cf_client *c, cf_json **out, cf_error *err);
int cf_me(cf_client *c, bool extended, cf_json **out, cf_error *err);
/* The numeric `id` of the logged-in user (GET /user/me?extended=false): the `user` of an
 * actionflow start. CF_ERR_PROTOCOL when the answer has none. */
int cf_me_id(cf_client *c, long *id, cf_error *err);
/* POST /actionflow/start; settings may be NULL (no `settings` member is sent). actionflow
 * is a numeric id (sent as a number) or a slug (sent as a string). *out is the answer's
 * `data` (the run), or the envelope when the answer has no `data`. */
int cf_actionflow_start(cf_client *c, const char *actionflow, long user_id, const cf_json *settings,
                        cf_json **out, cf_error *err);
/* The same start, handing out the whole answer envelope (`code`, `message`,
 * `response_id`, `data`), for a caller that shows the server's message. Owned by the
 * caller. */
int cf_actionflow_run(cf_client *c, const char *actionflow, long user_id, const cf_json *settings,
                      cf_json **envelope, cf_error *err);
/* GET /import?extended=true and POST /transfer/app (body as given). */
int cf_import_entries(cf_client *c, cf_json **out, cf_error *err);
int cf_transfer_app(cf_client *c, const cf_json *export_body, cf_json **out, cf_error *err);

/* App export and import, as the official client does them (client/export.c).
 * An export document is {"apps": [app], "collections": [...], "form_templates": [...],
 * "action_flows": [...], "import_entry": [...], "config": {...}}. */

/* Composes the export of an app on the client side: GET /app/{app}?extended=true (apps,
 * and collections from its list), GET /actionflow/{id} and GET /questionnaire/{id} for
 * each id the actions in its groups name (pages[].rows[].modules[].selection.actions[] of
 * type "actionflow" (actionflowId.id) and "questionnaire" (template.id); each id once),
 * GET /import?extended=true (the entries of its collections), GET /version (config:
 * timestamp, created_by, enviroment, api_version, web_application_version,
 * web_server_version, deployable true). Server texts are copied exactly. *out is owned by
 * the caller. */
int cf_export_app(cf_client *c, const char *app, cf_json **out, cf_error *err);
/* Whether doc is an export this library imports: an object whose "apps" is an array of
 * exactly one object; "collections", "form_templates", "action_flows", "import_entry"
 * arrays when present; "config" an object when present and not "deployable": false;
 * "overwrite" and "delete_mongo_data" booleans when present. 0, or -1 with a reason in
 * why (NUL-terminated, when why_size > 0). Sends nothing. */
int cf_export_check(const cf_json *doc, char *why, size_t why_size);
/* A copy of an export retargeted to app id `app`: the app's "id", every collection's
 * "app" (top-level and in the app's own list), their nested query objects' "app", and
 * import entries' "app" where they have one. Everything else (query slugs included,
 * which are global on a server) is kept byte for byte; renamed members come first in
 * their objects. CF_ERR_INVALID when doc fails cf_export_check. *out owned by the caller. */
int cf_export_rename(const cf_json *doc, const char *app, cf_json **out, cf_error *err);
/* Imports an export as the official client's import_app: checks it (cf_export_check;
 * CF_ERR_INVALID and nothing sent when it fails), leaves "config" out, sets
 * "delete_mongo_data" to data_export, keeps every other member ("overwrite" included)
 * and POSTs it to /transfer/app. *out is the answer's data (or envelope). */
int cf_import_app(cf_client *c, const cf_json *doc, bool data_export, cf_json **out,
                  cf_error *err);

/* ------------------------------------------------------------------------- */
/* Records (items)                                                            */
/* ------------------------------------------------------------------------- */

/* GET one record; *out is the record with "_id" put back as its first member. */
int cf_record_get(cf_client *c, const char *app, const char *slug, const char *id, cf_json **out,
                  cf_error *err);
/* POST a record (an object; may hold its own string "_id"). *out is the created record
 * with its "_id" first (the id sent, or the one the server assigned). When a try timed
 * out and a later try answers 409 for the same _id, the stored record is fetched and
 * compared with what was sent: equal means success, else the 409 is returned. */
int cf_record_create(cf_client *c, const char *app, const char *slug, const cf_json *record,
                     cf_json **out, cf_error *err);
/* PUT a record; "_id" in record is left out of the body. *out is the stored record, "_id" first. */
int cf_record_update(cf_client *c, const char *app, const char *slug, const char *id,
                     const cf_json *record, cf_json **out, cf_error *err);
/* DELETE /item/{app}/{slug} with {"oids": ids}. */
int cf_record_delete(cf_client *c, const char *app, const char *slug, const char *const *ids,
                     size_t n, cf_error *err);

/* ------------------------------------------------------------------------- */
/* Dataframes: paged reads and bulk writes                                    */
/* ------------------------------------------------------------------------- */

/* One page of a paged read. records[i] are borrowed for the callback's duration only
 * (copy what you keep); each is an object whose text holds its "_id". */
typedef struct cf_page {
    size_t offset;   /* the offset this page was asked for */
    size_t total;    /* records matching, as the first page said */
    size_t count;
    const cf_json *const *records;
} cf_page;

/* Called once per page, never by two threads at once, pages in any order (the first
 * page first). A non-zero return stops the read: outstanding requests are abandoned
 * and the read returns -1 with CF_ERR_CANCELLED. */
typedef int (*cf_page_fn)(void *ud, const cf_page *page);

/* Reads every record of a collection: the first page tells `total`, the remaining
 * offsets go out together on up to `workers` connections. Memory held is bounded by
 * workers x page size. *total (when non-NULL) receives the first page's total. */
int cf_read_collection(cf_client *c, const char *app, const char *slug, cf_page_fn fn, void *ud,
                       size_t *total, cf_error *err);
/* The same for a query's results. */
int cf_read_query(cf_client *c, const char *query_slug, cf_page_fn fn, void *ud, size_t *total,
                  cf_error *err);
/* How a paged read runs (cf_read_collection_opts, cf_read_query_opts); zeroed: as
 * cf_read_collection. */
typedef struct cf_read_opts {
    /* Pages reach the callback in offset order, i.e. the server's record order (the first
     * page first, as always). A page fetched before its turn waits in its worker, which
     * fetches nothing else meanwhile: at most `workers` pages are held besides the one in
     * the callback, and a callback that blocks holds the whole read back. */
    bool ordered;
    /* The caller's stop flag, or NULL. Another thread that sets it non-zero (with
     * __atomic_store_n) stops the read: requests in flight are abandoned, no callback
     * follows, and the read returns -1 with CF_ERR_CANCELLED. The library sets it too when
     * the read stops for any other reason. */
    int *stop;
    /* Where the read starts: the offset of its first page (0: the start; `total` is what
     * that page says), and how many pages it reads at most (0: all to the end). One page
     * at an offset is what refreshing a part of a listing costs. */
    size_t first;
    size_t max_pages;
} cf_read_opts;
int cf_read_collection_opts(cf_client *c, const char *app, const char *slug,
                            const cf_read_opts *opts, cf_page_fn fn, void *ud, size_t *total,
                            cf_error *err);
int cf_read_query_opts(cf_client *c, const char *query_slug, const cf_read_opts *opts,
                       cf_page_fn fn, void *ud, size_t *total, cf_error *err);
/* The aggregate form of read_data: options is the request body minus limit/next_page. */
int cf_aggregate(cf_client *c, const cf_json *options, cf_page_fn fn, void *ud, size_t *total,
                 cf_error *err);
/* POST (append), PUT (replace) a JSON array of records; DELETE (empty). */
int cf_df_append(cf_client *c, const char *app, const char *slug, const cf_json *records,
                 cf_error *err);
int cf_df_replace(cf_client *c, const char *app, const char *slug, const cf_json *records,
                  cf_error *err);
int cf_df_empty(cf_client *c, const char *app, const char *slug, cf_error *err);

/* ------------------------------------------------------------------------- */
/* Helpers exposed for the filesystem and the tests                           */
/* ------------------------------------------------------------------------- */

/* Percent-encodes one path segment (everything but unreserved ASCII letters, digits and
 * -._~); the dot-segments "." and ".." are written %2E and %2E%2E so that no URL
 * normalisation can remove them. Returns malloc'ed text or NULL. */
char *cf_path_escape(const char *segment);

/* Reads `exp` (epoch seconds) from a JWT's payload without checking the signature;
 * base64url with or without padding. Returns 0 and *exp, or -1 when malformed. */
int cf_jwt_exp(const char *token, int64_t *exp);

/* The library's version, e.g. "0.1.0". */
const char *cf_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* CLAPPFORM_H */
