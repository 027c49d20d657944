/* records.c: records (items) of a collection: get, create (409 reconciled), update, delete. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A record text (an object) with "_id": id put first and any other "_id" left out, as an
 * exact cf_json. 0, or -1 with err set. */
static int with_id(const char *text, size_t len, const char *id, cf_json **out, cf_error *err)
{
    cf_json_problem problem;
    char *quoted = NULL, *made = NULL;
    size_t made_len = 0;
    int rc = -1;

    *out = NULL;
    /* An answer's envelope may carry a value nested deeper than a record may be. */
    memset(&problem, 0, sizeof problem);
    if (cf_json_check(text, len, 0, &problem) != 0) {
        cfi_fail(err, CF_ERR_PROTOCOL, 0, "the record is not acceptable JSON: %s", problem.what);
        goto cleanup;
    }
    quoted = cfi_json_quote(id);
    if (!quoted || cf_json_compact(text, len, "_id", "_id", quoted, &made, &made_len) != 0) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "cannot put the record's _id back");
        goto cleanup;
    }
    memset(&problem, 0, sizeof problem);
    *out = cf_json_parse(made, made_len, 0, &problem);
    if (!*out) {
        cfi_fail(err, CF_ERR_PROTOCOL, 0, "the record is not acceptable JSON: %s", problem.what);
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(quoted);
    free(made);
    return rc;
}

/* The record of a good reply's `data` with its _id first. */
static int reply_record(const cfi_reply *reply, const char *id, cf_json **out, cf_error *err)
{
    if (with_id(reply->body + reply->env.data_start, reply->env.data_len, id, out, err) == 0)
        return 0;
    cfi_error_where(err, reply->method, reply->path);
    return -1;
}

/* GET /api/item/{app}/{slug}/{id} into *reply. */
static int fetch(cf_client *c, const char *app, const char *slug, const char *id, cfi_reply *reply,
                 char **path, cf_error *err)
{
    cfi_call call = {
        .method = "GET", .route = "/api/item/{app}/{slug}/{id}", .expect = CFI_DATA_OBJECT};

    memset(reply, 0, sizeof *reply);
    if (cfi_path(path, err, "/api/item/%s/%s/%s", app, slug, id) != 0)
        return -1;
    call.path = *path;
    return cfi_call_run(c, &call, reply, err);
}

int cf_record_get(cf_client *c, const char *app, const char *slug, const char *id, cf_json **out,
                  cf_error *err)
{
    cfi_reply reply = {0};
    char *path = NULL;
    int rc = -1;

    cf_error_clear(err);
    if (out)
        *out = NULL;
    if (!c || !out) {
        cfi_fail(err, CF_ERR_INVALID, 0, "no client or no place for the answer");
        goto cleanup;
    }
    if (fetch(c, app, slug, id, &reply, &path, err) != 0)
        goto cleanup;
    rc = reply_record(&reply, id, out, err);
cleanup:
    cfi_reply_free(&reply);
    free(path);
    return cfi_done(c, rc);
}

/* The json-c tree of a record text without its "_id", for comparing records. */
static cf_json *without_id(const char *text, size_t len)
{
    cf_json_problem problem;
    cf_json *value = NULL;
    char *made = NULL;
    size_t made_len = 0;

    if (cf_json_compact(text, len, "_id", NULL, NULL, &made, &made_len) == 0)
        value = cf_json_parse(made, made_len, 0, &problem);
    free(made);
    return value;
}

/* After a create whose earlier try went unanswered got a 409 for the record's own _id:
 * the earlier try may have stored it. Fetches the stored record; when it equals what was
 * sent (json-c trees without _id, so key order and number spelling do not matter) that
 * is success and *out is the stored record. Returns 0 when reconciled, -1 otherwise
 * (the caller keeps its 409). */
static int reconcile(cf_client *c, const char *app, const char *slug, const char *id,
                     const cf_json *sent, cf_json **out)
{
    cfi_reply reply = {0};
    cf_error fetch_err = {0};
    cf_json *mine = NULL, *theirs = NULL;
    const char *text;
    char *path = NULL;
    size_t len;
    int rc = -1;

    if (fetch(c, app, slug, id, &reply, &path, &fetch_err) != 0) {
        CFI_LOG(c, CF_LOG_WARNING, "cannot check the record %s after a 409: %s", id,
                fetch_err.message);
        goto cleanup;
    }
    text = cf_json_text(sent, &len);
    mine = without_id(text, len);
    theirs = without_id(reply.body + reply.env.data_start, reply.env.data_len);
    if (!mine || !theirs || !json_object_equal(cf_json_object(mine), cf_json_object(theirs)))
        goto cleanup;
    if (reply_record(&reply, id, out, &fetch_err) != 0)
        goto cleanup;
    CFI_LOG(c, CF_LOG_INFO,
            "record %s was stored by an earlier try whose answer was lost; the 409 of the "
            "retry is taken as success",
            id);
    rc = 0;
cleanup:
    cf_json_free(mine);
    cf_json_free(theirs);
    cfi_reply_free(&reply);
    free(path);
    return rc;
}

/* {"data": text} */
static int wrap_data(const char *text, size_t len, char **out, size_t *out_len)
{
    cfi_buf b = {0};

    cfi_buf_str(&b, "{\"data\":");
    cfi_buf_add(&b, text, len);
    cfi_buf_str(&b, "}");
    return cfi_buf_take(&b, out, out_len);
}

static bool is_object(const cf_json *value)
{
    return value && json_object_is_type(cf_json_object(value), json_type_object);
}

int cf_record_create(cf_client *c, const char *app, const char *slug, const cf_json *record,
                     cf_json **out, cf_error *err)
{
    cfi_call call = {
        .method = "POST", .route = "/api/item/{app}/{slug}", .expect = CFI_DATA_OBJECT};
    cfi_reply reply = {0};
    json_object *own;
    const char *own_id = NULL, *text;
    char *path = NULL, *body = NULL, *assigned = NULL;
    size_t len, start, span;
    int rc = -1;

    cf_error_clear(err);
    if (out)
        *out = NULL;
    if (!c || !is_object(record)) {
        cfi_fail(err, CF_ERR_INVALID, 0, "the record must be a JSON object");
        goto cleanup;
    }
    if (json_object_object_get_ex(cf_json_object(record), "_id", &own)) {
        if (!json_object_is_type(own, json_type_string) || !*json_object_get_string(own)) {
            cfi_fail(err, CF_ERR_INVALID, 0, "a record's _id must be a non-empty string");
            goto cleanup;
        }
        own_id = json_object_get_string(own);
    }
    text = cf_json_text(record, &len);
    if (cfi_path(&path, err, "/api/item/%s/%s", app, slug) != 0)
        goto cleanup;
    if (wrap_data(text, len, &body, &call.body_len) != 0) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        goto cleanup;
    }
    call.path = path;
    call.body = body;
    if (cfi_call_run(c, &call, &reply, err) != 0) {
        cf_json *stored = NULL;
        if (own_id && reply.status == 409 && reply.unanswered > 0 &&
            reconcile(c, app, slug, own_id, record, &stored) == 0) {
            cf_error_clear(err);
            if (out)
                *out = stored;
            else
                cf_json_free(stored);
            rc = 0;
        }
        goto cleanup;
    }
    if (!out) {
        rc = 0;
        goto cleanup;
    }
    /* The id: the one the server shows, else the one sent. */
    if (cf_json_member_span(reply.body + reply.env.data_start, reply.env.data_len, "_id", &start,
                            &span) == 0)
        assigned = cfi_json_span_string(reply.body + reply.env.data_start + start, span);
    if (assigned || own_id)
        rc = reply_record(&reply, assigned ? assigned : own_id, out, err);
    else
        rc = cfi_reply_data(&reply, out, err); /* no id known: the record as answered */
cleanup:
    cfi_reply_free(&reply);
    free(assigned);
    free(body);
    free(path);
    return cfi_done(c, rc);
}

int cf_record_update(cf_client *c, const char *app, const char *slug, const char *id,
                     const cf_json *record, cf_json **out, cf_error *err)
{
    cfi_call call = {
        .method = "PUT", .route = "/api/item/{app}/{slug}/{id}", .expect = CFI_DATA_OBJECT};
    cfi_reply reply = {0};
    const char *text;
    char *path = NULL, *body = NULL, *stripped = NULL;
    size_t len, stripped_len = 0;
    int rc = -1;

    cf_error_clear(err);
    if (out)
        *out = NULL;
    if (!c || !is_object(record)) {
        cfi_fail(err, CF_ERR_INVALID, 0, "the record must be a JSON object");
        goto cleanup;
    }
    if (cfi_path(&path, err, "/api/item/%s/%s/%s", app, slug, id) != 0)
        goto cleanup;
    text = cf_json_text(record, &len);
    if (cf_json_compact(text, len, "_id", NULL, NULL, &stripped, &stripped_len) != 0 ||
        wrap_data(stripped, stripped_len, &body, &call.body_len) != 0) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        goto cleanup;
    }
    call.path = path;
    call.body = body;
    if (cfi_call_run(c, &call, &reply, err) != 0)
        goto cleanup;
    rc = out ? reply_record(&reply, id, out, err) : 0;
cleanup:
    cfi_reply_free(&reply);
    free(stripped);
    free(body);
    free(path);
    return cfi_done(c, rc);
}

int cf_record_delete(cf_client *c, const char *app, const char *slug, const char *const *ids,
                     size_t n, cf_error *err)
{
    cfi_call call = {
        .method = "DELETE", .route = "/api/item/{app}/{slug}", .expect = CFI_DATA_OPTIONAL};
    cfi_reply reply = {0};
    cfi_buf b = {0};
    char *path = NULL, *body = NULL;
    int rc = -1;

    cf_error_clear(err);
    if (!c || (n > 0 && !ids)) {
        cfi_fail(err, CF_ERR_INVALID, 0, "no client or no ids");
        goto cleanup;
    }
    if (cfi_path(&path, err, "/api/item/%s/%s", app, slug) != 0)
        goto cleanup;
    if (n == 0) { /* nothing to delete: nothing sent */
        rc = 0;
        goto cleanup;
    }
    cfi_buf_str(&b, "{\"oids\":[");
    for (size_t i = 0; i < n; i++) {
        char *quoted;
        if (!ids[i] || !*ids[i]) {
            cfi_fail(err, CF_ERR_INVALID, 0, "id %zu is empty", i);
            goto cleanup;
        }
        quoted = cfi_json_quote(ids[i]);
        if (!quoted) {
            cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
            goto cleanup;
        }
        cfi_buf_str(&b, i ? "," : "");
        cfi_buf_str(&b, quoted);
        free(quoted);
    }
    cfi_buf_str(&b, "]}");
    if (cfi_buf_take(&b, &body, &call.body_len) != 0) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        goto cleanup;
    }
    call.path = path;
    call.body = body;
    rc = cfi_call_run(c, &call, &reply, err);
cleanup:
    cfi_buf_release(&b);
    cfi_reply_free(&reply);
    free(body);
    free(path);
    return cfi_done(c, rc);
}
