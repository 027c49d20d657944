/* cache_coll.c: the cache's record collections: listings, single fetches, eviction. */
#include "cache_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_write.h"
#include "errmap.h"
#include "log.h"
#include "names.h"
#include "render.h"

#define FILE_MODE 0644

void cache_evict_cb(void *ud, lru_item *item)
{
    cstore *s = item->owner;
    (void)ud;
    if (s && item->index < s->r.n && s->r.e[item->index].content == item)
        s->r.e[item->index].content = NULL;
}

cslot *cache_slot_find(cache *c, const char *app, const char *slug)
{
    for (cslot *s = c->slots; s; s = s->next)
        if (strcmp(s->cur->app, app) == 0 && strcmp(s->cur->slug, slug) == 0)
            return s;
    return NULL;
}

static cstore *store_new(const char *app, const char *slug)
{
    cstore *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->refs = 1;
    s->app = strdup(app);
    s->slug = strdup(slug);
    recs_init(&s->r);
    if (!s->app || !s->slug) {
        free(s->app);
        free(s->slug);
        free(s);
        return NULL;
    }
    return s;
}

void cache_store_unref(cache *c, cstore *s)
{
    if (!s || --s->refs > 0)
        return;
    /* Its resident contents leave the LRU with it (open files keep their references). */
    for (uint32_t i = 0; i < s->r.n; i++) {
        if (s->r.e[i].content) {
            lru_remove(&c->lru, s->r.e[i].content);
            s->r.e[i].content = NULL;
        }
    }
    recs_free(&s->r);
    free(s->app);
    free(s->slug);
    free(s);
}

/* Installs s as the current store of its collection (taking over the caller's reference). */
static int slot_install(cache *c, cstore *s)
{
    cslot *slot = cache_slot_find(c, s->app, s->slug);
    if (!slot) {
        slot = calloc(1, sizeof *slot);
        if (!slot)
            return -ENOMEM;
        slot->next = c->slots;
        c->slots = slot;
    } else {
        cache_store_unref(c, slot->cur);
    }
    slot->cur = s;
    return 0;
}

void cache_free_slots(cache *c)
{
    cslot *s = c->slots, *next;
    for (; s; s = next) {
        next = s->next;
        cache_store_unref(c, s->cur);
        free(s);
    }
    c->slots = NULL;
}

static bool record_fresh(cache *c, const cstore *s, const recs_entry *e)
{
    if (s->complete && cache_is_fresh(c, s->listed))
        return true;
    return (e->flags & RECS_FETCHED) && cache_is_fresh(c, cache_stamp_time(c, e->fetched));
}

/* The time of a record first seen: its ObjectId's, else the mount's (first listing) or now. */
uint32_t cache_first_time(cache *c, const char *key, bool seen_before)
{
    time_t t;
    if (render_objectid_time(key, &t))
        return (uint32_t)t;
    return (uint32_t)(seen_before ? cache_wall(c) : c->mount_time);
}

/* Sets a record's size, checksum and content, moving its time when the content changed. */
static void record_set(cache *c, cstore *s, uint32_t i, lru_item *item, bool existed)
{
    recs_entry *e = &s->r.e[i];
    uint32_t sum = RECS_SUM(render_checksum(item->data, item->len));

    if (existed && e->sum != sum) {
        e->mtime = (uint32_t)cache_wall(c);
        e->reserved = 0; /* a time a tool set goes with the content it was set on */
        /* What a reader got is no longer the server's: a save based on it is refused
         * (cache_record_verify). A save of this mount clears it (cache_put_record). */
        if (e->flags & RECS_READ)
            e->flags |= RECS_CONFLICT;
    }
    e->size = (uint32_t)item->len;
    e->sum = sum;
    e->flags &= ~RECS_GONE;
    if (e->content)
        lru_remove(&c->lru, e->content);
    e->content = item;
    lru_insert(&c->lru, item, s, i);
    cache_memory_check(c, lru_item_cost(item));
}

/* ------------------------------------------------------------------------- */
/* One record                                                                 */
/* ------------------------------------------------------------------------- */

/* Records of a listed collection whose listing expired are fetched one by one, until
 * within one TTL as many were fetched as a listing of the collection has pages (and at
 * least RELIST_MIN): then the next such read lists the collection again. A reader going
 * through the whole collection costs at most about twice the requests of the cheaper way,
 * and a few reads stay single GETs. Both under the lock. */
#define RELIST_MIN 8

/* A listing past its TTL; for a reader (close-to-open), also one installed longer than
 * `revalidate` ago (with 0 every open asks for its record alone: a listing would be as
 * old at the next open). */
static bool listing_expired(cache *c, const cstore *s, bool reader)
{
    if (!s->complete)
        return false;
    if (c->cfg.ttl > 0 && !cache_is_fresh(c, s->listed))
        return true;
    return reader && c->cfg.close_to_open && c->cfg.revalidate > 0 &&
           cache_mono(c) - s->checked >= c->cfg.revalidate;
}

/* A GET of a record of s goes out: counted when s is an expired listing. */
static void count_stale_get(cache *c, cstore *s, bool reader)
{
    double now;

    if (!listing_expired(c, s, reader))
        return;
    now = cache_mono(c);
    if (s->stale_gets == 0 || now - s->stale_since >= c->cfg.ttl) {
        s->stale_gets = 0;
        s->stale_since = now;
    }
    s->stale_gets++;
}

/* Names asked alone in a collection without a fresh complete listing, that the server
 * did not have: a bulk copy into it (cp, tar -x, rsync) asks for each new name before it
 * creates it. After the first such miss within one TTL, the next unknown name lists the
 * collection instead of asking for itself, when the listing takes at most RELIST_MIN
 * pages (the first page tells; a larger one stops there and its number of pages is
 * kept); a larger collection is listed once as many names missed as its listing has
 * pages. From then on, within the TTL, every new name is known absent without a request.
 * Under the lock. */
static void count_miss(cache *c, cstore *s)
{
    double now = cache_mono(c);

    if (s->complete && cache_is_fresh(c, s->listed))
        return;
    if (s->misses == 0 || now - s->misses_since >= c->cfg.ttl) {
        s->misses = 0;
        s->misses_since = now;
    }
    s->misses++;
}

/* 0: no listing due; else the most pages the listing may take (UINT32_MAX: any). */
static uint32_t misses_list_due(cache *c, const cstore *s)
{
    if (!s || c->cfg.ttl <= 0 || s->complete || s->misses == 0 ||
        cache_mono(c) - s->misses_since >= c->cfg.ttl)
        return 0;
    if (s->pages == 0)
        return RELIST_MIN;
    return s->misses >= s->pages ? UINT32_MAX : 0;
}

static bool relist_due(cache *c, const cstore *s, bool reader)
{
    size_t per_page = c->cfg.page_size ? c->cfg.page_size : 500;
    size_t pages = (s->r.n + per_page - 1) / per_page;

    if (!listing_expired(c, s, reader) || s->stale_gets == 0 ||
        cache_mono(c) - s->stale_since >= c->cfg.ttl)
        return false;
    return s->stale_gets >= (pages > RELIST_MIN ? pages : RELIST_MIN);
}

/* Readers going through a listed collection whose records' confirmation is older than
 * `revalidate` (cp -r, grep -r, xargs cat: in the listing's order): after PAGE_AFTER GETs
 * within the window, an open reads the listing page that holds its record again (one
 * request confirms page_size records, the ones such a reader opens next) rather than a
 * GET per file, and rather than the whole listing. Under the lock. */
#define PAGE_AFTER 2

static bool page_due(cache *c, const cstore *s)
{
    double window = c->cfg.ttl > 0 ? c->cfg.ttl : 1;

    return c->src.read_page && c->cfg.close_to_open && c->cfg.revalidate > 0 && s->complete &&
           cache_is_fresh(c, s->listed) && s->stale_gets >= PAGE_AFTER &&
           cache_mono(c) - s->stale_since < window;
}

/* GETs one record and records what it showed. Under the lock. On success res->content is
 * a reference for the caller and res->attr its attributes; res->changed tells that a size
 * known before differs. */
static int record_fetch(cache *c, const char *app, const char *slug, const char *id,
                        const char *name, bool reader, flight_result *res)
{
    size_t la = strlen(app), ls = strlen(slug), li = strlen(id);
    size_t klen = 1 + la + 1 + ls + 1 + li;
    char *key = malloc(klen);
    cf_json *rec = NULL;
    lru_item *item = NULL;
    flight *f;
    cslot *slot;
    cstore *s;
    double start;
    uint32_t idx;
    bool again = false;
    int j;

    memset(res, 0, sizeof *res);
    if (!key)
        return res->rc = -ENOMEM;
    key[0] = 'R';
    memcpy(key + 1, app, la + 1);
    memcpy(key + 1 + la + 1, slug, ls + 1);
    memcpy(key + 1 + la + 1 + ls + 1, id, li);
    j = cache_flight_join(c, key, klen, &f, res);
    free(key);
    if (j < 0)
        return res->rc = -ENOMEM;
    if (j == 1)
        return res->rc;

fetch:
    start = cache_mono(c);
    c->stats.record_gets++;
    slot = cache_slot_find(c, app, slug);
    if (slot)
        count_stale_get(c, slot->cur, reader);
    pthread_mutex_unlock(&c->lock);
    if (c->src.record_get(c->src.ud, app, slug, id, &rec, &res->err) != 0) {
        res->rc = -fs_errno(&res->err);
    } else {
        const char *text;
        char *out = NULL;
        size_t len, out_len = 0;
        text = cf_json_text(rec, &len);
        if (render_record(text, len, id, &out, &out_len) != 0 ||
            !(item = lru_item_new(out, out_len)))
            res->rc = -ENOMEM;
        free(out);
        cf_json_free(rec);
    }
    pthread_mutex_lock(&c->lock);

    slot = cache_slot_find(c, app, slug);
    s = slot ? slot->cur : NULL;
    if (!s && (res->rc == 0 || res->rc == -ENOENT)) {
        /* First record known of this collection (or known absent): an incomplete store
         * holds it. */
        s = store_new(app, slug);
        if (!s || slot_install(c, s) != 0) {
            cache_store_unref(c, s);
            s = NULL;
            res->rc = -ENOMEM;
        }
    }
    if (s && recs_find(&s->r, name, strlen(name), &idx) == 0 &&
        (res->rc == 0 || res->rc == -ENOENT) && cache_record_newer(c, &s->r.e[idx], start) &&
        slot->changed >= start) {
        /* Saved or deleted here while the GET was under way: what the cache holds is the
         * newer; the answer (older, or the same) is dropped. */
        recs_entry *e = &s->r.e[idx];
        if (e->flags & RECS_GONE) {
            lru_item_unref(item);
            item = NULL;
            res->rc = -ENOENT;
        } else if (e->content) {
            lru_item_unref(item);
            res->rc = 0;
            res->changed = false;
            item = e->content;
            lru_item_ref(item); /* the caller's reference */
            lru_touch(&c->lru, item);
        } else if (!again) {
            /* Evicted since, or a save of unknown outcome (RECS_FORGOTTEN): a GET that
             * begins after it shows the server's state. */
            lru_item_unref(item);
            item = NULL;
            again = true;
            memset(res, 0, sizeof *res);
            goto fetch;
        } else if (res->rc == 0) {
            /* Overtaken twice: this answer, a whole version the server held during the
             * GET, goes to the caller but not into the cache (the next look asks again). */
            res->changed = true;
        }
    } else if (s && recs_find(&s->r, name, strlen(name), &idx) == 0) {
        recs_entry *e = &s->r.e[idx];
        if (res->rc == 0) {
            res->changed = e->size != item->len;
            record_set(c, s, idx, item, true);
        } else if (res->rc == -ENOENT) {
            e->flags |= RECS_GONE;
            if (e->content) {
                lru_remove(&c->lru, e->content);
                e->content = NULL;
            }
            count_miss(c, s);
        }
        if (res->rc == 0 || res->rc == -ENOENT) {
            e->flags = (e->flags & ~(uint32_t)RECS_FORGOTTEN) | RECS_FETCHED;
            e->fetched = cache_stamp(c, start);
        }
    } else if (s && res->rc == -ENOENT) {
        /* Not on the server: known absent for a TTL (a create asks the same name again,
         * and the kernel asks before it), then asked again. */
        if (recs_add(&s->r, name, id, &idx) >= 0) {
            recs_entry *e = &s->r.e[idx];
            e->flags |= RECS_GONE | RECS_FETCHED;
            e->fetched = cache_stamp(c, start);
        }
        count_miss(c, s);
    } else if (s && res->rc == 0) {
        int added = recs_add(&s->r, name, id, &idx);
        if (added < 0) {
            res->rc = -ENOMEM;
        } else {
            recs_entry *e = &s->r.e[idx];
            e->mtime = cache_first_time(c, id, s->complete);
            record_set(c, s, idx, item, false);
            e->flags |= RECS_FETCHED;
            e->fetched = cache_stamp(c, start);
        }
    }
    if (res->rc == 0) {
        memset(&res->attr, 0, sizeof res->attr);
        res->attr.mode = FILE_MODE;
        res->attr.size = item->len;
        res->attr.mtime = (time_t)s->r.e[idx].mtime;
        res->attr.mtime_ns = s->r.e[idx].reserved & CACHE_W_NSMASK;
        res->content = item; /* our creation reference goes to the caller */
    } else {
        lru_item_unref(item);
        res->content = NULL;
    }
    cache_flight_end(c, f, res);
    return res->rc;
}

static void entry_attr(const recs_entry *e, cache_attr *attr)
{
    memset(attr, 0, sizeof *attr);
    attr->mode = FILE_MODE;
    attr->size = e->size;
    attr->mtime = (time_t)e->mtime;
    attr->mtime_ns = e->reserved & CACHE_W_NSMASK;
}

/* -o stale_on_error, after a failed fetch of a record: what is known of it is served (its
 * attributes; for an open, its content while still in memory). Under the lock. */
static bool record_stale(cache *c, const layout_path *p, const char *app, const char *slug,
                         const char *name, int rc, const cf_error *err, cache_attr *attr,
                         lru_item **content)
{
    char what[3 * (NAMES_MAX + 1) + 8];
    cslot *slot;
    recs_entry *e;
    double fetched;
    uint32_t idx;

    if (!c->stale_on_error)
        return false;
    slot = cache_slot_find(c, app, slug);
    if (!slot || recs_find(&slot->cur->r, name, strlen(name), &idx) != 0)
        return false;
    e = &slot->cur->r.e[idx];
    if ((e->flags & RECS_GONE) || (content && !e->content))
        return false;
    fetched = slot->cur->complete ? slot->cur->listed : 0;
    if ((e->flags & RECS_FETCHED) && cache_stamp_time(c, e->fetched) > fetched)
        fetched = cache_stamp_time(c, e->fetched);
    snprintf(what, sizeof what, "apps/%s/%s/%s", p->app, p->coll, p->name);
    if (!cache_serve_stale(c, rc, err, fetched, what))
        return false;
    entry_attr(e, attr);
    if (content) {
        lru_item_ref(e->content);
        lru_touch(&c->lru, e->content);
        *content = e->content;
    }
    return true;
}

/* Whether record e of s was confirmed by the server less than `revalidate` seconds ago
 * (by a listing's end, or a GET's start); always without close_to_open. */
static bool record_recent(cache *c, const cstore *s, const recs_entry *e)
{
    double t = s->complete ? s->checked : 0;

    if (!c->cfg.close_to_open)
        return true;
    if ((e->flags & RECS_FETCHED) && cache_stamp_time(c, e->fetched) > t)
        t = cache_stamp_time(c, e->fetched);
    return c->cfg.revalidate > 0 && cache_mono(c) - t < c->cfg.revalidate;
}

/* A reader got record `name` of app/slug. A conflict found before stays until a save was
 * refused for it (then this reader sees the server's version after being told): readers
 * that got the older version may still save it (vim's backup copy reads the file again
 * before it writes its buffer, and writes the backup back after a refusal). */
static void mark_read(cache *c, const char *app, const char *slug, const char *name)
{
    cslot *slot = cache_slot_find(c, app, slug);
    recs_entry *e;
    uint32_t idx;

    if (!slot || recs_find(&slot->cur->r, name, strlen(name), &idx) != 0)
        return;
    e = &slot->cur->r.e[idx];
    e->flags |= RECS_READ;
    if (e->flags & RECS_REPORTED)
        e->flags &= ~(uint32_t)(RECS_CONFLICT | RECS_REPORTED);
}

int cache_record_attr(cache *c, const layout_path *p, cache_attr *attr, lru_item **content,
                      bool *changed, bool reader, cache_names *others, cf_error *err)
{
    size_t slen = strlen(LAYOUT_SUFFIX), nlen = strlen(p->name) - slen;
    char *app = NULL, *slug = NULL, *id = NULL, *name = strndup(p->name, nlen);
    flight_result res;
    int rc;

    if (!name)
        return -ENOMEM;
    /* Directory names map to keys whether or not the lists are fresh: the kernel found
     * the parents already, and a stale list costs no request here. */
    rc = cache_resolve_collection(c, p->app, p->coll, false, &app, &slug, err);
    if (rc)
        goto cleanup;
    for (int attempt = 0; attempt < 2; attempt++) {
        cslot *slot = cache_slot_find(c, app, slug);
        cstore *s = slot ? slot->cur : NULL;
        uint32_t idx, due;

        if (s && recs_find(&s->r, name, nlen, &idx) == 0) {
            recs_entry *e = &s->r.e[idx];
            bool fresh = record_fresh(c, s, e) && (!reader || record_recent(c, s, e));
            if (fresh && (e->flags & RECS_GONE)) {
                rc = -ENOENT;
                goto cleanup;
            }
            if (fresh && (!content || e->content)) {
                entry_attr(e, attr);
                /* A save's content: an open reads around the kernel's cache until a
                 * getattr has shown the new size. */
                if (content && changed && (e->flags & RECS_UNSHOWN))
                    *changed = true;
                if (!content)
                    e->flags &= ~(uint32_t)RECS_UNSHOWN;
                if (content) {
                    lru_item_ref(e->content);
                    lru_touch(&c->lru, e->content);
                    *content = e->content;
                }
                rc = 0;
                goto cleanup;
            }
            id = strdup(recs_key(&s->r, idx));
            if (!id) {
                rc = -ENOMEM;
                goto cleanup;
            }
        } else if (s && s->complete && cache_is_fresh(c, s->listed)) {
            rc = -ENOENT; /* listed and fresh: known missing, no request */
            goto cleanup;
        } else if (!(c->aliases && (id = cache_alias_key(c, -1, app, slug, p->name)))) {
            names_result nr = names_decode(p->name, LAYOUT_SUFFIX, &id);
            if (nr == NAMES_INVALID) {
                rc = -ENOENT;
                goto cleanup;
            }
            if (nr == NAMES_SHORTENED) {
                /* Only a listing tells which record a shortened name stands for. */
                if (attempt == 1) {
                    rc = -ENOENT;
                    goto cleanup;
                }
                rc = cache_store_list(c, app, slug, err);
                if (rc)
                    goto cleanup;
                continue;
            }
        }
        if (attempt == 0 && s && reader && page_due(c, s)) {
            if (cache_store_refresh_page(c, app, slug, name, others, err) == 0) {
                free(id);
                id = NULL;
                continue;
            }
            cf_error_clear(err); /* this read asks for its record alone */
        }
        if (attempt == 0 && s && relist_due(c, s, reader)) {
            /* Records of an expired listing read one after another: one listing again
             * instead of a GET each (single-flight: readers at the same time share it). */
            if (cache_store_list(c, app, slug, err) == 0) {
                free(id);
                id = NULL;
                continue;
            }
            /* Failed: the count starts again, and this read asks for its record alone. */
            slot = cache_slot_find(c, app, slug);
            if (slot) {
                slot->cur->stale_gets = 0;
                slot->cur->stale_since = cache_mono(c);
            }
            cf_error_clear(err);
        }
        slot = cache_slot_find(c, app, slug); /* the lock was released above, maybe */
        due = attempt == 0 ? misses_list_due(c, slot ? slot->cur : NULL) : 0;
        if (due) {
            /* New names asked one after another: the listing answers them all. */
            int l = cache_store_list_upto(c, app, slug, due == UINT32_MAX ? 0 : due, err);
            if (l == 0) {
                free(id);
                id = NULL;
                continue;
            }
            if (l < 0) {
                /* Failed: the count starts again, and this name is asked alone. */
                slot = cache_slot_find(c, app, slug);
                if (slot) {
                    slot->cur->misses = 0;
                    slot->cur->misses_since = cache_mono(c);
                }
            }
            cf_error_clear(err);
        }
        rc = record_fetch(c, app, slug, id, name, reader, &res);
        if (rc && record_stale(c, p, app, slug, name, rc, &res.err, attr, content)) {
            rc = 0;
            goto cleanup;
        }
        if (rc) {
            *err = res.err;
            goto cleanup;
        }
        *attr = res.attr;
        if (changed)
            *changed = res.changed;
        if (content)
            *content = res.content;
        else
            lru_item_unref(res.content);
        goto cleanup;
    }
    rc = -ENOENT;
cleanup:
    if (rc == 0 && reader && content)
        mark_read(c, app, slug, name);
    free(app);
    free(slug);
    free(id);
    free(name);
    return rc;
}

int cache_collection_snapshot(cache *c, const char *app, const char *slug, cstore **store,
                              uint32_t *count, cf_error *err)
{
    cslot *slot = cache_slot_find(c, app, slug);
    cstore *s = slot ? slot->cur : NULL;
    int rc;

    *store = NULL;
    *count = 0;
    if (!s || !s->complete || !cache_is_fresh(c, s->listed)) {
        rc = cache_store_list(c, app, slug, err);
        slot = cache_slot_find(c, app, slug);
        if (rc && slot && slot->cur->complete && c->stale_on_error) {
            char what[64 + 2 * NAMES_MAX];
            snprintf(what, sizeof what, "listing of collection %.255s/%.255s", app, slug);
            if (cache_serve_stale(c, rc, err, slot->cur->listed, what))
                rc = 0;
        }
        if (rc)
            return rc;
        if (!slot)
            return -ENOENT;
        s = slot->cur;
    }
    s->refs++;
    *store = s;
    *count = s->r.n;
    return 0;
}

int cache_record_verify(cache *c, const char *app, const char *slug, const char *name,
                        const char *key, bool *gone, lru_item **theirs, cf_error *err)
{
    size_t slen = strlen(LAYOUT_SUFFIX), nlen = strlen(name);
    char *stem = strndup(name, nlen > slen ? nlen - slen : nlen);
    flight_result res;
    recs_entry *e;
    cslot *slot;
    uint32_t idx;
    int rc = 0;

    *gone = false;
    *theirs = NULL;
    if (!stem)
        return -ENOMEM;
    pthread_mutex_lock(&c->lock);
    slot = cache_slot_find(c, app, slug);
    if (!slot || recs_find(&slot->cur->r, stem, strlen(stem), &idx) != 0 ||
        !(slot->cur->r.e[idx].flags & RECS_READ))
        goto cleanup; /* no reader got it here: nothing to compare with */
    e = &slot->cur->r.e[idx];
    if ((e->flags & RECS_CONFLICT) && !(e->flags & RECS_GONE) && e->content) {
        /* Known changed already (a listing or an open saw it): no request. */
        *theirs = e->content;
        lru_item_ref(e->content);
        e->flags |= RECS_REPORTED;
        rc = -EBUSY;
        goto cleanup;
    }
    /* Confirmed by the server within `revalidate` (as an open trusts it): no request. */
    if (!(e->flags & (RECS_CONFLICT | RECS_GONE)) && c->cfg.close_to_open &&
        record_recent(c, slot->cur, e))
        goto cleanup;
    rc = record_fetch(c, app, slug, key, stem, false, &res);
    if (rc == -ENOENT) {
        *gone = true; /* deleted meanwhile: nothing to overwrite */
        rc = 0;
        goto cleanup;
    }
    if (rc) {
        *err = res.err;
        goto cleanup;
    }
    /* The fetch compared the answer with what the reader got (record_set). */
    slot = cache_slot_find(c, app, slug);
    if (slot && recs_find(&slot->cur->r, stem, strlen(stem), &idx) == 0 &&
        (slot->cur->r.e[idx].flags & RECS_CONFLICT)) {
        slot->cur->r.e[idx].flags |= RECS_REPORTED;
        *theirs = res.content;
        res.content = NULL;
        rc = -EBUSY;
    }
    lru_item_unref(res.content);
cleanup:
    pthread_mutex_unlock(&c->lock);
    free(stem);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* For the write side (cache_write.c)                                         */
/* ------------------------------------------------------------------------- */

cstore *cache_store_of(cache *c, const char *app, const char *slug, bool make)
{
    cslot *slot = cache_slot_find(c, app, slug);
    cstore *s;

    if (slot || !make)
        return slot ? slot->cur : NULL;
    s = store_new(app, slug);
    if (!s || slot_install(c, s) != 0) {
        cache_store_unref(c, s);
        return NULL;
    }
    return s;
}

void cache_store_touch(cache *c, const char *app, const char *slug)
{
    cslot *slot = cache_slot_find(c, app, slug);

    if (slot)
        slot->changed = cache_mono(c);
}

void cache_record_install(cache *c, cstore *s, uint32_t i, lru_item *item, bool existed)
{
    record_set(c, s, i, item, existed);
}

int cache_store_put(cache *c, cstore *s)
{
    return slot_install(c, s);
}

cstore *cache_store_make(const char *app, const char *slug)
{
    return store_new(app, slug);
}

void cache_store_forget(cache *c, const char *app, const char *slug)
{
    cslot **pp = &c->slots;
    while (*pp) {
        cslot *s = *pp;
        if (strcmp(s->cur->app, app) == 0 && (!slug || strcmp(s->cur->slug, slug) == 0)) {
            *pp = s->next;
            cache_store_unref(c, s->cur);
            free(s);
        } else {
            pp = &s->next;
        }
    }
}
