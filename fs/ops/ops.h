/* ops.h: the FUSE operations of clappfs (high-level API) and their shared context. */
#ifndef FS_OPS_H
#define FS_OPS_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

/* FUSE_USE_VERSION comes from the build (fs/meson.build). */
#include <fuse.h>

#include "cache.h"
#include "ctx.h"
#include "clappform.h"
#include "content_lru.h"


/* One open file of the read side. The content is a snapshot taken at open (read serves it
 * whatever refreshes happen). Files opened for writing, and new and local-only files, have
 * the write side's handles (ops_write.c; fi->fh with bit 0 set). */
typedef struct fs_file {
    lru_item *content;   /* referenced */
    cache_attr attr;     /* as at open, for fstat */
    int flags;           /* open(2) flags */
} fs_file;

/* One open directory: a snapshot of its entries, retaken when read from offset 0. */
typedef struct fs_dirh {
    cache_dir *snap;     /* NULL until the first readdir */
    struct wr_overlay *ov; /* the write side's entries (ops_write.h), taken with snap */
    uint64_t gen;          /* the directory's change count before snap was taken */
} fs_dirh;

/* The operations table (read side: getattr, open, read, release, opendir, readdir,
 * releasedir, statfs, init, destroy). */
const struct fuse_operations *fs_operations(void);

/* ll_attr_timeout_fn (lowlevel.h): how long the kernel keeps the attributes of path. */
double ops_attr_timeout(const char *path, const struct stat *st, double dflt);

/* Shared by the operation files. */
fs_ctx *ops_ctx(void);
void ops_stat(const fs_ctx *x, const cache_attr *a, struct stat *st);

/* A read of an operation file that serves its own paths (ndjson.c, control.c). */
typedef int ops_read_fn(char *buf, size_t size, off_t off, struct fuse_file_info *fi);
/* read_buf over a plain read: read(mem, size, off, fi) into a new one-buffer vector at
 * *bufp, which libfuse frees with its memory after replying. 0, read's negative errno,
 * or -ENOMEM (*bufp untouched then). */
int ops_read_buf(ops_read_fn *read, struct fuse_bufvec **bufp, size_t size, off_t off,
                 struct fuse_file_info *fi);

int ops_getattr(const char *path, struct stat *st, struct fuse_file_info *fi);
int ops_opendir(const char *path, struct fuse_file_info *fi);
int ops_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                struct fuse_file_info *fi, enum fuse_readdir_flags flags);
int ops_releasedir(const char *path, struct fuse_file_info *fi);
/* cache_config.changed: tells the kernel to forget the attributes and pages of records a
 * close-to-open check found changed, so their next stat asks the cache (which shows the
 * check's answer). From the thread of a FUSE operation. */
void ops_forget_names(void *ud, const char *app_dir, const char *coll_dir, char **names,
                      size_t n);
int ops_open(const char *path, struct fuse_file_info *fi);
int ops_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi);
int ops_release(const char *path, struct fuse_file_info *fi);

#endif /* FS_OPS_H */
