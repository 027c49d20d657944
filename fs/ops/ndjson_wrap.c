/* ndjson_wrap.c: the operations table with the streamed trees added (ndjson.h). Each
 * operation looks at the path: under /dataframes or /query-results it is answered in
 * ndjson.c, else it goes to the inner table as it is. An operation the inner table lacks
 * stays absent, but for those the trees need: getattr, the directory and file operations,
 * write, flush, fsync, truncate and utimens (which answer as if absent, or harmlessly, for
 * other paths). Structural changes under the trees (create, mkdir, unlink, rename...) are
 * refused with EPERM. */
#include "ndjson.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson_int.h"
#include "ops.h"

static const struct fuse_operations *inner;
static struct fuse_operations table;

/* 1 when path is under the trees (*p parsed), 0 when not, or a negative errno. */
static int mine(const char *path, nd_path *p)
{
    int rc = nd_parse(path, p);
    return rc ? rc : p->kind != ND_NONE;
}

/* For operations that only need to know: 1, 0 or a negative errno. */
static int is_mine(const char *path)
{
    nd_path p;
    return mine(path, &p);
}

/* Forwards to the inner operation, or answers ENOSYS as libfuse does without one. */
#define INNER(op, ...) (inner->op ? inner->op(__VA_ARGS__) : -ENOSYS)

static int w_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    nd_path p;
    int m = mine(path, &p);
    return m < 0 ? m : m ? nd_getattr(path, &p, st, fi) : INNER(getattr, path, st, fi);
}

static int w_opendir(const char *path, struct fuse_file_info *fi)
{
    nd_path p;
    int m = mine(path, &p);
    return m < 0 ? m : m ? nd_opendir(path, &p, fi) : inner->opendir ? inner->opendir(path, fi) : 0;
}

static int w_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                     struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    nd_path p;
    int m = mine(path, &p);
    return m < 0 ? m : m ? nd_readdir(path, &p, buf, filler, off, fi)
                         : INNER(readdir, path, buf, filler, off, fi, flags);
}

static int w_releasedir(const char *path, struct fuse_file_info *fi)
{
    int m = is_mine(path);
    return m > 0 ? nd_releasedir(fi) : inner->releasedir ? inner->releasedir(path, fi) : 0;
}

static int w_open(const char *path, struct fuse_file_info *fi)
{
    nd_path p;
    int m = mine(path, &p);
    return m < 0 ? m : m ? nd_open(path, &p, fi) : inner->open ? inner->open(path, fi) : 0;
}

static int w_read(const char *path, char *buf, size_t size, off_t off,
                  struct fuse_file_info *fi)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? nd_read(buf, size, off, fi) : INNER(read, path, buf, size, off, fi);
}

static int w_write(const char *path, const char *buf, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? nd_write(buf, size, fi) : INNER(write, path, buf, size, off, fi);
}

/* flush and fsync answer 0 for other paths when inner has none: ENOSYS would make the
 * kernel stop sending them for the whole mount, these files' included. */
static int w_flush(const char *path, struct fuse_file_info *fi)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? nd_flush(fi) : inner->flush ? inner->flush(path, fi) : 0;
}

static int w_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? nd_flush(fi) : inner->fsync ? inner->fsync(path, datasync, fi) : 0;
}

static int w_release(const char *path, struct fuse_file_info *fi)
{
    int m = is_mine(path);
    return m > 0 ? nd_release(fi) : inner->release ? inner->release(path, fi) : 0;
}

static int w_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    nd_path p;
    int m = mine(path, &p);
    return m < 0 ? m : m ? nd_truncate(path, &p, size, fi) : INNER(truncate, path, size, fi);
}

/* Times are the mount's: setting them is accepted and changes nothing (touch works). */
static int w_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    nd_path p;
    int m = mine(path, &p);
    struct stat st;
    return m < 0 ? m : m ? nd_getattr(path, &p, &st, fi) : INNER(utimens, path, tv, fi);
}

static void w_destroy(void *private_data)
{
    nd_shutdown();
    if (inner->destroy)
        inner->destroy(private_data);
}

/* ---- operations installed only when inner has them ------------------------------------ */

static int w_access(const char *path, int mask)
{
    nd_path p;
    int m = mine(path, &p);
    return m < 0 ? m : m ? nd_access(path, &p, mask) : inner->access(path, mask);
}

static int w_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    nd_path p;
    int m = mine(path, &p);
    struct stat st;
    if (m <= 0)
        return m < 0 ? m : inner->create(path, mode, fi);
    /* Only files that exist: a collection is not made by writing its file. */
    if (!nd_is_dir(p.kind) && nd_getattr(path, &p, &st, NULL) == 0)
        return nd_open(path, &p, fi);
    return -EPERM;
}

#define REFUSE1(name, call, ...)                                                           \
    static int w_##name(const char *path, __VA_ARGS__)                                     \
    {                                                                                      \
        int m = is_mine(path);                                                             \
        return m < 0 ? m : m ? -EPERM : call;                                              \
    }

REFUSE1(mknod, inner->mknod(path, mode, dev), mode_t mode, dev_t dev)
REFUSE1(mkdir, inner->mkdir(path, mode), mode_t mode)
REFUSE1(chmod, inner->chmod(path, mode, fi), mode_t mode, struct fuse_file_info *fi)
REFUSE1(chown, inner->chown(path, uid, gid, fi), uid_t uid, gid_t gid, struct fuse_file_info *fi)

static int w_unlink(const char *path)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? -EPERM : inner->unlink(path);
}

static int w_rmdir(const char *path)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? -EPERM : inner->rmdir(path);
}

static int w_symlink(const char *target, const char *path)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? -EPERM : inner->symlink(target, path);
}

static int w_rename(const char *from, const char *to, unsigned int flags)
{
    int a = is_mine(from), b = is_mine(to);
    return a || b ? -EPERM : inner->rename(from, to, flags);
}

static int w_link(const char *from, const char *to)
{
    int a = is_mine(from), b = is_mine(to);
    return a || b ? -EPERM : inner->link(from, to);
}

static int w_readlink(const char *path, char *buf, size_t size)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? -EINVAL : inner->readlink(path, buf, size);
}

static int w_setxattr(const char *path, const char *name, const char *value, size_t size,
                      int flags)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? -ENOTSUP : inner->setxattr(path, name, value, size, flags);
}

static int w_getxattr(const char *path, const char *name, char *value, size_t size)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? -ENODATA : inner->getxattr(path, name, value, size);
}

static int w_listxattr(const char *path, char *list, size_t size)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? 0 : inner->listxattr(path, list, size);
}

static int w_removexattr(const char *path, const char *name)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? -ENODATA : inner->removexattr(path, name);
}

static int w_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? 0 : inner->fsyncdir(path, datasync, fi);
}

static int w_lock(const char *path, struct fuse_file_info *fi, int cmd, struct flock *lk)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? -EOPNOTSUPP : inner->lock(path, fi, cmd, lk);
}

static int w_flock(const char *path, struct fuse_file_info *fi, int op)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? -EOPNOTSUPP : inner->flock(path, fi, op);
}

static int w_ioctl(const char *path, unsigned int cmd, void *arg, struct fuse_file_info *fi,
                   unsigned int flags, void *data)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? -ENOTTY : inner->ioctl(path, cmd, arg, fi, flags, data);
}

static int w_poll(const char *path, struct fuse_file_info *fi, struct fuse_pollhandle *ph,
                  unsigned *reventsp)
{
    int m = is_mine(path);
    if (m > 0) {
        if (ph)
            fuse_pollhandle_destroy(ph);
        *reventsp = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
        return 0;
    }
    return m < 0 ? m : inner->poll(path, fi, ph, reventsp);
}

static int w_bmap(const char *path, size_t blocksize, uint64_t *idx)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? -EINVAL : inner->bmap(path, blocksize, idx);
}

static int w_fallocate(const char *path, int mode, off_t off, off_t len,
                       struct fuse_file_info *fi)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? -EOPNOTSUPP : inner->fallocate(path, mode, off, len, fi);
}

static ssize_t w_copy_file_range(const char *path_in, struct fuse_file_info *fi_in,
                                 off_t off_in, const char *path_out,
                                 struct fuse_file_info *fi_out, off_t off_out, size_t size,
                                 int flags)
{
    /* Not for streams: the kernel falls back to reading and writing. */
    if (is_mine(path_in) || is_mine(path_out))
        return -EOPNOTSUPP;
    return inner->copy_file_range(path_in, fi_in, off_in, path_out, fi_out, off_out, size,
                                  flags);
}

static off_t w_lseek(const char *path, off_t off, int whence, struct fuse_file_info *fi)
{
    int m = is_mine(path);
    /* SEEK_DATA / SEEK_HOLE past the size shown (0), as for any file. */
    return m < 0 ? m : m ? -ENXIO : inner->lseek(path, off, whence, fi);
}

/* With read_buf / write_buf in inner, libfuse calls those alone: these trees get theirs. */
static int w_read_buf(const char *path, struct fuse_bufvec **bufp, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? ops_read_buf(nd_read, bufp, size, off, fi)
                         : inner->read_buf(path, bufp, size, off, fi);
}

static int w_write_buf(const char *path, struct fuse_bufvec *buf, off_t off,
                       struct fuse_file_info *fi)
{
    size_t size = fuse_buf_size(buf);
    struct fuse_bufvec dst = FUSE_BUFVEC_INIT(size);
    ssize_t got;
    char *mem;
    int m = is_mine(path), rc;

    if (m <= 0)
        return m < 0 ? m : inner->write_buf(path, buf, off, fi);
    mem = malloc(size ? size : 1);
    if (!mem)
        return -ENOMEM;
    dst.buf[0].mem = mem;
    got = fuse_buf_copy(&dst, buf, 0);
    rc = got < 0 ? (int)got : nd_write(mem, (size_t)got, fi);
    free(mem);
    return rc;
}

const struct fuse_operations *ndjson_wrap(const struct fuse_operations *in)
{
    if (inner == in)
        return &table;
    inner = in;
    table = *in;
    table.getattr = w_getattr;
    table.opendir = w_opendir;
    table.readdir = w_readdir;
    table.releasedir = w_releasedir;
    table.open = w_open;
    table.read = w_read;
    table.write = w_write;
    table.flush = w_flush;
    table.fsync = w_fsync;
    table.release = w_release;
    table.truncate = w_truncate;
    table.utimens = w_utimens;
    table.destroy = w_destroy;
#define IF_INNER(op) if (in->op) table.op = w_##op
    IF_INNER(access);
    IF_INNER(create);
    IF_INNER(mknod);
    IF_INNER(mkdir);
    IF_INNER(chmod);
    IF_INNER(chown);
    IF_INNER(unlink);
    IF_INNER(rmdir);
    IF_INNER(symlink);
    IF_INNER(rename);
    IF_INNER(link);
    IF_INNER(readlink);
    IF_INNER(setxattr);
    IF_INNER(getxattr);
    IF_INNER(listxattr);
    IF_INNER(removexattr);
    IF_INNER(fsyncdir);
    IF_INNER(lock);
    IF_INNER(flock);
    IF_INNER(ioctl);
    IF_INNER(poll);
    IF_INNER(bmap);
    IF_INNER(fallocate);
    IF_INNER(copy_file_range);
    IF_INNER(lseek);
    IF_INNER(read_buf);
    IF_INNER(write_buf);
#undef IF_INNER
    return &table;
}
