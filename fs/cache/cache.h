/* cache.h: TTL cache of listings, attributes and content between FUSE ops and the client. */
#ifndef FS_CACHE_H
#define FS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "clappform.h"
#include "content_lru.h"
#include "layout.h"

/* How the cache fetches: the client (source.h), or a test's fake. Each function is called
 * without any cache lock held, possibly from several threads at once; they follow the
 * client's conventions (0 or -1 with err filled, out-pointers owned by the caller). */
typedef struct cache_source {
    void *ud;
    /* The `data` array of a list call (CF_COLLECTION: every app's collections). */
    int (*list)(void *ud, cf_kind kind, int extended, cf_json **out, cf_error *err);
    /* GET /version's `data`. */
    int (*version)(void *ud, cf_json **out, cf_error *err);
    /* Every record of a collection, page by page (see cf_read_collection). */
    int (*read_collection)(void *ud, const char *app, const char *slug, cf_page_fn fn,
                           void *fn_ud, size_t *total, cf_error *err);
    /* One record, "_id" first. */
    int (*record_get)(void *ud, const char *app, const char *slug, const char *id,
                      cf_json **out, cf_error *err);
    /* The one page of a collection's listing at offset (page_size records), or NULL
     * (then records are asked for one by one, or the collection listed again). */
    int (*read_page)(void *ud, const char *app, const char *slug, size_t offset,
                     cf_page_fn fn, void *fn_ud, size_t *total, cf_error *err);
} cache_source;

typedef struct cache_config {
    double ttl;              /* seconds things stay fresh; 0: every question fetches */
    size_t content_budget;   /* bytes of record content kept (LRU); 0 keeps none */
    time_t mount_time;       /* time of files that have no other; 0: the wall clock at start */
    /* Clocks, replaceable for tests; NULL: CLOCK_MONOTONIC and time(). */
    double (*mono)(void *ud);
    time_t (*wall)(void *ud);
    void *clock_ud;
    unsigned page_size;      /* records a listing page holds (what a listing costs); 0: 500 */
    /* The process's resident bytes (memuse.h), or NULL. When set, content_budget bounds
     * the whole process rather than content alone: now and then (every 1/64 of the
     * budget of content added, or of entries listed at an estimated cost each: the
     * kernel-facing node each makes in libfuse) the content kept is cut to what the
     * budget leaves beside the rest (record tables, libfuse's nodes, buffers, code),
     * never below 1/16 of the budget; 0 from it changes nothing. */
    size_t (*resident_bytes)(void);
    /* Called after content was dropped for room by the above, or NULL (memuse_release). */
    void (*release)(void);
    /* Close-to-open consistency (-o revalidate): when set, an open for reading of a record
     * (cache_open_reader) whose copy was confirmed by the server longer than `revalidate`
     * seconds ago asks for it again (one GET, or a listing when many come), and a look at a
     * listed collection's directory (cache_getattr, cache_opendir) older than that checks
     * the collection (cache_coll.c: a listing when it fits in one page, else the first
     * page's total), whatever the TTL says. 0 seconds: every time. */
    bool close_to_open;
    double revalidate;
    /* Called (when set), from the thread of the question and without any cache lock, with
     * the file names (suffix included) of the records a close-to-open check of the
     * collection at directory names app_dir/coll_dir found changed (gone, another
     * content, new): what the kernel holds of them is to be forgotten. */
    void (*changed)(void *ud, const char *app_dir, const char *coll_dir, char **names,
                    size_t n);
    void *changed_ud;
} cache_config;

typedef struct cache cache;

/* Seconds a fetch that timed out (ETIMEDOUT, after tries x timeout) answers the same
 * question again without asking the server (the kernel repeats a failed lookup at once). */
#define CACHE_FAIL_MEMO 0.25

/* What stat shows of a node (owner and the rest are the operations' business). */
typedef struct cache_attr {
    bool is_dir;
    unsigned mode;           /* permission bits: 0755, 0644, 0444 */
    uint64_t size;
    time_t mtime;            /* also ctime and atime */
    uint32_t mtime_ns;       /* its nanoseconds: a time a tool set (cache_write.h), else 0 */
} cache_attr;

typedef struct cache_stats {
    uint64_t list_fetches;       /* list calls made (apps, collections, ..., version) */
    uint64_t collection_reads;   /* full collection listings made */
    uint64_t record_gets;        /* single record GETs made */
    uint64_t collection_probes;  /* first pages read to check a collection's size */
    uint64_t page_refreshes;     /* listing pages read again for readers (close-to-open) */
    uint64_t joined;             /* questions that waited for another thread's fetch */
    uint64_t evictions;          /* contents dropped for room */
    size_t content_bytes;        /* bytes of resident content (as charged) */
    size_t content_budget;
    size_t content_items;
    size_t records;              /* records known in all collections */
    size_t record_table_bytes;   /* memory of the record tables (names, entries, index) */
    uint64_t hits;               /* questions (getattr, open, opendir) answered from memory */
    uint64_t misses;             /* questions that fetched, or waited for another's fetch */
    uint64_t stale_served;       /* answers from stale data after a failed fetch */
    uint64_t drops;              /* cache_drop_all calls (.clappfs/refresh) */
} cache_stats;

/* Makes a cache; the configuration and source are copied. Returns 0, or -ENOMEM with
 * *out = NULL. */
int cache_new(const cache_config *cfg, const cache_source *src, cache **out);
/* Destroys a cache; no call may be running in it and no directory snapshot open.
 * Accepts NULL. */
void cache_free(cache *c);

/* Attributes of the node at path p. Fetches what is stale or missing. Returns 0 or a
 * negative errno; when the failure came from the server or the network, *err (when
 * non-NULL) tells it (else err->kind is CF_OK). */
int cache_getattr(cache *c, const layout_path *p, cache_attr *attr, cf_error *err);

/* The content of the file at path p, fresh within the TTL, for reading: *content is a
 * reference of the caller's (lru_item_unref when done). *changed tells that the content
 * was fetched now and its size differs from the size shown before, so the kernel's idea
 * of the size may be stale. Returns 0 or a negative errno (-EISDIR for directories). */
int cache_open(cache *c, const layout_path *p, lru_item **content, cache_attr *attr,
               bool *changed, cf_error *err);

/* cache_open for a reader (an open of the read side): with close_to_open, a record not
 * confirmed within `revalidate` seconds is fetched again; the record is then the version
 * this mount has shown (cache_record_verify). Otherwise as cache_open. */
int cache_open_reader(cache *c, const layout_path *p, lru_item **content, cache_attr *attr,
                      bool *changed, cf_error *err);

/* A directory's entries as they were when it was taken (offsets stay valid while it
 * lives, whatever refreshes happen meanwhile). */
typedef struct cache_dir cache_dir;
/* Takes a snapshot of the directory at p, fetching its listing when stale. */
int cache_opendir(cache *c, const layout_path *p, cache_dir **out, cf_error *err);
/* Called for entry `index` (0 for the first after "." and ".."); have_attr is false when
 * the attributes are not known without a fetch. A non-zero return stops the walk. */
typedef int (*cache_fill_fn)(void *ud, const char *name, const cache_attr *attr, bool have_attr,
                             size_t index);
/* Calls fn for the entries from index start on, until fn returns non-zero or the end.
 * fn is called without any cache lock held. Returns 0. */
int cache_readdir(cache *c, cache_dir *d, size_t start, cache_fill_fn fn, void *ud);
/* Releases a snapshot; accepts NULL. */
void cache_closedir(cache *c, cache_dir *d);

void cache_get_stats(cache *c, cache_stats *out);

/* Forgets what is cached (.clappfs/refresh): every list, collection listing and record
 * becomes stale, so the next question about it asks the server, and resident content is
 * dropped (open files keep their snapshots). Names stay known, so paths keep resolving and
 * times of unchanged entries are kept. Fetches that began before this call count as stale
 * too. (cache_obs.c) */
void cache_drop_all(cache *c);

/* -o stale_on_error (off at first): when a fetch fails for want of the server (network,
 * timeout, HTTP 5xx), what was fetched before is served past its TTL, with a warning.
 * Never for other failures (404, 401...). (cache_obs.c) */
void cache_set_stale_on_error(cache *c, bool on);

#endif /* FS_CACHE_H */
