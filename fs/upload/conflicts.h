/* conflicts.h: the texts of saves refused for a conflict, kept for the user under
 * .clappfs/conflicts/<app>/<collection>/<file> (in memory, for the rest of the mount). */
#ifndef FS_CONFLICTS_H
#define FS_CONFLICTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* FUSE_USE_VERSION comes from the build (fs/meson.build). */
#include <fuse.h>

/* The directory's name in .clappfs. */
#define CONFLICTS_NAME "conflicts"

/* Keeps data[0..len) as <app>/<coll>/<name> (the mount's directory and file names); its
 * directories are made as needed. When another text is kept there already, this one goes
 * to <stem>.2<suffix>, <stem>.3<suffix>, ... (the first free, or holding the same text):
 * nothing the user wrote is dropped (an editor that writes its backup back after the
 * refusal makes a second one). kept (keptsz bytes) gets the file name used. Thread-safe.
 * 0 or -ENOMEM. */
int conflicts_put(const char *app, const char *coll, const char *name, const char *data,
                  size_t len, char *kept, size_t keptsz);

/* What rel names ("" the conflicts directory itself, "a", "a/c", "a/c/x.json"): 0 with
 * *is_dir, *size, *mtime, or -ENOENT. */
int conflicts_stat(const char *rel, bool *is_dir, size_t *size, time_t *mtime);

/* The names directly in directory rel, in order, each called with its attributes; a
 * non-zero return of fn stops. -ENOENT / -ENOTDIR when rel is no directory. */
typedef int (*conflicts_fill_fn)(void *ud, const char *name, bool is_dir, size_t size,
                                 time_t mtime);
int conflicts_list(const char *rel, conflicts_fill_fn fn, void *ud);

/* A copy of the text of file rel (*data malloc'ed). 0, -ENOENT, -EISDIR or -ENOMEM. */
int conflicts_read(const char *rel, char **data, size_t *len);

/* rm of a file (-EISDIR for a directory), rmdir of a directory (-ENOTEMPTY while it holds
 * anything, -ENOTDIR for a file; the conflicts directory itself: -EACCES). */
int conflicts_unlink(const char *rel);
int conflicts_rmdir(const char *rel);

/* For the control directory (control.c): the stat of rel (directories 0755, files 0644:
 * the user reads and removes them, nothing else), owned by uid/gid, times of nodes with
 * none dflt_time; and a listing of directory rel for readdir from offset off ("." and
 * ".." first; a snapshot each time, offsets counting entries). 0 or a negative errno. */
int conflicts_attr(const char *rel, uid_t uid, gid_t gid, time_t dflt_time, struct stat *st);
int conflicts_readdir(const char *rel, uid_t uid, gid_t gid, time_t dflt_time, void *buf,
                      fuse_fill_dir_t filler, off_t off);

/* How many texts are kept (the unit tests check that rm leaves none). */
size_t conflicts_count(void);

/* Forgets everything (at unmount, and tests). */
void conflicts_clear(void);

#endif /* FS_CONFLICTS_H */
