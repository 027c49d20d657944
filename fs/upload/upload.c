/* upload.c: saves, creates and deletes on the server, and the cache updates after them. */
#include "upload.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_write.h"
#include "conflicts.h"
#include "errlog.h"
#include "errmap.h"
#include "log.h"
#include "names.h"
#include "render.h"
#include "stats.h"
#include "uploader.h"
#include "wbuf.h"

/* The last failure of this thread (up_last_failure). */
static __thread char last_failure[1400];

void up_clear_failure(void)
{
    last_failure[0] = '\0';
}

const char *up_last_failure(void)
{
    return last_failure;
}

/* Logs a failed request (and keeps it for .clappfs/errors) and gives its errno. */
static int failed(const char *what, const char *path, const cf_error *err)
{
    char text[1400];
    int rc = fs_errno(err);

    if (!rc)
        rc = EIO;
    fs_error_text(err, text, sizeof text);
    snprintf(last_failure, sizeof last_failure, "%s", text);
    if (err->method[0])
        log_error("%s: %s: %s %s: %s", path + 1, what, err->method, err->path, text);
    else
        log_error("%s: %s: %s", path + 1, what, text);
    errlog_add(strcmp(what, "not saved") == 0     ? "save"
               : strcmp(what, "not deleted") == 0 ? "delete"
               : strcmp(what, "not created") == 0 ? "mkdir"
                                                  : "rmdir",
               path, rc, err);
    return -rc;
}

static bool http_status(const cf_error *err, long status)
{
    return err->kind == CF_ERR_HTTP && err->status == status;
}

/* Whether a failed request may have been carried out all the same: no answer in time, a
 * 5xx (a gateway's says nothing of the server behind it), an answer that was unreadable. */
static bool maybe_done(const cf_error *err)
{
    return err->kind == CF_ERR_TIMEOUT || err->kind == CF_ERR_NETWORK ||
           err->kind == CF_ERR_PROTOCOL || (err->kind == CF_ERR_HTTP && err->status >= 500);
}

int up_check(const char *path, const char *data, size_t len, bool quiet)
{
    cf_json_problem pb;

    if (wbuf_check(data, len, &pb) == 0)
        return 0;
    if (!quiet) {
        errlog_add("save", path, EINVAL, NULL);
        stats_upload(len, false);
    }
    if (pb.line > 0)
        log_write(quiet ? LOG_LVL_DEBUG : LOG_LVL_ERROR, __FILE__, __LINE__,
                  "%s: not saved: line %d, column %d: %s", path + 1, pb.line, pb.column, pb.what);
    else
        log_write(quiet ? LOG_LVL_DEBUG : LOG_LVL_ERROR, __FILE__, __LINE__,
                  "%s: not saved: %s", path + 1, pb.what);
    return -EINVAL;
}

/* A parsed body from data with identity members replaced (see wbuf_body). */
static int make_body(const char *data, size_t len, const char *k1, const char *v1,
                     const char *k2, const char *v2, cf_json **out)
{
    char *body = NULL;
    size_t blen = 0;
    cf_json_problem pb;

    *out = NULL;
    if (wbuf_body(data, len, k1, v1, k2, v2, &body, &blen) != 0)
        return -ENOMEM;
    *out = cf_json_parse(body, blen, 0, &pb);
    free(body);
    return *out ? 0 : -ENOMEM;
}

/* A member usable as a key: a string as it is, an integer as its digits; malloc'ed. */
static char *member_key(const cf_json *value, const char *field)
{
    json_object *v;
    char buf[32];

    if (!json_object_object_get_ex(cf_json_object(value), field, &v))
        return NULL;
    if (json_object_is_type(v, json_type_string) && json_object_get_string(v)[0])
        return strdup(json_object_get_string(v));
    if (json_object_is_type(v, json_type_int)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_object_get_int64(v));
        return strdup(buf);
    }
    return NULL;
}

/* The line of a where a and b first differ, without its leading blanks, cut to fit out
 * (the message names each version by it). */
static void first_difference(const char *a, size_t alen, const char *b, size_t blen, char *out,
                             size_t outsz)
{
    size_t i = 0, start, n = 0;

    while (i < alen && i < blen && a[i] == b[i])
        i++;
    start = i;
    while (start > 0 && a[start - 1] != '\n')
        start--;
    while (start + n < alen && a[start + n] != '\n' && n + 1 < outsz)
        n++;
    while (n > 0 && (a[start] == ' ' || a[start] == '\t')) {
        start++;
        n--;
    }
    memcpy(out, a + start, n);
    out[n] = '\0';
}

/* A save of a record changed on the server since this mount read it: refused, nothing
 * sent; the text is kept under .clappfs/conflicts and both versions are named. */
static int refuse_conflict(const wpath *w, const char *data, size_t len, const lru_item *theirs)
{
    char msg[2048], mine_line[64], their_line[64], kept[NAME_MAX + 1];
    int rc = conflicts_put(w->self.app, w->self.coll, w->self.name, data, len, kept,
                           sizeof kept);

    first_difference(data, len, theirs->data, theirs->len, mine_line, sizeof mine_line);
    first_difference(theirs->data, theirs->len, data, len, their_line, sizeof their_line);
    snprintf(msg, sizeof msg,
             "changed on the server since this mount read it; not saved: the server's version "
             "(%zu bytes, checksum %016llx: \"%s\") is kept, this one (%zu bytes, checksum "
             "%016llx: \"%s\") is in .clappfs/%s/%s/%s/%s%s",
             theirs->len, (unsigned long long)render_checksum(theirs->data, theirs->len),
             their_line, len, (unsigned long long)render_checksum(data, len), mine_line,
             CONFLICTS_NAME, w->self.app, w->self.coll, rc ? w->self.name : kept,
             rc ? " (not kept: out of memory)" : "");
    log_error("%s: %s", w->path + 1, msg);
    errlog_add_note("save", w->path, EBUSY, msg);
    snprintf(last_failure, sizeof last_failure, "%.1399s", msg);
    return -EBUSY;
}

static int save_record(fs_ctx *x, const wpath *w, const char *data, size_t len, bool exists,
                       cache_attr *attr)
{
    char *app = NULL, *slug = NULL, *key = NULL, *quoted = NULL, *newkey = NULL;
    char *rendered = NULL;
    size_t rlen = 0;
    cf_json *rec = NULL, *out = NULL;
    const char *text;
    size_t tlen;
    cf_error err;
    int rc, r;

    cf_error_clear(&err);
    rc = cache_record_key(x->cache, &w->self, &app, &slug, &key, &err);
    if (rc) {
        if (err.kind != CF_OK)
            rc = failed("not saved", w->path, &err);
        goto out;
    }
    if (exists && !x->overwrite) {
        /* Close-to-open: the version a reader got here must still be the server's. */
        lru_item *theirs = NULL;
        bool gone = false;
        rc = cache_record_verify(x->cache, app, slug, w->name, key, &gone, &theirs, &err);
        if (rc == -EBUSY)
            rc = refuse_conflict(w, data, len, theirs);
        else if (rc && err.kind != CF_OK)
            rc = failed("not saved", w->path, &err);
        lru_item_unref(theirs);
        if (rc)
            goto out;
        exists = !gone; /* deleted meanwhile: made again */
    }
    quoted = wbuf_quote(key);
    rc = quoted ? make_body(data, len, "_id", quoted, NULL, NULL, &rec) : -ENOMEM;
    if (rc)
        goto out;
    if (exists) {
        r = cf_record_update(x->client, app, slug, key, rec, &out, &err);
        if (r && http_status(&err, 404))
            r = cf_record_create(x->client, app, slug, rec, &out, &err);
    } else {
        r = cf_record_create(x->client, app, slug, rec, &out, &err);
        if (r && http_status(&err, 409))
            r = cf_record_update(x->client, app, slug, key, rec, &out, &err);
    }
    if (r) {
        rc = failed("not saved", w->path, &err);
        if (maybe_done(&err))
            cache_forget_record(x->cache, app, slug, w->name);
        goto out;
    }
    newkey = member_key(out, "_id");
    text = cf_json_text(out, &tlen);
    if (render_record(text, tlen, newkey ? newkey : key, &rendered, &rlen) != 0) {
        rc = -ENOMEM;
        goto out;
    }
    if (newkey && strcmp(newkey, key) != 0)
        log_info("%s: the server gave the record the _id %s; the file keeps its name",
                 w->path + 1, newkey);
    rc = cache_put_record(x->cache, app, slug, w->name, newkey ? newkey : key, rendered, rlen,
                          attr);
out:
    cf_json_free(rec);
    cf_json_free(out);
    free(app);
    free(slug);
    free(key);
    free(quoted);
    free(newkey);
    free(rendered);
    return rc;
}

/* The member that names an item of a list kind. */
static const char *key_field(cf_kind kind)
{
    return layout_resource_of(kind)->key_field;
}

static int save_entry(fs_ctx *x, const wpath *w, const char *data, size_t len, bool exists,
                      cache_attr *attr)
{
    const layout_path *p = &w->self;
    cf_kind kind = p->kind == LAYOUT_ITEM ? p->list
                   : p->kind == LAYOUT_APP_META ? CF_APP : CF_COLLECTION;
    const char *field = key_field(kind);
    bool numeric = kind == CF_ACTIONFLOW || kind == CF_QUESTIONNAIRE;
    char *app = NULL, *key = NULL, *qkey = NULL, *qapp = NULL, *newkey = NULL;
    char *rendered = NULL;
    size_t rlen = 0, tlen;
    cf_json *body = NULL, *out = NULL;
    const char *text, *value;
    bool listed;
    cf_error err;
    int rc, r;

    cf_error_clear(&err);
    rc = cache_entry_key(x->cache, p, &app, &key, &listed, &err);
    if (rc) {
        if (err.kind != CF_OK)
            rc = failed("not saved", w->path, &err);
        goto out;
    }
    if (kind == CF_APP || kind == CF_COLLECTION)
        exists = true; /* metadata: its directory exists */
    qkey = numeric && wbuf_is_integer(key) ? strdup(key) : wbuf_quote(key);
    qapp = app ? wbuf_quote(app) : NULL;
    if (!qkey || (app && !qapp)) {
        rc = -ENOMEM;
        goto out;
    }
    /* A create of a numbered resource leaves the number to the server. */
    value = numeric && !exists ? NULL : qkey;
    if (kind == CF_COLLECTION)
        rc = make_body(data, len, "app", qapp, "slug", qkey, &body);
    else
        rc = make_body(data, len, field, value, NULL, NULL, &body);
    if (rc)
        goto out;
    if (exists) {
        r = cf_update(x->client, kind, app, key, body, &out, &err);
        if (r && http_status(&err, 404) && kind != CF_APP && kind != CF_COLLECTION) {
            cf_json_free(body);
            body = NULL;
            if (numeric && (rc = make_body(data, len, field, NULL, NULL, NULL, &body)) != 0)
                goto out;
            if (!numeric && (rc = make_body(data, len, field, qkey, NULL, NULL, &body)) != 0)
                goto out;
            r = cf_create(x->client, kind, app, body, &out, &err);
        }
    } else {
        r = cf_create(x->client, kind, app, body, &out, &err);
        if (r && http_status(&err, 409))
            r = cf_update(x->client, kind, app, key, body, &out, &err);
    }
    if (r) {
        rc = failed("not saved", w->path, &err);
        goto out;
    }
    newkey = member_key(out, field);
    text = cf_json_text(out, &tlen);
    if (render_pretty(text, tlen, NULL, &rendered, &rlen) != 0) {
        rc = -ENOMEM;
        goto out;
    }
    if (newkey && strcmp(newkey, key) != 0)
        log_info("%s: the server gave it the %s %s; the file keeps its name", w->path + 1,
                 field, newkey);
    rc = cache_put_entry(x->cache, kind, app,
                         kind == CF_APP ? p->app : kind == CF_COLLECTION ? p->coll : p->name,
                         newkey ? newkey : key, rendered, rlen, attr);
out:
    cf_json_free(body);
    cf_json_free(out);
    free(app);
    free(key);
    free(qkey);
    free(qapp);
    free(newkey);
    free(rendered);
    return rc;
}

int up_save(fs_ctx *x, const wpath *w, const char *data, size_t len, bool exists,
            cache_attr *attr)
{
    int rc;

    if (w->self_rc != 0)
        return -EINVAL;
    jr_sync_begin(w->path); /* async uploads: the journal's entries of w go first */
    switch (w->cls) {
    case WNAME_RECORD:
        rc = save_record(x, w, data, len, exists, attr);
        break;
    case WNAME_ITEM:
    case WNAME_APP_META:
    case WNAME_COLL_META:
        rc = save_entry(x, w, data, len, exists, attr);
        break;
    case WNAME_VERSION:
        return -EACCES;
    default:
        return -EINVAL;
    }
    /* With up_check's refusals, .clappfs/stats counts every save the user made. */
    stats_upload(len, rc == 0);
    if (rc == 0)
        jr_sync_done(w->path);
    return rc;
}

int up_delete(fs_ctx *x, const wpath *w)
{
    const layout_path *p = &w->self;
    char *app = NULL, *slug = NULL, *key = NULL;
    bool listed = true;
    cf_error err;
    int rc;

    cf_error_clear(&err);
    if (w->self_rc != 0)
        return -ENOENT;
    jr_sync_begin(w->path);
    if (w->cls == WNAME_RECORD) {
        rc = cache_record_key(x->cache, p, &app, &slug, &key, &err);
        if (rc == 0) {
            const char *ids[1] = {key};
            if (cf_record_delete(x->client, app, slug, ids, 1, &err) != 0) {
                rc = failed("not deleted", w->path, &err);
                if (maybe_done(&err))
                    cache_forget_record(x->cache, app, slug, p->name);
            } else {
                cache_drop_record(x->cache, app, slug, p->name);
            }
        } else if (err.kind != CF_OK) {
            rc = failed("not deleted", w->path, &err);
        }
    } else if (w->cls == WNAME_ITEM) {
        rc = cache_entry_key(x->cache, p, &app, &key, &listed, &err);
        if (rc == 0 && !listed)
            rc = -ENOENT;
        if (rc == 0) {
            if (cf_delete(x->client, p->list, NULL, key, &err) != 0)
                rc = failed("not deleted", w->path, &err);
            else
                cache_drop_entry(x->cache, p->list, NULL, p->name);
        } else if (err.kind != CF_OK) {
            rc = failed("not deleted", w->path, &err);
        }
    } else {
        rc = -EPERM;
    }
    if (rc == 0)
        jr_sync_done(w->path);
    free(app);
    free(slug);
    free(key);
    return rc;
}

int up_content(fs_ctx *x, const wpath *w, lru_item **content, cache_attr *attr)
{
    bool changed = false;
    cf_error err;
    int rc;

    *content = NULL;
    if (w->self_rc != 0)
        return w->self_rc;
    rc = jr_lookup(w->path, attr, NULL, content); /* async uploads: a pending change */
    if (rc)
        return rc < 0 ? rc : 0;
    rc = cache_open(x->cache, &w->self, content, attr, &changed, &err);
    if (rc)
        errlog_report("open", w->path, rc, &err);
    return rc;
}

int up_exists(fs_ctx *x, const wpath *w, cache_attr *attr)
{
    cf_error err;
    int rc;

    if (w->self_rc != 0)
        return w->self_rc;
    rc = jr_lookup(w->path, attr, NULL, NULL); /* async uploads: a pending change */
    if (rc)
        return rc < 0 ? rc : 0;
    rc = cache_getattr(x->cache, &w->self, attr, &err);
    if (rc && rc != -ENOENT)
        errlog_report("getattr", w->path, rc, &err);
    return rc;
}

int up_mkdir(fs_ctx *x, const layout_path *p)
{
    char *id = NULL, *app = NULL, *quoted = NULL, *body_text = NULL, *rendered = NULL;
    char *newkey = NULL;
    size_t rlen = 0, tlen;
    cf_json *body = NULL, *out = NULL;
    cf_json_problem pb;
    const char *text, *field;
    bool listed;
    cf_kind kind;
    cf_error err;
    int rc = 0;

    cf_error_clear(&err);
    if (p->kind == LAYOUT_APP) {
        kind = CF_APP;
        field = "id";
        if (names_decode(p->app, "", &id) != NAMES_OK)
            return -EINVAL;
    } else if (p->kind == LAYOUT_COLLECTION) {
        layout_path ap;
        char dir[PATH_MAX];
        kind = CF_COLLECTION;
        field = "slug";
        if (names_decode(p->coll, "", &id) != NAMES_OK)
            return -EINVAL;
        snprintf(dir, sizeof dir, "/%s/%s", LAYOUT_APPS_NAME, p->app);
        rc = layout_parse(dir, &ap);
        if (rc == 0) /* an app's entry: no app of its own, its key is the app's */
            rc = cache_entry_key(x->cache, &ap, &newkey, &app, &listed, &err);
        free(newkey);
        newkey = NULL;
        if (rc == 0 && !listed)
            rc = -ENOENT;
        if (rc)
            goto out;
    } else {
        return -EPERM;
    }
    quoted = wbuf_quote(id);
    body_text = quoted ? malloc(strlen(field) + strlen(quoted) + 8) : NULL;
    if (!body_text) {
        rc = -ENOMEM;
        goto out;
    }
    sprintf(body_text, "{\"%s\":%s}", field, quoted);
    body = cf_json_parse(body_text, strlen(body_text), 0, &pb);
    if (!body) {
        rc = -ENOMEM;
        goto out;
    }
    if (cf_create(x->client, kind, app, body, &out, &err) != 0) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "/%s/%s%s%s", LAYOUT_APPS_NAME, p->app, p->coll ? "/" : "",
                 p->coll ? p->coll : "");
        rc = failed("not created", path, &err);
        goto out;
    }
    newkey = member_key(out, field);
    text = cf_json_text(out, &tlen);
    if (render_pretty(text, tlen, NULL, &rendered, &rlen) != 0) {
        rc = -ENOMEM;
        goto out;
    }
    rc = cache_put_entry(x->cache, kind, app, kind == CF_APP ? p->app : p->coll,
                         newkey ? newkey : id, rendered, rlen, NULL);
    if (kind == CF_COLLECTION)
        cache_new_collection(x->cache, app, newkey ? newkey : id);
out:
    cf_json_free(body);
    cf_json_free(out);
    free(id);
    free(app);
    free(quoted);
    free(body_text);
    free(rendered);
    free(newkey);
    return rc;
}

int up_rmdir(fs_ctx *x, const layout_path *p)
{
    char *app = NULL, *key = NULL;
    char path[PATH_MAX];
    bool listed;
    size_t n = 0;
    cf_error err;
    int rc;

    cf_error_clear(&err);
    if (p->kind != LAYOUT_APP && p->kind != LAYOUT_COLLECTION)
        return p->kind == LAYOUT_LIST || p->kind == LAYOUT_APPS || p->kind == LAYOUT_ROOT
                   ? -EPERM : -ENOTDIR;
    snprintf(path, sizeof path, "/%s/%s%s%s", LAYOUT_APPS_NAME, p->app, p->coll ? "/" : "",
             p->coll ? p->coll : "");
    rc = cache_entry_key(x->cache, p, &app, &key, &listed, &err);
    if (rc == 0 && !listed)
        rc = -ENOENT;
    if (rc == 0)
        rc = cache_dir_count(x->cache, p, true, &n, &err);
    if (rc == 0 && n > 0)
        rc = -ENOTEMPTY;
    if (rc) {
        if (err.kind != CF_OK)
            rc = failed("not removed", path, &err);
        goto out;
    }
    if (cf_delete(x->client, p->kind == LAYOUT_APP ? CF_APP : CF_COLLECTION, app, key, &err) != 0) {
        rc = failed("not removed", path, &err);
        goto out;
    }
    if (p->kind == LAYOUT_APP)
        cache_drop_entry(x->cache, CF_APP, NULL, p->app);
    else
        cache_drop_entry(x->cache, CF_COLLECTION, app, p->coll);
out:
    free(app);
    free(key);
    return rc;
}
