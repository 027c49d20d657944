/* cache_dir.c: directory snapshots of the cache, walked in chunks outside the lock. */
#include "cache_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_write.h"
#include "names.h"

#define FILE_MODE 0644
#define VERSION_MODE 0444

/* ------------------------------------------------------------------------- */
/* Directory snapshots                                                        */
/* ------------------------------------------------------------------------- */

struct cache_dir {
    layout_kind kind;
    rlist *list;          /* APPS, APP (collections), LIST */
    size_t first, count;  /* the list's entries shown: [first, first + count) */
    cstore *store;        /* COLLECTION */
    uint32_t nrec;
    bool has_meta;        /* a leading .app.json / .collection.json */
    const char *meta_name;
    cache_attr meta_attr;
};

int cache_opendir(cache *c, const layout_path *p, cache_dir **out, cf_error *err)
{
    cache_names changed = {0};
    cf_error scratch;
    cache_dir *d;
    char *app = NULL, *slug = NULL;
    rentry *e;
    int rc = 0;

    *out = NULL;
    if (!err)
        err = &scratch;
    cf_error_clear(err);
    if (!layout_is_dir(p->kind))
        return -ENOTDIR;
    d = calloc(1, sizeof *d);
    if (!d)
        return -ENOMEM;
    d->kind = p->kind;
    pthread_mutex_lock(&c->lock);
    uint64_t mark = cache_fetch_mark();
    switch (p->kind) {
    case LAYOUT_ROOT:
        while (layout_root_names[d->count])
            d->count++;
        break;
    case LAYOUT_APPS:
    case LAYOUT_LIST: {
        enum list_id id = p->kind == LAYOUT_APPS ? L_APPS : cache_list_of(p->list);
        rc = cache_list_ensure(c, id, true, err);
        if (rc)
            break;
        d->list = c->lists[id].cur;
        d->list->refs++;
        d->count = d->list->n;
        break;
    }
    case LAYOUT_APP:
        e = cache_list_lookup(c, L_APPS, NULL, p->app, true, &rc, err);
        if (!e)
            break;
        d->has_meta = true;
        d->meta_name = LAYOUT_APP_META_NAME;
        cache_entry_attr(e, FILE_MODE, &d->meta_attr);
        app = strdup(e->key);
        if (!app) {
            rc = -ENOMEM;
            break;
        }
        rc = cache_list_ensure(c, L_COLLS, true, err);
        if (rc)
            break;
        d->list = c->lists[L_COLLS].cur;
        d->list->refs++;
        /* Sorted by (app, name): this app's collections are one run. */
        while (d->first < d->list->n &&
               strcmp(d->list->e[d->first].app ? d->list->e[d->first].app : "", app) < 0)
            d->first++;
        while (d->first + d->count < d->list->n &&
               strcmp(d->list->e[d->first + d->count].app, app) == 0)
            d->count++;
        break;
    case LAYOUT_COLLECTION:
        rc = cache_resolve_collection(c, p->app, p->coll, true, &app, &slug, err);
        if (rc)
            break;
        e = cache_list_find(c->lists[L_COLLS].cur, app, p->coll);
        if (!e) {
            rc = -ENOENT;
            break;
        }
        d->has_meta = true;
        d->meta_name = LAYOUT_COLLECTION_META_NAME;
        cache_entry_attr(e, FILE_MODE, &d->meta_attr);
        cache_collection_check(c, app, slug, &changed);
        rc = cache_collection_snapshot(c, app, slug, &d->store, &d->nrec, err);
        break;
    default:
        rc = -ENOTDIR;
        break;
    }
    cache_count_question(c, mark);
    pthread_mutex_unlock(&c->lock);
    cache_names_notify(c, p, &changed);
    free(app);
    free(slug);
    if (rc) {
        cache_closedir(c, d);
        return rc;
    }
    *out = d;
    return 0;
}

void cache_closedir(cache *c, cache_dir *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&c->lock);
    cache_rlist_unref(d->list);
    if (d->store)
        cache_store_unref(c, d->store);
    pthread_mutex_unlock(&c->lock);
    free(d);
}

#define CHUNK 32

typedef struct chunk_entry {
    char name[NAMES_MAX + 1];
    cache_attr attr;
    bool have_attr;
    size_t index;
} chunk_entry;

/* Copies entry pos of d into ce, under the lock. Returns false for a hidden entry. */
static bool take_entry(cache *c, cache_dir *d, size_t pos, chunk_entry *ce)
{
    ce->index = pos;
    ce->have_attr = true;
    if (d->has_meta) {
        if (pos == 0) {
            snprintf(ce->name, sizeof ce->name, "%s", d->meta_name);
            ce->attr = d->meta_attr;
            return true;
        }
        pos--;
    }
    if (d->kind == LAYOUT_ROOT) {
        const char *name = layout_root_names[pos];
        snprintf(ce->name, sizeof ce->name, "%s", name);
        if (strcmp(name, LAYOUT_VERSION_NAME) == 0) {
            lnode *ln = &c->lists[L_VERSION];
            /* Known only when fetched: listing / costs no request for the version. */
            ce->have_attr = ln->cur && cache_is_fresh(c, ln->fetched);
            if (ce->have_attr)
                cache_entry_attr(&ln->cur->e[0], VERSION_MODE, &ce->attr);
            else
                memset(&ce->attr, 0, sizeof ce->attr);
        } else if (strcmp(name, LAYOUT_CONTROL_NAME) == 0) {
            /* Its attributes are control.c's: the kernel asks for them. */
            ce->have_attr = false;
            memset(&ce->attr, 0, sizeof ce->attr);
            ce->attr.is_dir = true;
        } else {
            cache_dir_attr(c, &ce->attr);
        }
        return true;
    }
    if (d->store) {
        const recs *r = &d->store->r;
        uint32_t i = r->order[pos];
        const recs_entry *e = &r->e[i];
        const char *name = recs_name(r, i);
        size_t len = strlen(name), sl = sizeof LAYOUT_SUFFIX; /* NUL included */
        if (e->flags & RECS_GONE)
            return false;
        /* (the hot path of a large listing: no printf) */
        if (len + sl > sizeof ce->name)
            len = sizeof ce->name - sl;
        memcpy(ce->name, name, len);
        memcpy(ce->name + len, LAYOUT_SUFFIX, sl);
        memset(&ce->attr, 0, sizeof ce->attr);
        ce->attr.mode = FILE_MODE;
        ce->attr.size = e->size;
        ce->attr.mtime = (time_t)e->mtime;
        ce->attr.mtime_ns = e->reserved & CACHE_W_NSMASK;
        return true;
    }
    {
        const rentry *e = &d->list->e[d->first + pos];
        snprintf(ce->name, sizeof ce->name, "%s", e->name);
        if (d->kind == LAYOUT_APPS || d->kind == LAYOUT_APP)
            cache_dir_attr(c, &ce->attr);
        else
            cache_entry_attr(e, FILE_MODE, &ce->attr);
    }
    return true;
}

/* About what an entry handed to the kernel costs in libfuse (its node, from libfuse's
 * own slabs, and two hash slots): the process is weighed as listings grow it. */
#define LISTED_COST 192

int cache_readdir(cache *c, cache_dir *d, size_t start, cache_fill_fn fn, void *ud)
{
    size_t total = (d->has_meta ? 1 : 0) + (d->store ? d->nrec : d->count);
    size_t pos = start;
    chunk_entry *chunk = malloc(CHUNK * sizeof *chunk);
    int rc = 0;

    if (!chunk)
        return -ENOMEM;
    while (pos < total) {
        size_t got = 0;
        pthread_mutex_lock(&c->lock);
        while (got < CHUNK && pos < total) {
            if (take_entry(c, d, pos, &chunk[got]))
                got++;
            pos++;
        }
        cache_memory_check(c, got * LISTED_COST);
        pthread_mutex_unlock(&c->lock);
        for (size_t i = 0; i < got; i++)
            if (fn(ud, chunk[i].name, &chunk[i].attr, chunk[i].have_attr, chunk[i].index))
                goto cleanup;
    }
cleanup:
    free(chunk);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* For the write side's directory overlay (cache_write.h)                     */
/* ------------------------------------------------------------------------- */

size_t cache_dir_size(cache *c, const cache_dir *d)
{
    (void)c;
    return (d->has_meta ? 1 : 0) + (d->store ? d->nrec : d->count);
}

bool cache_dir_has(cache *c, const cache_dir *d, const char *name)
{
    size_t sl = strlen(LAYOUT_SUFFIX), len = strlen(name);
    bool has = false;
    uint32_t idx;

    if (d->has_meta && strcmp(name, d->meta_name) == 0)
        return true;
    pthread_mutex_lock(&c->lock);
    if (d->store) {
        if (len > sl && strcmp(name + len - sl, LAYOUT_SUFFIX) == 0 &&
            recs_find(&d->store->r, name, len - sl, &idx) == 0 && idx < d->nrec)
            has = !(d->store->r.e[idx].flags & RECS_GONE);
    } else if (d->kind == LAYOUT_ROOT) {
        for (size_t i = 0; layout_root_names[i] && !has; i++)
            has = strcmp(layout_root_names[i], name) == 0;
    } else if (d->list) {
        for (size_t i = d->first; i < d->first + d->count && !has; i++)
            has = strcmp(d->list->e[i].name, name) == 0;
    }
    pthread_mutex_unlock(&c->lock);
    return has;
}
