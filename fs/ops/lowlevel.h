/* lowlevel.h: serves the mount through libfuse's low-level API, keyed by inode number. */
#ifndef FS_LOWLEVEL_H
#define FS_LOWLEVEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* FUSE_USE_VERSION comes from the build (fs/meson.build). */
#include <fuse.h>
#include <fuse_lowlevel.h>

#include "stats.h"

/*
 * The kernel speaks in node ids; clappfs's operations (the tables of ops.c, ndjson_wrap.c,
 * tasks.c and control.c) speak in paths. This module is the one between them: it keeps the
 * inode table (inodes.h) and answers the kernel's low-level requests by calling the table
 * with the node's path of the moment, so a handle follows its file across renames and one
 * readdirplus fills the kernel's names and attributes with no lookup per entry.
 *
 * What it does as libfuse's high-level library did, so the tables need no change: paths
 * are those of the moment ("/" for the root); handle operations (read, write, flush,
 * release, fsync, and getattr/setattr given a handle) on an unlinked file get a NULL path;
 * setattr becomes chmod, chown, truncate and utimens in that order, then getattr; mknod of
 * a regular file is create and release; a missing name answers a negative entry that the
 * kernel keeps `negative_timeout`; init gets a struct fuse_config whose entry, attribute
 * and negative timeouts are used. Unlinked open files stay as they are (hard_remove).
 *
 * One mount per process: the state is the module's.
 */

/* Per-entry attribute timeout: given the path and the attributes being answered, the
 * seconds the kernel may keep them (dflt is the table's attr_timeout). NULL: dflt always. */
typedef double ll_attr_timeout_fn(const char *path, const struct stat *st, double dflt);

/* A new session for ops (copied) with userdata as the tables' private data until init
 * replaces it with what init returns. args: libfuse's low-level and mount options
 * (unknown ones are refused with a message). NULL on failure (libfuse said why). The
 * session is the caller's: fuse_session_mount, a loop, fuse_session_unmount, then
 * ll_session_destroy. */
struct fuse_session *ll_session_new(struct fuse_args *args, const struct fuse_operations *ops,
                                    void *userdata, ll_attr_timeout_fn *attr_timeout);
/* Destroys the session (calls the table's destroy if init ran) and the inode table.
 * Accepts NULL. */
void ll_session_destroy(struct fuse_session *se);

/* The tables' private data (what init returned; the userdata before). */
void *ll_userdata(void);
/* The session, for notifications; NULL when none. */
struct fuse_session *ll_session(void);
/* The kernel forgets the attributes and cached pages of the file at path, if it holds it.
 * 0, -ENOENT (not held: nothing to forget), or libfuse's error. Not from a lookup of that
 * name (see fuse_lowlevel_notify_inval_inode). */
int ll_invalidate_path(const char *path);
/* Called from an open: the node being opened and the size the kernel holds for it (the
 * last answered to it, or grown by its writes; LL_SIZE_UNKNOWN when never told). false
 * outside an open. */
#define LL_SIZE_UNKNOWN UINT64_MAX
bool ll_open_node(uint64_t *ino, uint64_t *ksize);
/* The kernel's requests so far, by kind, and the nodes it holds (for .clappfs/stats). */
void ll_get_counts(stats_kernel *out);

#endif /* FS_LOWLEVEL_H */
