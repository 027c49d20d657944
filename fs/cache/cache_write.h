/* cache_write.h: what the write side tells the cache: keys of names, the server's answers
 * to saves (read your own writes), deletions, new directories, kept names. */
#ifndef FS_CACHE_WRITE_H
#define FS_CACHE_WRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "cache.h"

/* The server keys of a record path (LAYOUT_RECORD): app and slug from the directory names,
 * and the record's _id: the one known for the name (listed, fetched, or kept after a
 * create the server gave another id), else the name decoded. A shortened name not known
 * costs a listing. Each out-string is malloc'ed. -EINVAL: no _id has this file name. */
int cache_record_key(cache *c, const layout_path *p, char **app, char **slug, char **key,
                     cf_error *err);

/* The key of a list entry path (LAYOUT_ITEM, LAYOUT_APP_META, LAYOUT_COLLECTION_META,
 * LAYOUT_APP, LAYOUT_COLLECTION) and, for collections, its app's key (else *app NULL).
 * A name not listed gives its decoded name with *listed false (a create). */
int cache_entry_key(cache *c, const layout_path *p, char **app, char **key, bool *listed,
                    cf_error *err);

/* Installs data (the rendered answer of a save) as the content of record `name` (file
 * name, suffix included) with server key `key`, making the entry when missing; *attr
 * (when non-NULL) gets what it now shows. When the key's own file name is not `name`,
 * `name` is kept for that key for the rest of the mount. 0 or -ENOMEM. */
int cache_put_record(cache *c, const char *app, const char *slug, const char *name,
                     const char *key, const char *data, size_t len, cache_attr *attr);
/* The record is gone (deleted through the mount): hidden until listed again. */
void cache_drop_record(cache *c, const char *app, const char *slug, const char *name);
/* A save or delete of the record failed after its request may have reached the server
 * (a timeout, a 5xx, an answer that could not be read): what the cache holds of it is not
 * trusted any more; the next look at it asks the server. The version a reader got is
 * forgotten too: the server may hold this mount's own text, which a conflict check could
 * not tell from another client's, so the next save is not checked until a reader gets the
 * record again (cache_record_verify). */
void cache_forget_record(cache *c, const char *app, const char *slug, const char *name);

/* Before an update of record `name` (file name, suffix included; key its _id), unless
 * -o overwrite: when a reader of this mount got the record (cache_open_reader), it is
 * fetched again (one GET) and compared with the version read (or saved here since) --
 * unless the server confirmed that version less than `revalidate` seconds ago (as an
 * open trusts it), or a listing or open showed a change already (then no request).
 * Returns 0 when the save may go on (*gone: the server holds no such record now, so the
 * save is a create), -EBUSY when the server's content changed since (*theirs: a reference
 * to it, for the message; lru_item_unref), another negative errno when the GET failed
 * (*err filled). A record no reader got here (a create, a cp over it): 0 at once, no
 * request. */
int cache_record_verify(cache *c, const char *app, const char *slug, const char *name,
                        const char *key, bool *gone, lru_item **theirs, cf_error *err);

/* The same for list entries: kind CF_APP (name: the app's directory name, data: its
 * .app.json), CF_COLLECTION (app: the app's key), CF_QUERY ... CF_USER. A list not
 * fetched yet is left alone (its first fetch shows the server's state). */
int cache_put_entry(cache *c, cf_kind kind, const char *app, const char *name, const char *key,
                    const char *data, size_t len, cache_attr *attr);
/* Removes an entry; for an app also its collections, for a collection its records. */
void cache_drop_entry(cache *c, cf_kind kind, const char *app, const char *name);

/* A collection just made holds no records: known without a listing. */
void cache_new_collection(cache *c, const char *app, const char *slug);

/* What a directory holds, for rmdir: collections of an app (LAYOUT_APP), records of a
 * collection (LAYOUT_COLLECTION). With verify, an answer of 0 is checked with the server
 * (a fresh list or listing). */
int cache_dir_count(cache *c, const layout_path *p, bool verify, size_t *n, cf_error *err);

/* A time a tool set on a record (utimensat: rsync -a, cp -a, touch) is kept in its cache
 * entry (records.h: `reserved`) for the rest of the mount, as long as the content stays
 * the one it was set on; listings carry it over. Returns 0, or -ENOENT when the record is
 * not known to the cache. */
#define CACHE_W_NSMASK ((1u << 30) - 1) /* reserved: the nanoseconds of the time */
#define CACHE_W_TIMESET (1u << 31)      /* reserved: a tool set the time */
int cache_record_set_time(cache *c, const layout_path *p, const struct timespec *t,
                          cache_attr *attr);

/* Directory snapshots: the number of entries a snapshot walks (hidden ones included), and
 * whether it shows a name. */
size_t cache_dir_size(cache *c, const cache_dir *d);
bool cache_dir_has(cache *c, const cache_dir *d, const char *name);

#endif /* FS_CACHE_WRITE_H */
