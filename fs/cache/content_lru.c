/* content_lru.c: reference-counted content buffers and least-recently-used eviction by bytes. */
#include "content_lru.h"

#include <stdlib.h>
#include <string.h>

lru_item *lru_item_new(const char *data, size_t len)
{
    lru_item *item = malloc(sizeof *item + len + 1);
    if (!item)
        return NULL;
    memset(item, 0, sizeof *item);
    item->refs = 1;
    item->len = len;
    if (len)
        memcpy(item->data, data, len);
    item->data[len] = '\0';
    return item;
}

void lru_item_ref(lru_item *item)
{
    __atomic_add_fetch(&item->refs, 1, __ATOMIC_RELAXED);
}

void lru_item_unref(lru_item *item)
{
    if (item && __atomic_sub_fetch(&item->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(item);
}

size_t lru_item_cost(const lru_item *item)
{
    return sizeof *item + item->len + 1;
}

void lru_init(lru *l, size_t budget, lru_evict_fn evict, void *ud)
{
    memset(l, 0, sizeof *l);
    l->head.next = l->head.prev = &l->head;
    l->budget = budget;
    l->evict = evict;
    l->evict_ud = ud;
}

static void unlink_item(lru *l, lru_item *item)
{
    item->prev->next = item->next;
    item->next->prev = item->prev;
    item->prev = item->next = NULL; /* not resident */
    l->used -= lru_item_cost(item);
    l->count--;
}

static void link_front(lru *l, lru_item *item)
{
    item->next = l->head.next;
    item->prev = &l->head;
    l->head.next->prev = item;
    l->head.next = item;
}

/* Evicts from the least recent end until used <= budget. */
static void shrink(lru *l)
{
    while (l->used > l->budget && l->head.prev != &l->head) {
        lru_item *victim = l->head.prev;
        if (l->evict)
            l->evict(l->evict_ud, victim);
        unlink_item(l, victim);
        l->evictions++;
        lru_item_unref(victim);
    }
}

bool lru_insert(lru *l, lru_item *item, void *owner, uint32_t index)
{
    if (item->next)
        lru_remove(l, item);
    lru_item_ref(item);
    item->owner = owner;
    item->index = index;
    link_front(l, item);
    l->used += lru_item_cost(item);
    l->count++;
    /* Check before shrinking: shrink may drop the last reference but the caller holds one. */
    shrink(l);
    return item->next != NULL;
}

void lru_touch(lru *l, lru_item *item)
{
    if (!item->next || l->head.next == item)
        return;
    item->prev->next = item->next;
    item->next->prev = item->prev;
    link_front(l, item);
}

void lru_remove(lru *l, lru_item *item)
{
    if (!item || !item->next)
        return;
    unlink_item(l, item);
    lru_item_unref(item);
}

void lru_set_budget(lru *l, size_t budget)
{
    l->budget = budget;
    shrink(l);
}

void lru_clear(lru *l)
{
    size_t budget = l->budget;
    l->budget = 0;
    shrink(l);
    l->budget = budget;
}
