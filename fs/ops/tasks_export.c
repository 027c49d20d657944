/* tasks_export.c: exports/<app>.json: the export composed (and kept for the TTL, so stat
 * shows its exact size), and a document written there imported as that app. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache_ndjson.h"
#include "cache_write.h"
#include "control.h"
#include "errlog.h"
#include "errmap.h"
#include "layout.h"
#include "log.h"
#include "lowlevel.h"
#include "names.h"
#include "ops.h"
#include "tasks.h"
#include "tasks_int.h"

/* One composition: the app's key, the rendered document, when it was made. */
typedef struct composed {
    char *app;
    char *text;
    size_t len;
    double at;   /* monotonic seconds */
    time_t made; /* the file's time */
} composed;

static pthread_mutex_t ex_lock = PTHREAD_MUTEX_INITIALIZER;
static composed *kept; /* under ex_lock; entries older than the TTL are dropped */
static size_t nkept;
static tk_file *writers; /* open writers of exports, under ex_lock */

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void composed_clear(composed *c)
{
    free(c->app);
    free(c->text);
    memset(c, 0, sizeof *c);
}

void tk_export_forget(void)
{
    pthread_mutex_lock(&ex_lock);
    for (size_t i = 0; i < nkept; i++)
        composed_clear(&kept[i]);
    free(kept);
    kept = NULL;
    nkept = 0;
    pthread_mutex_unlock(&ex_lock);
}

/* Drops compositions past the TTL; under ex_lock. */
static void sweep(double ttl, double now)
{
    size_t j = 0;
    for (size_t i = 0; i < nkept; i++) {
        if (now - kept[i].at < ttl)
            kept[j++] = kept[i];
        else
            composed_clear(&kept[i]);
    }
    nkept = j;
}

/* The export of app (its key) as the file shows it: *text malloc'ed. A composition made
 * within the TTL is reused; else one is made (about 3 + flows + forms requests) and kept. */
static int compose(fs_ctx *x, const char *path, const char *app, char **text, size_t *len,
                   time_t *made)
{
    cf_json *doc = NULL;
    cf_error err;
    const char *t;
    char *out = NULL;
    size_t n, olen = 0;
    double now = mono();
    int rc = 0;

    *text = NULL;
    pthread_mutex_lock(&ex_lock);
    sweep(x->ttl, now);
    for (size_t i = 0; i < nkept; i++)
        if (strcmp(kept[i].app, app) == 0) {
            *text = malloc(kept[i].len + 1);
            if (*text) {
                memcpy(*text, kept[i].text, kept[i].len + 1);
                *len = kept[i].len;
                *made = kept[i].made;
            }
            pthread_mutex_unlock(&ex_lock);
            return *text ? 0 : -ENOMEM;
        }
    pthread_mutex_unlock(&ex_lock);

    if (cf_export_app(x->client, app, &doc, &err) != 0) {
        rc = -fs_errno(&err);
        errlog_report("export", path, rc, &err);
        return rc;
    }
    t = cf_json_text(doc, &n);
    /* Shown as every other file: two-space indentation, texts byte for byte. */
    if (cf_json_pretty(t, n, NULL, &out, &olen) != 0) {
        rc = -ENOMEM;
        goto cleanup;
    }
    if (olen > TASKS_MAX_DOC) {
        rc = tk_refuse("export", path, EFBIG, "not exported", "the export is larger than 64 MiB");
        goto cleanup;
    }
    *made = time(NULL);
    if (x->ttl > 0) {
        pthread_mutex_lock(&ex_lock);
        composed *grown = realloc(kept, (nkept + 1) * sizeof *kept);
        char *a = strdup(app), *copy = malloc(olen + 1);
        if (grown && a && copy) {
            size_t i = 0;
            kept = grown;
            memcpy(copy, out, olen + 1);
            /* Another thread may have composed it meanwhile: the newer one is kept. */
            while (i < nkept && strcmp(kept[i].app, app) != 0)
                i++;
            if (i < nkept)
                composed_clear(&kept[i]);
            else
                nkept++;
            kept[i] = (composed){.app = a, .text = copy, .len = olen, .at = now, .made = *made};
        } else {
            kept = grown ? grown : kept;
            free(a);
            free(copy);
        }
        pthread_mutex_unlock(&ex_lock);
    }
    *text = out;
    *len = olen;
    out = NULL;
cleanup:
    free(out);
    cf_json_free(doc);
    return rc;
}

static void file_stat(fs_ctx *x, size_t size, time_t t, struct stat *st)
{
    cache_attr a;

    memset(&a, 0, sizeof a);
    a.mode = x->ro ? TK_EXPORT_MODE & 0444 : TK_EXPORT_MODE;
    a.size = size;
    a.mtime = t;
    ops_stat(x, &a, st);
}

/* An open writer of exports/<name>.json, or NULL; under ex_lock. */
static tk_file *writer_of(const char *name)
{
    for (tk_file *f = writers; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

int tk_export_getattr(const char *path, const tk_path *p, const tk_file *open_file,
                      struct stat *st)
{
    fs_ctx *x = ops_ctx();
    char *app = NULL, *text = NULL;
    size_t len = 0;
    time_t made;
    cf_error err;
    tk_file *w;
    int rc;

    /* fstat of a reader: the composition it reads. */
    if (open_file && !open_file->writable) {
        file_stat(x, open_file->show_len, time(NULL), st);
        return 0;
    }

    /* A file being written shows what it holds until its close imports it. */
    pthread_mutex_lock(&ex_lock);
    w = writer_of(p->name);
    if (w) {
        pthread_mutex_lock(&w->lock);
        len = w->doc.len;
        pthread_mutex_unlock(&w->lock);
        file_stat(x, len, time(NULL), st);
    }
    pthread_mutex_unlock(&ex_lock);
    if (w)
        return 0;
    rc = cache_nd_app(x->cache, p->name, &app, &err);
    if (rc) {
        errlog_report("getattr", path, rc, &err);
        return rc;
    }
    rc = compose(x, path, app, &text, &len, &made);
    if (rc == 0)
        file_stat(x, len, made, st);
    free(app);
    free(text);
    return rc;
}

int tk_exports_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off)
{
    fs_ctx *x = ops_ctx();
    char **names = NULL, name[NAME_MAX + 1];
    size_t n = 0;
    cache_attr dot;
    struct stat st;
    cf_error err;
    int rc;

    rc = cache_nd_list(x->cache, CACHE_ND_APPS, NULL, &names, &n, &err);
    if (rc) {
        errlog_report("readdir", path, rc, &err);
        return rc;
    }
    memset(&dot, 0, sizeof dot);
    dot.is_dir = true;
    dot.mode = TK_EXPORTS_MODE;
    dot.mtime = time(NULL);
    ops_stat(x, &dot, &st);
    if (off < 1 && filler(buf, ".", &st, 1, 0))
        goto cleanup;
    if (off < 2 && filler(buf, "..", &st, 2, 0))
        goto cleanup;
    /* Names only: an export's size is known by composing it, which a listing must not do
     * for every app; the kernel asks getattr of the files it needs. */
    for (size_t i = off > 2 ? (size_t)off - 2 : 0; i < n; i++) {
        if (snprintf(name, sizeof name, "%s%s", names[i], LAYOUT_SUFFIX) >= (int)sizeof name)
            continue; /* a name at the limit already: no room for the suffix */
        if (filler(buf, name, NULL, (off_t)(i + 3), 0))
            break;
    }
cleanup:
    cache_nd_names_free(names, n);
    return 0;
}

int tk_export_open(const char *path, const tk_path *p, struct fuse_file_info *fi, bool create)
{
    fs_ctx *x = ops_ctx();
    bool writing = create || (fi->flags & O_ACCMODE) != O_RDONLY, pending;
    char *app = NULL, *key = NULL, *text = NULL;
    size_t len = 0;
    time_t made;
    cf_error err;
    tk_file *f;
    int rc;

    if (writing && x->ro)
        return -EROFS;
    rc = cache_nd_app(x->cache, p->name, &app, &err);
    if (rc && rc != -ENOENT) {
        errlog_report("open", path, rc, &err);
        goto cleanup;
    }
    if (!writing) {
        if (rc == 0)
            rc = compose(x, path, app, &text, &len, &made);
        if (rc)
            goto cleanup;
    } else if (rc == -ENOENT) {
        /* A new app: its id is the file name decoded, as mkdir apps/<id> takes it; an
         * open without O_CREAT finds only a file being written. */
        pthread_mutex_lock(&ex_lock);
        pending = writer_of(p->name) != NULL;
        pthread_mutex_unlock(&ex_lock);
        if (names_decode(p->name, NULL, &key) != NAMES_OK)
            rc = create ? -EINVAL : -ENOENT;
        else if (create || pending)
            rc = 0;
        if (rc)
            goto cleanup;
    }
    f = tk_handle_new(path, p, fi);
    if (!f) {
        rc = -ENOMEM;
        goto cleanup;
    }
    if (writing) {
        /* Written whole: the document starts empty, whatever the flags (no O_TRUNC, no
         * editing in place: the import takes the whole document). */
        f->writable = true;
        pthread_mutex_lock(&ex_lock);
        f->next = writers;
        writers = f;
        pthread_mutex_unlock(&ex_lock);
    } else {
        f->show = text;
        f->show_len = len;
        text = NULL;
    }
cleanup:
    free(app);
    free(key);
    free(text);
    return rc;
}

void tk_export_release(tk_file *f)
{
    bool was_writer = false;

    pthread_mutex_lock(&ex_lock);
    for (tk_file **pp = &writers; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            was_writer = true;
            break;
        }
    pthread_mutex_unlock(&ex_lock);
    /* What the kernel holds of the name (the writer's size, or a name whose import never
     * happened) is forgotten: the next stat asks again. */
    if (was_writer)
        ll_invalidate_path(f->path);
}

/* Imports doc text as app file name `name`: see tasks.h. 0 or a negative errno. */
static int import(fs_ctx *x, const char *path, const char *name, const char *data, size_t len)
{
    cf_json *doc = NULL, *renamed = NULL, *answer = NULL;
    json_object *m;
    cf_error err;
    char *app = NULL, why[512];
    bool exists, overwrite, wipe;
    int rc;

    rc = tk_parse_object("import", path, "not imported", data, len, &doc);
    if (rc)
        return rc;
    if (cf_export_check(doc, why, sizeof why) != 0) {
        rc = tk_refuse("import", path, EINVAL, "not imported", why);
        goto cleanup;
    }
    rc = cache_nd_app(x->cache, name, &app, &err);
    exists = rc == 0;
    if (rc == -ENOENT) {
        if (names_decode(name, NULL, &app) != NAMES_OK) {
            rc = tk_refuse("import", path, EINVAL, "not imported", "the file name is no app id");
            goto cleanup;
        }
    } else if (rc) {
        errlog_report("import", path, rc, &err);
        goto cleanup;
    }
    overwrite = json_object_object_get_ex(cf_json_object(doc), "overwrite", &m) &&
                json_object_get_boolean(m);
    wipe = json_object_object_get_ex(cf_json_object(doc), "delete_mongo_data", &m) &&
           json_object_get_boolean(m);
    if (exists && !overwrite) {
        snprintf(why, sizeof why, "app %s exists; an export with \"overwrite\": true replaces it",
                 app);
        rc = tk_refuse("import", path, EEXIST, "not imported", why);
        goto cleanup;
    }
    /* The file name names the app: the document is retargeted to it. */
    if (cf_export_rename(doc, app, &renamed, &err) != 0 ||
        cf_import_app(x->client, renamed, wipe, &answer, &err) != 0) {
        rc = -fs_errno(&err);
        errlog_report("import", path, rc, &err);
        goto cleanup;
    }
    log_info("%s: imported as app %s", path + 1, app);
    /* Any list may have changed (apps, collections, queries, actionflows, forms). */
    tk_export_forget();
    control_refresh();
    /* A new app's collections were made by the import and hold no records (an export
     * carries none): known without a listing, so copying records in asks nothing per
     * name. */
    if (!exists && json_object_object_get_ex(cf_json_object(renamed), "collections", &m) &&
        json_object_is_type(m, json_type_array))
        for (size_t i = 0; i < json_object_array_length(m); i++) {
            json_object *slug;
            if (json_object_object_get_ex(json_object_array_get_idx(m, i), "slug", &slug) &&
                json_object_is_type(slug, json_type_string))
                cache_new_collection(x->cache, app, json_object_get_string(slug));
        }
    rc = 0;
cleanup:
    free(app);
    cf_json_free(doc);
    cf_json_free(renamed);
    cf_json_free(answer);
    return rc;
}

int tk_export_flush(tk_file *f)
{
    fs_ctx *x = ops_ctx();
    char *data;
    size_t len;
    int rc;

    rc = tk_take(f, &data, &len);
    if (rc || !data)
        return rc;
    rc = import(x, f->path, f->name, data, len);
    free(data);
    return rc;
}
