/* lowlevel.c: the low-level FUSE operations over the path-based tables (lowlevel.h). */
#include "lowlevel.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "inodes.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1u << 1) /* renameat2(2) */
#endif

/* What readdir gives for an entry whose number it does not say. */
#define UNKNOWN_INO 0xffffffffu

static struct {
    struct fuse_operations ops;
    struct fuse_config cfg;
    ll_attr_timeout_fn *attr_timeout;
    ino_table *inodes;
    struct fuse_session *se;
    void *userdata;
} L;

/* Requests by kind (relaxed atomics: counts, not orderings). */
static stats_kernel counts;
#define COUNT(field) __atomic_add_fetch(&counts.field, 1, __ATOMIC_RELAXED)

void ll_get_counts(stats_kernel *out)
{
    memset(out, 0, sizeof *out);
#define GET(field) out->field = __atomic_load_n(&counts.field, __ATOMIC_RELAXED)
    GET(lookup);
    GET(forget);
    GET(getattr);
    GET(setattr);
    GET(open);
    GET(read);
    GET(write);
    GET(flush);
    GET(release);
    GET(opendir);
    GET(readdir);
    GET(readdirplus);
    GET(create);
    GET(other);
#undef GET
    out->nodes = L.inodes ? ino_count(L.inodes) : 0;
}

void *ll_userdata(void)
{
    return L.userdata;
}

struct fuse_session *ll_session(void)
{
    return L.se;
}

static double attr_timeout_of(const char *path, const struct stat *st)
{
    return L.attr_timeout ? L.attr_timeout(path, st, L.cfg.attr_timeout) : L.cfg.attr_timeout;
}

/* An operation's hold on its node (inodes.h: ino_hold), with the node's path. */
typedef struct held {
    fuse_ino_t ino;
    bool on;
    char buf[PATH_MAX];
} held;

/* The path of ino, the node held; for a handle's operation, NULL when the file has no
 * name now (unlinked or replaced). unhold(h) after, whatever the result. */
static int hold(fuse_ino_t ino, held *h, const char **path, bool handle)
{
    int rc = ino_hold(L.inodes, ino, h->buf, sizeof h->buf, &h->on);
    h->ino = ino;
    *path = rc ? NULL : h->buf;
    return rc == -ESTALE && handle ? 0 : rc;
}

static void unhold(held *h)
{
    if (h->on)
        ino_unhold(L.inodes, h->ino);
    h->on = false;
}

static void reply_err(fuse_req_t req, int rc)
{
    fuse_reply_err(req, rc < 0 ? -rc : rc ? rc : EIO);
}

/* The entry of name under parent, once the table made or found it at path: getattr, the
 * node (one more reference) and the timeouts. */
static int entry_of(fuse_ino_t parent, const char *name, const char *path,
                    struct fuse_file_info *fi, struct fuse_entry_param *e)
{
    int rc;

    memset(e, 0, sizeof *e);
    rc = L.ops.getattr(path, &e->attr, fi);
    if (rc)
        return rc;
    e->ino = ino_remember(L.inodes, parent, name, 1);
    if (!e->ino)
        return -ENOMEM;
    ino_set_size(L.inodes, e->ino, (uint64_t)e->attr.st_size, false);
    e->attr.st_ino = e->ino;
    e->entry_timeout = L.cfg.entry_timeout;
    e->attr_timeout = attr_timeout_of(path, &e->attr);
    return 0;
}

static void reply_entry(fuse_req_t req, const struct fuse_entry_param *e)
{
    /* An interrupted request: the kernel took no reference. */
    if (fuse_reply_entry(req, e) != 0 && e->ino)
        ino_forget(L.inodes, e->ino, 1);
}

static void ll_init(void *userdata, struct fuse_conn_info *conn)
{
    (void)userdata;
    memset(&L.cfg, 0, sizeof L.cfg);
    L.cfg.entry_timeout = 1.0;
    L.cfg.attr_timeout = 1.0;
    L.cfg.hard_remove = 1;
    if (L.ops.init)
        L.userdata = L.ops.init(conn, &L.cfg);
}

static void ll_destroy(void *userdata)
{
    (void)userdata;
    if (L.ops.destroy)
        L.ops.destroy(L.userdata);
}

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    char buf[PATH_MAX];
    struct fuse_entry_param e;
    int rc = ino_child_path(L.inodes, parent, name, buf, sizeof buf);
    COUNT(lookup);

    if (rc == 0)
        rc = entry_of(parent, name, buf, NULL, &e);
    if (rc == -ENOENT && L.cfg.negative_timeout > 0) {
        /* A negative entry: the kernel answers the name's next lookups itself. */
        memset(&e, 0, sizeof e);
        e.entry_timeout = L.cfg.negative_timeout;
        rc = 0;
    }
    if (rc)
        reply_err(req, rc);
    else
        reply_entry(req, &e);
}

static void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    COUNT(forget);
    ino_forget(L.inodes, ino, nlookup);
    fuse_reply_none(req);
}

static void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    COUNT(forget);
    for (size_t i = 0; i < count; i++)
        ino_forget(L.inodes, forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
}

/* The attributes of a file with no name any more, through one of its open handles (the
 * kernel asks for them by number, without the handle, for fstat). */
static int getattr_unnamed(fuse_ino_t ino, struct stat *st)
{
    struct fuse_file_info fi;

    memset(&fi, 0, sizeof fi);
    if (!ino_open_handle(L.inodes, ino, &fi.fh))
        return -ESTALE;
    return L.ops.getattr(NULL, st, &fi);
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    held h;
    const char *path;
    struct stat st;
    int rc = hold(ino, &h, &path, fi != NULL);
    COUNT(getattr);

    memset(&st, 0, sizeof st);
    if (rc == 0)
        rc = L.ops.getattr(path, &st, fi);
    else if (rc == -ESTALE && h.on)
        rc = getattr_unnamed(ino, &st);
    if (rc == 0) {
        st.st_ino = ino;
        ino_set_size(L.inodes, ino, (uint64_t)st.st_size, false);
        fuse_reply_attr(req, &st, attr_timeout_of(path, &st));
    } else {
        reply_err(req, rc);
    }
    unhold(&h);
}

/* setattr as the high-level library did it: chmod, chown, truncate, utimens, getattr. */
static int setattr_steps(const char *path, const struct stat *attr, int valid,
                         struct fuse_file_info *fi, struct stat *st)
{
    int rc = 0;

    if (valid & FUSE_SET_ATTR_MODE)
        rc = L.ops.chmod ? L.ops.chmod(path, attr->st_mode, fi) : -ENOSYS;
    if (rc == 0 && (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
        rc = L.ops.chown ? L.ops.chown(path, (valid & FUSE_SET_ATTR_UID) ? attr->st_uid
                                                                         : (uid_t)-1,
                                       (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1,
                                       fi)
                         : -ENOSYS;
    if (rc == 0 && (valid & FUSE_SET_ATTR_SIZE))
        rc = L.ops.truncate ? L.ops.truncate(path, attr->st_size, fi) : -ENOSYS;
    if (rc == 0 && (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))) {
        struct timespec tv[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
        if (valid & FUSE_SET_ATTR_ATIME_NOW)
            tv[0].tv_nsec = UTIME_NOW;
        else if (valid & FUSE_SET_ATTR_ATIME)
            tv[0] = attr->st_atim;
        if (valid & FUSE_SET_ATTR_MTIME_NOW)
            tv[1].tv_nsec = UTIME_NOW;
        else if (valid & FUSE_SET_ATTR_MTIME)
            tv[1] = attr->st_mtim;
        rc = L.ops.utimens ? L.ops.utimens(path, tv, fi) : -ENOSYS;
    }
    memset(st, 0, sizeof *st);
    return rc ? rc : L.ops.getattr(path, st, fi);
}

static void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
                       struct fuse_file_info *fi)
{
    held h;
    const char *path;
    struct stat st;
    int rc = hold(ino, &h, &path, fi != NULL);
    COUNT(setattr);

    if (rc == 0)
        rc = setattr_steps(path, attr, valid, fi, &st);
    if (rc == 0) {
        st.st_ino = ino;
        ino_set_size(L.inodes, ino, (uint64_t)st.st_size, false);
        fuse_reply_attr(req, &st, attr_timeout_of(path, &st));
    } else {
        reply_err(req, rc);
    }
    unhold(&h);
}

static void ll_readlink(fuse_req_t req, fuse_ino_t ino)
{
    held h;
    char link[PATH_MAX + 1];
    const char *path;
    int rc = hold(ino, &h, &path, false);
    COUNT(other);

    if (rc == 0)
        rc = L.ops.readlink ? L.ops.readlink(path, link, sizeof link) : -ENOSYS;
    link[PATH_MAX] = '\0';
    if (rc == 0)
        fuse_reply_readlink(req, link);
    else
        reply_err(req, rc);
    unhold(&h);
}

/* mkdir, symlink, link and mknod: the change, then the new name's entry. */
static void reply_made(fuse_req_t req, fuse_ino_t parent, const char *name, const char *path,
                       int rc)
{
    struct fuse_entry_param e;

    if (rc == 0)
        rc = entry_of(parent, name, path, NULL, &e);
    if (rc)
        reply_err(req, rc);
    else
        reply_entry(req, &e);
}

static void ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                     dev_t rdev)
{
    char buf[PATH_MAX];
    int rc = ino_child_path(L.inodes, parent, name, buf, sizeof buf);
    COUNT(other);

    if (rc == 0) {
        rc = -ENOSYS;
        if (S_ISREG(mode) && L.ops.create) {
            struct fuse_file_info fi;
            memset(&fi, 0, sizeof fi);
            fi.flags = O_CREAT | O_EXCL | O_WRONLY;
            rc = L.ops.create(buf, mode, &fi);
            if (rc == 0 && L.ops.release)
                L.ops.release(buf, &fi);
        }
        if (rc == -ENOSYS && L.ops.mknod)
            rc = L.ops.mknod(buf, mode, rdev);
    }
    reply_made(req, parent, name, buf, rc);
}

static void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    char buf[PATH_MAX];
    int rc = ino_child_path(L.inodes, parent, name, buf, sizeof buf);
    COUNT(other);

    if (rc == 0)
        rc = L.ops.mkdir ? L.ops.mkdir(buf, mode) : -ENOSYS;
    reply_made(req, parent, name, buf, rc);
}

static void ll_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
    char buf[PATH_MAX];
    int rc = ino_child_path(L.inodes, parent, name, buf, sizeof buf);
    COUNT(other);

    if (rc == 0)
        rc = L.ops.symlink ? L.ops.symlink(link, buf) : -ENOSYS;
    reply_made(req, parent, name, buf, rc);
}

static void ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
    held h;
    char to[PATH_MAX];
    const char *path;
    int rc = hold(ino, &h, &path, false);
    COUNT(other);

    if (rc == 0)
        rc = ino_child_path(L.inodes, newparent, newname, to, sizeof to);
    if (rc == 0)
        rc = L.ops.link ? L.ops.link(path, to) : -ENOSYS;
    unhold(&h);
    reply_made(req, newparent, newname, to, rc);
}

/* unlink and rmdir: the change, then the name no longer leads to its node. */
static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name,
                        int (*op)(const char *))
{
    char buf[PATH_MAX];
    int rc = ino_child_path(L.inodes, parent, name, buf, sizeof buf);
    COUNT(other);

    if (rc == 0)
        rc = op ? op(buf) : -ENOSYS;
    if (rc == 0)
        ino_detach(L.inodes, parent, name);
    fuse_reply_err(req, -rc);
}

static void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    remove_name(req, parent, name, L.ops.unlink);
}

static void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    remove_name(req, parent, name, L.ops.rmdir);
}

static void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
    char from[PATH_MAX], to[PATH_MAX];
    uint64_t held2[2];
    int rc;
    COUNT(other);

    ino_rename_begin(L.inodes, parent, name, newparent, newname, held2);
    rc = ino_child_path(L.inodes, parent, name, from, sizeof from);
    if (rc == 0)
        rc = ino_child_path(L.inodes, newparent, newname, to, sizeof to);
    if (rc == 0)
        rc = L.ops.rename ? L.ops.rename(from, to, flags) : -ENOSYS;
    if (rc == 0 && (flags & RENAME_EXCHANGE)) {
        /* Both names stay; each leads to the other's node: forgotten, looked up again. */
        ino_detach(L.inodes, parent, name);
        ino_detach(L.inodes, newparent, newname);
    } else if (rc == 0 && ino_move(L.inodes, parent, name, newparent, newname) != 0) {
        ino_detach(L.inodes, parent, name); /* no memory to move it: looked up again */
        ino_detach(L.inodes, newparent, newname);
    }
    ino_rename_end(L.inodes, held2);
    fuse_reply_err(req, -rc);
}

/* The node an open of this thread is for (ll_open_node), 0 outside. */
static __thread fuse_ino_t opening;

bool ll_open_node(uint64_t *ino, uint64_t *ksize)
{
    if (!opening || !L.inodes)
        return false;
    *ino = opening;
    *ksize = ino_size(L.inodes, opening);
    return true;
}

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    held h;
    const char *path;
    int rc = hold(ino, &h, &path, false);
    COUNT(open);

    opening = ino;
    if (rc == 0)
        rc = L.ops.open ? L.ops.open(path, fi) : 0;
    opening = 0;
    if (rc) {
        reply_err(req, rc);
    } else {
        ino_opened(L.inodes, ino, fi->fh);
        if (fuse_reply_open(req, fi) != 0) {
            /* Interrupted: the kernel holds no handle. */
            ino_closed(L.inodes, ino, fi->fh);
            if (L.ops.release)
                L.ops.release(path, fi);
        }
    }
    unhold(&h);
}

static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    held h;
    const char *path;
    char *data = NULL;
    int rc = hold(ino, &h, &path, true);
    COUNT(read);

    if (rc == 0 && !L.ops.read)
        rc = -ENOSYS;
    if (rc == 0 && !(data = malloc(size ? size : 1)))
        rc = -ENOMEM;
    if (rc == 0)
        rc = L.ops.read(path, data, size, off, fi);
    unhold(&h);
    if (rc >= 0)
        fuse_reply_buf(req, data, (size_t)rc);
    else
        reply_err(req, rc);
    free(data);
}

static void ll_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    held h;
    const char *path;
    int rc = hold(ino, &h, &path, true);
    COUNT(write);

    if (rc == 0)
        rc = L.ops.write ? L.ops.write(path, data, size, off, fi) : -ENOSYS;
    if (rc > 0) /* the kernel grows the file's size itself */
        ino_set_size(L.inodes, ino, (uint64_t)off + (uint64_t)rc, true);
    unhold(&h);
    if (rc >= 0)
        fuse_reply_write(req, (size_t)rc);
    else
        reply_err(req, rc);
}

static void ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    held h;
    const char *path;
    int rc = hold(ino, &h, &path, true);
    COUNT(flush);

    if (rc == 0)
        rc = L.ops.flush ? L.ops.flush(path, fi) : -ENOSYS;
    unhold(&h);
    fuse_reply_err(req, -rc);
}

static void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    held h;
    const char *path;
    int rc = hold(ino, &h, &path, true);
    COUNT(release);

    if (rc == 0 && fi->flush && L.ops.flush)
        L.ops.flush(path, fi); /* its error has no one to go to: release answers 0 */
    ino_closed(L.inodes, ino, fi->fh);
    if (L.ops.release)
        L.ops.release(path, fi);
    unhold(&h);
    fuse_reply_err(req, 0);
}

static void ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
    held h;
    const char *path;
    int rc = hold(ino, &h, &path, true);
    COUNT(other);

    if (rc == 0)
        rc = L.ops.fsync ? L.ops.fsync(path, datasync, fi) : -ENOSYS;
    unhold(&h);
    fuse_reply_err(req, -rc);
}

static void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    held h;
    const char *path;
    int rc = hold(ino, &h, &path, false);
    COUNT(opendir);

    if (rc == 0 && L.ops.opendir)
        rc = L.ops.opendir(path, fi);
    if (rc)
        reply_err(req, rc);
    else if (fuse_reply_open(req, fi) != 0 && L.ops.releasedir)
        L.ops.releasedir(path, fi);
    unhold(&h);
}

/* One reply of readdir or readdirplus being filled. */
typedef struct dfill {
    fuse_req_t req;
    fuse_ino_t dir;
    const char *dirpath; /* for the attribute timeouts of its entries */
    char *buf;
    size_t size, used;
    bool plus;
} dfill;

static bool is_dot(const char *name)
{
    return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

/* The tables' filler: an entry in the reply, or 1 when it is full. Every table gives
 * offsets (the next entry's), so each request lists from where the last one stopped. */
static int fill(void *ud, const char *name, const struct stat *st, off_t off,
                enum fuse_fill_dir_flags flags)
{
    dfill *d = ud;
    size_t need;

    if (d->plus) {
        struct fuse_entry_param e;
        need = fuse_add_direntry_plus(d->req, NULL, 0, name, NULL, 0);
        if (d->used + need > d->size)
            return 1;
        memset(&e, 0, sizeof e);
        if (st)
            e.attr = *st;
        e.attr.st_ino = UNKNOWN_INO;
        if (st && (flags & FUSE_FILL_DIR_PLUS) && !is_dot(name)) {
            /* The kernel takes a reference on the node: as a lookup would. */
            e.ino = ino_remember(L.inodes, d->dir, name, 1);
            if (e.ino) {
                char path[PATH_MAX];
                ino_set_size(L.inodes, e.ino, (uint64_t)st->st_size, false);
                e.attr.st_ino = e.ino;
                e.entry_timeout = L.cfg.entry_timeout;
                e.attr_timeout = L.cfg.attr_timeout;
                if (L.attr_timeout && d->dirpath &&
                    (size_t)snprintf(path, sizeof path, "%s/%s",
                                     strcmp(d->dirpath, "/") ? d->dirpath : "", name) <
                        sizeof path)
                    e.attr_timeout = attr_timeout_of(path, st);
            }
        } else if (!is_dot(name)) {
            e.attr.st_ino = ino_number(L.inodes, d->dir, name);
        }
        fuse_add_direntry_plus(d->req, d->buf + d->used, d->size - d->used, name, &e, off);
    } else {
        struct stat s;
        need = fuse_add_direntry(d->req, NULL, 0, name, NULL, 0);
        if (d->used + need > d->size)
            return 1;
        memset(&s, 0, sizeof s);
        s.st_mode = st ? st->st_mode : 0;
        s.st_ino = is_dot(name) ? UNKNOWN_INO : ino_number(L.inodes, d->dir, name);
        fuse_add_direntry(d->req, d->buf + d->used, d->size - d->used, name, &s, off);
    }
    d->used += need;
    return 0;
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi, bool plus)
{
    held h;
    const char *path;
    dfill d = {.req = req, .dir = ino, .size = size, .plus = plus};
    int rc = hold(ino, &h, &path, true);

    d.dirpath = path;
    if (rc == 0 && !L.ops.readdir)
        rc = -ENOSYS;
    if (rc == 0 && !(d.buf = malloc(size ? size : 1)))
        rc = -ENOMEM;
    if (rc == 0)
        rc = L.ops.readdir(path, &d, fill, off, fi,
                           plus ? FUSE_READDIR_PLUS : (enum fuse_readdir_flags)0);
    unhold(&h);
    /* What was filled before an error is answered; the error comes with the next. */
    if (rc == 0 || d.used)
        fuse_reply_buf(req, d.buf, d.used);
    else
        reply_err(req, rc);
    free(d.buf);
}

static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    COUNT(readdir);
    readdir_common(req, ino, size, off, fi, false);
}

static void ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
    COUNT(readdirplus);
    readdir_common(req, ino, size, off, fi, true);
}

static void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    held h;
    const char *path;
    COUNT(other);

    hold(ino, &h, &path, true);
    if (L.ops.releasedir)
        L.ops.releasedir(path, fi);
    unhold(&h);
    fuse_reply_err(req, 0);
}

static void ll_statfs(fuse_req_t req, fuse_ino_t ino)
{
    held h;
    const char *path;
    struct statvfs st;
    int rc = hold(ino, &h, &path, false);
    COUNT(other);

    memset(&st, 0, sizeof st);
    if (rc == 0 && L.ops.statfs)
        rc = L.ops.statfs(path, &st);
    unhold(&h);
    if (rc)
        reply_err(req, rc);
    else
        fuse_reply_statfs(req, &st);
}

static void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
    char buf[PATH_MAX];
    struct fuse_entry_param e;
    int rc = ino_child_path(L.inodes, parent, name, buf, sizeof buf);
    COUNT(create);

    if (rc == 0)
        rc = L.ops.create ? L.ops.create(buf, mode, fi) : -ENOSYS;
    if (rc) {
        reply_err(req, rc);
        return;
    }
    rc = entry_of(parent, name, buf, fi, &e);
    if (rc == 0 && !S_ISREG(e.attr.st_mode)) {
        ino_forget(L.inodes, e.ino, 1);
        rc = -EIO;
    }
    if (rc) {
        if (L.ops.release)
            L.ops.release(buf, fi);
        reply_err(req, rc);
        return;
    }
    ino_opened(L.inodes, e.ino, fi->fh);
    if (fuse_reply_create(req, &e, fi) != 0) {
        ino_closed(L.inodes, e.ino, fi->fh);
        if (L.ops.release)
            L.ops.release(buf, fi);
        ino_forget(L.inodes, e.ino, 1);
    }
}

static const struct fuse_lowlevel_ops ll_ops = {
    .init = ll_init,
    .destroy = ll_destroy,
    .lookup = ll_lookup,
    .forget = ll_forget,
    .forget_multi = ll_forget_multi,
    .getattr = ll_getattr,
    .setattr = ll_setattr,
    .readlink = ll_readlink,
    .mknod = ll_mknod,
    .mkdir = ll_mkdir,
    .unlink = ll_unlink,
    .rmdir = ll_rmdir,
    .symlink = ll_symlink,
    .rename = ll_rename,
    .link = ll_link,
    .open = ll_open,
    .read = ll_read,
    .write = ll_write,
    .flush = ll_flush,
    .release = ll_release,
    .fsync = ll_fsync,
    .opendir = ll_opendir,
    .readdir = ll_readdir,
    .readdirplus = ll_readdirplus,
    .releasedir = ll_releasedir,
    .statfs = ll_statfs,
    .create = ll_create,
};

struct fuse_session *ll_session_new(struct fuse_args *args, const struct fuse_operations *ops,
                                    void *userdata, ll_attr_timeout_fn *attr_timeout)
{
    struct fuse_session *se = NULL;

    memset(&L, 0, sizeof L);
    L.ops = *ops;
    L.userdata = userdata;
    L.attr_timeout = attr_timeout;
    if (ino_new(&L.inodes) != 0) {
        fuse_log(FUSE_LOG_ERR, "out of memory\n");
        return NULL;
    }
    se = fuse_session_new(args, &ll_ops, sizeof ll_ops, NULL);
    if (!se) {
        ino_free(L.inodes);
        L.inodes = NULL;
        return NULL;
    }
    L.se = se;
    return se;
}

void ll_session_destroy(struct fuse_session *se)
{
    if (!se)
        return;
    fuse_session_destroy(se); /* the table's destroy, if init ran */
    L.se = NULL;
    ino_free(L.inodes);
    L.inodes = NULL;
}

int ll_invalidate_path(const char *path)
{
    uint64_t ino = INO_ROOT;
    char name[NAME_MAX + 1];

    if (!L.se || !L.inodes || !path || path[0] != '/')
        return -ENOENT;
    for (const char *p = path + 1; *p && ino;) {
        const char *slash = strchr(p, '/');
        size_t l = slash ? (size_t)(slash - p) : strlen(p);
        if (l == 0 || l > NAME_MAX)
            return -ENOENT;
        memcpy(name, p, l);
        name[l] = '\0';
        ino = ino_find(L.inodes, ino, name);
        p += l + (slash ? 1 : 0);
    }
    if (!ino)
        return -ENOENT;
    return fuse_lowlevel_notify_inval_inode(L.se, ino, 0, 0);
}
