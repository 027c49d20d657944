/* cache.c: cache core: resource lists, attribute and open questions, life and statistics. */
/* Collections of records are in cache_coll.c and cache_listing.c, directory snapshots in
 * cache_dir.c, clocks and single-flight fetches in cache_flight.c. */

#include "cache_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmap.h"
#include "log.h"
#include "names.h"
#include "render.h"

#define DIR_MODE 0755
#define FILE_MODE 0644
#define VERSION_MODE 0444

/* ------------------------------------------------------------------------- */
/* Lists                                                                      */
/* ------------------------------------------------------------------------- */

static const cf_kind list_kinds[L_COUNT] = {
    [L_APPS] = CF_APP,
    [L_COLLS] = CF_COLLECTION,
    [L_QUERIES] = CF_QUERY,
    [L_ACTIONFLOWS] = CF_ACTIONFLOW,
    [L_QUESTIONNAIRES] = CF_QUESTIONNAIRE,
    [L_USERS] = CF_USER,
    [L_VERSION] = CF_APP, /* unused: the version has its own call */
};

static void rentry_clear(rentry *e)
{
    free(e->name);
    free(e->key);
    free(e->app);
    lru_item_unref(e->content);
}

static void rlist_free(rlist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        rentry_clear(&l->e[i]);
    free(l->e);
    free(l);
}

void cache_rlist_unref(rlist *l)
{
    if (l && --l->refs == 0)
        rlist_free(l);
}

static int cmp_key(const char *app_a, const char *name_a, const char *app_b, const char *name_b)
{
    int d = strcmp(app_a ? app_a : "", app_b ? app_b : "");
    return d ? d : strcmp(name_a, name_b);
}

static int cmp_rentry(const void *a, const void *b)
{
    const rentry *x = a, *y = b;
    return cmp_key(x->app, x->name, y->app, y->name);
}

rentry *cache_list_find(rlist *l, const char *app, const char *name)
{
    size_t lo = 0, hi;
    if (!l)
        return NULL;
    hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = cmp_key(l->e[mid].app, l->e[mid].name, app, name);
        if (d == 0)
            return &l->e[mid];
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* A member usable as a key: a non-empty string as it is, an integer as its digits. */
static char *key_of(json_object *obj, const char *field)
{
    json_object *v;
    char buf[32];

    if (!json_object_object_get_ex(obj, field, &v))
        return NULL;
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        /* A string holding a NUL byte cannot be a path segment: not shown. */
        if (!s[0] || strlen(s) != (size_t)json_object_get_string_len(v))
            return NULL;
        return strdup(s);
    }
    if (json_object_is_type(v, json_type_int)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_object_get_int64(v));
        return strdup(buf);
    }
    return NULL;
}

typedef struct list_build {
    enum list_id id;
    const layout_resource *res;
    json_object *arr;
    rentry *e;
    size_t n, cap;
    size_t skipped;
    int rc;
} list_build;

/* Appends an entry made of name/key/app and the rendering of text; takes the strings. */
static int build_append(list_build *b, char *name, char *key, char *app, const char *text,
                        size_t len)
{
    char *out = NULL;
    size_t out_len = 0;
    lru_item *item = NULL;

    if (render_pretty(text, len, NULL, &out, &out_len) != 0)
        goto skip;
    item = lru_item_new(out, out_len);
    free(out);
    if (!item)
        goto nomem;
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 64;
        rentry *ne = realloc(b->e, nc * sizeof *ne);
        if (!ne)
            goto nomem;
        b->e = ne;
        b->cap = nc;
    }
    b->e[b->n].name = name;
    b->e[b->n].key = key;
    b->e[b->n].app = app;
    b->e[b->n].content = item;
    b->e[b->n].sum = render_checksum(item->data, item->len);
    b->e[b->n].mtime = 0;
    b->n++;
    return 0;
nomem:
    b->rc = -ENOMEM;
    lru_item_unref(item);
    free(name);
    free(key);
    free(app);
    return 1;
skip:
    b->skipped++;
    free(name);
    free(key);
    free(app);
    return 0;
}

static int list_element(void *ud, size_t index, const char *elem, size_t elem_len)
{
    list_build *b = ud;
    json_object *obj = json_object_array_get_idx(b->arr, index), *active;
    char *key = NULL, *app = NULL, *name = NULL;

    if (!obj || !json_object_is_type(obj, json_type_object))
        goto skip;
    if (b->res->active_only && json_object_object_get_ex(obj, "is_active", &active) &&
        json_object_is_type(active, json_type_boolean) && !json_object_get_boolean(active))
        return 0;
    key = key_of(obj, b->res->key_field);
    if (!key)
        goto skip;
    if (b->id == L_COLLS) {
        app = key_of(obj, "app");
        if (!app)
            goto skip;
    }
    if (names_encode(key, b->res->suffix, &name) != 0)
        goto skip;
    return build_append(b, name, key, app, elem, elem_len);
skip:
    b->skipped++;
    free(key);
    free(app);
    return 0;
}

/* Fetches list id and builds its rlist (sorted, duplicates dropped, times carried over
 * from old). Called without the lock; old is referenced by the caller. */
static int list_fetch(cache *c, enum list_id id, const rlist *old, rlist **out, cf_error *err)
{
    list_build b = {.id = id, .res = layout_resource_of(list_kinds[id])};
    cf_json *data = NULL;
    rlist *l = NULL;
    const char *text;
    size_t len, kept = 0;
    time_t now = cache_wall(c);
    int rc = 0;

    *out = NULL;
    if (id == L_VERSION) {
        if (c->src.version(c->src.ud, &data, err) != 0) {
            rc = -fs_errno(err);
            goto cleanup;
        }
        char *name = strdup(LAYOUT_VERSION_NAME), *key = strdup("version");
        text = cf_json_text(data, &len);
        if (!name || !key) {
            free(name);
            free(key);
            rc = -ENOMEM;
            goto cleanup;
        }
        build_append(&b, name, key, NULL, text, len);
        if (b.rc == 0 && b.n != 1) {
            err->kind = CF_ERR_PROTOCOL;
            snprintf(err->message, sizeof err->message, "the version is not valid JSON");
            rc = -EIO;
            goto cleanup;
        }
    } else {
        if (c->src.list(c->src.ud, list_kinds[id], b.res->extended, &data, err) != 0) {
            rc = -fs_errno(err);
            goto cleanup;
        }
        b.arr = cf_json_object(data);
        text = cf_json_text(data, &len);
        if (!json_object_is_type(b.arr, json_type_array) ||
            cf_json_array_each(text, len, list_element, &b) < 0) {
            err->kind = CF_ERR_PROTOCOL;
            snprintf(err->message, sizeof err->message, "the %s list is not an array",
                     b.res->dir ? b.res->dir : "collections");
            rc = -EIO;
            goto cleanup;
        }
    }
    if (b.rc) {
        rc = b.rc;
        goto cleanup;
    }
    if (b.skipped)
        log_warning("%zu entr%s of the %s list not shown (no usable \"%s\")", b.skipped,
                    b.skipped == 1 ? "y" : "ies", id == L_VERSION ? "version" :
                    (b.res->dir ? b.res->dir : "collections"), b.res->key_field);
    if (b.skipped && b.n == 0 && id != L_VERSION) {
        /* Entries came and none is usable: a broken answer, not an empty list. */
        err->kind = CF_ERR_PROTOCOL;
        snprintf(err->message, sizeof err->message, "no entry of the %s list has a usable \"%s\"",
                 b.res->dir ? b.res->dir : "collections", b.res->key_field);
        rc = -EIO;
        goto cleanup;
    }
    if (b.n) /* qsort(NULL, 0, ...) is undefined */
        qsort(b.e, b.n, sizeof *b.e, cmp_rentry);
    for (size_t i = 0; i < b.n; i++) {
        rentry *e = &b.e[i];
        const rentry *was;
        if (kept && cmp_rentry(&b.e[kept - 1], e) == 0) {
            log_warning("duplicate name %s in a list: only the first is shown", e->name);
            rentry_clear(e);
            continue;
        }
        /* Unchanged content keeps its time; changed content moves to now. */
        was = old ? cache_list_find((rlist *)old, e->app, e->name) : NULL;
        if (was && was->sum == e->sum)
            e->mtime = was->mtime;
        else if (was || old)
            e->mtime = now;
        else
            e->mtime = c->mount_time;
        b.e[kept++] = *e;
    }
    l = calloc(1, sizeof *l);
    if (!l) {
        rc = -ENOMEM;
        goto cleanup;
    }
    l->refs = 1;
    l->n = kept;
    l->e = b.e;
    b.e = NULL;
    b.n = 0;
    *out = l;
cleanup:
    for (size_t i = 0; i < b.n; i++)
        rentry_clear(&b.e[i]);
    free(b.e);
    cf_json_free(data);
    return rc;
}

/* What a list is called in a warning. */
static const char *list_label(enum list_id id)
{
    static const char *const labels[L_COUNT] = {
        [L_APPS] = "list of apps",
        [L_COLLS] = "list of collections",
        [L_QUERIES] = "list of queries",
        [L_ACTIONFLOWS] = "list of actionflows",
        [L_QUESTIONNAIRES] = "list of questionnaires",
        [L_USERS] = "list of users",
        [L_VERSION] = "version.json",
    };
    return id < L_COUNT && labels[id] ? labels[id] : "list";
}

int cache_list_ensure(cache *c, enum list_id id, bool need_fresh, cf_error *err)
{
    lnode *ln = &c->lists[id];
    char key[2] = {'L', (char)('0' + id)};
    flight *f;
    flight_result res;
    rlist *old, *fresh = NULL;
    double start;
    int j;

    if (ln->cur && (!need_fresh || cache_is_fresh(c, ln->fetched)))
        return 0;
    j = cache_flight_join(c, key, sizeof key, &f, &res);
    if (j < 0)
        return -ENOMEM;
    if (j == 1) {
        lru_item_unref(res.content);
        if (res.rc && ln->cur && cache_serve_stale(c, res.rc, &res.err, ln->fetched,
                                                   list_label(id)))
            return 0;
        if (res.rc)
            *err = res.err;
        return res.rc;
    }
    memset(&res, 0, sizeof res);
    old = ln->cur;
    if (old)
        old->refs++;
    start = cache_mono(c);
    c->stats.list_fetches++;
    pthread_mutex_unlock(&c->lock);
    res.rc = list_fetch(c, id, old, &fresh, &res.err);
    pthread_mutex_lock(&c->lock);
    if (res.rc == 0 && c->aliases)
        cache_alias_list(c, id, fresh);
    if (res.rc == 0) {
        cache_rlist_unref(ln->cur);
        ln->cur = fresh;
        ln->fetched = start;
    }
    cache_rlist_unref(old);
    cache_flight_end(c, f, &res);
    if (res.rc && ln->cur &&
        cache_serve_stale(c, res.rc, &res.err, ln->fetched, list_label(id)))
        return 0;
    if (res.rc)
        *err = res.err;
    return res.rc;
}

enum list_id cache_list_of(cf_kind kind)
{
    switch (kind) {
    case CF_QUERY:
        return L_QUERIES;
    case CF_ACTIONFLOW:
        return L_ACTIONFLOWS;
    case CF_QUESTIONNAIRE:
        return L_QUESTIONNAIRES;
    case CF_USER:
        return L_USERS;
    case CF_APP:
        return L_APPS;
    case CF_COLLECTION:
        return L_COLLS;
    }
    return L_APPS;
}

rentry *cache_list_lookup(cache *c, enum list_id id, const char *app, const char *name,
                          bool need_fresh, int *rc, cf_error *err)
{
    lnode *ln = &c->lists[id];
    rentry *e;

    *rc = cache_list_ensure(c, id, need_fresh, err);
    if (*rc)
        return NULL;
    e = cache_list_find(ln->cur, app, name);
    if (!e && !need_fresh && !cache_is_fresh(c, ln->fetched)) {
        *rc = cache_list_ensure(c, id, true, err);
        if (*rc)
            return NULL;
        e = cache_list_find(ln->cur, app, name);
    }
    if (!e)
        *rc = -ENOENT;
    return e;
}

int cache_resolve_collection(cache *c, const char *app_name, const char *coll_name,
                             bool need_fresh, char **app, char **slug, cf_error *err)
{
    rentry *e;
    int rc;

    *app = NULL;
    if (slug)
        *slug = NULL;
    e = cache_list_lookup(c, L_APPS, NULL, app_name, need_fresh, &rc, err);
    if (!e)
        return rc;
    *app = strdup(e->key);
    if (!*app)
        return -ENOMEM;
    if (!coll_name)
        return 0;
    e = cache_list_lookup(c, L_COLLS, *app, coll_name, need_fresh, &rc, err);
    if (e && !(*slug = strdup(e->key)))
        rc = -ENOMEM;
    if (rc) {
        free(*app);
        *app = NULL;
    }
    return rc;
}

/* ------------------------------------------------------------------------- */
/* Questions of the operations                                                */
/* ------------------------------------------------------------------------- */

void cache_dir_attr(cache *c, cache_attr *attr)
{
    memset(attr, 0, sizeof *attr);
    attr->is_dir = true;
    attr->mode = DIR_MODE;
    attr->mtime = c->mount_time;
}

void cache_entry_attr(const rentry *e, unsigned mode, cache_attr *attr)
{
    memset(attr, 0, sizeof *attr);
    attr->mode = mode;
    attr->size = e->content->len;
    attr->mtime = e->mtime;
}

/* The list entry behind a file path that lives in a list (not a record), fresh. */
static rentry *file_entry(cache *c, const layout_path *p, unsigned *mode, int *rc, cf_error *err)
{
    char *app = NULL;
    rentry *e = NULL;

    *mode = FILE_MODE;
    switch (p->kind) {
    case LAYOUT_APP_META:
        e = cache_list_lookup(c, L_APPS, NULL, p->app, true, rc, err);
        break;
    case LAYOUT_COLLECTION_META:
        *rc = cache_resolve_collection(c, p->app, NULL, true, &app, NULL, err);
        if (*rc == 0)
            e = cache_list_lookup(c, L_COLLS, app, p->coll, true, rc, err);
        free(app);
        break;
    case LAYOUT_ITEM:
        e = cache_list_lookup(c, cache_list_of(p->list), NULL, p->name, true, rc, err);
        break;
    case LAYOUT_VERSION:
        *mode = VERSION_MODE;
        *rc = cache_list_ensure(c, L_VERSION, true, err);
        if (*rc == 0)
            e = &c->lists[L_VERSION].cur->e[0];
        break;
    default:
        *rc = -EISDIR;
        break;
    }
    return e;
}

int cache_getattr(cache *c, const layout_path *p, cache_attr *attr, cf_error *err)
{
    cache_names changed = {0};
    cf_error scratch;
    char *app = NULL, *slug = NULL;
    unsigned mode;
    rentry *e;
    int rc = 0;

    if (!err)
        err = &scratch;
    cf_error_clear(err);
    pthread_mutex_lock(&c->lock);
    uint64_t mark = cache_fetch_mark();
    switch (p->kind) {
    case LAYOUT_ROOT:
    case LAYOUT_APPS:
    case LAYOUT_LIST:
        cache_dir_attr(c, attr);
        break;
    case LAYOUT_APP:
    case LAYOUT_COLLECTION:
        rc = cache_resolve_collection(c, p->app, p->coll, true, &app,
                                      p->kind == LAYOUT_COLLECTION ? &slug : NULL, err);
        if (rc == 0 && slug) /* rsync looks at it so, never opens it */
            cache_collection_check(c, app, slug, &changed);
        if (rc == 0)
            cache_dir_attr(c, attr);
        break;
    case LAYOUT_RECORD:
        rc = cache_record_attr(c, p, attr, NULL, NULL, false, NULL, err);
        break;
    default:
        e = file_entry(c, p, &mode, &rc, err);
        if (e)
            cache_entry_attr(e, mode, attr);
        break;
    }
    cache_count_question(c, mark);
    pthread_mutex_unlock(&c->lock);
    cache_names_notify(c, p, &changed);
    free(app);
    free(slug);
    return rc;
}

static int open_common(cache *c, const layout_path *p, lru_item **content, cache_attr *attr,
                       bool *changed, bool reader, cf_error *err)
{
    cache_names others = {0};
    cf_error scratch;
    unsigned mode;
    rentry *e;
    int rc = 0;

    *content = NULL;
    *changed = false;
    if (!err)
        err = &scratch;
    cf_error_clear(err);
    if (layout_is_dir(p->kind))
        return -EISDIR;
    pthread_mutex_lock(&c->lock);
    uint64_t mark = cache_fetch_mark();
    if (p->kind == LAYOUT_RECORD) {
        rc = cache_record_attr(c, p, attr, content, changed, reader, &others, err);
    } else {
        /* Remember the size shown so far, to tell whether a refetch changed it. */
        uint64_t before = 0;
        bool known = false;
        e = NULL;
        if (p->kind == LAYOUT_VERSION && c->lists[L_VERSION].cur)
            e = &c->lists[L_VERSION].cur->e[0];
        else if (p->kind == LAYOUT_ITEM)
            e = cache_list_find(c->lists[cache_list_of(p->list)].cur, NULL, p->name);
        else if (p->kind == LAYOUT_APP_META)
            e = cache_list_find(c->lists[L_APPS].cur, NULL, p->app);
        if (e) {
            before = e->content->len;
            known = true;
        }
        e = file_entry(c, p, &mode, &rc, err);
        if (e) {
            *content = e->content;
            lru_item_ref(e->content);
            *changed = known && before != e->content->len;
            cache_entry_attr(e, mode, attr);
        }
    }
    cache_count_question(c, mark);
    pthread_mutex_unlock(&c->lock);
    cache_names_notify(c, p, &others);
    return rc;
}

int cache_open(cache *c, const layout_path *p, lru_item **content, cache_attr *attr,
               bool *changed, cf_error *err)
{
    return open_common(c, p, content, attr, changed, false, err);
}

int cache_open_reader(cache *c, const layout_path *p, lru_item **content, cache_attr *attr,
                      bool *changed, cf_error *err)
{
    return open_common(c, p, content, attr, changed, true, err);
}

/* ------------------------------------------------------------------------- */
/* Life and statistics                                                        */
/* ------------------------------------------------------------------------- */

int cache_new(const cache_config *cfg, const cache_source *src, cache **out)
{
    cache *c = calloc(1, sizeof *c);

    *out = NULL;
    if (!c)
        return -ENOMEM;
    c->cfg = *cfg;
    c->src = *src;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return -ENOMEM;
    }
    if (pthread_cond_init(&c->cond, NULL) != 0) {
        pthread_mutex_destroy(&c->lock);
        free(c);
        return -ENOMEM;
    }
    c->mount_time = cfg->mount_time ? cfg->mount_time : cache_wall(c);
    c->mono_base = cache_mono(c);
    lru_init(&c->lru, cfg->content_budget, cache_evict_cb, c);
    *out = c;
    return 0;
}

void cache_free(cache *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    cache_free_slots(c);
    for (int i = 0; i < L_COUNT; i++) {
        cache_rlist_unref(c->lists[i].cur);
        c->lists[i].cur = NULL;
    }
    lru_clear(&c->lru);
    cache_alias_free(c);
    cache_flights_free(c);
    pthread_mutex_unlock(&c->lock);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void cache_memory_check(cache *c, size_t added)
{
    size_t budget = c->cfg.content_budget, rss, other, floor, want;

    if (!c->cfg.resident_bytes)
        return;
    c->mem_added += added;
    if (c->mem_added < budget / 64 + 1)
        return;
    c->mem_added = 0;
    rss = c->cfg.resident_bytes();
    if (rss == 0)
        return; /* cannot tell */
    other = rss > c->lru.used ? rss - c->lru.used : 0;
    floor = budget / 16;
    want = budget > other + floor ? budget - other : floor;
    if (want != c->lru.budget) {
        size_t before = c->lru.used;
        lru_set_budget(&c->lru, want);
        /* Freed memory stays resident until given back (it lies in the arenas of the
         * threads that fetched it, which the listed nodes' memory does not reuse). */
        if (before - c->lru.used >= budget / 64 + 1 && c->cfg.release)
            c->cfg.release();
    }
}

void cache_get_stats(cache *c, cache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    out->evictions = c->lru.evictions;
    out->content_bytes = c->lru.used;
    out->content_budget = c->lru.budget;
    out->content_items = c->lru.count;
    out->records = 0;
    out->record_table_bytes = 0;
    for (cslot *s = c->slots; s; s = s->next) {
        out->records += s->cur->r.n;
        out->record_table_bytes += recs_memory(&s->cur->r);
    }
    pthread_mutex_unlock(&c->lock);
}
