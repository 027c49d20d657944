/* cache_listing.c: a collection's full listing (the paged read) and what it keeps of
 * changes made meanwhile. */
#include "cache_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmap.h"
#include "log.h"
#include "names.h"
#include "render.h"

/* Whether entry e was saved, deleted or fetched alone at or after monotonic time t: then
 * it is at least as new as the answer of a fetch that began at t, and that answer must
 * not replace it (a save of this mount would be undone in the cache). */
bool cache_record_newer(cache *c, const recs_entry *e, double t)
{
    return (e->flags & (RECS_FETCHED | RECS_FORGOTTEN)) && e->fetched >= cache_stamp(c, t);
}

/* A listing that began at `start` is installed while records of the collection were
 * saved or deleted meanwhile (`from` holds them): those records keep their newer state in
 * the listing's store `to`. Records created meanwhile are not in `to`; it is installed
 * incomplete, so their lookups ask the server. Under the lock. */
static void keep_newer(cache *c, const cstore *from, cstore *to, double start)
{
    for (uint32_t i = 0; i < from->r.n; i++) {
        const recs_entry *e = &from->r.e[i];
        const char *name = recs_name(&from->r, i);
        recs_entry *t;
        uint32_t j;

        if (!cache_record_newer(c, e, start) || recs_find(&to->r, name, strlen(name), &j) != 0)
            continue;
        t = &to->r.e[j];
        if (!(e->flags & RECS_GONE) && e->content) {
            lru_item *copy = lru_item_new(e->content->data, e->content->len);
            if (copy) {
                cache_record_install(c, to, j, copy, true);
                lru_item_unref(copy); /* the entry holds the LRU's reference */
            }
        } else if (t->content) {
            lru_remove(&c->lru, t->content);
            t->content = NULL;
        }
        t->size = e->size;
        t->sum = e->sum;
        t->mtime = e->mtime;
        t->reserved = e->reserved;
        t->flags = (t->flags & ~(RECS_GONE | RECS_READ | RECS_CONFLICT | RECS_REPORTED |
                                 RECS_FETCHED | RECS_FORGOTTEN)) |
                   (e->flags & (RECS_GONE | RECS_UNSHOWN | RECS_READ | RECS_CONFLICT |
                                RECS_REPORTED)) |
                   (e->flags & RECS_FORGOTTEN ? RECS_FORGOTTEN : RECS_FETCHED);
        t->fetched = e->fetched;
    }
}

/* ------------------------------------------------------------------------- */
/* Full listing                                                               */
/* ------------------------------------------------------------------------- */

typedef struct prepared {
    char *name;       /* file name without suffix */
    char *key;
    lru_item *item;
} prepared;

typedef struct listing {
    cache *c;
    cstore *ns;       /* being built, private until installed */
    cstore *old;      /* the current store when the listing began, referenced, or NULL */
    uint32_t *pos;    /* server position of each entry of ns */
    size_t pos_cap;
    size_t no_id, dups;
    bool reserved;    /* the table was sized from the first page's total */
    uint32_t max_pages; /* 0: no limit; else more pages than this stop the listing */
    uint32_t pages;     /* pages the listing takes, as the first page tells */
    bool capped;        /* stopped at the first page: more than max_pages */
    int rc;
} listing;

/* Makes a record's file name (suffix cut off), key and content, without the lock. */
/* The record's "_id" (a non-empty string without NUL), malloc'ed in *key; 1 when it has
 * none, -ENOMEM. Read from the text: the json-c tree is made only for an _id written with
 * escapes (so a listing parses no record into a tree). */
static int record_id(const cf_json *rec, char **key)
{
    size_t len, start, span;
    const char *text = cf_json_text(rec, &len);
    json_object *idv;

    *key = NULL;
    if (!text || cf_json_member_span(text, len, "_id", &start, &span) != 0 || span < 2 ||
        text[start] != '"')
        return 1;
    if (!memchr(text + start + 1, '\\', span - 2)) {
        if (span == 2)
            return 1;
        *key = strndup(text + start + 1, span - 2);
        return *key ? 0 : -ENOMEM;
    }
    if (!json_object_object_get_ex(cf_json_object(rec), "_id", &idv) ||
        !json_object_is_type(idv, json_type_string) || !json_object_get_string(idv)[0] ||
        strlen(json_object_get_string(idv)) != (size_t)json_object_get_string_len(idv))
        return 1;
    *key = strdup(json_object_get_string(idv));
    return *key ? 0 : -ENOMEM;
}

static int prepare(const cf_json *rec, prepared *p, size_t *no_id)
{
    const char *text;
    char *out = NULL, *name = NULL;
    size_t len, out_len, nlen, slen = strlen(LAYOUT_SUFFIX);
    int rc;

    memset(p, 0, sizeof *p);
    rc = record_id(rec, &p->key);
    if (rc == 1) {
        (*no_id)++;
        return 0;
    }
    if (rc != 0 || names_encode(p->key, LAYOUT_SUFFIX, &name) != 0)
        goto nomem;
    nlen = strlen(name) - slen;
    name[nlen] = '\0';
    p->name = name;
    text = cf_json_text(rec, &len);
    if (render_record(text, len, p->key, &out, &out_len) != 0)
        goto nomem;
    p->item = lru_item_new(out, out_len);
    free(out);
    if (!p->item)
        goto nomem;
    return 0;
nomem:
    free(p->key);
    free(p->name);
    memset(p, 0, sizeof *p);
    return -ENOMEM;
}

/* The first page tells how many records come: the table is made that large at once (no
 * growth by doubling, no rehashing), its names sized after this page's. At most
 * RESERVE_MAX records are believed. Under the lock (evictions write into entries). */
#define RESERVE_MAX (2u << 20)
static void reserve(listing *L, const cf_page *page, const prepared *prep)
{
    size_t n = page->total < RESERVE_MAX ? page->total : RESERVE_MAX, names = 0, got = 0;

    L->reserved = true;
    for (size_t i = 0; i < page->count; i++) {
        if (!prep[i].item)
            continue;
        names += strlen(prep[i].name) + 1;
        if (strcmp(prep[i].name, prep[i].key) != 0)
            names += strlen(prep[i].key) + 1;
        got++;
    }
    if (n <= page->count || got == 0)
        return;
    if (recs_reserve(&L->ns->r, (uint32_t)n, names / got * n + names / got * n / 16) == 0 &&
        n > L->pos_cap) {
        uint32_t *np = realloc(L->pos, n * sizeof *np);
        if (np) {
            L->pos = np;
            L->pos_cap = n;
        }
    }
}

static int page_cb(void *ud, const cf_page *page)
{
    listing *L = ud;
    cache *c = L->c;
    prepared *prep;
    int rc = 0;

    if (!L->reserved) {
        /* The first page: the server's page size is what it gave (it may cap the limit). */
        size_t per = page->count ? page->count : 1;
        size_t pages = page->total <= page->count ? 1 : (page->total + per - 1) / per;
        L->pages = pages > UINT32_MAX ? UINT32_MAX : (uint32_t)pages;
        if (L->max_pages && L->pages > L->max_pages) {
            L->capped = true;
            return 1; /* the other pages are not asked */
        }
    }
    prep = calloc(page->count ? page->count : 1, sizeof *prep);
    if (!prep) {
        L->rc = -ENOMEM;
        return 1;
    }
    for (size_t i = 0; i < page->count && rc == 0; i++)
        rc = prepare(page->records[i], &prep[i], &L->no_id);

    pthread_mutex_lock(&c->lock);
    if (rc == 0 && !L->reserved)
        reserve(L, page, prep);
    for (size_t i = 0; i < page->count && rc == 0; i++) {
        prepared *p = &prep[i];
        uint32_t idx, was;
        int added;
        recs_entry *e;
        if (!p->item)
            continue;
        if (c->aliases)
            cache_alias_stem(c, L->ns->app, L->ns->slug, p->key, &p->name);
        if (p->item->len > UINT32_MAX) {
            log_warning("record %s of %s/%s is too large to show", p->key, L->ns->app,
                        L->ns->slug);
            continue;
        }
        added = recs_add(&L->ns->r, p->name, p->key, &idx);
        if (added < 0) {
            rc = -ENOMEM;
            break;
        }
        if (added == 1) {
            L->dups++; /* pages overlapped (the server changed meanwhile): first one wins */
            continue;
        }
        if (idx >= L->pos_cap) {
            size_t nc = L->pos_cap ? L->pos_cap * 2 : 1024;
            uint32_t *np = realloc(L->pos, nc * sizeof *np);
            if (!np) {
                rc = -ENOMEM;
                break;
            }
            L->pos = np;
            L->pos_cap = nc;
        }
        L->pos[idx] = (uint32_t)(page->offset + i);
        e = &L->ns->r.e[idx];
        /* Times carry over from the previous listing when the content is the same. */
        if (L->old && recs_find(&L->old->r, p->name, strlen(p->name), &was) == 0) {
            const recs_entry *o = &L->old->r.e[was];
            e->mtime = o->mtime;
            e->sum = o->sum;
            e->reserved = o->reserved;
            /* What readers got: compared with the new content by the install. */
            e->flags |= o->flags & (RECS_READ | RECS_CONFLICT | RECS_REPORTED);
            cache_record_install(c, L->ns, idx, p->item, true);
        } else {
            e->mtime = cache_first_time(c, p->key, L->old && L->old->complete);
            cache_record_install(c, L->ns, idx, p->item, false);
        }
    }
    pthread_mutex_unlock(&c->lock);

    for (size_t i = 0; i < page->count; i++) {
        free(prep[i].name);
        free(prep[i].key);
        lru_item_unref(prep[i].item); /* the LRU has its own reference, or evicted it */
    }
    free(prep);
    if (rc) {
        L->rc = rc;
        return 1;
    }
    return 0;
}

/* The first page's total; stops the read there. */
static int probe_page(void *ud, const cf_page *page)
{
    *(size_t *)ud = page->total;
    return 1;
}

int cache_store_probe(cache *c, const char *app, const char *slug, size_t *total, cf_error *err)
{
    size_t got = 0, said = 0;
    int rc = 0;

    *total = 0;
    c->stats.collection_probes++;
    pthread_mutex_unlock(&c->lock);
    if (c->src.read_collection(c->src.ud, app, slug, probe_page, &got, &said, err) != 0) {
        if (err->kind == CF_ERR_CANCELLED)
            cf_error_clear(err); /* stopped after the first page, as asked */
        else
            rc = -fs_errno(err);
    }
    pthread_mutex_lock(&c->lock);
    *total = said ? said : got;
    return rc;
}

/* The records of one page read again (cache_store_refresh_page). */
typedef struct page_again {
    prepared *prep;
    size_t n;
    size_t no_id;
    int rc;
} page_again;

static int page_again_cb(void *ud, const cf_page *page)
{
    page_again *pa = ud;

    pa->prep = calloc(page->count ? page->count : 1, sizeof *pa->prep);
    if (!pa->prep) {
        pa->rc = -ENOMEM;
        return 1;
    }
    for (size_t i = 0; i < page->count && pa->rc == 0; i++, pa->n++)
        pa->rc = prepare(page->records[i], &pa->prep[i], &pa->no_id);
    return pa->rc ? 1 : 0;
}

int cache_store_refresh_page(cache *c, const char *app, const char *slug, const char *name,
                             cache_names *changed, cf_error *err)
{
    size_t per_page = c->cfg.page_size ? c->cfg.page_size : 500, offset = 0, total = 0;
    size_t la = strlen(app), ls = strlen(slug), klen;
    char key[2 * NAMES_MAX + 48];
    page_again pa = {0};
    flight_result res;
    cslot *slot = cache_slot_find(c, app, slug);
    double start;
    uint32_t idx, pos = 0;
    flight *f;
    int j;

    if (!c->src.read_page || !slot || recs_find(&slot->cur->r, name, strlen(name), &idx) != 0)
        return -ENOENT;
    while (pos < slot->cur->r.n && slot->cur->r.order[pos] != idx)
        pos++;
    if (pos == slot->cur->r.n || la + ls + 24 > sizeof key)
        return -ENOENT;
    offset = pos / per_page * per_page;
    /* One flight per page: readers of the same page share it. */
    key[0] = 'P';
    memcpy(key + 1, app, la + 1);
    memcpy(key + 2 + la, slug, ls + 1);
    klen = 2 + la + ls + 1;
    klen += (size_t)snprintf(key + klen, sizeof key - klen, "%zu", offset);
    j = cache_flight_join(c, key, klen, &f, &res);
    if (j < 0)
        return -ENOMEM;
    if (j == 1) {
        lru_item_unref(res.content);
        if (res.rc)
            *err = res.err;
        return res.rc;
    }
    memset(&res, 0, sizeof res);
    start = cache_mono(c);
    c->stats.page_refreshes++;
    pthread_mutex_unlock(&c->lock);
    if (c->src.read_page(c->src.ud, app, slug, offset, page_again_cb, &pa, &total, &res.err))
        res.rc = pa.rc ? pa.rc : -fs_errno(&res.err);
    pthread_mutex_lock(&c->lock);
    slot = cache_slot_find(c, app, slug);
    for (size_t i = 0; res.rc == 0 && slot && i < pa.n; i++) {
        prepared *p = &pa.prep[i];
        cstore *s = slot->cur;
        recs_entry *e;
        uint32_t k;
        if (!p->item)
            continue;
        if (c->aliases)
            cache_alias_stem(c, app, slug, p->key, &p->name);
        /* Records not listed stay unknown here (the listing's lookups ask for them); one
         * saved, deleted or fetched here since the read began is newer than this page. */
        if (recs_find(&s->r, p->name, strlen(p->name), &k) != 0 ||
            cache_record_newer(c, &s->r.e[k], start) || p->item->len > UINT32_MAX)
            continue;
        e = &s->r.e[k];
        uint32_t sum = e->sum;
        cache_record_install(c, s, k, p->item, true);
        /* Another version: the kernel, which keeps a record's attributes for the TTL,
         * is told (the caller's own record too: its open knows it anyway). */
        if (changed && e->sum != sum)
            cache_names_add(changed, p->name);
        e->flags = (e->flags & ~(uint32_t)(RECS_GONE | RECS_FORGOTTEN)) | RECS_FETCHED;
        e->fetched = cache_stamp(c, start);
    }
    for (size_t i = 0; i < pa.n; i++) {
        free(pa.prep[i].name);
        free(pa.prep[i].key);
        lru_item_unref(pa.prep[i].item);
    }
    free(pa.prep);
    cache_flight_end(c, f, &res);
    if (res.rc)
        *err = res.err;
    return res.rc;
}

/* Lists a collection and installs the result as its current store. Under the lock. */
int cache_store_list(cache *c, const char *app, const char *slug, cf_error *err)
{
    return cache_store_list_upto(c, app, slug, 0, err);
}

int cache_store_list_upto(cache *c, const char *app, const char *slug, uint32_t max_pages,
                          cf_error *err)
{
    size_t klen = 1 + strlen(app) + 1 + strlen(slug);
    char *key = malloc(klen + 1);
    listing L = {.c = c, .max_pages = max_pages};
    flight_result res;
    flight *f;
    cslot *slot;
    double start;
    size_t total = 0;
    int j;

    if (!key)
        return -ENOMEM;
    key[0] = max_pages ? 'P' : 'C'; /* a capped listing is not a full one's to join */
    memcpy(key + 1, app, strlen(app) + 1);
    memcpy(key + 1 + strlen(app) + 1, slug, strlen(slug) + 1);
    j = cache_flight_join(c, key, klen, &f, &res);
    free(key);
    if (j < 0)
        return -ENOMEM;
    if (j == 1) {
        if (res.rc < 0)
            *err = res.err;
        lru_item_unref(res.content);
        return res.rc;
    }
    memset(&res, 0, sizeof res);
    L.ns = cache_store_make(app, slug);
    if (!L.ns) {
        res.rc = -ENOMEM;
        goto done;
    }
    slot = cache_slot_find(c, app, slug);
    L.old = slot ? slot->cur : NULL;
    if (L.old)
        L.old->refs++;
    start = cache_mono(c);
    c->stats.collection_reads++;
    pthread_mutex_unlock(&c->lock);

    if (c->src.read_collection(c->src.ud, app, slug, page_cb, &L, &total, &res.err) != 0)
        res.rc = L.capped ? 1 : L.rc ? L.rc : -fs_errno(&res.err);
    if (res.rc == 0 && L.ns->r.n && recs_sort_by_position(&L.ns->r, L.pos) != 0)
        res.rc = -ENOMEM;
    if (L.no_id)
        log_warning("%zu record%s of %s/%s not shown: no string \"_id\"", L.no_id,
                    L.no_id == 1 ? "" : "s", app, slug);
    if (res.rc == 0 && L.no_id && L.ns->r.n == 0) {
        /* Records came and none has an _id: a broken answer, not an empty collection. */
        res.err.kind = CF_ERR_PROTOCOL;
        snprintf(res.err.message, sizeof res.err.message,
                 "no record of %s/%s has a string \"_id\"", app, slug);
        res.rc = -EIO;
    }
    if (L.dups)
        log_info("%zu record%s of %s/%s came twice while listing (the collection changed)",
                 L.dups, L.dups == 1 ? "" : "s", app, slug);

    pthread_mutex_lock(&c->lock);
    slot = cache_slot_find(c, app, slug);
    if (res.rc == 1) {
        cf_error_clear(&res.err);
        if (slot)
            slot->cur->pages = L.pages;
    } else if (res.rc == 0 && slot && slot->cur->complete && slot->cur->listed > start) {
        /* A listing that began after this one is in already: it is the newer. */
    } else if (res.rc == 0) {
        recs_shrink(&L.ns->r); /* under the lock: evictions write into the entries */
        L.ns->listed = start;
        L.ns->checked = cache_mono(c);
        /* A record saved or deleted here while the pages came (another thread) is newer
         * than they are: the listing is kept, not as the whole collection, so lookups of
         * names it lacks ask the server, and the next readdir lists again. */
        L.ns->complete = !(slot && slot->changed >= start);
        if (!L.ns->complete)
            keep_newer(c, slot->cur, L.ns, start);
        res.rc = cache_store_put(c, L.ns);
        if (res.rc == 0)
            L.ns = NULL;
    }
    cache_store_unref(c, L.ns);
    cache_store_unref(c, L.old);
done:
    free(L.pos);
    cache_flight_end(c, f, &res);
    if (res.rc < 0)
        *err = res.err;
    return res.rc;
}
