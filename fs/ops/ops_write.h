/* ops_write.h: the write side's FUSE operations and its hooks into the read side's. */
#ifndef FS_OPS_WRITE_H
#define FS_OPS_WRITE_H

#include <stdbool.h>

#include "ops.h"
#include "wlock.h"

struct wnode;

/* Hooks called first by the read side's operations. Each returns 1 when the path or the
 * handle is the read side's business (nothing was done), else 0 or a negative errno. */
int wr_getattr(const char *path, struct stat *st, struct fuse_file_info *fi);
int wr_open(const char *path, struct fuse_file_info *fi);
/* Whether fi is a handle of the write side's; wr_read serves those only. */
bool wr_is_handle(const struct fuse_file_info *fi);
int wr_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi);
int wr_release(const char *path, struct fuse_file_info *fi);
/* After the read side's getattr of a server path: a time a tool set is shown. */
void wr_fix_stat(const char *path, const cache_attr *attr, struct stat *st);
/* Keeps a time a tool set on the server file or directory at path (a record's in its cache
 * entry, others' in the path facts); now is what the file shows (for the facts). */
void wr_keep_time(fs_ctx *x, const char *path, const struct timespec *t, const cache_attr *now);

/* The write operations (ops_write.c: files; ops_ns.c: names and directories). */
int wr_create(const char *path, mode_t mode, struct fuse_file_info *fi);
int wr_write(const char *path, const char *buf, size_t size, off_t off,
             struct fuse_file_info *fi);
int wr_truncate(const char *path, off_t size, struct fuse_file_info *fi);
int wr_flush(const char *path, struct fuse_file_info *fi);
int wr_fsync(const char *path, int datasync, struct fuse_file_info *fi);
int wr_chmod(const char *path, mode_t mode, struct fuse_file_info *fi);
int wr_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi);
int wr_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi);
int wr_unlink(const char *path);
/* Symbolic links live only in the mount, under local-only names (emacs's .#x.json lock). */
int wr_symlink(const char *target, const char *path);
int wr_readlink(const char *path, char *buf, size_t size);
int wr_rename(const char *from, const char *to, unsigned int flags);
int wr_mkdir(const char *path, mode_t mode);
int wr_rmdir(const char *path);

/* Frees every node and fact (at unmount: local-only files are gone with the mount). */
void wr_destroy(void);

/* Tells the kernel to forget what it keeps of the file at path (attributes, pages): after
 * a save the file shows the server's answer, not the bytes written. */
void wr_inval(const char *path);

/* Takes the mutation locks (wlock.h) of a change of the names a and b (b may be NULL):
 * both paths, and the server files that local files at them are backups of (what
 * wr_drop_origin may delete); with excl (metadata, directories), every path. 0 or
 * -ENOMEM. Once inside, wl_holds() tells whether an origin read then is held (a change
 * made between may have made a file another's backup): when not, let go and take
 * wl_lock_excl. */
int wr_lock_names(wl_held *lk, const char *a, const char *b, bool excl);

/* Shared by ops_ns.c and ops_rename.c, the mutation lock of origin held: a local file
 * that was a server file's backup goes away; when that file is still hidden, it is
 * deleted on the server (metadata shows again). wr_origin_of copies the origin a node answers for (under
 * wn_lock; NULL when none). */
int wr_drop_origin(fs_ctx *x, const char *origin);
char *wr_origin_of(const struct wnode *n);

/* Sends a node's buffer when it changed (flush, fsync, and saves without a handle;
 * ops_save.c).
 * Takes the mutation lock of the node's path itself. 0, or a negative errno (-EINVAL:
 * not a JSON object). */
int wr_save(fs_ctx *x, struct wnode *n);

/* The write side's part of a directory listing: hidden server files left out, files of
 * open/new/local nodes shown with their own attributes, names the server does not list
 * added after its entries, and times tools set. Taken with the snapshot at offset 0. */
typedef struct wr_overlay wr_overlay;
/* The listing of dir (parsed as p): the cache's snapshot (*snap, cache_closedir) and the
 * write side's overlay (*ov, wr_overlay_free; NULL when out of memory). The overlay's
 * names are collected before the snapshot is taken, so a file whose save or upload ends
 * meanwhile is in one of them (and listed once when in both). 0, or the negative errno
 * of cache_opendir (*snap and *ov NULL, err filled). */
int wr_listing_take(fs_ctx *x, const char *dir, const layout_path *p, cache_dir **snap,
                    wr_overlay **ov, cf_error *err);
void wr_overlay_free(wr_overlay *ov);
/* For one server entry: 0 leaves it out; 1 shows it with *attr / *mtime (maybe changed). */
int wr_overlay_filter(wr_overlay *ov, const char *name, cache_attr *attr, struct timespec *mtime,
                      bool *have_attr);
/* Adds the names the server did not list; their offsets start at first_off; attributes
 * only when attrs_ok (see wn_dir_generation). Returns 1 when the filler is full. */
int wr_overlay_fill(wr_overlay *ov, fs_ctx *x, void *buf, fuse_fill_dir_t filler, off_t off,
                    off_t first_off, bool attrs_ok);

#endif /* FS_OPS_WRITE_H */
