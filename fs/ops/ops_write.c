/* ops_write.c: open files as buffers: create, open for writing, read, write, truncate,
 * flush/fsync (the one save: ops_save.c), release, and the attributes of what is being
 * written. */
#include "ops_write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "cache_write.h"
#include "errlog.h"
#include "log.h"
#include "lowlevel.h"
#include "names.h"
#include "upload.h"
#include "uploader.h"
#include "wnode.h"

/* One open file of the write side. fi->fh holds its address with bit 0 set, which the read
 * side's handles (malloc'ed, so aligned) never have; the magic tells it from other tagged
 * handles (the control directory's). */
#define WH_MAGIC 0x57524954u /* "WRIT" */

typedef struct whandle {
    uint32_t magic;
    wnode *n;
    int flags;
    /* A handle that only reads a server file being written: the version it was opened on
     * (wn_shown; NULL: empty), not the writers' buffer. */
    bool snapshot;
    lru_item *snap;
    struct timespec snap_mtime;
} whandle;

static whandle *handle_of(const struct fuse_file_info *fi)
{
    whandle *h;
    if (!fi || !(fi->fh & 1u))
        return NULL;
    h = (whandle *)(uintptr_t)(fi->fh & ~(uint64_t)1u);
    return h->magic == WH_MAGIC ? h : NULL;
}

static void now_ts(struct timespec *ts)
{
    clock_gettime(CLOCK_REALTIME, ts);
}

static void fill_stat(fs_ctx *x, const cache_attr *a, const struct timespec *mtime,
                      struct stat *st)
{
    ops_stat(x, a, st);
    if ((a->mode & S_IFMT) == S_IFLNK)
        st->st_mode = S_IFLNK | 0777;
    if (mtime) {
        st->st_mtim = *mtime;
        st->st_ctim = *mtime;
        st->st_atim = *mtime;
    }
}

/* Marks a node changed by a write of the user's. */
static void touched(wnode *n)
{
    n->gen++;
    n->failed = false;
    now_ts(&n->mtime);
    n->time_set = false;
}

/* ------------------------------------------------------------------------- */
/* Hooks of the read side                                                     */
/* ------------------------------------------------------------------------- */

int wr_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    fs_ctx *x = ops_ctx();
    whandle *h = handle_of(fi);
    cache_attr a;
    struct timespec mt;
    wnode *n;
    int rc = 1;

    if (h) {
        wn_lock();
        wn_attr(h->n, &a, &mt);
        wn_unlock();
        if (h->snapshot) {
            a.size = h->snap ? h->snap->len : 0;
            a.mtime = h->snap_mtime.tv_sec;
            mt = h->snap_mtime;
        }
        fill_stat(x, &a, &mt, st);
        return 0;
    }
    if ((fi && fi->fh) || !path)
        return 1;
    if (wn_count() > 0) {
        wn_lock();
        n = wn_find(path);
        if (n && n->state == WN_HIDDEN) {
            rc = -ENOENT;
        } else if (n) {
            wn_name_attr(n, &a, &mt); /* a rewrite shows once saved */
            rc = 0;
        }
        wn_unlock();
    }
    if (rc == 1) {
        int j = jr_lookup(path, &a, &mt, NULL); /* async uploads: a pending change */
        if (j)
            rc = j < 0 ? -ENOENT : 0;
    }
    if (rc == 0)
        fill_stat(x, &a, &mt, st);
    return rc;
}

void wr_fix_stat(const char *path, const cache_attr *attr, struct stat *st)
{
    cache_attr a = *attr;
    struct timespec mt;

    if (!path)
        return;
    wf_apply(path, &a, &mt);
    st->st_mtim = mt;
    st->st_ctim = mt;
    st->st_atim = mt;
}

void wr_keep_time(fs_ctx *x, const char *path, const struct timespec *t, const cache_attr *now)
{
    layout_path *p;

    if (jr_set_time(path, t) == 0)
        return; /* a pending upload: kept on the server's file after it */
    p = malloc(sizeof *p);
    if (p && layout_parse(path, p) == 0 && p->kind == LAYOUT_RECORD) {
        if (cache_record_set_time(x->cache, p, t, NULL) != 0)
            log_debug("%s: the time set is not kept (the record is not known)", path);
    } else {
        wf_set_time(path, t, now);
    }
    free(p);
}

/* A handle on node n (which gets the hold), O_TRUNC applied. Under wn_lock. */
static int attach(wnode *n, struct fuse_file_info *fi)
{
    whandle *h = calloc(1, sizeof *h);
    int acc = fi->flags & O_ACCMODE;

    if (!h)
        return -ENOMEM;
    if ((fi->flags & O_TRUNC) && acc != O_RDONLY) {
        const char *data;
        if (wn_content(n, &data) != 0) {
            int rc = wn_materialize(n);
            if (rc == 0)
                rc = wbuf_truncate(&n->buf, 0);
            if (rc) {
                free(h);
                return rc;
            }
            touched(n);
        }
    }
    if (acc == O_RDONLY && !(fi->flags & O_TRUNC) && n->state == WN_OPEN) {
        /* Only reading a server file: the last saved version, whatever the writers do. */
        h->snapshot = true;
        h->snap = wn_shown(n, &h->snap_mtime);
    }
    n->opens++;
    h->magic = WH_MAGIC;
    h->n = n;
    h->flags = fi->flags;
    fi->fh = (uint64_t)(uintptr_t)h | 1u;
    /* The content changes under the kernel (saves show the server's answer), and the
     * kernel's size of the file is the writers' (snapshots are read around it): no page
     * cache for these. */
    fi->direct_io = 1;
    fi->keep_cache = 0;
    return 0;
}

/* Opens the server file of w (fetching its content), or joins its node. */
static int open_server(fs_ctx *x, const wpath *w, struct fuse_file_info *fi)
{
    lru_item *content = NULL;
    cache_attr attr;
    struct timespec mt;
    wnode *n;
    int rc;

    if (w->cls == WNAME_VERSION)
        return -EACCES;
    rc = up_content(x, w, &content, &attr);
    if (rc)
        return rc;
    wf_apply(w->path, &attr, &mt);
    wn_lock();
    n = wn_find(w->path);
    if (n && n->state == WN_HIDDEN) {
        rc = -ENOENT;
    } else if (!n) {
        n = wn_add(w->path, WN_OPEN);
        if (!n) {
            rc = -ENOMEM;
        } else {
            n->base = content;
            content = NULL;
            n->mtime = mt;
        }
    }
    if (rc == 0)
        rc = attach(n, fi);
    if (rc && n && n->state == WN_OPEN && n->opens == 0)
        wn_unlist(n);
    wn_unlock();
    lru_item_unref(content);
    return rc;
}

int wr_open(const char *path, struct fuse_file_info *fi)
{
    fs_ctx *x = ops_ctx();
    int acc = fi->flags & O_ACCMODE;
    bool writing = acc != O_RDONLY || (fi->flags & O_TRUNC);
    bool pending; /* async uploads: the journal's content, served as an open file's */
    wpath *w;
    wnode *n;
    int rc;

    if (!path)
        return 1;
    if (writing)
        wf_mark_written(path); /* before the kernel cuts its size (O_TRUNC) */
    pending = !writing && jr_pending(path);
    if (!writing && !pending && wn_count() == 0)
        return 1;
    wn_lock();
    n = wn_find(path);
    if (n && n->state == WN_HIDDEN) {
        wn_unlock();
        return -ENOENT;
    }
    if (n) {
        if (writing && x->ro) {
            wn_unlock();
            return -EROFS;
        }
        rc = attach(n, fi);
        wn_unlock();
        return rc;
    }
    wn_unlock();
    if (!writing && !pending)
        return 1;
    w = malloc(sizeof *w);
    if (!w)
        return -ENOMEM;
    rc = wpath_parse(path, w);
    if (rc == 0 && wname_is_server(w->cls)) {
        if (x->ro)
            rc = w->cls == WNAME_VERSION ? -EACCES : -EROFS;
        else
            rc = open_server(x, w, fi);
    } else {
        rc = 1; /* the read side tells why it cannot be opened */
    }
    free(w);
    return rc;
}

bool wr_is_handle(const struct fuse_file_info *fi)
{
    return handle_of(fi) != NULL;
}

int wr_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    whandle *h = handle_of(fi);
    const char *data;
    size_t len;
    (void)path;

    if (!h)
        return -EBADF;
    if (off < 0)
        return -EINVAL;
    wn_lock();
    if (h->snapshot) {
        data = h->snap ? h->snap->data : "";
        len = h->snap ? h->snap->len : 0;
    } else {
        len = wn_content(h->n, &data);
    }
    if ((uint64_t)off >= len) {
        size = 0;
    } else {
        if (size > len - (size_t)off)
            size = len - (size_t)off;
        if (size > INT32_MAX)
            size = INT32_MAX;
        memcpy(buf, data + off, size);
    }
    wn_unlock();
    return (int)size;
}

int wr_release(const char *path, struct fuse_file_info *fi)
{
    whandle *h = handle_of(fi);
    (void)path;

    if (!h)
        return 1;
    wn_lock();
    wn_release(h->n);
    wn_unlock();
    lru_item_unref(h->snap);
    h->magic = 0;
    free(h);
    fi->fh = 0;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Saving                                                                     */
/* ------------------------------------------------------------------------- */

void wr_destroy(void)
{
    wn_lock();
    wn_free_all();
    wn_unlock();
    wf_forget("");
}

void wr_inval(const char *path)
{
    /* Called in the operation's thread: the kernel handles the notice at once, so the
     * next stat or read after close(2) returns sees the server's file. */
    if (path)
        ll_invalidate_path(path);
}

/* ------------------------------------------------------------------------- */
/* Operations                                                                 */
/* ------------------------------------------------------------------------- */

/* Whether a server-class name can be made: the name must decode to a key. */
static int name_ok(const wpath *w)
{
    char *key = NULL;
    names_result nr;

    if (w->cls != WNAME_RECORD && w->cls != WNAME_ITEM)
        return 0;
    nr = names_decode(w->name, LAYOUT_SUFFIX, &key);
    free(key);
    if (nr != NAMES_OK) {
        log_warning("%s: no %s has this file name (names with %% must be as the mount "
                    "writes them, and not shortened)", w->path + 1,
                    w->cls == WNAME_RECORD ? "record _id" : "key");
        return -EINVAL;
    }
    return 0;
}

int wr_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    fs_ctx *x = ops_ctx();
    wpath *w;
    wnode *n;
    cache_attr attr;
    wl_held lk;
    int rc;

    if (x->ro)
        return -EROFS;
    wf_mark_written(path);
    w = malloc(sizeof *w);
    if (!w)
        return -ENOMEM;
    rc = wpath_parse(path, w);
    if (rc)
        goto out;
    log_debug("create %s (%s)", path, w->cls == WNAME_LOCAL ? "local" : "server name");
    if (w->cls == WNAME_NONE) {
        rc = -EPERM;
        goto out;
    }
    if (w->cls == WNAME_VERSION) {
        rc = -EACCES;
        goto out;
    }
    rc = wr_lock_names(&lk, path, NULL, false);
    if (rc)
        goto out;
    wn_lock();
    n = wn_find(path);
    if (n && n->state != WN_HIDDEN) {
        rc = (fi->flags & O_EXCL) ? -EEXIST : attach(n, fi);
        wn_unlock();
        goto unlock;
    }
    if (n) {
        /* Made again where a server file was moved away (an editor's save after its
         * backup): a new file whose first save updates the server's. */
        n->state = WN_NEW;
        n->server_exists = true;
        n->loaded = true;
        wbuf_set(&n->buf, "", 0);
        n->mode = mode & 07777;
        touched(n);
        n->synced = n->gen;
        rc = attach(n, fi);
        wn_unlock();
        goto unlock;
    }
    wn_unlock();
    if (w->cls == WNAME_APP_META || w->cls == WNAME_COLL_META) {
        rc = (fi->flags & O_EXCL) ? -EEXIST : open_server(x, w, fi);
        goto unlock;
    }
    if (w->cls != WNAME_LOCAL) {
        rc = name_ok(w);
        if (rc)
            goto unlock;
        rc = up_exists(x, w, &attr);
        if (rc == 0) {
            rc = (fi->flags & O_EXCL) ? -EEXIST : open_server(x, w, fi);
            goto unlock;
        }
        if (rc != -ENOENT)
            goto unlock;
    } else if (w->dir.kind == LAYOUT_APP && w->name[0] != '.' && w->self_rc == 0 &&
               up_exists(x, w, &attr) == 0) {
        rc = -EISDIR; /* a collection has this name */
        goto unlock;
    }
    wn_lock();
    n = wn_find(path);
    if (n && n->state != WN_HIDDEN) {
        rc = (fi->flags & O_EXCL) ? -EEXIST : attach(n, fi);
    } else {
        if (!n)
            n = wn_add(path, w->cls == WNAME_LOCAL ? WN_LOCAL : WN_NEW);
        if (!n) {
            rc = -ENOMEM;
        } else {
            n->server_exists = n->state == WN_HIDDEN;
            n->state = w->cls == WNAME_LOCAL ? WN_LOCAL : WN_NEW;
            n->loaded = true;
            wbuf_set(&n->buf, "", 0);
            n->mode = mode & 07777;
            touched(n);
            n->synced = n->gen;
            rc = attach(n, fi);
        }
    }
    wn_unlock();
unlock:
    wl_unlock(&lk);
out:
    free(w);
    return rc;
}

int wr_write(const char *path, const char *buf, size_t size, off_t off,
             struct fuse_file_info *fi)
{
    whandle *h = handle_of(fi);
    wnode *n;
    int rc;
    (void)path;

    if (!h)
        return -EBADF;
    if (size > INT32_MAX)
        size = INT32_MAX;
    wn_lock();
    n = h->n;
    if (h->flags & O_APPEND) {
        const char *data;
        off = (off_t)wn_content(n, &data);
    }
    rc = wn_materialize(n);
    if (rc == 0)
        rc = wbuf_write(&n->buf, buf, size, off);
    if (rc == 0)
        touched(n);
    wn_unlock();
    return rc ? rc : (int)size;
}

/* A truncate without a handle of a server file nobody has open: open, cut, close. */
static int truncate_closed(fs_ctx *x, const char *path, off_t size)
{
    struct fuse_file_info fi;
    whandle *h;
    wpath *w = malloc(sizeof *w);
    int rc;

    if (!w)
        return -ENOMEM;
    rc = wpath_parse(path, w);
    if (rc == 0 && !wname_is_server(w->cls))
        rc = -ENOENT;
    memset(&fi, 0, sizeof fi);
    fi.flags = O_WRONLY;
    if (rc == 0)
        rc = open_server(x, w, &fi);
    free(w);
    if (rc)
        return rc;
    h = handle_of(&fi);
    rc = wr_truncate(path, size, &fi);
    if (rc == 0)
        rc = wr_save(x, h->n);
    wr_release(path, &fi);
    return rc;
}

int wr_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    fs_ctx *x = ops_ctx();
    whandle *h = handle_of(fi);
    wnode *n;
    bool save = false;
    int rc = 0;

    if (!h && fi && fi->fh)
        return -EBADF; /* a read-only handle of the read side */
    if (x->ro)
        return -EROFS;
    wn_lock();
    n = h ? h->n : wn_find(path);
    if (n && n->state == WN_HIDDEN) {
        wn_unlock();
        return -ENOENT;
    }
    wf_mark_written(n ? n->path : path);
    if (!n) {
        wn_unlock();
        return path ? truncate_closed(x, path, size) : -EBADF;
    }
    {
        const char *data;
        if ((off_t)wn_content(n, &data) != size) {
            rc = wn_materialize(n);
            if (rc == 0)
                rc = wbuf_truncate(&n->buf, size);
            if (rc == 0)
                touched(n);
        }
    }
    /* Without a handle this is a whole change of its own: saved now (a new file's buffer
     * stays here whatever the outcome). */
    save = rc == 0 && !h && n->state != WN_LOCAL;
    if (save)
        n->opens++;
    wn_unlock();
    if (save) {
        rc = wr_save(x, n);
        wn_lock();
        wn_release(n);
        wn_unlock();
    }
    return rc;
}

int wr_flush(const char *path, struct fuse_file_info *fi)
{
    whandle *h = handle_of(fi);
    (void)path;
    if (!h)
        return 0;
    if ((h->flags & O_ACCMODE) == O_RDONLY && !(h->flags & O_TRUNC)) {
        /* Read-only handles send nothing, but a buffer they share is saved by its own. */
        return 0;
    }
    return wr_save(ops_ctx(), h->n);
}

int wr_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    int rc;
    (void)datasync;
    rc = wr_flush(path, fi);
    if (rc == 0 && jr_on() && handle_of(fi)) /* async uploads: waits for the upload */
        rc = jr_wait(path);
    return rc;
}

int wr_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    whandle *h = handle_of(fi);
    wnode *n;

    if (ops_ctx()->ro)
        return -EROFS;
    wn_lock();
    n = h ? h->n : wn_find(path);
    if (n && n->state == WN_HIDDEN) {
        wn_unlock();
        return -ENOENT;
    }
    /* Local and new files keep their mode; server files always show 0644. */
    if (n && (n->state == WN_LOCAL || n->state == WN_NEW))
        n->mode = mode & 07777;
    wn_unlock();
    return 0;
}

int wr_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    (void)path;
    (void)uid;
    (void)gid;
    (void)fi;
    return ops_ctx()->ro ? -EROFS : 0;
}

int wr_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    fs_ctx *x = ops_ctx();
    whandle *h = handle_of(fi);
    struct timespec t;
    layout_path *p = NULL;
    char *own = NULL;
    cache_attr attr;
    cf_error err;
    wnode *n;
    int rc;

    if (x->ro)
        return -EROFS;
    if (tv && tv[1].tv_nsec == UTIME_OMIT)
        return 0;
    if (!tv || tv[1].tv_nsec == UTIME_NOW)
        now_ts(&t);
    else
        t = tv[1];
    wn_lock();
    n = h ? h->n : wn_find(path);
    if (n && n->state == WN_HIDDEN) {
        wn_unlock();
        return -ENOENT;
    }
    if (n) {
        n->mtime = t;
        n->time_set = true;
        /* An open server file with nothing to save: the time goes to the file now (else
         * the save takes it along). */
        if (n->state == WN_OPEN && !wn_dirty(n) && !n->gone)
            own = strdup(n->path);
        wn_unlock();
        if (!own)
            return 0;
        path = own;
    } else {
        wn_unlock();
    }
    if (!path)
        return -EBADF;
    if ((rc = jr_set_time(path, &t)) != 1) { /* a pending upload's time */
        free(own);
        return rc;
    }
    cf_error_clear(&err);
    p = malloc(sizeof *p);
    rc = p ? layout_parse(path, p) : -ENOMEM;
    if (rc == 0)
        rc = cache_getattr(x->cache, p, &attr, &err);
    if (rc == 0)
        wr_keep_time(x, path, &t, &attr);
    else
        errlog_report("utimens", path, rc, &err);
    free(p);
    free(own);
    return rc;
}
