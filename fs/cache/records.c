/* records.c: arena-backed hash table of record names with fixed-size entries. */
#include "records.h"

#include <stdlib.h>
#include <string.h>

void recs_init(recs *r)
{
    memset(r, 0, sizeof *r);
}

void recs_free(recs *r)
{
    if (!r)
        return;
    free(r->e);
    free(r->order);
    free(r->buckets);
    free(r->arena);
    memset(r, 0, sizeof *r);
}

static uint32_t hash_name(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

const char *recs_name(const recs *r, uint32_t i)
{
    return r->arena + r->e[i].name;
}

const char *recs_key(const recs *r, uint32_t i)
{
    const char *name = recs_name(r, i);
    if (r->e[i].flags & RECS_KEY_DIFFERS)
        return name + strlen(name) + 1;
    return name;
}

int recs_find(const recs *r, const char *name, size_t len, uint32_t *index)
{
    uint32_t at;

    if (!r->nbuckets)
        return -1;
    at = r->buckets[hash_name(name, len) & (r->nbuckets - 1)];
    while (at) {
        const char *s = r->arena + r->e[at - 1].name;
        if (strncmp(s, name, len) == 0 && s[len] == '\0') {
            *index = at - 1;
            return 0;
        }
        at = r->e[at - 1].next;
    }
    return -1;
}

/* Makes nb buckets (a power of two) and chains every entry anew. */
static int rehash_to(recs *r, uint32_t nb)
{
    uint32_t *b;

    b = calloc(nb, sizeof *b);
    if (!b)
        return -1;
    for (uint32_t i = 0; i < r->n; i++) {
        const char *s = r->arena + r->e[i].name;
        uint32_t h = hash_name(s, strlen(s)) & (nb - 1);
        r->e[i].next = b[h];
        b[h] = i + 1;
    }
    free(r->buckets);
    r->buckets = b;
    r->nbuckets = nb;
    return 0;
}

/* Doubles the buckets (or makes the first ones). */
static int rehash(recs *r)
{
    uint32_t nb = r->nbuckets ? r->nbuckets * 2 : 64;

    if (nb < r->nbuckets)
        return -1;
    return rehash_to(r, nb);
}

/* The capacity to grow to for `want` elements: doubling from cap (256 at first). */
static int next_cap(uint32_t cap, uint32_t want, uint32_t *out)
{
    uint32_t nc = cap ? cap : 256;
    while (nc < want) {
        if (nc > UINT32_MAX / 2)
            return -1;
        nc *= 2;
    }
    *out = nc;
    return 0;
}

static int arena_put(recs *r, const char *s, size_t len, uint32_t *off)
{
    if (r->arena_used + len + 1 > UINT32_MAX)
        return -1;
    if (r->arena_used + len + 1 > r->arena_cap) {
        size_t nc = r->arena_cap ? r->arena_cap : 4096;
        char *na;
        while (nc < r->arena_used + len + 1)
            nc *= 2;
        na = realloc(r->arena, nc);
        if (!na)
            return -1;
        r->arena = na;
        r->arena_cap = nc;
    }
    *off = (uint32_t)r->arena_used;
    memcpy(r->arena + r->arena_used, s, len);
    r->arena[r->arena_used + len] = '\0';
    r->arena_used += len + 1;
    return 0;
}

int recs_reserve(recs *r, uint32_t n, size_t arena_bytes)
{
    uint32_t nb = r->nbuckets ? r->nbuckets : 64;

    if (n > r->cap) {
        recs_entry *ne = realloc(r->e, (size_t)n * sizeof *ne);
        uint32_t *no;
        if (!ne)
            return -1;
        r->e = ne;
        no = realloc(r->order, (size_t)n * sizeof *no);
        if (!no)
            return -1;
        r->order = no;
        r->cap = n;
    }
    while (nb <= n && nb <= UINT32_MAX / 2)
        nb *= 2;
    if (nb > r->nbuckets && rehash_to(r, nb) != 0)
        return -1;
    if (arena_bytes > r->arena_cap && arena_bytes < UINT32_MAX) {
        char *na = realloc(r->arena, arena_bytes);
        if (!na)
            return -1;
        r->arena = na;
        r->arena_cap = arena_bytes;
    }
    return 0;
}

int recs_add(recs *r, const char *name, const char *key, uint32_t *index)
{
    size_t nlen = strlen(name);
    uint32_t off, unused, i, h;
    recs_entry *e;

    if (recs_find(r, name, nlen, index) == 0)
        return 1;
    if (r->n == UINT32_MAX - 1)
        return -1;
    if (r->n + 1 > r->cap) {
        /* entries and order grow together; cap changes only when both have. */
        uint32_t cap;
        recs_entry *ne;
        uint32_t *no;
        if (next_cap(r->cap, r->n + 1, &cap) != 0)
            return -1;
        ne = realloc(r->e, (size_t)cap * sizeof *ne);
        if (!ne)
            return -1;
        r->e = ne;
        no = realloc(r->order, (size_t)cap * sizeof *no);
        if (!no)
            return -1;
        r->order = no;
        r->cap = cap;
    }
    if (r->n + 1 > r->nbuckets && rehash(r) != 0)
        return -1;
    if (arena_put(r, name, nlen, &off) != 0)
        return -1;
    i = r->n;
    e = &r->e[i];
    memset(e, 0, sizeof *e);
    e->name = off;
    if (key && strcmp(key, name) != 0) {
        if (arena_put(r, key, strlen(key), &unused) != 0) {
            r->arena_used = off; /* give back the name */
            return -1;
        }
        e->flags |= RECS_KEY_DIFFERS;
    }
    h = hash_name(name, nlen) & (r->nbuckets - 1);
    e->next = r->buckets[h];
    r->buckets[h] = i + 1;
    r->order[i] = i;
    r->n++;
    *index = i;
    return 0;
}

typedef struct pos_pair {
    uint32_t pos, index;
} pos_pair;

static int cmp_pair(const void *a, const void *b)
{
    const pos_pair *x = a, *y = b;
    if (x->pos != y->pos)
        return x->pos < y->pos ? -1 : 1;
    return x->index < y->index ? -1 : (x->index > y->index);
}

int recs_sort_by_position(recs *r, const uint32_t *pos)
{
    pos_pair *pairs;

    if (r->n == 0)
        return 0;
    pairs = malloc((size_t)r->n * sizeof *pairs);
    if (!pairs)
        return -1;
    for (uint32_t i = 0; i < r->n; i++) {
        pairs[i].pos = pos[i];
        pairs[i].index = i;
    }
    qsort(pairs, r->n, sizeof *pairs, cmp_pair);
    for (uint32_t k = 0; k < r->n; k++)
        r->order[k] = pairs[k].index;
    free(pairs);
    return 0;
}

void recs_shrink(recs *r)
{
    uint32_t cap = r->n ? r->n : 1;
    recs_entry *ne;
    uint32_t *no;
    char *na;

    if (r->cap > cap) {
        ne = realloc(r->e, (size_t)cap * sizeof *ne);
        no = ne ? realloc(r->order, (size_t)cap * sizeof *no) : NULL;
        if (ne)
            r->e = ne;
        if (no) {
            r->order = no;
            r->cap = cap;
        }
    }
    if (r->arena && r->arena_cap > r->arena_used && r->arena_used) {
        na = realloc(r->arena, r->arena_used);
        if (na) {
            r->arena = na;
            r->arena_cap = r->arena_used;
        }
    }
}

size_t recs_memory(const recs *r)
{
    return (size_t)r->cap * (sizeof *r->e + sizeof *r->order) +
           (size_t)r->nbuckets * sizeof *r->buckets + r->arena_cap;
}
