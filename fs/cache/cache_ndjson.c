/* cache_ndjson.c: the cache's answers for the dataframes/ and query-results/ trees: their
 * names are made from the resource lists the rest of the mount uses. */
#include "cache_ndjson.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache_int.h"
#include "names.h"

/* The file name of a list entry under these trees: the entry's own name (suffix `strip`
 * cut off) followed by ".ndjson" when that fits, else the key encoded with ".ndjson". */
static char *nd_name(const rentry *e, const char *strip)
{
    size_t len = strlen(e->name), sl = strlen(strip), nl = strlen(CACHE_ND_SUFFIX);
    char *out;

    if (sl && len > sl && strcmp(e->name + len - sl, strip) == 0)
        len -= sl;
    if (len + nl <= NAMES_MAX) {
        out = malloc(len + nl + 1);
        if (out) {
            memcpy(out, e->name, len);
            memcpy(out + len, CACHE_ND_SUFFIX, nl + 1);
        }
        return out;
    }
    return names_encode(e->key, CACHE_ND_SUFFIX, &out) == 0 ? out : NULL;
}

/* The run [*first, *first + *count) of the collections list that belongs to app. */
static void app_run(const rlist *l, const char *app, size_t *first, size_t *count)
{
    size_t i = 0, n = 0;
    while (i < l->n && strcmp(l->e[i].app ? l->e[i].app : "", app) < 0)
        i++;
    while (i + n < l->n && l->e[i + n].app && strcmp(l->e[i + n].app, app) == 0)
        n++;
    *first = i;
    *count = n;
}

/* Under the lock: the app key of app_name, fresh. */
static int app_key(cache *c, const char *app_name, char **app, cf_error *err)
{
    rentry *e;
    int rc;

    *app = NULL;
    e = cache_list_lookup(c, L_APPS, NULL, app_name, true, &rc, err);
    if (!e)
        return rc;
    *app = strdup(e->key);
    return *app ? 0 : -ENOMEM;
}

void cache_nd_names_free(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int cache_nd_list(cache *c, cache_nd_dir which, const char *app_name, char ***names, size_t *n,
                  cf_error *err)
{
    enum list_id id = which == CACHE_ND_APPS ? L_APPS
                      : which == CACHE_ND_QUERIES ? L_QUERIES : L_COLLS;
    char *app = NULL, **out = NULL;
    size_t first = 0, count = 0, got = 0;
    rlist *l;
    int rc;

    *names = NULL;
    *n = 0;
    cf_error_clear(err);
    pthread_mutex_lock(&c->lock);
    if (which == CACHE_ND_COLLECTIONS) {
        rc = app_key(c, app_name, &app, err);
        if (rc)
            goto done;
    }
    rc = cache_list_ensure(c, id, true, err);
    if (rc)
        goto done;
    l = c->lists[id].cur;
    count = l->n;
    if (app)
        app_run(l, app, &first, &count);
    out = calloc(count ? count : 1, sizeof *out);
    if (!out) {
        rc = -ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        const rentry *e = &l->e[first + i];
        char *name = which == CACHE_ND_APPS ? strdup(e->name)
                     : nd_name(e, which == CACHE_ND_QUERIES ? LAYOUT_SUFFIX : "");
        if (!name) {
            rc = -ENOMEM;
            goto done;
        }
        out[got++] = name;
    }
done:
    pthread_mutex_unlock(&c->lock);
    free(app);
    if (rc) {
        cache_nd_names_free(out, got);
        return rc;
    }
    *names = out;
    *n = got;
    return 0;
}

int cache_nd_app(cache *c, const char *app_name, char **app, cf_error *err)
{
    int rc;

    cf_error_clear(err);
    pthread_mutex_lock(&c->lock);
    rc = app_key(c, app_name, app, err);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* Under the lock: the key of the entry among l->e[first, first + count) whose name under
 * these trees is file. */
static int find_key(const rlist *l, size_t first, size_t count, const char *strip,
                    const char *file, char **key)
{
    for (size_t i = 0; i < count; i++) {
        const rentry *e = &l->e[first + i];
        char *name = nd_name(e, strip);
        bool same;
        if (!name)
            return -ENOMEM;
        same = strcmp(name, file) == 0;
        free(name);
        if (same) {
            *key = strdup(e->key);
            return *key ? 0 : -ENOMEM;
        }
    }
    return -ENOENT;
}

int cache_nd_collection(cache *c, const char *app_name, const char *file, char **app,
                        char **slug, cf_error *err)
{
    size_t first = 0, count = 0;
    int rc;

    *slug = NULL;
    cf_error_clear(err);
    pthread_mutex_lock(&c->lock);
    rc = app_key(c, app_name, app, err);
    if (rc == 0)
        rc = cache_list_ensure(c, L_COLLS, true, err);
    if (rc == 0) {
        app_run(c->lists[L_COLLS].cur, *app, &first, &count);
        rc = find_key(c->lists[L_COLLS].cur, first, count, "", file, slug);
    }
    pthread_mutex_unlock(&c->lock);
    if (rc) {
        free(*app);
        *app = NULL;
    }
    return rc;
}

int cache_nd_query(cache *c, const char *file, char **slug, cf_error *err)
{
    int rc;

    *slug = NULL;
    cf_error_clear(err);
    pthread_mutex_lock(&c->lock);
    rc = cache_list_ensure(c, L_QUERIES, true, err);
    if (rc == 0)
        rc = find_key(c->lists[L_QUERIES].cur, 0, c->lists[L_QUERIES].cur->n, LAYOUT_SUFFIX,
                      file, slug);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void cache_nd_changed(cache *c, const char *app, const char *slug)
{
    pthread_mutex_lock(&c->lock);
    cache_store_forget(c, app, slug);
    pthread_mutex_unlock(&c->lock);
}

time_t cache_nd_mount_time(cache *c)
{
    return c->mount_time;
}
