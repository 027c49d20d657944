/* uploader.h: -o async_uploads: saves and deletes of records go to the journal
 * (journal.h) at close, and `workers` threads send them to the server in the background
 * (at nice 10: the mount's own requests come first).
 *
 * Batches: when new records of one collection pile up (a bulk cp faster than the
 * server), a worker takes its share of them, up to 200 (4 MiB), and creates them with one
 * request (the dataframe append, all or nothing: uploader_batch.c); a batch refused as a
 * whole (409: one exists already; a 4xx) is sent again one record a request.
 *
 * Ordering: the entries of one path are sent one at a time, oldest first (a create, its
 * updates, then a delete); different paths go in parallel. An entry that has not started
 * yet is replaced by a newer one of its path (coalescing: at most one entry runs and one
 * waits per path; the newest holds the file's final state).
 * Failures: the client's own tries first (timeouts, network, 502/503/504); then the entry
 * waits and is tried again, after `backoff` seconds doubling up to a minute, for as long
 * as it takes (EIO, ETIMEDOUT: the server's or the network's trouble). Any other failure
 * (HTTP 4xx: EINVAL, ENOENT, EACCES...) is final: the entry stays in the journal with the
 * server's message, shown in .clappfs/errors and the log, and the file keeps showing the
 * content that was refused. Writing the file again (or removing it) replaces the entry;
 * each mount tries the failed entries of the journal again.
 * Reads: a path with an entry shows the newest entry's content (a delete: no file) until
 * its upload is done, then the server's answer. fsync waits for the path's upload.
 *
 * Locking: its own lock, taken after wn_lock (never the other way); it is never held
 * across a request, and the workers never take the write side's locks.
 */
#ifndef FS_UPLOADER_H
#define FS_UPLOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cache.h"
#include "content_lru.h"
#include "ctx.h"
#include "stats.h"
#include "wname.h"

typedef struct jr_config {
    fs_ctx *x; /* client and cache of the uploads (outlives the journal) */
    const char *url, *username;
    int workers;
    double backoff;  /* seconds: the first pause before the journal tries again */
    bool foreground; /* progress lines at unmount every second (else 30 s) */
} jr_config;

/* Opens the journal of url + username and loads what it holds (before mounting: a
 * journal in use by another mount is an error). 0, or -1 with a message in err. */
int jr_open(const jr_config *cfg, char *err, size_t errsz);
/* Called (from a worker, no lock held) when a file shows the server's answer after its
 * upload, so that the kernel forgets what it kept of the file; ud as given to jr_start. */
typedef void (*jr_changed_fn)(void *ud, const char *path);
/* Starts the workers (the FUSE init, after daemonizing); the journal's entries go first.
 * changed (may be NULL) is how this layer tells the one above without calling it. */
void jr_start(jr_changed_fn changed, void *ud);
/* The FUSE loop ended: the kernel is told nothing more (libfuse frees its tables before
 * the destroy callback); waits for a notification in flight. Before fuse_unmount. */
void jr_detach(void);
/* Waits until every entry is uploaded or failed for good, with progress in the log
 * ("uploading 1234 pending changes... 56 left"). The FUSE destroy. */
void jr_drain(void);
/* Stops the workers and closes the journal (removed when nothing is left). Accepts a
 * journal never opened. */
void jr_close(void);
bool jr_on(void);

/* Whether a save or delete of w goes to the journal: async uploads on, and a record. */
bool jr_takes(const wpath *w);
/* Journals a put of data (checked already) / a delete of w's path. attr (non-NULL) gets
 * what the file shows now. 0, or a negative errno (nothing journaled). */
int jr_put(const wpath *w, const char *data, size_t len, bool exists, cache_attr *attr);
int jr_delete(const wpath *w);

/* What the journal shows at path: 0 nothing (the server's file shows), 1 a put's content
 * (*attr, *mtime; *content, a reference, when content is non-NULL), -ENOENT a delete. */
int jr_lookup(const char *path, cache_attr *attr, struct timespec *mtime, lru_item **content);
bool jr_pending(const char *path);
/* A time set on a pending put (touch, cp -a): kept on the server's file after its upload.
 * 0, -ENOENT (a pending delete), or 1 when path has no entry. */
int jr_set_time(const char *path, const struct timespec *t);

/* fsync: waits for the path's entries; 0, or the negative errno of a final failure. */
int jr_wait(const char *path);
/* Around a synchronous change of the server file at path (upload.c): waits for its
 * entries first; after a success, a failed entry it replaced is dropped. */
void jr_sync_begin(const char *path);
void jr_sync_done(const char *path);
/* rmdir: waits for the entries below dir; returns how many puts stay there (failed). */
size_t jr_wait_under(const char *dir);
/* A whole collection is replaced or emptied (dataframes): waits for every entry. */
void jr_wait_all(void);

/* The entries whose parent directory is dir (listings), under the journal's lock. */
typedef void (*jr_each_fn)(void *ud, const char *name, bool deleted, const cache_attr *attr,
                           const struct timespec *mtime);
void jr_each_in(const char *dir, jr_each_fn fn, void *ud);

/* For .clappfs/stats. */
void jr_get_counts(stats_journal *c);

#endif /* FS_UPLOADER_H */
