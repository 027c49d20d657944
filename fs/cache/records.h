/* records.h: the compact table of one collection's records (names, sizes, times), no locking. */
#ifndef FS_RECORDS_H
#define FS_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "content_lru.h"

/* A collection may hold a million records, so an entry is small and fixed-size, names live
 * in one arena, the hash index chains through the entries, and nothing is malloc'ed per
 * record but its content (when resident). 40 bytes of entry + 4 of display order + the
 * name (+ the key when it differs from the name) + 4-8 bytes of hash buckets per record:
 * about 74 bytes for a 24-character _id. */
enum {
    RECS_KEY_DIFFERS = 1u << 0, /* the server key is stored after the name in the arena */
    RECS_GONE = 1u << 1,        /* a single GET answered 404: hidden until the next listing */
    RECS_FETCHED = 1u << 2,     /* `fetched` holds when this record was fetched alone */
    RECS_UNSHOWN = 1u << 3,     /* replaced by a save: the kernel may hold another size until
                                 * a getattr shows this one (opens read around its cache) */
    RECS_READ = 1u << 4,        /* opened for reading through this mount: `sum` is the version
                                 * a reader got (or this mount saved since) */
    RECS_CONFLICT = 1u << 5,    /* RECS_READ, and the server's content changed since: a save
                                 * based on what was read would overwrite another change
                                 * (cleared by a save made here, or by a reader once a save
                                 * was refused for it: RECS_REPORTED) */
    RECS_REPORTED = 1u << 6,    /* RECS_CONFLICT, and a save was refused for it: the next
                                 * reader gets the server's version knowingly */
    RECS_FORGOTTEN = 1u << 7,   /* a save or delete of unknown outcome at `fetched`: no
                                 * content, size not trusted; a listing, page or GET begun
                                 * before is older (cache_record_newer), the next GET tells */
};

/* A content checksum (render_checksum) as an entry keeps it. */
#define RECS_SUM(sum64) ((uint32_t)((sum64) ^ ((sum64) >> 32)))

typedef struct recs_entry {
    uint32_t name;        /* arena offset of the file name without its ".json" suffix */
    uint32_t next;        /* hash chain: index + 1 of the next entry in the bucket, 0 ends */
    uint32_t size;        /* bytes of the rendered content */
    uint32_t mtime;       /* modification time, epoch seconds */
    uint32_t flags;       /* RECS_* */
    uint32_t reserved;    /* (room for per-record state of the write side) */
    uint32_t sum;         /* render_checksum of the content, folded (RECS_SUM) */
    uint32_t fetched;     /* when this record was fetched alone (RECS_FETCHED), or its
                           * save's outcome became unknown (RECS_FORGOTTEN): a
                           * cache_stamp, tenths of a second of the cache's clock */
    lru_item *content;    /* the content while resident, else NULL */
} recs_entry;

typedef struct recs {
    recs_entry *e;
    uint32_t n, cap;
    uint32_t *order;      /* display order: order[k] is the index of the k-th entry */
    uint32_t *buckets;    /* index + 1 of the first entry of each bucket, 0 when empty */
    uint32_t nbuckets;    /* a power of two, >= n */
    char *arena;
    size_t arena_used, arena_cap;
} recs;

/* An empty table (no allocation yet). */
void recs_init(recs *r);
/* Frees the table's memory; it does not touch the entries' content (the user releases
 * those first). Accepts an initialised empty table. */
void recs_free(recs *r);

/* Adds an entry for file name `name` (suffix left off) and server key `key`, zeroed but
 * for names, appended at the end of the display order. Returns 0 and *index; 1 and the
 * existing *index when the name is already there; -1 when out of memory or full. */
int recs_add(recs *r, const char *name, const char *key, uint32_t *index);
/* Makes room for n entries and arena_bytes of names (a listing that knows its size
 * grows no further). Returns 0, or -1 when out of memory (the table stays usable). */
int recs_reserve(recs *r, uint32_t n, size_t arena_bytes);
/* Finds name[0..len) (suffix left off). Returns 0 and *index, or -1. */
int recs_find(const recs *r, const char *name, size_t len, uint32_t *index);

/* The stored strings of entry i (valid until the next recs_add, which may move the arena). */
const char *recs_name(const recs *r, uint32_t i);
const char *recs_key(const recs *r, uint32_t i);

/* Sets the display order from pos[i], the server's position of entry i (ties keep index
 * order). pos has r->n elements. Returns 0, or -1 when out of memory (order unchanged). */
int recs_sort_by_position(recs *r, const uint32_t *pos);

/* Gives back the room kept for growth (entries, order, arena); a failed realloc keeps the
 * larger block. Content pointers stay valid; entry addresses may change. */
void recs_shrink(recs *r);

/* Bytes held by the table itself (not content): for statistics and the tests. */
size_t recs_memory(const recs *r);

#endif /* FS_RECORDS_H */
