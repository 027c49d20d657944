/* cache_reval.c: close-to-open checks of a listed collection (-o revalidate): the listing
 * or its first page's total asked again, and the names of records found changed. */
#include "cache_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

void cache_names_add(cache_names *nm, const char *stem)
{
    size_t len = strlen(stem), sl = strlen(LAYOUT_SUFFIX);
    char *name;

    if (nm->n == nm->cap) {
        size_t nc = nm->cap ? nm->cap * 2 : 16;
        char **nv = realloc(nm->v, nc * sizeof *nv);
        if (!nv)
            return; /* the kernel keeps that name until its timeout: no harm beyond */
        nm->v = nv;
        nm->cap = nc;
    }
    name = malloc(len + sl + 1);
    if (!name)
        return;
    memcpy(name, stem, len);
    memcpy(name + len, LAYOUT_SUFFIX, sl + 1);
    nm->v[nm->n++] = name;
}

/* The records of old and now that differ: gone, changed, new. Under the lock. */
static void store_diff(const cstore *old, const cstore *now, cache_names *out)
{
    for (uint32_t i = 0; i < old->r.n; i++) {
        const recs_entry *e = &old->r.e[i], *f;
        const char *name = recs_name(&old->r, i);
        uint32_t j;
        if (e->flags & RECS_GONE)
            continue;
        if (recs_find(&now->r, name, strlen(name), &j) != 0) {
            cache_names_add(out, name);
            continue;
        }
        f = &now->r.e[j];
        if ((f->flags & RECS_GONE) || f->size != e->size || f->sum != e->sum ||
            f->mtime != e->mtime)
            cache_names_add(out, name);
    }
    for (uint32_t j = 0; j < now->r.n; j++) {
        const char *name = recs_name(&now->r, j);
        uint32_t i;
        if (recs_find(&old->r, name, strlen(name), &i) != 0)
            cache_names_add(out, name);
    }
}

void cache_names_notify(cache *c, const layout_path *p, cache_names *names)
{
    if (names->n && c->cfg.changed)
        c->cfg.changed(c->cfg.changed_ud, p->app, p->coll, names->v, names->n);
    for (size_t i = 0; i < names->n; i++)
        free(names->v[i]);
    free(names->v);
    memset(names, 0, sizeof *names);
}

/* Relists app/slug and adds what changed from the store before to *changed. */
static int relist_diff(cache *c, const char *app, const char *slug, cache_names *changed,
                       cf_error *err)
{
    cslot *slot = cache_slot_find(c, app, slug);
    cstore *old = slot ? slot->cur : NULL;
    int rc;

    if (old)
        old->refs++;
    rc = cache_store_list(c, app, slug, err);
    slot = cache_slot_find(c, app, slug);
    if (rc == 0 && old && slot && slot->cur != old && changed)
        store_diff(old, slot->cur, changed);
    cache_store_unref(c, old);
    return rc;
}

void cache_collection_check(cache *c, const char *app, const char *slug, cache_names *changed)
{
    size_t per_page = c->cfg.page_size ? c->cfg.page_size : 500, visible = 0, total = 0;
    cslot *slot = cache_slot_find(c, app, slug);
    double last, start;
    cf_error err;
    cstore *s;
    int rc;

    if (!c->cfg.close_to_open || !slot)
        return;
    s = slot->cur;
    /* Not listed, or past its TTL: the next listing asks the server anyway. */
    if (!s->complete || !cache_is_fresh(c, s->listed))
        return;
    last = s->checked > s->probed ? s->checked : s->probed;
    start = cache_mono(c);
    if (c->cfg.revalidate > 0 && start - last < c->cfg.revalidate)
        return;
    /* Saves of this mount under way in it (within the last second, or `revalidate`): a
     * listing now would come back incomplete (cache_store_list), and lookups during an
     * outage would fail; the first look after them checks. */
    if (slot->changed > 0 &&
        start - slot->changed < (c->cfg.revalidate > 1 ? c->cfg.revalidate : 1))
        return;
    for (uint32_t i = 0; i < s->r.n; i++)
        if (!(s->r.e[i].flags & RECS_GONE))
            visible++;
    cf_error_clear(&err);
    /* One page either way: the listing itself is as cheap as its total, and sees edits. */
    if (visible < per_page) {
        rc = relist_diff(c, app, slug, changed, &err);
    } else {
        rc = cache_store_probe(c, app, slug, &total, &err);
        if (rc == 0 && total != visible)
            rc = relist_diff(c, app, slug, changed, &err);
        else if (rc == 0 && (slot = cache_slot_find(c, app, slug)) != NULL)
            slot->cur->probed = start;
    }
    if (rc)
        log_warning("collection %s/%s: not checked with the server (%s): the cached listing "
                    "is shown", app, slug, err.message[0] ? err.message : strerror(-rc));
}
