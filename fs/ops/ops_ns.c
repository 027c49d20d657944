/* ops_ns.c: names and directories: unlink, mkdir, rmdir, symbolic links, and the
 * backups of hidden server files (rename is ops_rename.c, listings ops_list.c). */
#include "ops_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_write.h"
#include "errlog.h"
#include "log.h"
#include "upload.h"
#include "uploader.h"
#include "wnode.h"

/* ------------------------------------------------------------------------- */
/* Backups of hidden server files                                             */
/* ------------------------------------------------------------------------- */

/* A local file that was a server file's backup goes away (unlinked, replaced, or renamed
 * onto another name): when the server file is still hidden (nothing was made in its
 * place), it is gone for good, as on any file system: deleted on the server. Metadata
 * cannot be deleted: it shows again. The mutation lock of origin held. */
int wr_drop_origin(fs_ctx *x, const char *origin)
{
    wpath *w;
    wnode *h;
    bool hidden;
    int rc = 0;

    wn_lock();
    h = wn_find(origin);
    hidden = h && h->state == WN_HIDDEN;
    wn_unlock();
    if (!hidden)
        return 0;
    w = malloc(sizeof *w);
    if (!w)
        return -ENOMEM;
    rc = wpath_parse(origin, w);
    if (rc == 0 && (w->cls == WNAME_RECORD || w->cls == WNAME_ITEM)) {
        rc = up_delete(x, w);
        if (rc == -ENOENT)
            rc = 0;
    }
    if (rc == 0) {
        wn_lock();
        h = wn_find(origin);
        if (h && h->state == WN_HIDDEN)
            wn_detach(h);
        wn_unlock();
        wf_forget(origin);
    }
    free(w);
    return rc;
}

/* The origin a local node answers for, copied (NULL when none). Under wn_lock. */
char *wr_origin_of(const wnode *n)
{
    return n && n->state == WN_LOCAL && n->origin ? strdup(n->origin) : NULL;
}

/* ------------------------------------------------------------------------- */
/* unlink                                                                     */
/* ------------------------------------------------------------------------- */

typedef struct counting {
    size_t n;
    const char *but;     /* a name not counted, or NULL */
} counting;

static void count_live(void *ud, const wnode *n, const char *name)
{
    counting *c = ud;
    if (n->state != WN_HIDDEN && !(c->but && strcmp(name, c->but) == 0))
        c->n++;
}

/* .app.json and .collection.json cannot be removed while their directory holds anything
 * (EPERM). In an empty one the unlink is the step of rm -r before its rmdir (they are
 * listed last for that): the file is hidden here, nothing is sent, and rmdir deletes the
 * app or collection. Writing the file again shows it again. Exclusive mutation lock held. */
static int unlink_meta(fs_ctx *x, const wpath *w)
{
    counting local = {0, w->name};
    char dir[PATH_MAX];
    lru_item *content = NULL;
    cache_attr attr;
    size_t n = 0;
    cf_error err;
    wnode *h;
    int rc;

    wpath_dirname(w->path, dir, sizeof dir);
    wn_lock();
    wn_each_in(dir, count_live, &local);
    wn_unlock();
    if (local.n)
        return -EPERM;
    cf_error_clear(&err);
    rc = cache_dir_count(x->cache, &w->dir, false, &n, &err);
    if (rc) {
        errlog_report("unlink", w->path, rc, &err);
        return rc;
    }
    if (n)
        return -EPERM;
    rc = up_content(x, w, &content, &attr);
    if (rc)
        return rc;
    wn_lock();
    wn_detach(wn_find(w->path));
    h = wn_add(w->path, WN_HIDDEN);
    if (h)
        h->base = content;
    else
        lru_item_unref(content);
    wn_unlock();
    return h ? 0 : -ENOMEM;
}

int wr_unlink(const char *path)
{
    fs_ctx *x = ops_ctx();
    wpath *w;
    wnode *n;
    wn_state state = WN_OPEN;
    wl_held lk;
    bool have = false, on_server = false, backed = false, maybe = false;
    char *origin = NULL;
    int rc = 0;

    if (x->ro)
        return -EROFS;
    wn_touch(path); /* listings under way give this name no attributes (wnode.h) */
    w = malloc(sizeof *w);
    if (!w)
        return -ENOMEM;
    rc = wpath_parse(path, w);
    if (rc)
        goto out;
    log_debug("unlink %s", path);
    rc = wr_lock_names(&lk, path, NULL, w->cls == WNAME_APP_META || w->cls == WNAME_COLL_META);
    if (rc)
        goto out;
again:
    have = on_server = backed = maybe = false;
    state = WN_OPEN;
    wn_lock();
    n = wn_find(path);
    if (n) {
        have = true;
        state = n->state;
        origin = wr_origin_of(n);
        if (!wl_holds(&lk, origin)) {
            /* It became the backup of another file meanwhile: that file's lock too. */
            wn_unlock();
            free(origin);
            origin = NULL;
            wl_unlock(&lk);
            wl_lock_excl(&lk);
            goto again;
        }
        maybe = state == WN_NEW && n->maybe_sent;
        on_server = state == WN_OPEN || (state == WN_NEW && n->server_exists) || maybe;
        backed = state == WN_NEW && n->server_exists && wn_find_backup(path);
        if (backed) {
            /* Made again where a server file was moved away, and never sent (an editor
             * whose save failed removes it before putting its backup back): the server's
             * file is the backup's still, hidden again. Nothing is sent. */
            lru_item *base = n->base;
            wnode *h;
            if (base)
                lru_item_ref(base);
            wn_detach(n); /* open handles keep it, detached */
            h = wn_add(path, WN_HIDDEN);
            if (h)
                h->base = base;
            else
                lru_item_unref(base);
        }
    }
    wn_unlock();
    if (backed) {
        rc = 0;
        goto done;
    }
    if (have && state == WN_HIDDEN) {
        rc = -ENOENT;
    } else if (w->cls == WNAME_APP_META || w->cls == WNAME_COLL_META) {
        rc = unlink_meta(x, w);
        goto done;
    } else if (have && !on_server) {
        /* Local, or new and never sent: nothing on the server (but a backup's origin). */
        if (origin)
            rc = wr_drop_origin(x, origin);
    } else if (w->cls == WNAME_VERSION) {
        rc = -EPERM;
    } else if (w->cls == WNAME_RECORD || w->cls == WNAME_ITEM) {
        /* async uploads: a record's delete goes to the journal */
        rc = jr_takes(w) ? jr_delete(w) : up_delete(x, w);
    } else {
        rc = -ENOENT;
    }
    if (rc == -ENOENT && maybe)
        rc = 0; /* its create had not been carried out after all */
    if (rc == 0) {
        wn_lock();
        wn_detach_at(path); /* open handles keep it, detached (saved versions' too) */
        wn_unlock();
        wf_forget(path);
    }
done:
    wl_unlock(&lk);
out:
    free(origin);
    free(w);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Directories                                                                */
/* ------------------------------------------------------------------------- */

int wr_mkdir(const char *path, mode_t mode)
{
    fs_ctx *x = ops_ctx();
    layout_path *p;
    wnode *n;
    int rc;
    (void)mode;

    if (x->ro)
        return -EROFS;
    wn_lock();
    n = wn_find(path);
    rc = n && n->state != WN_HIDDEN ? -EEXIST : 0;
    wn_unlock();
    if (rc)
        return rc;
    p = malloc(sizeof *p);
    if (!p)
        return -ENOMEM;
    rc = layout_parse(path, p);
    if (rc == 0 && p->kind != LAYOUT_APP && p->kind != LAYOUT_COLLECTION)
        rc = layout_is_dir(p->kind) ? -EEXIST : -EPERM;
    else if (rc == -ENOENT)
        rc = -EPERM; /* no directory can be made there (records are files) */
    if (rc == 0) {
        wl_held lk;
        wl_lock_excl(&lk); /* a directory: ordered with every change */
        rc = up_mkdir(x, p);
        wl_unlock(&lk);
    }
    free(p);
    return rc;
}

int wr_rmdir(const char *path)
{
    fs_ctx *x = ops_ctx();
    layout_path *p;
    counting local = {0};
    int rc;

    if (x->ro)
        return -EROFS;
    p = malloc(sizeof *p);
    if (!p)
        return -ENOMEM;
    rc = layout_parse(path, p);
    if (rc == 0 && !layout_is_dir(p->kind))
        rc = -ENOTDIR;
    if (rc == 0) {
        wn_lock();
        wn_each_in(path, count_live, &local);
        wn_unlock();
        if (local.n)
            rc = -ENOTEMPTY;
    }
    if (rc == 0) {
        wl_held lk;
        wl_lock_excl(&lk); /* a directory: no change below it runs meanwhile */
        /* async uploads: what is pending below goes first; failed creates stay files */
        rc = jr_wait_under(path) ? -ENOTEMPTY : up_rmdir(x, p);
        wl_unlock(&lk);
    }
    if (rc == 0) {
        wn_lock();
        wn_drop_under(path); /* a hidden metadata file, say */
        wn_unlock();
        wf_forget(path);
    }
    free(p);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Symbolic links                                                             */
/* ------------------------------------------------------------------------- */

int wr_symlink(const char *target, const char *path)
{
    fs_ctx *x = ops_ctx();
    wpath *w;
    wnode *n;
    cache_attr attr;
    int rc;

    if (x->ro)
        return -EROFS;
    w = malloc(sizeof *w);
    if (!w)
        return -ENOMEM;
    rc = wpath_parse(path, w);
    if (rc == 0 && w->cls != WNAME_LOCAL)
        rc = -EPERM; /* records, resources and metadata are JSON files */
    if (rc == 0 && w->dir.kind == LAYOUT_APP && w->name[0] != '.' && w->self_rc == 0 &&
        up_exists(x, w, &attr) == 0)
        rc = -EEXIST; /* a collection */
    if (rc == 0) {
        wn_lock();
        n = wn_find(path);
        if (n && n->state != WN_HIDDEN) {
            rc = -EEXIST;
        } else {
            wn_detach(n);
            n = wn_add(path, WN_LOCAL);
            if (!n) {
                rc = -ENOMEM;
            } else {
                n->is_link = true;
                n->loaded = true;
                n->mode = 0777;
                rc = wbuf_set(&n->buf, target, strlen(target));
            }
        }
        wn_unlock();
    }
    free(w);
    return rc;
}

int wr_readlink(const char *path, char *buf, size_t size)
{
    wnode *n;
    int rc = -ENOENT;

    if (size == 0)
        return -EINVAL;
    wn_lock();
    n = wn_find(path);
    if (n && n->state != WN_HIDDEN) {
        rc = -EINVAL;
        if (n->is_link) {
            size_t len = n->buf.len < size - 1 ? n->buf.len : size - 1;
            memcpy(buf, n->buf.data ? n->buf.data : "", len);
            buf[len] = '\0';
            rc = 0;
        }
    }
    wn_unlock();
    return rc;
}
