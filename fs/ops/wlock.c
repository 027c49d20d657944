/* wlock.c: per-path mutation locks (a table of the paths held or waited for) and the
 * exclusive mode, under one mutex and one condition variable. */
#include "wlock.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

#define NBUCKETS 256u

/* A path held or waited for; freed when nobody holds or waits for it. */
typedef struct wl_entry {
    struct wl_entry *next;
    char *key;
    int users;  /* the holder and the waiters */
    bool held;
} wl_entry;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static wl_entry *buckets[NBUCKETS];
static int keyed;        /* holders of paths (and those waiting for theirs) */
static bool excl;        /* an exclusive holder runs */
static int excl_waiting; /* exclusive holders waiting: no new keyed holder goes first */

static wl_entry **slot_of(const char *key)
{
    return &buckets[names_hash64(key, strlen(key)) & (NBUCKETS - 1)];
}

/* The entry of key, made when missing (its users counted). Under mu. */
static wl_entry *entry_get(const char *key)
{
    wl_entry **slot = slot_of(key), *e;

    for (e = *slot; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            break;
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e)
            return NULL;
        e->key = strdup(key);
        if (!e->key) {
            free(e);
            return NULL;
        }
        e->next = *slot;
        *slot = e;
    }
    e->users++;
    return e;
}

/* Lets go of key (held or not); frees its entry once nobody uses it. Under mu. */
static void entry_put(const char *key, bool was_held)
{
    wl_entry **pp = slot_of(key);

    for (; *pp; pp = &(*pp)->next) {
        wl_entry *e = *pp;
        if (strcmp(e->key, key) != 0)
            continue;
        if (was_held)
            e->held = false;
        if (--e->users == 0) {
            *pp = e->next;
            free(e->key);
            free(e);
        }
        return;
    }
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void held_clear(wl_held *h)
{
    for (int i = 0; i < h->n; i++)
        free(h->keys[i]);
    memset(h, 0, sizeof *h);
}

int wl_lock(wl_held *h, const char *const *paths, int n)
{
    wl_entry *got[WL_MAX];
    int rc = 0, k;

    memset(h, 0, sizeof *h);
    for (int i = 0; i < n && i < WL_MAX; i++) {
        bool dup = false;
        if (!paths[i])
            continue;
        for (k = 0; k < h->n; k++)
            dup = dup || strcmp(h->keys[k], paths[i]) == 0;
        if (dup)
            continue;
        h->keys[h->n] = strdup(paths[i]);
        if (!h->keys[h->n]) {
            held_clear(h);
            return -ENOMEM;
        }
        h->n++;
    }
    qsort(h->keys, (size_t)h->n, sizeof h->keys[0], cmp_keys);

    pthread_mutex_lock(&mu);
    while (excl || excl_waiting > 0)
        pthread_cond_wait(&cv, &mu);
    keyed++;
    /* Announce every path first (so none is freed while we wait), then take them in
     * order: a holder of an earlier path never waits for one holding a later path. */
    for (k = 0; k < h->n; k++) {
        got[k] = entry_get(h->keys[k]);
        if (!got[k]) {
            rc = -ENOMEM;
            break;
        }
    }
    if (rc) {
        for (int i = 0; i < k; i++)
            entry_put(h->keys[i], false);
        keyed--;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
        held_clear(h);
        return rc;
    }
    for (k = 0; k < h->n; k++) {
        while (got[k]->held)
            pthread_cond_wait(&cv, &mu);
        got[k]->held = true;
    }
    pthread_mutex_unlock(&mu);
    h->held = true;
    return 0;
}

void wl_lock_excl(wl_held *h)
{
    memset(h, 0, sizeof *h);
    pthread_mutex_lock(&mu);
    excl_waiting++;
    while (excl || keyed > 0)
        pthread_cond_wait(&cv, &mu);
    excl_waiting--;
    excl = true;
    pthread_mutex_unlock(&mu);
    h->excl = true;
    h->held = true;
}

void wl_unlock(wl_held *h)
{
    if (!h || !h->held)
        return;
    pthread_mutex_lock(&mu);
    if (h->excl) {
        excl = false;
    } else {
        for (int i = 0; i < h->n; i++)
            entry_put(h->keys[i], true);
        keyed--;
    }
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    held_clear(h);
}

bool wl_holds(const wl_held *h, const char *path)
{
    if (!path)
        return true; /* nothing to hold */
    if (!h->held)
        return false;
    if (h->excl)
        return true;
    for (int i = 0; i < h->n; i++)
        if (strcmp(h->keys[i], path) == 0)
            return true;
    return false;
}
