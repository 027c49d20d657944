/* control.h: the control directory .clappfs at the mount's root:
 *   .clappfs/stats    (0444) request, cache, upload and error counters as JSON (stats.h)
 *   .clappfs/errors   (0444) the last failures as JSON lines (errlog.h)
 *   .clappfs/refresh  (0600) writing anything to it forgets every cache (cache_drop_all)
 *                     and tells the kernel to drop its names and attributes; reads are empty
 *   .clappfs/conflicts/<app>/<collection>/<file>  (0644) the text of a save refused because
 *                     the record changed on the server since this mount read it (conflicts.h);
 *                     read and removed (rm, rmdir, rm -r) by the user, kept until unmount
 * Everything else in it is refused with EACCES. stats and errors are generated: stat
 * renders them to give an exact size at that moment, open takes a snapshot that the
 * handle's reads serve, and they are opened with direct_io so a size that changed between
 * stat and open cuts nothing off. */
#ifndef FS_CONTROL_H
#define FS_CONTROL_H

#include <stdbool.h>

/* FUSE_USE_VERSION comes from the build (fs/meson.build). */
#include <fuse.h>

#include "stats.h"

/* Remembers what the files show (the view is copied; its strings, client and cache are
 * borrowed and must outlive the mount). Call before the session is made; the mount time is now. */
void control_init(const stats_view *view);

/* The operations of the mount: a copy of inner in which every operation on a path under
 * /.clappfs (or on a handle opened there) is answered by the control directory and every
 * other call goes to inner unchanged. The table is static: one mount per process. */
const struct fuse_operations *control_operations(const struct fuse_operations *inner);

/* Whether path is /.clappfs or below it. */
bool control_is_path(const char *path);

/* What a write to .clappfs/refresh does, callable from tests: forgets the cache and (from
 * within a FUSE operation of a mounted file system) invalidates the kernel's entries of
 * the root's children. */
void control_refresh(void);

/* Asks the kernel to forget its entry of the root's child root_name ("actionflows") and
 * whatever it holds below it (negative entries too), as refresh does for every child, so
 * files that appeared there by a side effect are seen at once. The cache is kept. */
void control_forget_entry(const char *root_name);

#endif /* FS_CONTROL_H */
