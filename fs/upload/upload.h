/* upload.h: the write side's requests: saves, creates, deletes of server files and
 * directories, each followed by the cache's update (read your own writes). */
#ifndef FS_UPLOAD_H
#define FS_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "cache.h"
#include "ctx.h"
#include "wname.h"

/* Checks data as a save would (a JSON object, strict, at most 16 MiB). On refusal logs
 * "<path>: not saved: line L, column C: <what>" at error level (debug when quiet) and
 * returns -EINVAL. */
int up_check(const char *path, const char *data, size_t len, bool quiet);

/* Sends data (checked already) as the content of the server file at w: a record, a list
 * item, .app.json or .collection.json. The identity comes from the name: a record's _id is
 * its file-name stem, a query's slug, a user's e-mail, an actionflow's or questionnaire's
 * id (a create leaves the id to the server), an app's id, a collection's app and slug; the
 * members of the content holding them are replaced. `exists` picks update or create; a
 * create answered 409 becomes an update and an update answered 404 a create. The server's
 * answer becomes the cached content (*attr, when non-NULL, what the file now shows).
 * Returns 0 or a negative errno (fs_errno), with the failure logged. */
int up_save(fs_ctx *x, const wpath *w, const char *data, size_t len, bool exists,
            cache_attr *attr);

/* Deletes the server file at w (a record or an item; a user is deactivated) and tells the
 * cache. -EPERM for metadata and the version. */
int up_delete(fs_ctx *x, const wpath *w);

/* The content the server file at w shows now (a reference: lru_item_unref), fetched when
 * needed; -ENOENT when there is none. */
int up_content(fs_ctx *x, const wpath *w, lru_item **content, cache_attr *attr);

/* Whether the server file at w exists: 0 (with *attr), -ENOENT, or another error. */
int up_exists(fs_ctx *x, const wpath *w, cache_attr *attr);

/* mkdir apps/<id> (an app) and apps/<app>/<slug> (a collection); rmdir of both, refused
 * with -ENOTEMPTY while they hold collections or records. */
int up_mkdir(fs_ctx *x, const layout_path *p);
int up_rmdir(fs_ctx *x, const layout_path *p);

/* The text of the last failure this thread's up_save or up_delete logged (with the
 * server's message), "" after up_clear_failure (the journal keeps it with its entry). */
void up_clear_failure(void);
const char *up_last_failure(void);

#endif /* FS_UPLOAD_H */
