/* content_lru.h: shared immutable content buffers and the byte budget (LRU) of resident ones. */
#ifndef FS_CONTENT_LRU_H
#define FS_CONTENT_LRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One rendered file content. The bytes never change once made; the item is shared by
 * reference count (atomic: open files drop theirs without any lock). While resident it is
 * also on its LRU's list and its owner (the record that shows it) points at it; the LRU
 * holds one reference for that (resident: next is not NULL). prev/next/owner/index are
 * guarded by the lock of the LRU's user. A header is 40 bytes. */
typedef struct lru_item {
    struct lru_item *prev, *next;
    void *owner;      /* opaque to the LRU: who points at this item while it is resident */
    uint32_t index;   /* the owner's slot */
    int refs;         /* atomic */
    size_t len;
    char data[];      /* len bytes, then a NUL */
} lru_item;

/* Called (under the user's lock) when an item is evicted for room, before the LRU drops
 * its reference: the user clears owner's pointer to it. */
typedef void (*lru_evict_fn)(void *ud, lru_item *item);

/* The resident items, most recently used first, and their budget. The user locks. */
typedef struct lru {
    lru_item head;    /* sentinel of the circular list; head.next is the most recent */
    size_t used;      /* bytes charged for resident items (data + header) */
    size_t budget;
    size_t count;
    uint64_t evictions;
    lru_evict_fn evict;
    void *evict_ud;
} lru;

/* A new item with a copy of data[0..len) and one reference (the caller's); NULL when out
 * of memory. */
lru_item *lru_item_new(const char *data, size_t len);
void lru_item_ref(lru_item *item);
/* Drops a reference; the last one frees. Accepts NULL. */
void lru_item_unref(lru_item *item);
/* Bytes an item is charged. */
size_t lru_item_cost(const lru_item *item);

void lru_init(lru *l, size_t budget, lru_evict_fn evict, void *ud);
/* Makes item resident for owner/index as the most recent, taking a reference of its own,
 * then evicts the least recent items (possibly item itself, when it alone exceeds the
 * budget) until the budget holds. Returns whether item is still resident. */
bool lru_insert(lru *l, lru_item *item, void *owner, uint32_t index);
/* Marks a resident item as just used. */
void lru_touch(lru *l, lru_item *item);
/* Takes a resident item off the list without calling evict (the owner lets go itself),
 * and drops the LRU's reference. Accepts items that are not resident (no-op). */
void lru_remove(lru *l, lru_item *item);
/* Changes the budget and evicts what no longer fits. */
void lru_set_budget(lru *l, size_t budget);
/* Evicts everything (calling evict for each). */
void lru_clear(lru *l);

#endif /* FS_CONTENT_LRU_H */
