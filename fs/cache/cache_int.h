/* cache_int.h: internal structures shared by cache.c, cache_coll.c and cache_dir.c. */
#ifndef FS_CACHE_INT_H
#define FS_CACHE_INT_H

#include <pthread.h>

#include "cache.h"
#include "records.h"

/* One resource of a list (an app, a collection, a query, ..., the version). */
typedef struct rentry {
    char *name;          /* file name (escaped, suffix included) */
    char *key;           /* server key */
    char *app;           /* collections: the app's key; NULL otherwise */
    lru_item *content;   /* rendered content (never in the LRU: lists are small) */
    time_t mtime;
    uint64_t sum;
} rentry;

/* One fetched list, immutable once published, sorted by (app, name). refs: lock. */
typedef struct rlist {
    int refs;
    size_t n;
    rentry *e;
} rlist;

enum list_id { L_APPS, L_COLLS, L_QUERIES, L_ACTIONFLOWS, L_QUESTIONNAIRES, L_USERS, L_VERSION,
               L_COUNT };

typedef struct lnode {
    rlist *cur;          /* NULL until first fetched */
    double fetched;      /* monotonic seconds of that fetch */
} lnode;

/* One collection's records. The table's current store has a reference; each directory
 * snapshot too. A new listing makes a new store and replaces the current one. */
typedef struct cstore {
    int refs;
    char *app, *slug;    /* server keys */
    recs r;
    double listed;       /* monotonic seconds of the listing (its start) */
    double checked;      /* monotonic seconds the listing was installed (its end): what
                          * close-to-open revalidation counts from */
    double probed;       /* the last check of the collection's size that found it unchanged */
    bool complete;       /* made by a listing (else only records fetched one by one) */
    /* After the listing expired: GETs of its records since stale_since (cache_coll.c:
     * past a listing's worth within one TTL, the collection is listed again instead). */
    uint32_t stale_gets;
    double stale_since;
    /* Not a fresh complete listing: names asked alone that the server did not have
     * (404s) since misses_since (cache_coll.c: past a few within one TTL, the collection
     * is listed instead of asked name by name); pages: how many pages a listing of it
     * takes, as a capped listing found (0: not known). */
    uint32_t misses;
    double misses_since;
    uint32_t pages;
} cstore;

typedef struct cslot {
    struct cslot *next;
    cstore *cur;
    double changed;      /* monotonic seconds of the last save or delete of a record here */
} cslot;

/* The outcome of a fetch, handed to every thread that waited for it. */
typedef struct flight_result {
    int rc;              /* 0 or a negative errno */
    cf_error err;
    lru_item *content;   /* a reference for whoever receives the result, or NULL */
    cache_attr attr;
    bool changed;
} flight_result;

typedef struct flight {
    struct flight *next;
    char *key;
    size_t keylen;
    int waiters;
    bool done;
    flight_result res;
    double ended;        /* in cache.failed: monotonic seconds the failed fetch ended */
} flight;

struct cache {
    pthread_mutex_t lock;  /* guards everything below but cfg and src */
    pthread_cond_t cond;   /* broadcast when a flight ends */
    cache_config cfg;
    cache_source src;
    time_t mount_time;
    lru lru;
    lnode lists[L_COUNT];
    cslot *slots;
    flight *flights;
    flight *failed;        /* fetches that failed moments ago (cache_flight_join) */
    cache_stats stats;
    double valid_after;    /* after cache_drop_all: what was fetched before this is stale */
    double mono_base;      /* the monotonic clock when the cache was made (cache_stamp) */
    bool stale_on_error;   /* cache_set_stale_on_error */
    struct calias *aliases; /* write side: names kept for keys a server assigned */
    size_t mem_added;     /* bytes added since the process was last weighed */
};

/* Under the lock, after content of `added` bytes was put in the LRU, or entries listed
 * that cost about as much elsewhere: the budget follows the resident size
 * (cache_config.resident_bytes). */
void cache_memory_check(cache *c, size_t added);

/* Clocks. */
double cache_mono(cache *c);
time_t cache_wall(cache *c);
/* A monotonic time as a record entry keeps it (recs_entry.fetched): tenths of a second
 * since the cache was made, rounded down (so freshness never lasts longer), and back. */
uint32_t cache_stamp(cache *c, double t);
double cache_stamp_time(const cache *c, uint32_t stamp);
/* Whether something fetched at monotonic time t is still fresh. */
bool cache_is_fresh(cache *c, double t);

/* Single-flight, under the lock. cache_flight_join: when a fetch for key is in flight,
 * waits for it (releasing the lock meanwhile) and returns 1 with its outcome in *res
 * (content referenced for the caller); so too when a fetch for key timed out less than
 * CACHE_FAIL_MEMO seconds ago and after the last cache_drop_all (the kernel asks again at
 * once when a lookup fails: a revalidation, then a fresh lookup; each would wait tries x
 * timeout again); otherwise registers one and returns 0 with *f: the
 * caller fetches without the lock, retakes it and calls cache_flight_end with its outcome
 * (the flight takes its own reference of res->content). -1: out of memory. */
int cache_flight_join(cache *c, const char *key, size_t keylen, flight **f, flight_result *res);
void cache_flight_end(cache *c, flight *f, const flight_result *res);
/* Forgets the failures kept (at cache_free). */
void cache_flights_free(cache *c);

/* Lists, under the lock: makes the list fresh (fetching when stale) and returns 0, or a
 * negative errno with *err filled. `need_fresh` false accepts any list already fetched
 * (to map names to keys, which do not go stale). */
int cache_list_ensure(cache *c, enum list_id id, bool need_fresh, cf_error *err);
/* The entry of a list by (app, name); NULL when absent. */
rentry *cache_list_find(rlist *l, const char *app, const char *name);
void cache_rlist_unref(rlist *l);

/* The list of a LAYOUT_LIST / LAYOUT_ITEM kind. */
enum list_id cache_list_of(cf_kind kind);
/* Finds name (with app) in list id, fetching the list when it is missing, or stale and
 * need_fresh, or stale and the name unknown. Returns the entry (valid until the lock is
 * released) or NULL with *rc set (-ENOENT when absent). */
rentry *cache_list_lookup(cache *c, enum list_id id, const char *app, const char *name,
                          bool need_fresh, int *rc, cf_error *err);
/* Attributes of a directory, and of a list entry's file with the given mode. */
void cache_dir_attr(cache *c, cache_attr *attr);
void cache_entry_attr(const rentry *e, unsigned mode, cache_attr *attr);

/* Maps an app directory name, and a collection directory name, to server keys, under the
 * lock; fresh lists are fetched only when `need_fresh` or when a name is not known. The
 * returned strings are malloc'ed. Returns 0 or a negative errno. */
int cache_resolve_collection(cache *c, const char *app_name, const char *coll_name,
                             bool need_fresh, char **app, char **slug, cf_error *err);

/* File names (malloc'ed each, in a malloc'ed array). */
typedef struct cache_names {
    char **v;
    size_t n, cap;
} cache_names;
/* Adds stem + ".json" (out of memory: left out, the kernel keeps that name until its
 * timeout). */
void cache_names_add(cache_names *nm, const char *stem);
/* Hands the names to cfg.changed (outside the lock) and frees them. */
void cache_names_notify(cache *c, const layout_path *p, cache_names *names);

/* Collections (cache_coll.c), all under the lock. */
/* reader: an open of the read side (close-to-open revalidation, the record marked read).
 * others: where the names of other records that a page read again found changed are
 * added (NULL: not told). */
int cache_record_attr(cache *c, const layout_path *p, cache_attr *attr, lru_item **content,
                      bool *changed, bool reader, cache_names *others, cf_error *err);
/* Close-to-open check of a listed collection whose listing or last check is older than
 * `revalidate` (its directory was looked at): relists it when a listing is one page, else
 * reads the first page's total and relists when it differs from the records known. A
 * failure is logged and what is cached is served (it is within its TTL). The names of
 * records a relisting found changed (gone, another size or content, new) are added to
 * *changed. */
void cache_collection_check(cache *c, const char *app, const char *slug, cache_names *changed);
int cache_collection_snapshot(cache *c, const char *app, const char *slug, cstore **store,
                              uint32_t *count, cf_error *err);
void cache_store_unref(cache *c, cstore *s);
void cache_free_slots(cache *c);
/* The slot of a collection, or NULL. */
cslot *cache_slot_find(cache *c, const char *app, const char *slug);
/* The time of a record first seen: its ObjectId's, else the mount's or now. */
uint32_t cache_first_time(cache *c, const char *key, bool seen_before);

/* Listings (cache_listing.c), called and returning under the lock (released meanwhile):
 * lists a collection with the paged read and installs the listing. 0 or a negative errno
 * with *err filled. */
int cache_store_list(cache *c, const char *app, const char *slug, cf_error *err);
/* The number of records a collection holds, as the first page of a listing says (one
 * request, no record kept). 0 or a negative errno with *err filled. */
int cache_store_probe(cache *c, const char *app, const char *slug, size_t *total, cf_error *err);
/* Close-to-open for readers going through a listed collection (cache_coll.c): reads
 * again the listing page that holds record `name` (its place in the listing's order,
 * page_size records a page) and confirms, and updates, every record of the answer that
 * the store knows. 0 or a negative errno (-ENOENT: no such page to read). */
int cache_store_refresh_page(cache *c, const char *app, const char *slug, const char *name,
                             cache_names *changed, cf_error *err);
/* As cache_store_list, unless the listing would take more than max_pages pages (the first page
 * tells): then only that page was asked, nothing is installed, the current store (if
 * any) keeps the number of pages in `pages`, and the result is 1. */
int cache_store_list_upto(cache *c, const char *app, const char *slug, uint32_t max_pages,
                          cf_error *err);
/* Whether entry e was saved, deleted or fetched alone at or after monotonic time t (then
 * it is at least as new as the answer of a fetch that began at t). */
bool cache_record_newer(cache *c, const recs_entry *e, double t);
/* LRU eviction callback: clears the owning record's pointer. */
void cache_evict_cb(void *ud, lru_item *item);

/* For the write side (cache_coll.c), under the lock: a collection's current store (made
 * empty and incomplete when `make` and there is none); a record's new content; a store
 * made and installed; a collection's stores forgotten (all of app's when slug is NULL). */
cstore *cache_store_of(cache *c, const char *app, const char *slug, bool make);
/* A record of the collection was saved or deleted now (a listing in flight is older). */
void cache_store_touch(cache *c, const char *app, const char *slug);
void cache_record_install(cache *c, cstore *s, uint32_t i, lru_item *item, bool existed);
cstore *cache_store_make(const char *app, const char *slug);
int cache_store_put(cache *c, cstore *s);
void cache_store_forget(cache *c, const char *app, const char *slug);

/* Names the write side keeps for keys a server assigned (cache_write.c), under the lock.
 * space is a list_id, or -1 for records (app and slug given). cache_alias_stem replaces
 * *stem (a record's file name without suffix, malloc'ed) when key has a kept name;
 * cache_alias_key gives the key (malloc'ed) a kept file name stands for, or NULL;
 * cache_alias_list renames the entries of a fresh list (and keeps it sorted). */
void cache_alias_stem(cache *c, const char *app, const char *slug, const char *key, char **stem);
char *cache_alias_key(cache *c, int space, const char *app, const char *slug, const char *name);
void cache_alias_list(cache *c, enum list_id id, rlist *l);
void cache_alias_free(cache *c);

/* Observability and failure handling (cache_obs.c). */
/* The number of fetches this thread has started or joined (cache_flight_join counts them):
 * taken before a question and handed to cache_count_question after it, under the lock, to
 * count the question as a hit (no fetch) or a miss. */
uint64_t cache_fetch_mark(void);
void cache_fetch_counted(void);
void cache_count_question(cache *c, uint64_t mark);
/* Under the lock, after a fetch failed with rc/err and older data (fetched at monotonic
 * time `fetched`) is at hand: whether to serve that data instead of the failure. Yes only
 * with -o stale_on_error and a failure to reach the server (network, timeout, HTTP 5xx);
 * then it logs a warning naming `what` and the age, notes it in .clappfs/errors and counts
 * it. */
bool cache_serve_stale(cache *c, int rc, const cf_error *err, double fetched, const char *what);

#endif /* FS_CACHE_INT_H */
