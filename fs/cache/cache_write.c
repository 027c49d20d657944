/* cache_write.c: the write side's changes to the cache: keys of names, saved contents,
 * deletions, new directories, and the names kept for keys a server assigned. */
#include "cache_write.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache_int.h"
#include "names.h"
#include "render.h"

#define FILE_MODE 0644

static size_t stem_len(const char *name)
{
    size_t len = strlen(name), sl = strlen(LAYOUT_SUFFIX);
    return len > sl ? len - sl : len;
}

static enum list_id list_id_of(cf_kind kind)
{
    return cache_list_of(kind);
}

static const char *suffix_of(cf_kind kind)
{
    return layout_resource_of(kind)->suffix;
}

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* ------------------------------------------------------------------------- */
/* Kept names                                                                 */
/* ------------------------------------------------------------------------- */

typedef struct calias {
    struct calias *next;
    int space;           /* list_id, or -1 for records */
    char *app, *slug;
    char *key;
    char *name;          /* file name, suffix included */
} calias;

static void alias_free_one(calias *a)
{
    free(a->app);
    free(a->slug);
    free(a->key);
    free(a->name);
    free(a);
}

static void alias_add(cache *c, int space, const char *app, const char *slug, const char *key,
                      const char *name)
{
    calias *a;

    for (a = c->aliases; a; a = a->next) {
        if (a->space == space && same(a->app, app) && same(a->slug, slug) &&
            strcmp(a->key, key) == 0) {
            char *nn = strdup(name);
            if (nn) {
                free(a->name);
                a->name = nn;
            }
            return;
        }
    }
    a = calloc(1, sizeof *a);
    if (!a)
        return;
    a->space = space;
    a->app = app ? strdup(app) : NULL;
    a->slug = slug ? strdup(slug) : NULL;
    a->key = strdup(key);
    a->name = strdup(name);
    if ((app && !a->app) || (slug && !a->slug) || !a->key || !a->name) {
        alias_free_one(a);
        return;
    }
    a->next = c->aliases;
    c->aliases = a;
}

/* Keeps `name` for key when the key's own file name is another. */
static void keep_name(cache *c, int space, const char *app, const char *slug, const char *key,
                      const char *name, const char *suffix)
{
    char *own = NULL;
    if (names_encode(key, suffix, &own) == 0 && strcmp(own, name) != 0)
        alias_add(c, space, app, slug, key, name);
    free(own);
}

static calias *alias_by_key(cache *c, int space, const char *app, const char *slug,
                            const char *key)
{
    for (calias *a = c->aliases; a; a = a->next)
        if (a->space == space && same(a->app, app) && same(a->slug, slug) &&
            strcmp(a->key, key) == 0)
            return a;
    return NULL;
}

void cache_alias_stem(cache *c, const char *app, const char *slug, const char *key, char **stem)
{
    calias *a = alias_by_key(c, -1, app, slug, key);
    char *ns;
    if (!a)
        return;
    ns = strndup(a->name, stem_len(a->name));
    if (ns) {
        free(*stem);
        *stem = ns;
    }
}

char *cache_alias_key(cache *c, int space, const char *app, const char *slug, const char *name)
{
    for (calias *a = c->aliases; a; a = a->next)
        if (a->space == space && same(a->app, app) && same(a->slug, slug) &&
            strcmp(a->name, name) == 0)
            return strdup(a->key);
    return NULL;
}

static int cmp_entry(const void *x, const void *y)
{
    const rentry *a = x, *b = y;
    int d = strcmp(a->app ? a->app : "", b->app ? b->app : "");
    return d ? d : strcmp(a->name, b->name);
}

void cache_alias_list(cache *c, enum list_id id, rlist *l)
{
    bool renamed = false;

    for (size_t i = 0; i < l->n; i++) {
        rentry *e = &l->e[i];
        calias *a = alias_by_key(c, (int)id, e->app, NULL, e->key);
        char *nn;
        if (!a || strcmp(a->name, e->name) == 0 || cache_list_find(l, e->app, a->name))
            continue;
        nn = strdup(a->name);
        if (!nn)
            continue;
        free(e->name);
        e->name = nn;
        renamed = true;
    }
    if (renamed)
        qsort(l->e, l->n, sizeof *l->e, cmp_entry);
}

void cache_alias_free(cache *c)
{
    while (c->aliases) {
        calias *a = c->aliases;
        c->aliases = a->next;
        alias_free_one(a);
    }
}

/* ------------------------------------------------------------------------- */
/* Keys                                                                       */
/* ------------------------------------------------------------------------- */

int cache_record_key(cache *c, const layout_path *p, char **app, char **slug, char **key,
                     cf_error *err)
{
    cf_error scratch;
    size_t nlen = stem_len(p->name);
    int rc;

    *app = *slug = *key = NULL;
    if (!err)
        err = &scratch;
    cf_error_clear(err);
    pthread_mutex_lock(&c->lock);
    rc = cache_resolve_collection(c, p->app, p->coll, false, app, slug, err);
    for (int attempt = 0; rc == 0 && attempt < 2; attempt++) {
        cstore *s = cache_store_of(c, *app, *slug, false);
        uint32_t idx;
        names_result nr;

        if (c->aliases && (*key = cache_alias_key(c, -1, *app, *slug, p->name)))
            break;
        if (s && recs_find(&s->r, p->name, nlen, &idx) == 0) {
            *key = strdup(recs_key(&s->r, idx));
            rc = *key ? 0 : -ENOMEM;
            break;
        }
        nr = names_decode(p->name, LAYOUT_SUFFIX, key);
        if (nr == NAMES_OK)
            break;
        rc = -EINVAL;
        if (nr == NAMES_SHORTENED && attempt == 0 &&
            !(s && s->complete && cache_is_fresh(c, s->listed))) {
            /* Only a listing tells what a shortened name stands for. */
            cstore *snap = NULL;
            uint32_t count;
            rc = cache_collection_snapshot(c, *app, *slug, &snap, &count, err);
            cache_store_unref(c, snap);
        } else {
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    if (rc) {
        free(*app);
        free(*slug);
        free(*key);
        *app = *slug = *key = NULL;
    }
    return rc;
}

int cache_entry_key(cache *c, const layout_path *p, char **app, char **key, bool *listed,
                    cf_error *err)
{
    cf_error scratch;
    enum list_id id;
    const char *name, *suffix;
    rentry *e;
    int rc = 0;

    *app = *key = NULL;
    *listed = false;
    if (!err)
        err = &scratch;
    cf_error_clear(err);
    switch (p->kind) {
    case LAYOUT_ITEM:
        id = list_id_of(p->list);
        name = p->name;
        suffix = LAYOUT_SUFFIX;
        break;
    case LAYOUT_APP:
    case LAYOUT_APP_META:
        id = L_APPS;
        name = p->app;
        suffix = "";
        break;
    case LAYOUT_COLLECTION:
    case LAYOUT_COLLECTION_META:
        id = L_COLLS;
        name = p->coll;
        suffix = "";
        break;
    default:
        return -EINVAL;
    }
    pthread_mutex_lock(&c->lock);
    if (id == L_COLLS) {
        rc = cache_resolve_collection(c, p->app, NULL, false, app, NULL, err);
        if (rc)
            goto out;
    }
    e = cache_list_lookup(c, id, *app, name, false, &rc, err);
    if (e) {
        *key = strdup(e->key);
        *listed = true;
        rc = *key ? 0 : -ENOMEM;
    } else if (rc == -ENOENT) {
        char *kept = c->aliases ? cache_alias_key(c, (int)id, *app, NULL, name) : NULL;
        if (kept) {
            *key = kept;
            rc = 0;
        } else {
            rc = names_decode(name, suffix, key) == NAMES_OK ? 0 : -EINVAL;
        }
    }
out:
    pthread_mutex_unlock(&c->lock);
    if (rc) {
        free(*app);
        free(*key);
        *app = *key = NULL;
    }
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Records                                                                    */
/* ------------------------------------------------------------------------- */

int cache_put_record(cache *c, const char *app, const char *slug, const char *name,
                     const char *key, const char *data, size_t len, cache_attr *attr)
{
    lru_item *item = lru_item_new(data, len);
    char *stem = strndup(name, stem_len(name));
    cstore *s;
    uint32_t idx;
    bool existed;
    int rc = 0;

    if (!item || !stem || len > UINT32_MAX) {
        lru_item_unref(item);
        free(stem);
        return -ENOMEM;
    }
    pthread_mutex_lock(&c->lock);
    s = cache_store_of(c, app, slug, true);
    if (!s) {
        rc = -ENOMEM;
        goto out;
    }
    existed = recs_find(&s->r, stem, strlen(stem), &idx) == 0;
    if (!existed) {
        if (recs_add(&s->r, stem, key, &idx) < 0) {
            rc = -ENOMEM;
            goto out;
        }
        s->r.e[idx].mtime = (uint32_t)cache_wall(c);
    }
    cache_record_install(c, s, idx, item, existed);
    /* The writer's base is now what it saved: no conflict with its own change. */
    s->r.e[idx].flags = (s->r.e[idx].flags | RECS_FETCHED | RECS_UNSHOWN) &
                        ~(uint32_t)(RECS_CONFLICT | RECS_REPORTED | RECS_FORGOTTEN);
    cache_store_touch(c, app, slug);
    s->r.e[idx].fetched = cache_stamp(c, cache_mono(c));
    keep_name(c, -1, app, slug, key, name, LAYOUT_SUFFIX);
    if (attr) {
        memset(attr, 0, sizeof *attr);
        attr->mode = FILE_MODE;
        attr->size = len;
        attr->mtime = (time_t)s->r.e[idx].mtime;
    }
out:
    pthread_mutex_unlock(&c->lock);
    lru_item_unref(item); /* the LRU has its own reference (or evicted it) */
    free(stem);
    return rc;
}

int cache_record_set_time(cache *c, const layout_path *p, const struct timespec *t,
                          cache_attr *attr)
{
    char *app = NULL, *slug = NULL;
    cf_error err;
    cstore *s;
    uint32_t idx;
    int rc;

    pthread_mutex_lock(&c->lock);
    rc = cache_resolve_collection(c, p->app, p->coll, false, &app, &slug, &err);
    if (rc == 0) {
        s = cache_store_of(c, app, slug, false);
        if (s && recs_find(&s->r, p->name, stem_len(p->name), &idx) == 0 &&
            !(s->r.e[idx].flags & RECS_GONE)) {
            recs_entry *e = &s->r.e[idx];
            e->mtime = (uint32_t)(t->tv_sec < 0 ? 0 : t->tv_sec > UINT32_MAX ? UINT32_MAX
                                                                              : t->tv_sec);
            e->reserved = CACHE_W_TIMESET | ((uint32_t)t->tv_nsec & CACHE_W_NSMASK);
            if (attr) {
                memset(attr, 0, sizeof *attr);
                attr->mode = FILE_MODE;
                attr->size = e->size;
                attr->mtime = (time_t)e->mtime;
                attr->mtime_ns = e->reserved & CACHE_W_NSMASK;
            }
        } else {
            rc = -ENOENT;
        }
    }
    pthread_mutex_unlock(&c->lock);
    free(app);
    free(slug);
    return rc;
}

void cache_drop_record(cache *c, const char *app, const char *slug, const char *name)
{
    cstore *s;
    uint32_t idx;

    pthread_mutex_lock(&c->lock);
    s = cache_store_of(c, app, slug, false);
    cache_store_touch(c, app, slug);
    if (s && recs_find(&s->r, name, stem_len(name), &idx) == 0) {
        recs_entry *e = &s->r.e[idx];
        e->flags = (e->flags & ~(uint32_t)RECS_FORGOTTEN) | RECS_GONE | RECS_FETCHED;
        e->fetched = cache_stamp(c, cache_mono(c));
        if (e->content) {
            lru_remove(&c->lru, e->content);
            e->content = NULL;
        }
    }
    pthread_mutex_unlock(&c->lock);
}

void cache_forget_record(cache *c, const char *app, const char *slug, const char *name)
{
    cstore *s;
    uint32_t idx;

    pthread_mutex_lock(&c->lock);
    s = cache_store_of(c, app, slug, false);
    cache_store_touch(c, app, slug);
    if (s) {
        /* Neither the listing (it may lack the record, or have it) nor the content. */
        s->complete = false;
        if (recs_find(&s->r, name, stem_len(name), &idx) == 0) {
            recs_entry *e = &s->r.e[idx];
            e->flags = (e->flags & ~(uint32_t)(RECS_FETCHED | RECS_GONE | RECS_READ |
                                               RECS_CONFLICT | RECS_REPORTED)) |
                       RECS_FORGOTTEN;
            e->fetched = cache_stamp(c, cache_mono(c));
            if (e->content) {
                lru_remove(&c->lru, e->content);
                e->content = NULL;
            }
        }
    }
    pthread_mutex_unlock(&c->lock);
}

void cache_new_collection(cache *c, const char *app, const char *slug)
{
    cstore *s = cache_store_make(app, slug);
    if (!s)
        return;
    pthread_mutex_lock(&c->lock);
    s->complete = true;
    s->listed = cache_mono(c);
    s->checked = s->listed; /* known empty now: no check before `revalidate` */
    if (cache_store_put(c, s) != 0)
        cache_store_unref(c, s);
    pthread_mutex_unlock(&c->lock);
}

/* ------------------------------------------------------------------------- */
/* Lists                                                                      */
/* ------------------------------------------------------------------------- */

static void entry_free(rentry *e)
{
    free(e->name);
    free(e->key);
    free(e->app);
    lru_item_unref(e->content);
}

static int entry_copy(rentry *to, const rentry *from)
{
    memset(to, 0, sizeof *to);
    to->name = strdup(from->name);
    to->key = strdup(from->key);
    to->app = from->app ? strdup(from->app) : NULL;
    to->mtime = from->mtime;
    to->sum = from->sum;
    to->content = from->content;
    if (to->content)
        lru_item_ref(to->content);
    if (!to->name || !to->key || (from->app && !to->app)) {
        entry_free(to);
        memset(to, 0, sizeof *to);
        return -1;
    }
    return 0;
}

/* A copy of l without the entries drop says no to, and with `add` (taken over) when
 * non-NULL. NULL when out of memory (add is freed). */
static rlist *list_rebuild(const rlist *l, bool (*drop)(const rentry *, const void *),
                           const void *ud, rentry *add)
{
    rlist *n = calloc(1, sizeof *n);
    size_t k = 0;

    if (n)
        n->e = calloc(l->n + 1, sizeof *n->e);
    if (!n || !n->e) {
        free(n);
        if (add)
            entry_free(add);
        return NULL;
    }
    n->refs = 1;
    for (size_t i = 0; i < l->n; i++) {
        if (drop && drop(&l->e[i], ud))
            continue;
        if (entry_copy(&n->e[k], &l->e[i]) != 0)
            goto fail;
        k++;
    }
    if (add)
        n->e[k++] = *add;
    n->n = k;
    qsort(n->e, n->n, sizeof *n->e, cmp_entry);
    return n;
fail:
    for (size_t i = 0; i < k; i++)
        entry_free(&n->e[i]);
    free(n->e);
    free(n);
    if (add)
        entry_free(add);
    return NULL;
}

typedef struct match {
    const char *app, *name, *key;
} match;

static bool is_named(const rentry *e, const void *ud)
{
    const match *m = ud;
    return same(e->app, m->app) && strcmp(e->name, m->name) == 0;
}

static bool of_app(const rentry *e, const void *ud)
{
    const match *m = ud;
    return e->app && strcmp(e->app, m->key) == 0;
}

static void list_swap(cache *c, enum list_id id, rlist *n)
{
    if (!n)
        return;
    cache_rlist_unref(c->lists[id].cur);
    c->lists[id].cur = n;
}

int cache_put_entry(cache *c, cf_kind kind, const char *app, const char *name, const char *key,
                    const char *data, size_t len, cache_attr *attr)
{
    enum list_id id = list_id_of(kind);
    lnode *ln = &c->lists[id];
    lru_item *item = lru_item_new(data, len);
    uint64_t sum;
    time_t mtime;
    rentry add;
    match m = {app, name, key};
    int rc = 0;

    if (!item)
        return -ENOMEM;
    sum = render_checksum(data, len);
    pthread_mutex_lock(&c->lock);
    mtime = cache_wall(c);
    if (ln->cur) {
        rentry *was = cache_list_find(ln->cur, app, name);
        if (was && was->sum == sum)
            mtime = was->mtime;
        memset(&add, 0, sizeof add);
        add.name = strdup(name);
        add.key = strdup(key);
        add.app = app ? strdup(app) : NULL;
        add.content = item;
        add.sum = sum;
        add.mtime = mtime;
        lru_item_ref(item);
        if (!add.name || !add.key || (app && !add.app)) {
            entry_free(&add);
            rc = -ENOMEM;
        } else {
            rlist *n = list_rebuild(ln->cur, is_named, &m, &add);
            if (n)
                list_swap(c, id, n);
            else
                rc = -ENOMEM;
        }
    }
    keep_name(c, (int)id, app, NULL, key, name, suffix_of(kind));
    pthread_mutex_unlock(&c->lock);
    lru_item_unref(item);
    if (attr) {
        memset(attr, 0, sizeof *attr);
        attr->mode = FILE_MODE;
        attr->size = len;
        attr->mtime = mtime;
    }
    return rc;
}

void cache_drop_entry(cache *c, cf_kind kind, const char *app, const char *name)
{
    enum list_id id = list_id_of(kind);
    match m = {app, name, NULL};
    rentry *e;
    char *key = NULL;

    pthread_mutex_lock(&c->lock);
    e = c->lists[id].cur ? cache_list_find(c->lists[id].cur, app, name) : NULL;
    if (e) {
        key = strdup(e->key);
        list_swap(c, id, list_rebuild(c->lists[id].cur, is_named, &m, NULL));
    }
    if (key && kind == CF_APP) {
        match am = {NULL, NULL, key};
        if (c->lists[L_COLLS].cur)
            list_swap(c, L_COLLS, list_rebuild(c->lists[L_COLLS].cur, of_app, &am, NULL));
        cache_store_forget(c, key, NULL);
    } else if (key && kind == CF_COLLECTION) {
        cache_store_forget(c, app, key);
    }
    pthread_mutex_unlock(&c->lock);
    free(key);
}

/* ------------------------------------------------------------------------- */
/* Counts                                                                     */
/* ------------------------------------------------------------------------- */

static size_t count_records(const cstore *s)
{
    size_t n = 0;
    for (uint32_t i = 0; i < s->r.n; i++)
        if (!(s->r.e[i].flags & RECS_GONE))
            n++;
    return n;
}

static size_t count_collections(const rlist *l, const char *app)
{
    size_t n = 0;
    for (size_t i = 0; l && i < l->n; i++)
        if (l->e[i].app && strcmp(l->e[i].app, app) == 0)
            n++;
    return n;
}

int cache_dir_count(cache *c, const layout_path *p, bool verify, size_t *n, cf_error *err)
{
    char *app = NULL, *slug = NULL;
    cstore *snap = NULL;
    uint32_t count;
    int rc;

    *n = 0;
    cf_error_clear(err);
    pthread_mutex_lock(&c->lock);
    if (p->kind == LAYOUT_APP) {
        rc = cache_resolve_collection(c, p->app, NULL, false, &app, NULL, err);
        if (rc == 0)
            rc = cache_list_ensure(c, L_COLLS, true, err);
        if (rc == 0)
            *n = count_collections(c->lists[L_COLLS].cur, app);
        if (rc == 0 && *n == 0 && verify) {
            c->lists[L_COLLS].fetched = -1e18; /* stale now: ask the server */
            rc = cache_list_ensure(c, L_COLLS, true, err);
            if (rc == 0)
                *n = count_collections(c->lists[L_COLLS].cur, app);
        }
    } else if (p->kind == LAYOUT_COLLECTION) {
        rc = cache_resolve_collection(c, p->app, p->coll, false, &app, &slug, err);
        if (rc == 0)
            rc = cache_collection_snapshot(c, app, slug, &snap, &count, err);
        if (rc == 0) {
            *n = count_records(snap);
            if (*n == 0 && verify) {
                snap->listed = -1e18;
                cache_store_unref(c, snap);
                snap = NULL;
                rc = cache_collection_snapshot(c, app, slug, &snap, &count, err);
                if (rc == 0)
                    *n = count_records(snap);
            }
        }
        cache_store_unref(c, snap);
    } else {
        rc = -ENOTDIR;
    }
    pthread_mutex_unlock(&c->lock);
    free(app);
    free(slug);
    return rc;
}
