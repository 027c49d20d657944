/* ops.c: the FUSE operations table, init/destroy/statfs, and helpers shared by the others. */
#include "ops.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "errlog.h"
#include "errmap.h"
#include "layout.h"
#include "log.h"
#include "lowlevel.h"
#include "names.h"
#include "ndjson.h"
#include "tasks.h"
#include "ops_write.h"
#include "uploader.h"

fs_ctx *ops_ctx(void)
{
    return ll_userdata();
}

void ops_stat(const fs_ctx *x, const cache_attr *a, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_mode = (a->is_dir ? S_IFDIR : S_IFREG) | (mode_t)a->mode;
    /* 1 for directories too: "unknown", so tools do not infer subdirectory counts. */
    st->st_nlink = 1;
    st->st_uid = x->uid;
    st->st_gid = x->gid;
    st->st_size = (off_t)a->size;
    st->st_blksize = 4096;
    st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
    st->st_mtim.tv_sec = a->mtime;
    st->st_ctim.tv_sec = a->mtime;
    st->st_atim.tv_sec = a->mtime;
}

double ops_attr_timeout(const char *path, const struct stat *st, double dflt)
{
    fs_ctx *x = ops_ctx();
    layout_path p;

    /* A record's attributes are the cache's for cache_ttl (a stat of a record is served
     * from the cache, README), and whatever changes them on this mount tells the kernel
     * (saves, close-to-open checks of its collection, an open that fetched another
     * version): the kernel may keep them as long, so `ls -l`, `cp -r` and `cat` of a
     * large collection ask no GETATTR per file after the listing. Directories, and files
     * whose size changes with no notice (.clappfs, dataframes), keep the short one. */
    if (x && S_ISREG(st->st_mode) && x->ttl > dflt && layout_parse(path, &p) == 0 &&
        p.kind == LAYOUT_RECORD)
        return x->ttl;
    return dflt;
}

/* The journal's jr_changed_fn: the kernel forgets the file's attributes and pages. */
int ops_read_buf(ops_read_fn *read, struct fuse_bufvec **bufp, size_t size, off_t off,
                 struct fuse_file_info *fi)
{
    struct fuse_bufvec *bv = malloc(sizeof *bv);
    char *mem = malloc(size ? size : 1);
    int n;

    if (!bv || !mem) {
        free(bv);
        free(mem);
        return -ENOMEM;
    }
    n = read(mem, size, off, fi);
    if (n < 0) {
        free(bv);
        free(mem);
        return n;
    }
    *bv = FUSE_BUFVEC_INIT((size_t)n);
    bv->buf[0].mem = mem;
    *bufp = bv;
    return 0;
}

static void forget_path(void *ud, const char *path)
{
    (void)ud;
    ll_invalidate_path(path);
}

void ops_forget_names(void *ud, const char *app_dir, const char *coll_dir, char **names,
                      size_t n)
{
    char path[PATH_MAX];
    (void)ud;

    for (size_t i = 0; i < n; i++) {
        /* -ENOENT: the kernel holds nothing of it (a new name: its negative entry lasts
         * no longer than `revalidate`). */
        if ((size_t)snprintf(path, sizeof path, "/%s/%s/%s/%s", LAYOUT_APPS_NAME, app_dir,
                             coll_dir, names[i]) < sizeof path)
            ll_invalidate_path(path);
    }
}

static void *ops_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    fs_ctx *x = ops_ctx();

    /* The kernel keeps names as long as the cache does; file data is not kept across
     * opens (kernel_cache off) so every open sees the cache's content. Attributes and
     * missing names only for `revalidate` at most: a stat of a collection directory must
     * reach the cache now and then, which checks the collection with the server then
     * (rsync never opens the directory it copies into: it stats it and each name), and
     * the names' stats must then show what the check found (served by the cache, no
     * request). */
    double short_ttl = x->revalidate < x->ttl ? x->revalidate : x->ttl;
    cfg->entry_timeout = x->ttl;
    cfg->attr_timeout = short_ttl;
    cfg->negative_timeout = short_ttl;
    cfg->kernel_cache = 0;
    cfg->auto_cache = 0;
    cfg->direct_io = 0;
    cfg->use_ino = 0; /* inode numbers are libfuse's node ids (ops_file.c relies on it) */
    cfg->readdir_ino = 0;
    cfg->nullpath_ok = 0;
    /* An unlinked open file is really unlinked (no .fuse_hidden rename: that would be a
     * rename to a local-only name, which keeps a record). Its handles work on. */
    cfg->hard_remove = 1;
    /* open(O_TRUNC) arrives as one open, not an open and a truncate. */
    if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
        conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
    /* ls -l of a large directory must not become one lookup per entry. */
    if (conn->capable & FUSE_CAP_READDIRPLUS)
        conn->want |= FUSE_CAP_READDIRPLUS;
    conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
    /* Writes of dataframe files in 1 MiB requests, not 128 KiB ones (libfuse's buffers
     * take 1 MiB; the kernel caps it at what it allows). */
    conn->max_write = 1u << 20;
    /* Requests the kernel sends without waiting (readahead, releases): enough to keep
     * every worker busy when parallel readers (cp -r, grep -r, rsync) read at once. */
    if (x->workers > 0) {
        unsigned bg = (unsigned)x->workers * 2;
        conn->max_background = bg > 12 ? bg : 12;
        conn->congestion_threshold = conn->max_background * 3 / 4;
    }
    log_info("mounted %s on %s%s", x->url, x->mountpoint, x->ro ? " (read-only)" : "");
    jr_start(forget_path, NULL); /* async uploads: the journal's workers */
    /* Said on stderr before detaching; the system log hears it too. */
    if (x->insecure && x->daemon)
        log_warning("-o insecure: the server's TLS certificate is not verified");
    return x;
}

static void ops_destroy(void *private_data)
{
    fs_ctx *x = private_data;
    jr_drain(); /* async uploads: what is pending is sent before the client goes */
    wr_destroy(); /* local-only files and buffers go with the mount */
    if (x)
        log_info("unmounted %s", x->mountpoint);
}

static int ops_statfs(const char *path, struct statvfs *st)
{
    (void)path;
    memset(st, 0, sizeof *st);
    st->f_bsize = 4096;
    st->f_frsize = 4096;
    st->f_namemax = NAMES_MAX;
    return 0;
}

static const struct fuse_operations operations = {
    .init = ops_init,
    .destroy = ops_destroy,
    .getattr = ops_getattr,
    .opendir = ops_opendir,
    .readdir = ops_readdir,
    .releasedir = ops_releasedir,
    .open = ops_open,
    .read = ops_read,
    .release = ops_release,
    /* The write side (ops_write.c, ops_ns.c). */
    .create = wr_create,
    .write = wr_write,
    .truncate = wr_truncate,
    .flush = wr_flush,
    .fsync = wr_fsync,
    .chmod = wr_chmod,
    .chown = wr_chown,
    .utimens = wr_utimens,
    .unlink = wr_unlink,
    .rename = wr_rename,
    .mkdir = wr_mkdir,
    .rmdir = wr_rmdir,
    .symlink = wr_symlink,
    .readlink = wr_readlink,
    .statfs = ops_statfs,
};

const struct fuse_operations *fs_operations(void)
{
    /* dataframes/ and query-results/ are answered in front of the table (ndjson.h), and
     * exports/ and the actionflows' .start and .last-run.json files in front of that
     * (tasks.h). */
    return tasks_wrap(ndjson_wrap(&operations));
}
