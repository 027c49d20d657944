/* control.c: the .clappfs control directory (stats, errors, refresh), put in front of the
 * file system's operations by wrapping their table. */
#define _GNU_SOURCE /* pthread_timedjoin_np, SEEK_DATA */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "conflicts.h"
#include "errlog.h"
#include "layout.h"
#include "log.h"
#include "lowlevel.h"
#include "ops.h"
#include "uploader.h"

#define CONTROL_PREFIX "/" LAYOUT_CONTROL_NAME

/* C_CONFLICTS: the conflicts directory and everything below it (conflicts.h). */
enum which { C_DIR, C_STATS, C_ERRORS, C_REFRESH, C_CONFLICTS, C_NONE };

static const struct {
    const char *name;
    enum which which;
    mode_t mode;
} control_files[] = {
    {CONFLICTS_NAME, C_CONFLICTS, 0755},
    {"errors", C_ERRORS, 0444},
    {"refresh", C_REFRESH, 0600},
    {"stats", C_STATS, 0444},
};
#define NFILES (sizeof control_files / sizeof control_files[0])

/* One open control file: a snapshot of its text. Handles carry bit 0 set in fi->fh (the
 * file system's own handles are aligned pointers) and are kept in a list, so a call
 * without a path (nullpath_ok) is recognised too. */
typedef struct chandle {
    struct chandle *next;
    enum which which;
    char *data;
    size_t len;
} chandle;

static pthread_mutex_t control_lock = PTHREAD_MUTEX_INITIALIZER;
static stats_view view;
static struct timespec started_mono;
static time_t mount_time, refreshed_at;
static uid_t owner_uid;
static gid_t owner_gid;
static chandle *open_handles;
static struct fuse_operations inner, outer;
static struct fuse_session *session;  /* for kernel invalidations, set at init */
static pthread_t inval_thread;        /* an invalidation still running (see invalidate) */
static bool inval_pending;

void control_init(const stats_view *v)
{
    view = *v;
    clock_gettime(CLOCK_MONOTONIC, &started_mono);
    mount_time = refreshed_at = time(NULL);
    owner_uid = getuid();
    owner_gid = getgid();
}

bool control_is_path(const char *path)
{
    size_t n = sizeof CONTROL_PREFIX - 1;
    return path && strncmp(path, CONTROL_PREFIX, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Which node a control path names; C_NONE for a name that is not there. */
static enum which which_of(const char *path)
{
    const char *rest = path + sizeof CONTROL_PREFIX - 1;
    if (*rest == '\0')
        return C_DIR;
    if (strncmp(rest + 1, CONFLICTS_NAME, sizeof CONFLICTS_NAME - 1) == 0 &&
        (rest[sizeof CONFLICTS_NAME] == '\0' || rest[sizeof CONFLICTS_NAME] == '/'))
        return C_CONFLICTS;
    for (size_t i = 0; i < NFILES; i++)
        if (strcmp(rest + 1, control_files[i].name) == 0)
            return control_files[i].which;
    return C_NONE;
}

/* The part of a path below .clappfs/conflicts ("" for the directory itself), or NULL. */
static const char *conflicts_rel(const char *path)
{
    const char *rest;

    if (!path || !control_is_path(path) || which_of(path) != C_CONFLICTS)
        return NULL;
    rest = path + sizeof CONTROL_PREFIX + sizeof CONFLICTS_NAME - 1;
    return *rest == '/' ? rest + 1 : rest;
}

/* Attributes of what is below .clappfs/conflicts (owned by the mounting user). */
static int conflicts_getattr(const char *rel, struct stat *st)
{
    return conflicts_attr(rel, owner_uid, owner_gid, mount_time, st);
}

static mode_t mode_of(enum which w)
{
    for (size_t i = 0; i < NFILES; i++)
        if (control_files[i].which == w)
            return control_files[i].mode;
    return 0;
}

static chandle *handle_of(const struct fuse_file_info *fi)
{
    chandle *h = NULL;
    if (!fi || !(fi->fh & 1))
        return NULL;
    pthread_mutex_lock(&control_lock);
    for (chandle *p = open_handles; p; p = p->next)
        if ((uint64_t)(uintptr_t)p == (fi->fh & ~(uint64_t)1)) {
            h = p;
            break;
        }
    pthread_mutex_unlock(&control_lock);
    return h;
}

/* Whether a call is the control directory's: by its path, else by its handle. */
static bool mine(const char *path, const struct fuse_file_info *fi)
{
    return path ? control_is_path(path) : handle_of(fi) != NULL;
}

/* ------------------------------------------------------------------------- */
/* Contents                                                                   */
/* ------------------------------------------------------------------------- */

static int render(enum which w, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (w == C_STATS) {
        stats_view v = view;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        v.uptime = (double)(now.tv_sec - started_mono.tv_sec) +
                   (double)(now.tv_nsec - started_mono.tv_nsec) / 1e9;
        jr_get_counts(&v.journal);
        ll_get_counts(&v.kernel);
        return stats_render(&v, out, len) == 0 ? 0 : -ENOMEM;
    }
    if (w == C_ERRORS)
        return errlog_render(out, len) == 0 ? 0 : -ENOMEM;
    *out = strdup("");
    return *out ? 0 : -ENOMEM;
}

static void fill_stat(enum which w, size_t size, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_uid = owner_uid;
    st->st_gid = owner_gid;
    st->st_blksize = 4096;
    if (w == C_DIR) {
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
        st->st_mtim.tv_sec = mount_time;
    } else {
        st->st_mode = S_IFREG | mode_of(w);
        st->st_nlink = 1;
        st->st_size = (off_t)size;
        st->st_blocks = (blkcnt_t)((size + 511) / 512);
        /* Generated now; refresh shows when the cache was last dropped. */
        st->st_mtim.tv_sec = w == C_REFRESH ? refreshed_at : time(NULL);
    }
    st->st_ctim = st->st_mtim;
    st->st_atim = st->st_mtim;
}

static int stat_of(enum which w, struct stat *st)
{
    char *data = NULL;
    size_t len = 0;
    int rc;

    if (w == C_NONE)
        return -ENOENT;
    if (w == C_CONFLICTS)
        return conflicts_getattr("", st);
    if (w == C_STATS || w == C_ERRORS) {
        rc = render(w, &data, &len);
        free(data);
        if (rc)
            return rc;
    }
    fill_stat(w, len, st);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Refresh                                                                    */
/* ------------------------------------------------------------------------- */

/* What an invalidation thread does: the root's children, or only the one named. */
struct inval {
    struct fuse_session *se;
    char only[64]; /* "" for every child */
};

/* Tells the kernel to forget the entries of the root's children (and with them whatever it
 * holds below them), so the next lookups ask us, and we ask the server. */
static void *invalidate_root(void *arg)
{
    struct inval *iv = arg;
    for (size_t i = 0; layout_root_names[i]; i++) {
        const char *name = layout_root_names[i];
        if (strcmp(name, LAYOUT_CONTROL_NAME) == 0 || (iv->only[0] && strcmp(name, iv->only) != 0))
            continue;
        /* -ENOENT: the kernel had no entry for it, nothing to forget. */
        fuse_lowlevel_notify_inval_entry(iv->se, FUSE_ROOT_ID, name, strlen(name));
    }
    free(iv);
    return NULL;
}

/* The notification takes the root directory's lock in the kernel, which a lookup waiting
 * for this very process may hold: it runs on its own thread, awaited for a while (in the
 * multi-threaded loop it finishes at once) and otherwise left to finish on its own (in the
 * single-threaded loop it waits for this call to return). While one is left running, the
 * next is not started: a whole refresh covers any child, and a late one-child
 * invalidation is rare enough to leave to the TTL. Under control_lock. */
static void invalidate(const char *only)
{
    struct timespec deadline;
    struct inval *iv;
    pthread_t t;

    if (!session)
        return;
    if (inval_pending) {
        if (pthread_tryjoin_np(inval_thread, NULL) != 0)
            return; /* the last one still runs */
        inval_pending = false;
    }
    iv = calloc(1, sizeof *iv);
    if (!iv)
        return;
    iv->se = session;
    snprintf(iv->only, sizeof iv->only, "%s", only ? only : "");
    if (pthread_create(&t, NULL, invalidate_root, iv) != 0) {
        free(iv);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 2;
    if (pthread_timedjoin_np(t, NULL, &deadline) != 0) {
        inval_thread = t;
        inval_pending = true;
    }
}

void control_forget_entry(const char *root_name)
{
    pthread_mutex_lock(&control_lock);
    invalidate(root_name);
    pthread_mutex_unlock(&control_lock);
}

void control_refresh(void)
{
    if (view.cache)
        cache_drop_all(view.cache);
    pthread_mutex_lock(&control_lock);
    refreshed_at = time(NULL);
    invalidate(NULL);
    pthread_mutex_unlock(&control_lock);
    log_info("refresh: every cached list, listing and content forgotten");
}

/* ------------------------------------------------------------------------- */
/* Operations on the control directory                                        */
/* ------------------------------------------------------------------------- */

static int c_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    chandle *h = handle_of(fi);
    if (h) {
        fill_stat(h->which, h->len, st);
        if (h->which == C_CONFLICTS)
            st->st_mode = S_IFREG | 0644;
        return 0;
    }
    if (conflicts_rel(path))
        return conflicts_getattr(conflicts_rel(path), st);
    return stat_of(which_of(path), st);
}

static int c_open(const char *path, struct fuse_file_info *fi)
{
    enum which w = which_of(path);
    chandle *h;
    int rc;

    if (w == C_NONE)
        return -ENOENT;
    if (w == C_DIR)
        return -EISDIR;
    if (w != C_REFRESH && ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)))
        return -EACCES;
    h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    h->which = w;
    if (w == C_CONFLICTS) /* a copy of the kept text */
        rc = conflicts_read(conflicts_rel(path), &h->data, &h->len);
    else
        rc = render(w, &h->data, &h->len);
    if (rc) {
        free(h);
        return rc;
    }
    pthread_mutex_lock(&control_lock);
    h->next = open_handles;
    open_handles = h;
    pthread_mutex_unlock(&control_lock);
    fi->fh = (uint64_t)(uintptr_t)h | 1;
    fi->direct_io = 1;
    fi->keep_cache = 0;
    return 0;
}

static int c_read(char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    chandle *h = handle_of(fi);
    if (!h)
        return -EBADF;
    if (off < 0)
        return -EINVAL;
    if ((uint64_t)off >= h->len)
        return 0;
    if (size > h->len - (size_t)off)
        size = h->len - (size_t)off;
    if (size > INT32_MAX)
        size = INT32_MAX;
    memcpy(buf, h->data + off, size);
    return (int)size;
}

static int c_write(size_t size, struct fuse_file_info *fi)
{
    chandle *h = handle_of(fi);
    if (!h)
        return -EBADF;
    if (h->which != C_REFRESH)
        return -EACCES;
    if (size > 0)
        control_refresh();
    return size > INT32_MAX ? INT32_MAX : (int)size;
}

static int c_release(struct fuse_file_info *fi)
{
    chandle *h = handle_of(fi);
    if (!h)
        return 0;
    pthread_mutex_lock(&control_lock);
    for (chandle **pp = &open_handles; *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    pthread_mutex_unlock(&control_lock);
    free(h->data);
    free(h);
    fi->fh = 0;
    return 0;
}

static int c_readdir(off_t off, void *buf, fuse_fill_dir_t filler)
{
    struct stat st;

    fill_stat(C_DIR, 0, &st);
    if (off < 1 && filler(buf, ".", &st, 1, 0))
        return 0;
    if (off < 2 && filler(buf, "..", &st, 2, 0))
        return 0;
    for (size_t i = 0; i < NFILES; i++) {
        if (off >= (off_t)(i + 3))
            continue;
        if (stat_of(control_files[i].which, &st) != 0)
            continue;
        if (filler(buf, control_files[i].name, &st, (off_t)(i + 3), FUSE_FILL_DIR_PLUS))
            return 0;
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* The wrapped table                                                          */
/* ------------------------------------------------------------------------- */

/* Refusal of anything that would change the control directory. */
#define REFUSE -EACCES
/* An operation of inner, or what libfuse answers when a file system lacks it. */
#define INNER(op, dflt, ...) (inner.op ? inner.op(__VA_ARGS__) : (dflt))

/* The handle of an open control directory: recognised without a path too. */
static char dir_token;
#define DIR_FH ((uint64_t)(uintptr_t)&dir_token | 1)

static int w_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    return mine(path, fi) ? c_getattr(path, st, fi) : inner.getattr(path, st, fi);
}

static int w_readlink(const char *path, char *buf, size_t size)
{
    return control_is_path(path) ? -EINVAL : inner.readlink(path, buf, size);
}

static int w_mknod(const char *path, mode_t mode, dev_t dev)
{
    return control_is_path(path) ? REFUSE : INNER(mknod, -ENOSYS, path, mode, dev);
}

static int w_mkdir(const char *path, mode_t mode)
{
    return control_is_path(path) ? REFUSE : INNER(mkdir, -ENOSYS, path, mode);
}

static int w_unlink(const char *path)
{
    if (conflicts_rel(path))
        return conflicts_unlink(conflicts_rel(path));
    return control_is_path(path) ? REFUSE : INNER(unlink, -ENOSYS, path);
}

static int w_rmdir(const char *path)
{
    if (conflicts_rel(path))
        return conflicts_rmdir(conflicts_rel(path));
    return control_is_path(path) ? REFUSE : INNER(rmdir, -ENOSYS, path);
}

static int w_symlink(const char *target, const char *path)
{
    return control_is_path(path) ? REFUSE : INNER(symlink, -ENOSYS, target, path);
}

static int w_rename(const char *from, const char *to, unsigned int flags)
{
    return control_is_path(from) || control_is_path(to) ? REFUSE : INNER(rename, -ENOSYS, from, to, flags);
}

static int w_link(const char *from, const char *to)
{
    return control_is_path(from) || control_is_path(to) ? REFUSE : INNER(link, -ENOSYS, from, to);
}

static int w_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    return mine(path, fi) ? REFUSE : INNER(chmod, -ENOSYS, path, mode, fi);
}

static int w_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    return mine(path, fi) ? REFUSE : INNER(chown, -ENOSYS, path, uid, gid, fi);
}

static int w_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    if (!mine(path, fi))
        return INNER(truncate, -ENOSYS, path, size, fi);
    /* `echo 1 > refresh` truncates first: nothing to do. */
    chandle *h = handle_of(fi);
    enum which w = h ? h->which : which_of(path);
    return w == C_REFRESH ? 0 : REFUSE;
}

static int w_open(const char *path, struct fuse_file_info *fi)
{
    return control_is_path(path) ? c_open(path, fi) : INNER(open, 0, path, fi);
}

static int w_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    return mine(path, fi) ? c_read(buf, size, off, fi) : INNER(read, -ENOSYS, path, buf, size, off, fi);
}

static int w_write(const char *path, const char *buf, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
    return mine(path, fi) ? c_write(size, fi) : INNER(write, -ENOSYS, path, buf, size, off, fi);
}

static int w_statfs(const char *path, struct statvfs *st)
{
    return inner.statfs(control_is_path(path) ? "/" : path, st);
}

static int w_flush(const char *path, struct fuse_file_info *fi)
{
    return mine(path, fi) ? 0 : inner.flush(path, fi);
}

static int w_release(const char *path, struct fuse_file_info *fi)
{
    return mine(path, fi) ? c_release(fi) : INNER(release, 0, path, fi);
}

static int w_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    return mine(path, fi) ? 0 : inner.fsync(path, datasync, fi);
}

static int w_setxattr(const char *path, const char *name, const char *value, size_t size,
                      int flags)
{
    return control_is_path(path) ? REFUSE : inner.setxattr(path, name, value, size, flags);
}

static int w_getxattr(const char *path, const char *name, char *value, size_t size)
{
    return control_is_path(path) ? -ENODATA : inner.getxattr(path, name, value, size);
}

static int w_listxattr(const char *path, char *list, size_t size)
{
    return control_is_path(path) ? 0 : inner.listxattr(path, list, size);
}

static int w_removexattr(const char *path, const char *name)
{
    return control_is_path(path) ? -ENODATA : inner.removexattr(path, name);
}

static int w_opendir(const char *path, struct fuse_file_info *fi)
{
    if (!control_is_path(path))
        return INNER(opendir, 0, path, fi);
    fi->fh = DIR_FH;
    if (conflicts_rel(path)) {
        struct stat st;
        int rc = conflicts_getattr(conflicts_rel(path), &st);
        return rc ? rc : S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
    }
    return which_of(path) == C_DIR ? 0 : -ENOTDIR;
}

static int w_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                     struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    if (conflicts_rel(path))
        return conflicts_readdir(conflicts_rel(path), owner_uid, owner_gid, mount_time, buf,
                                 filler, off);
    if (path ? control_is_path(path) : (fi && fi->fh == DIR_FH))
        return c_readdir(off, buf, filler);
    return INNER(readdir, -ENOSYS, path, buf, filler, off, fi, flags);
}

static int w_releasedir(const char *path, struct fuse_file_info *fi)
{
    if (path ? control_is_path(path) : (fi && fi->fh == DIR_FH))
        return 0;
    return INNER(releasedir, 0, path, fi);
}

static int w_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
    return control_is_path(path) ? 0 : inner.fsyncdir(path, datasync, fi);
}

static void *w_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    void *data = inner.init ? inner.init(conn, cfg) : ll_userdata();
    pthread_mutex_lock(&control_lock);
    session = ll_session();
    pthread_mutex_unlock(&control_lock);
    return data;
}

static void w_destroy(void *private_data)
{
    conflicts_clear(); /* kept for the mount's life */
    pthread_mutex_lock(&control_lock);
    if (inval_pending)
        pthread_join(inval_thread, NULL);
    inval_pending = false;
    session = NULL;
    pthread_mutex_unlock(&control_lock);
    if (inner.destroy)
        inner.destroy(private_data);
}

static int w_access(const char *path, int mask)
{
    if (!control_is_path(path))
        return inner.access(path, mask);
    enum which w = which_of(path);
    if (w == C_NONE)
        return -ENOENT;
    if (w == C_CONFLICTS) {
        struct stat st;
        int rc = conflicts_getattr(conflicts_rel(path), &st);
        return rc ? rc : (mask & X_OK) && !S_ISDIR(st.st_mode) ? -EACCES : 0;
    }
    if ((mask & W_OK) && w != C_REFRESH)
        return -EACCES;
    if ((mask & X_OK) && w != C_DIR)
        return -EACCES;
    return 0;
}

static int w_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    return control_is_path(path) ? REFUSE : INNER(create, -ENOSYS, path, mode, fi);
}

static int w_lock(const char *path, struct fuse_file_info *fi, int cmd, struct flock *lk)
{
    if (!mine(path, fi))
        return inner.lock(path, fi, cmd, lk);
    if (cmd == F_GETLK)
        lk->l_type = F_UNLCK;
    return 0;
}

static int w_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    if (!mine(path, fi))
        return INNER(utimens, -ENOSYS, path, tv, fi);
    chandle *h = handle_of(fi);
    return (h ? h->which : which_of(path)) == C_REFRESH ? 0 : REFUSE;
}

static int w_bmap(const char *path, size_t blocksize, uint64_t *idx)
{
    return control_is_path(path) ? -EINVAL : inner.bmap(path, blocksize, idx);
}

static int w_ioctl(const char *path, unsigned int cmd, void *arg, struct fuse_file_info *fi,
                   unsigned int flags, void *data)
{
    return mine(path, fi) ? -ENOTTY : inner.ioctl(path, cmd, arg, fi, flags, data);
}

static int w_poll(const char *path, struct fuse_file_info *fi, struct fuse_pollhandle *ph,
                  unsigned *reventsp)
{
    if (!mine(path, fi))
        return inner.poll(path, fi, ph, reventsp);
    if (ph)
        fuse_pollhandle_destroy(ph);
    *reventsp = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
    return 0;
}

static int w_write_buf(const char *path, struct fuse_bufvec *buf, off_t off,
                       struct fuse_file_info *fi)
{
    return mine(path, fi) ? c_write(fuse_buf_size(buf), fi) : inner.write_buf(path, buf, off, fi);
}

static int w_read_buf(const char *path, struct fuse_bufvec **bufp, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
    return mine(path, fi) ? ops_read_buf(c_read, bufp, size, off, fi)
                          : inner.read_buf(path, bufp, size, off, fi);
}

static int w_flock(const char *path, struct fuse_file_info *fi, int op)
{
    return mine(path, fi) ? 0 : inner.flock(path, fi, op);
}

static int w_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
    return mine(path, fi) ? REFUSE : inner.fallocate(path, mode, off, len, fi);
}

static ssize_t w_copy_file_range(const char *path_in, struct fuse_file_info *fi_in, off_t off_in,
                                 const char *path_out, struct fuse_file_info *fi_out,
                                 off_t off_out, size_t size, int flags)
{
    /* EXDEV: the caller falls back to read and write. */
    if (mine(path_in, fi_in) || mine(path_out, fi_out))
        return -EXDEV;
    return inner.copy_file_range(path_in, fi_in, off_in, path_out, fi_out, off_out, size, flags);
}

static off_t w_lseek(const char *path, off_t off, int whence, struct fuse_file_info *fi)
{
    chandle *h;

    if (!mine(path, fi))
        return inner.lseek(path, off, whence, fi);
    h = handle_of(fi);
    if (!h)
        return -EBADF;
    if (whence == SEEK_DATA)
        return off < (off_t)h->len ? off : -ENXIO;
    if (whence == SEEK_HOLE)
        return off < (off_t)h->len ? (off_t)h->len : -ENXIO;
    return -EINVAL;
}

const struct fuse_operations *control_operations(const struct fuse_operations *in)
{
    inner = *in;
    memset(&outer, 0, sizeof outer);
    /* Each operation the file system has is wrapped; the control directory needs these
     * few whatever the file system does. */
#define WRAP(op) outer.op = inner.op ? w_##op : NULL
    outer.getattr = w_getattr;
    WRAP(readlink);
    /* Changes are refused in the control directory even when the file system has no such
     * operation (a missing one gives ENOSYS elsewhere, as libfuse would). */
    outer.mknod = w_mknod;
    outer.mkdir = w_mkdir;
    outer.unlink = w_unlink;
    outer.rmdir = w_rmdir;
    outer.symlink = w_symlink;
    outer.rename = w_rename;
    outer.link = w_link;
    outer.chmod = w_chmod;
    outer.chown = w_chown;
    outer.truncate = w_truncate;
    outer.open = w_open;
    outer.read = w_read;
    outer.write = w_write;
    WRAP(statfs);
    WRAP(flush);
    outer.release = w_release;
    WRAP(fsync);
    WRAP(setxattr);
    WRAP(getxattr);
    WRAP(listxattr);
    WRAP(removexattr);
    outer.opendir = w_opendir;
    outer.readdir = w_readdir;
    outer.releasedir = w_releasedir;
    WRAP(fsyncdir);
    outer.init = w_init;
    outer.destroy = w_destroy;
    WRAP(access);
    outer.create = w_create;
    WRAP(lock);
    outer.utimens = w_utimens;
    WRAP(bmap);
    WRAP(ioctl);
    WRAP(poll);
    WRAP(write_buf);
    WRAP(read_buf);
    WRAP(flock);
    WRAP(fallocate);
    WRAP(copy_file_range);
    WRAP(lseek);
#undef WRAP
    return &outer;
}
