/* tasks_start.c: actionflows/<id>.start (a JSON object written and closed starts the
 * actionflow with it as settings) and actionflows/<id>.last-run.json (the last run this
 * mount started of it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control.h"
#include "errlog.h"
#include "errmap.h"
#include "log.h"
#include "names.h"
#include "ops.h"
#include "tasks_int.h"
#include "textbuf.h"

/* The last run of each actionflow started here (name: the file-name stem). */
typedef struct run {
    struct run *next;
    char *name;
    char *text; /* the run's document, rendered */
    size_t len;
    time_t at;
} run;

static pthread_mutex_t st_lock = PTHREAD_MUTEX_INITIALIZER;
static run *runs;    /* under st_lock */
static long me_id;   /* the user's id, asked once (under st_lock) */
static bool me_known;

void tk_start_shutdown(void)
{
    pthread_mutex_lock(&st_lock);
    while (runs) {
        run *r = runs;
        runs = r->next;
        free(r->name);
        free(r->text);
        free(r);
    }
    me_known = false;
    pthread_mutex_unlock(&st_lock);
}

/* The last run of name, under st_lock, or NULL. */
static run *run_of(const char *name)
{
    for (run *r = runs; r; r = r->next)
        if (strcmp(r->name, name) == 0)
            return r;
    return NULL;
}

int tk_start_getattr(const char *path, const tk_path *p, struct stat *st)
{
    fs_ctx *x = ops_ctx();
    cache_attr a;
    run *r;

    (void)path;
    memset(&a, 0, sizeof a);
    pthread_mutex_lock(&st_lock);
    r = run_of(p->name);
    if (r) {
        a.mtime = r->at;
        a.size = p->kind == TK_LAST_RUN ? r->len : 0;
    }
    pthread_mutex_unlock(&st_lock);
    if (p->kind == TK_LAST_RUN && !r)
        return -ENOENT;
    a.mode = p->kind == TK_LAST_RUN ? TK_LAST_RUN_MODE : x->ro ? 0400 : TK_START_MODE;
    if (!r)
        a.mtime = time(NULL);
    ops_stat(x, &a, st);
    return 0;
}

int tk_start_open(const char *path, const tk_path *p, struct fuse_file_info *fi)
{
    fs_ctx *x = ops_ctx();
    bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
    char *copy = NULL;
    size_t len = 0;
    tk_file *f;
    run *r;

    if (p->kind == TK_LAST_RUN) {
        if (writing)
            return -EACCES;
        pthread_mutex_lock(&st_lock);
        r = run_of(p->name);
        if (r && (copy = malloc(r->len + 1)) != NULL) {
            memcpy(copy, r->text, r->len + 1);
            len = r->len;
        }
        pthread_mutex_unlock(&st_lock);
        if (!r)
            return -ENOENT;
        if (!copy)
            return -ENOMEM;
    } else if (writing && x->ro) {
        return -EROFS;
    }
    f = tk_handle_new(path, p, fi);
    if (!f) {
        free(copy);
        return -ENOMEM;
    }
    /* A .start handle reads nothing until its start; then the run's document. */
    f->show = copy;
    f->show_len = len;
    return 0;
}

/* The id of the logged-in user, asked once per mount. */
static int user_id(fs_ctx *x, const char *path, long *id)
{
    cf_error err;
    long v = 0;
    int rc = 0;

    pthread_mutex_lock(&st_lock);
    if (me_known) {
        *id = me_id;
        pthread_mutex_unlock(&st_lock);
        return 0;
    }
    pthread_mutex_unlock(&st_lock);
    if (cf_me_id(x->client, &v, &err) != 0) {
        rc = -fs_errno(&err);
        errlog_report("start", path, rc, &err);
        return rc;
    }
    pthread_mutex_lock(&st_lock);
    me_id = v;
    me_known = true;
    pthread_mutex_unlock(&st_lock);
    *id = v;
    return 0;
}

/* A member's exact text of an object text, or "null". */
static void add_member(textbuf *b, const char *text, size_t len, const char *key)
{
    size_t start, n;
    if (text && cf_json_member_span(text, len, key, &start, &n) == 0)
        tb_append(b, text + start, n);
    else
        tb_puts(b, "null");
}

/* The run's document: what was asked, and the server's answer or refusal. */
static char *run_document(const tk_file *f, const char *settings, size_t slen, time_t at,
                          const cf_json *env, const cf_error *err, size_t *len)
{
    textbuf b = {0};
    char when[32], *compact = NULL, *pretty = NULL;
    size_t clen, elen = 0;
    const char *et = env ? cf_json_text(env, &elen) : NULL;
    struct tm tm;

    gmtime_r(&at, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    tb_puts(&b, "{\"actionflow\":");
    tb_json_str(&b, f->name);
    tb_puts(&b, ",\"started_at\":");
    tb_json_str(&b, when);
    tb_puts(&b, ",\"settings\":");
    tb_append(&b, settings, slen);
    if (env) {
        tb_puts(&b, ",\"ok\":true,\"status\":");
        add_member(&b, et, elen, "code");
        tb_puts(&b, ",\"message\":");
        add_member(&b, et, elen, "message");
        tb_puts(&b, ",\"response_id\":");
        add_member(&b, et, elen, "response_id");
        tb_puts(&b, ",\"run\":");
        add_member(&b, et, elen, "data");
    } else {
        tb_printf(&b, ",\"ok\":false,\"status\":%ld,\"message\":", err->status);
        tb_json_str(&b, err->message);
        tb_puts(&b, ",\"response_id\":");
        if (err->response_id[0])
            tb_json_str(&b, err->response_id);
        else
            tb_puts(&b, "null");
        tb_puts(&b, ",\"run\":null");
    }
    tb_puts(&b, "}");
    compact = tb_take(&b, &clen);
    if (!compact || cf_json_pretty(compact, clen, NULL, &pretty, len) != 0)
        pretty = NULL;
    free(compact);
    return pretty;
}

/* Keeps doc as the last run of name and shows it on f. Takes doc. */
static void keep(tk_file *f, char *doc, size_t len, time_t at)
{
    char *copy = doc ? malloc(len + 1) : NULL;
    run *r;

    pthread_mutex_lock(&f->lock);
    free(f->show);
    f->show = doc;
    f->show_len = doc ? len : 0;
    pthread_mutex_unlock(&f->lock);
    if (!copy)
        return;
    memcpy(copy, doc, len + 1);
    pthread_mutex_lock(&st_lock);
    r = run_of(f->name);
    if (!r && (r = calloc(1, sizeof *r)) != NULL) {
        r->name = strdup(f->name);
        if (!r->name) {
            free(r);
            r = NULL;
        } else {
            r->next = runs;
            runs = r;
        }
    }
    if (r) {
        free(r->text);
        r->text = copy;
        r->len = len;
        r->at = at;
    } else {
        free(copy);
    }
    pthread_mutex_unlock(&st_lock);
}

int tk_start_flush(tk_file *f)
{
    fs_ctx *x = ops_ctx();
    cf_json *settings = NULL, *env = NULL;
    cf_error err;
    char *data, *doc, *key = NULL;
    size_t len, dlen = 0;
    const char *st;
    size_t slen;
    time_t at;
    long user = 0;
    int rc;

    rc = tk_take(f, &data, &len);
    if (rc || !data)
        return rc;
    /* The payload is the run's settings: one JSON object, else nothing is sent. */
    rc = tk_parse_object("start", f->path, "not started", data, len, &settings);
    if (rc)
        goto cleanup;
    rc = user_id(x, f->path, &user);
    if (rc)
        goto cleanup;
    at = time(NULL);
    st = cf_json_text(settings, &slen);
    /* The actionflow's id is its file name's stem decoded (ids are numbers: the same). */
    if (names_decode(f->name, NULL, &key) != NAMES_OK) {
        rc = tk_refuse("start", f->path, ENOENT, "not started", "no actionflow has this name");
        goto cleanup;
    }
    if (cf_actionflow_run(x->client, key, user, settings, &env, &err) != 0) {
        rc = -fs_errno(&err);
        /* The server's message and response_id go to the log and .clappfs/errors. */
        errlog_report("start", f->path, rc, &err);
    } else {
        log_info("%s: started actionflow %s", f->path + 1, f->name);
    }
    doc = run_document(f, st, slen, at, env, &err, &dlen);
    keep(f, doc, dlen, at);
    /* <id>.last-run.json exists now, or changed: the kernel may hold it as missing, or
     * its old size. */
    control_forget_entry("actionflows");
cleanup:
    free(data);
    free(key);
    cf_json_free(settings);
    cf_json_free(env);
    return rc;
}
