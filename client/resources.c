/* resources.c: apps, collections, queries, actionflows, questionnaires, users; other routes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* What a path is for. */
typedef enum op { OP_LIST, OP_GET, OP_CREATE, OP_ITEM } op;

static const char *bool_text(int extended)
{
    return extended ? "true" : "false";
}

/* Makes the path and names the route of one operation on a kind. OP_ITEM is the path of
 * update and delete (no query string). Keys and app ids are percent-encoded. */
static int build_path(cf_kind kind, op what, const char *app, const char *key, int extended,
                      char **path, const char **route, cf_error *err)
{
    int level = extended < 0 ? 0 : extended > 3 ? 3 : extended;

    *path = NULL;
    if (kind == CF_COLLECTION && what != OP_LIST && !app)
        return cfi_fail(err, CF_ERR_INVALID, 0, "a collection needs its app");
    if ((what == OP_GET || what == OP_ITEM) && !key)
        return cfi_fail(err, CF_ERR_INVALID, 0, "no key given");
    switch (kind) {
    case CF_APP:
        *route = what == OP_LIST ? "/api/apps" : what == OP_CREATE ? "/api/app" : "/api/app/{id}";
        if (what == OP_LIST)
            return cfi_path(path, err, "/api/apps?extended=%s", bool_text(extended));
        if (what == OP_GET)
            return cfi_path(path, err, "/api/app/%s?extended=%s", key, bool_text(extended));
        return what == OP_CREATE ? cfi_path(path, err, "/api/app")
                                 : cfi_path(path, err, "/api/app/%s", key);
    case CF_COLLECTION:
        *route = what == OP_LIST     ? "/api/collections"
                 : what == OP_CREATE ? "/api/collection/{app}"
                                     : "/api/collection/{app}/{slug}";
        if (what == OP_LIST)
            return cfi_path(path, err, "/api/collections?extended=%d", level);
        if (what == OP_GET)
            return cfi_path(path, err, "/api/collection/%s/%s?extended=%d", app, key, level);
        return what == OP_CREATE ? cfi_path(path, err, "/api/collection/%s", app)
                                 : cfi_path(path, err, "/api/collection/%s/%s", app, key);
    case CF_QUERY:
        *route = what == OP_LIST     ? "/api/queries"
                 : what == OP_CREATE ? "/api/query"
                                     : "/api/query/{slug}";
        if (what == OP_LIST)
            return cfi_path(path, err, "/api/queries");
        return what == OP_CREATE ? cfi_path(path, err, "/api/query")
                                 : cfi_path(path, err, "/api/query/%s", key);
    case CF_ACTIONFLOW:
        *route = what == OP_LIST     ? "/api/actionflows"
                 : what == OP_CREATE ? "/api/actionflow"
                                     : "/api/actionflow/{id}";
        if (what == OP_LIST)
            return cfi_path(path, err, "/api/actionflows");
        return what == OP_CREATE ? cfi_path(path, err, "/api/actionflow")
                                 : cfi_path(path, err, "/api/actionflow/%s", key);
    case CF_QUESTIONNAIRE:
        *route = what == OP_LIST     ? "/api/questionnaires"
                 : what == OP_CREATE ? "/api/questionnaire"
                                     : "/api/questionnaire/{id}";
        if (what == OP_LIST)
            return cfi_path(path, err, "/api/questionnaires?extended=%s", bool_text(extended));
        if (what == OP_GET)
            return cfi_path(path, err, "/api/questionnaire/%s?extended=%s", key,
                            bool_text(extended));
        return what == OP_CREATE ? cfi_path(path, err, "/api/questionnaire")
                                 : cfi_path(path, err, "/api/questionnaire/%s", key);
    case CF_USER:
        *route = what == OP_LIST     ? "/api/users"
                 : what == OP_CREATE ? "/api/user"
                                     : "/api/user/{email}";
        if (what == OP_LIST)
            return cfi_path(path, err, "/api/users?extended=%s", bool_text(extended));
        if (what == OP_GET)
            return cfi_path(path, err, "/api/user/%s?extended=%s", key, bool_text(extended));
        return what == OP_CREATE ? cfi_path(path, err, "/api/user")
                                 : cfi_path(path, err, "/api/user/%s", key);
    }
    return cfi_fail(err, CF_ERR_INVALID, 0, "unknown resource kind %d", (int)kind);
}

/* Builds {"k1": v1, "k2": v2} from the members of an object text with those keys, exact
 * values, leaving out absent and null members. */
static int pick_members(const char *text, size_t len, const char *const *keys, char **out,
                        size_t *out_len)
{
    cfi_buf b = {0};
    size_t start, span;
    bool first = true;

    cfi_buf_str(&b, "{");
    for (; *keys; keys++) {
        char *quoted;
        if (cf_json_member_span(text, len, *keys, &start, &span) != 0 ||
            (span == 4 && memcmp(text + start, "null", 4) == 0))
            continue;
        quoted = cfi_json_quote(*keys);
        if (!quoted) {
            b.failed = true;
            break;
        }
        cfi_buf_str(&b, first ? "" : ",");
        cfi_buf_str(&b, quoted);
        cfi_buf_str(&b, ":");
        cfi_buf_add(&b, text + start, span);
        free(quoted);
        first = false;
    }
    cfi_buf_str(&b, "}");
    return cfi_buf_take(&b, out, out_len);
}

/* The body sent for a create or update of kind: the caller's exact text, except that
 * questionnaires send only name and settings (as the official client) and user updates
 * leave out `email` (it is in the path). *owned is the body when one was made. */
static int make_body(cf_kind kind, bool update, const cf_json *value, const char **body,
                     size_t *body_len, char **owned, cf_error *err)
{
    static const char *const questionnaire_keys[] = {"name", "settings", NULL};
    const char *text;
    size_t len;
    int rc = 0;

    *owned = NULL;
    if (!value || !json_object_is_type(cf_json_object(value), json_type_object))
        return cfi_fail(err, CF_ERR_INVALID, 0, "the body must be a JSON object");
    text = cf_json_text(value, &len);
    if (kind == CF_QUESTIONNAIRE)
        rc = pick_members(text, len, questionnaire_keys, owned, body_len);
    else if (kind == CF_USER && update)
        rc = cf_json_compact(text, len, "email", NULL, NULL, owned, body_len);
    if (rc != 0)
        return cfi_fail(err, CF_ERR_NOMEM, 0, "cannot build the body");
    *body = *owned ? *owned : text;
    if (!*owned)
        *body_len = len;
    return 0;
}

/* Keeps the elements of a collection list whose `app` is the one asked for. */
typedef struct app_filter {
    const char *app;
    cfi_buf out;
    size_t kept;
} app_filter;

static int keep_app(void *ud, size_t index, const char *elem, size_t len)
{
    app_filter *f = ud;
    size_t start, span;
    char *app = NULL;

    (void)index;
    if (cf_json_member_span(elem, len, "app", &start, &span) == 0)
        app = cfi_json_span_string(elem + start, span);
    if (app && strcmp(app, f->app) == 0) {
        cfi_buf_str(&f->out, f->kept++ ? "," : "");
        cfi_buf_add(&f->out, elem, len);
    }
    free(app);
    return 0;
}

static int filter_collections(const cf_json *all, const char *app, cf_json **out, cf_error *err)
{
    app_filter f = {.app = app};
    cf_json_problem problem;
    const char *text;
    size_t len;
    char *kept = NULL;
    int rc = -1;

    *out = NULL;
    text = cf_json_text(all, &len);
    cfi_buf_str(&f.out, "[");
    if (cf_json_array_each(text, len, keep_app, &f) != 0) {
        cfi_fail(err, CF_ERR_PROTOCOL, 200, "the collection list is not an array");
        goto cleanup;
    }
    cfi_buf_str(&f.out, "]");
    if (cfi_buf_take(&f.out, &kept, &len) != 0) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        goto cleanup;
    }
    memset(&problem, 0, sizeof problem);
    *out = cf_json_parse(kept, len, 0, &problem);
    if (!*out) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        goto cleanup;
    }
    rc = 0;
cleanup:
    cfi_buf_release(&f.out);
    free(kept);
    return rc;
}

int cf_list(cf_client *c, cf_kind kind, const char *app, int extended, cf_json **out, cf_error *err)
{
    cfi_call call = {.method = "GET", .expect = CFI_DATA_ARRAY};
    cf_json *all = NULL;
    char *path = NULL;
    int rc = -1;

    cf_error_clear(err);
    if (out)
        *out = NULL;
    if (!c || !out) {
        cfi_fail(err, CF_ERR_INVALID, 0, "no client or no place for the answer");
        goto cleanup;
    }
    if (build_path(kind, OP_LIST, NULL, NULL, extended, &path, &call.route, err) != 0)
        goto cleanup;
    call.path = path;
    if (cfi_request(c, &call, &all, err) != 0)
        goto cleanup;
    if (kind == CF_COLLECTION && app) {
        if (filter_collections(all, app, out, err) != 0) {
            cfi_error_where(err, call.method, call.path);
            goto cleanup;
        }
    } else {
        *out = all;
        all = NULL;
    }
    rc = 0;
cleanup:
    cf_json_free(all);
    free(path);
    return cfi_done(c, rc);
}

int cf_get(cf_client *c, cf_kind kind, const char *app, const char *key, int extended,
           cf_json **out, cf_error *err)
{
    cfi_call call = {.method = "GET", .expect = CFI_DATA_OBJECT};
    char *path = NULL;
    int rc = -1;

    cf_error_clear(err);
    if (out)
        *out = NULL;
    if (!c || !out) {
        cfi_fail(err, CF_ERR_INVALID, 0, "no client or no place for the answer");
        goto cleanup;
    }
    if (build_path(kind, OP_GET, app, key, extended, &path, &call.route, err) != 0)
        goto cleanup;
    call.path = path;
    rc = cfi_request(c, &call, out, err);
cleanup:
    free(path);
    return cfi_done(c, rc);
}

/* Create and update share everything but the method, the path and the body rules. */
static int write_resource(cf_client *c, bool update, cf_kind kind, const char *app, const char *key,
                          const cf_json *body, cf_json **out, cf_error *err)
{
    cfi_call call = {.method = update ? "PUT" : "POST", .expect = CFI_DATA_OBJECT};
    char *path = NULL, *owned = NULL;
    int rc = -1;

    cf_error_clear(err);
    if (out)
        *out = NULL;
    if (!c) {
        cfi_fail(err, CF_ERR_INVALID, 0, "no client");
        goto cleanup;
    }
    if (build_path(kind, update ? OP_ITEM : OP_CREATE, app, key, 0, &path, &call.route, err) != 0 ||
        make_body(kind, update, body, &call.body, &call.body_len, &owned, err) != 0)
        goto cleanup;
    call.path = path;
    rc = cfi_request(c, &call, out, err);
cleanup:
    free(owned);
    free(path);
    return cfi_done(c, rc);
}

int cf_create(cf_client *c, cf_kind kind, const char *app, const cf_json *body, cf_json **out,
              cf_error *err)
{
    return write_resource(c, false, kind, app, NULL, body, out, err);
}

int cf_update(cf_client *c, cf_kind kind, const char *app, const char *key, const cf_json *body,
              cf_json **out, cf_error *err)
{
    return write_resource(c, true, kind, app, key, body, out, err);
}

int cf_delete(cf_client *c, cf_kind kind, const char *app, const char *key, cf_error *err)
{
    cfi_call call = {.method = "DELETE", .expect = CFI_DATA_OPTIONAL};
    char *path = NULL;
    int rc = -1;

    cf_error_clear(err);
    if (!c) {
        cfi_fail(err, CF_ERR_INVALID, 0, "no client");
        goto cleanup;
    }
    if (build_path(kind, OP_ITEM, app, key, 0, &path, &call.route, err) != 0)
        goto cleanup;
    call.path = path;
    rc = cfi_request(c, &call, NULL, err);
cleanup:
    free(path);
    return cfi_done(c, rc);
}

/* A call on a fixed path; the route is the path without its query string. */
static int fixed_call(cf_client *c, const char *method, const char *path, const char *body,
                      size_t body_len, cfi_expect expect, cf_json **out, cf_error *err)
{
    const char *q = strchr(path, '?');
    char route[64];
    cfi_call call = {.method = method,
                     .path = path,
                     .route = route,
                     .body = body,
                     .body_len = body_len,
                     .expect = expect};

    if (out)
        *out = NULL;
    if (!c || !out)
        return cfi_fail(err, CF_ERR_INVALID, 0, "no client or no place for the answer");
    snprintf(route, sizeof route, "%.*s", (int)(q ? (size_t)(q - path) : strlen(path)), path);
    return cfi_request(c, &call, out, err);
}

int cf_version(cf_client *c, cf_json **out, cf_error *err)
{
    cf_error_clear(err);
    return cfi_done(c, fixed_call(c, "GET", "/api/version", NULL, 0, CFI_DATA_OBJECT, out, err));
}

int cf_me(cf_client *c, bool extended, cf_json **out, cf_error *err)
{
    cf_error_clear(err);
    return cfi_done(
        c, fixed_call(c, "GET",
                      extended ? "/api/user/me?extended=true" : "/api/user/me?extended=false", NULL,
                      0, CFI_DATA_OBJECT, out, err));
}

int cf_import_entries(cf_client *c, cf_json **out, cf_error *err)
{
    cf_error_clear(err);
    return cfi_done(
        c, fixed_call(c, "GET", "/api/import?extended=true", NULL, 0, CFI_DATA_ARRAY, out, err));
}

int cf_transfer_app(cf_client *c, const cf_json *export_body, cf_json **out, cf_error *err)
{
    const char *text;
    size_t len;

    cf_error_clear(err);
    if (out)
        *out = NULL;
    if (!export_body || !json_object_is_type(cf_json_object(export_body), json_type_object))
        return cfi_done(c, cfi_fail(err, CF_ERR_INVALID, 0, "the export must be a JSON object"));
    text = cf_json_text(export_body, &len);
    return cfi_done(
        c, fixed_call(c, "POST", "/api/transfer/app", text, len, CFI_DATA_OPTIONAL, out, err));
}

/* The body of POST /actionflow/start: *body malloc'ed. 0, or -1 with err set. */
static int start_body(const char *actionflow, long user_id, const cf_json *settings, char **body,
                      size_t *len, cf_error *err)
{
    cfi_buf b = {0};
    char *id = NULL;
    size_t n;
    bool numeric;
    int rc = -1;

    *body = NULL;
    if (!actionflow || !*actionflow) {
        cfi_fail(err, CF_ERR_INVALID, 0, "no actionflow given");
        goto cleanup;
    }
    if (settings && !json_object_is_type(cf_json_object(settings), json_type_object)) {
        cfi_fail(err, CF_ERR_INVALID, 0, "settings must be a JSON object");
        goto cleanup;
    }
    /* A numeric id goes as a number (actionflow ids are integers), anything else as a
     * slug string. */
    n = strlen(actionflow);
    numeric = n < 19 && strspn(actionflow, "0123456789") == n && (actionflow[0] != '0' || n == 1);
    id = numeric ? strdup(actionflow) : cfi_json_quote(actionflow);
    if (!id) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        goto cleanup;
    }
    cfi_buf_printf(&b, "{\"actionflowid\":%s,\"user\":%ld", id, user_id);
    if (settings) {
        const char *text = cf_json_text(settings, &n);
        cfi_buf_str(&b, ",\"settings\":");
        cfi_buf_add(&b, text, n);
    }
    cfi_buf_str(&b, "}");
    if (cfi_buf_take(&b, body, len) != 0) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(id);
    return rc;
}

int cf_actionflow_start(cf_client *c, const char *actionflow, long user_id, const cf_json *settings,
                        cf_json **out, cf_error *err)
{
    char *body = NULL;
    size_t len = 0;
    int rc = -1;

    cf_error_clear(err);
    if (out)
        *out = NULL;
    if (start_body(actionflow, user_id, settings, &body, &len, err) != 0)
        goto cleanup;
    rc = fixed_call(c, "POST", "/api/actionflow/start", body, len, CFI_DATA_OPTIONAL, out, err);
cleanup:
    free(body);
    return cfi_done(c, rc);
}

int cf_actionflow_run(cf_client *c, const char *actionflow, long user_id, const cf_json *settings,
                      cf_json **envelope, cf_error *err)
{
    cfi_call call = {.method = "POST",
                     .path = "/api/actionflow/start",
                     .route = "/api/actionflow/start",
                     .expect = CFI_DATA_OPTIONAL};
    cfi_reply reply = {0};
    bool ran = false;
    char *body = NULL;
    int rc = -1;

    cf_error_clear(err);
    if (envelope)
        *envelope = NULL;
    if (!c || !envelope) {
        cfi_fail(err, CF_ERR_INVALID, 0, "no client or no place for the answer");
        goto cleanup;
    }
    if (start_body(actionflow, user_id, settings, &body, &call.body_len, err) != 0)
        goto cleanup;
    call.body = body;
    ran = true;
    if (cfi_call_run(c, &call, &reply, err) != 0)
        goto cleanup;
    /* The envelope was checked by the run: an object with code, message, response_id. */
    *envelope = reply.len > 0 ? cf_json_parse(reply.body, reply.len, CF_JSON_WRAPPED, NULL)
                              : cf_json_parse("{}", 2, 0, NULL);
    if (!*envelope) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        cfi_error_where(err, call.method, call.path);
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (ran)
        cfi_reply_free(&reply);
    free(body);
    return cfi_done(c, rc);
}

int cf_me_id(cf_client *c, long *id, cf_error *err)
{
    cf_json *me = NULL;
    json_object *m;
    int rc = -1;

    if (id)
        *id = 0;
    if (!id) {
        cf_error_clear(err);
        return cfi_done(c, cfi_fail(err, CF_ERR_INVALID, 0, "no place for the id"));
    }
    if (cf_me(c, false, &me, err) != 0)
        return -1; /* counted by cf_me */
    if (!json_object_object_get_ex(cf_json_object(me), "id", &m) ||
        !json_object_is_type(m, json_type_int)) {
        cfi_fail(err, CF_ERR_PROTOCOL, 0, "the current user has no numeric id");
        cfi_error_where(err, "GET", "/api/user/me?extended=false");
        goto cleanup;
    }
    *id = (long)json_object_get_int64(m);
    rc = 0;
cleanup:
    cf_json_free(me);
    return cfi_done(c, rc);
}
