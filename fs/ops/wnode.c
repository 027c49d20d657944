/* wnode.c: the table of write-side nodes (path -> buffer and state) and path facts. */
#include "wnode.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "names.h"

#define NBUCKETS 1024u

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static wnode *buckets[NBUCKETS];
static size_t nnodes;
/* Change counts of directories, by a hash of the directory's path (two directories
 * that share a slot only make each other's listings more careful). */
#define NGENS 64u
static uint64_t dir_gens[NGENS];

void wn_lock(void)
{
    pthread_mutex_lock(&table_lock);
}

void wn_unlock(void)
{
    pthread_mutex_unlock(&table_lock);
}

static unsigned bucket_of(const char *path)
{
    return (unsigned)(names_hash64(path, strlen(path)) & (NBUCKETS - 1));
}

static uint64_t *gen_of_dir(const char *dir, size_t len)
{
    return &dir_gens[names_hash64(dir, len) & (NGENS - 1)];
}

/* The length of path's parent directory ("/" for a name at the root). */
static size_t parent_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    return !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
}

void wn_touch(const char *path)
{
    if (path)
        __atomic_add_fetch(gen_of_dir(path, parent_len(path)), 1, __ATOMIC_SEQ_CST);
}

uint64_t wn_dir_generation(const char *dir)
{
    return __atomic_load_n(gen_of_dir(dir, strlen(dir)), __ATOMIC_SEQ_CST);
}

wnode *wn_find(const char *path)
{
    if (!path || nnodes == 0)
        return NULL;
    for (wnode *n = buckets[bucket_of(path)]; n; n = n->hnext)
        if (strcmp(n->path, path) == 0)
            return n;
    return NULL;
}

static void link_node(wnode *n)
{
    unsigned b = bucket_of(n->path);
    wn_touch(n->path);
    n->hnext = buckets[b];
    buckets[b] = n;
    __atomic_add_fetch(&nnodes, 1, __ATOMIC_RELAXED);
}

static void unlink_node(wnode *n)
{
    wnode **pp = &buckets[bucket_of(n->path)];
    wn_touch(n->path);
    for (; *pp; pp = &(*pp)->hnext) {
        if (*pp == n) {
            *pp = n->hnext;
            n->hnext = NULL;
            __atomic_sub_fetch(&nnodes, 1, __ATOMIC_RELAXED);
            return;
        }
    }
}

wnode *wn_add(const char *path, wn_state state)
{
    wnode *n = calloc(1, sizeof *n);

    if (!n)
        return NULL;
    n->path = strdup(path);
    if (!n->path) {
        free(n);
        return NULL;
    }
    n->state = state;
    n->listed = true;
    n->mode = 0644;
    clock_gettime(CLOCK_REALTIME, &n->mtime);
    link_node(n);
    return n;
}

/* The unlisted nodes that handles hold and that may still be saved (wnode.unext). */
static wnode *ulist;

static void ulist_add(wnode *n)
{
    n->uprev = NULL;
    n->unext = ulist;
    if (ulist)
        ulist->uprev = n;
    ulist = n;
    n->in_ulist = true;
}

static void ulist_remove(wnode *n)
{
    if (!n->in_ulist)
        return;
    if (n->uprev)
        n->uprev->unext = n->unext;
    else
        ulist = n->unext;
    if (n->unext)
        n->unext->uprev = n->uprev;
    n->unext = n->uprev = NULL;
    n->in_ulist = false;
}

static void ulist_gone(const char *path)
{
    wnode *next;
    for (wnode *n = ulist; n; n = next) {
        next = n->unext;
        if (strcmp(n->path, path) == 0) {
            n->gone = true;
            ulist_remove(n);
        }
    }
}

static void node_free(wnode *n)
{
    ulist_remove(n);
    wbuf_free(&n->buf);
    lru_item_unref(n->base);
    lru_item_unref(n->shown);
    free(n->origin);
    free(n->path);
    free(n);
}

void wn_unlist(wnode *n)
{
    if (!n || !n->listed)
        return;
    unlink_node(n);
    n->listed = false;
    if (n->opens == 0)
        node_free(n);
    else if (!n->gone)
        ulist_add(n);
}

void wn_detach(wnode *n)
{
    if (!n || !n->listed)
        return;
    n->gone = true;
    wn_unlist(n);
}

int wn_rekey(wnode *n, const char *path)
{
    char *copy = strdup(path);
    wnode *there;

    if (!copy)
        return -ENOMEM;
    there = wn_find(path);
    if (there && there != n)
        wn_detach(there);
    ulist_remove(n); /* listed again below */
    ulist_gone(path);
    if (n->listed)
        unlink_node(n);
    free(n->path);
    n->path = copy;
    wn_set_shown(n, NULL, &n->mtime); /* the new name shows the node's base */
    n->listed = true;
    link_node(n);
    return 0;
}

void wn_detach_at(const char *path)
{
    wn_detach(wn_find(path));
    ulist_gone(path);
}

int wn_follow(const char *from, const char *to)
{
    wnode *next;
    int rc = 0;

    for (wnode *n = ulist; n; n = next) {
        next = n->unext;
        if (strcmp(n->path, from) == 0) {
            char *copy = strdup(to);
            if (!copy) {
                n->gone = true; /* never saved at a name the file left */
                ulist_remove(n);
                rc = -ENOMEM;
                continue;
            }
            free(n->path);
            n->path = copy;
        }
    }
    return rc;
}

void wn_release(wnode *n)
{
    if (!n)
        return;
    if (n->opens > 0)
        n->opens--;
    if (n->opens > 0)
        return;
    if (!n->listed)
        node_free(n);
    else if (n->state == WN_OPEN)
        wn_unlist(n);
}

size_t wn_content(const wnode *n, const char **data)
{
    if (n->loaded) {
        *data = n->buf.data ? n->buf.data : "";
        return n->buf.len;
    }
    if (n->base) {
        *data = n->base->data;
        return n->base->len;
    }
    *data = "";
    return 0;
}

int wn_materialize(wnode *n)
{
    int rc;
    if (n->loaded)
        return 0;
    rc = wbuf_set(&n->buf, n->base ? n->base->data : "", n->base ? n->base->len : 0);
    if (rc == 0) {
        n->loaded = true;
        if (!n->shown_set) { /* the base's time, before the change that follows */
            n->shown_mtime = n->mtime;
            n->shown_set = true;
        }
    }
    return rc;
}

bool wn_dirty(const wnode *n)
{
    return n->gen != n->synced;
}

int wn_set_base(wnode *n, const char *data, size_t len)
{
    lru_item *item = lru_item_new(data, len);
    if (!item)
        return -ENOMEM;
    lru_item_unref(n->base);
    n->base = item;
    return 0;
}

lru_item *wn_shown(const wnode *n, struct timespec *mtime)
{
    lru_item *item = n->shown ? n->shown : n->base;

    if (mtime)
        *mtime = n->shown_set ? n->shown_mtime : n->mtime;
    if (item)
        lru_item_ref(item);
    return item;
}

void wn_name_attr(const wnode *n, cache_attr *attr, struct timespec *mtime)
{
    const lru_item *item = n->shown ? n->shown : n->base;
    struct timespec mt = n->shown_set ? n->shown_mtime : n->mtime;

    if (n->state != WN_OPEN || !wn_dirty(n)) {
        wn_attr(n, attr, mtime);
        return;
    }
    wn_attr(n, attr, NULL);
    attr->size = item ? item->len : 0;
    attr->mtime = mt.tv_sec;
    if (mtime)
        *mtime = mt;
}

void wn_set_shown(wnode *n, lru_item *item, const struct timespec *mtime)
{
    if (item)
        lru_item_ref(item);
    lru_item_unref(n->shown);
    n->shown = item;
    n->shown_set = mtime != NULL;
    if (mtime)
        n->shown_mtime = *mtime;
}

void wn_free_all(void)
{
    for (unsigned b = 0; nnodes && b < NBUCKETS; b++) {
        wnode *n = buckets[b];
        while (n) {
            wnode *next = n->hnext;
            wn_detach(n);
            n = next;
        }
    }
}

void wn_drop_under(const char *dir)
{
    size_t dl = strlen(dir);
    for (unsigned b = 0; nnodes && b < NBUCKETS; b++) {
        wnode *n = buckets[b];
        while (n) {
            wnode *next = n->hnext;
            if (strncmp(n->path, dir, dl) == 0 && n->path[dl] == '/')
                wn_detach(n);
            n = next;
        }
    }
}

wnode *wn_find_backup(const char *origin)
{
    for (unsigned b = 0; nnodes && b < NBUCKETS; b++)
        for (wnode *n = buckets[b]; n; n = n->hnext)
            if (n->state == WN_LOCAL && n->origin && strcmp(n->origin, origin) == 0)
                return n;
    return NULL;
}

bool wn_on_server(const wnode *n)
{
    return n->state == WN_OPEN || (n->state == WN_NEW && n->server_exists);
}

wn_plan wn_save_plan(const wnode *n)
{
    const char *data;
    size_t len;

    if (n->gone || n->state == WN_LOCAL || n->state == WN_HIDDEN || !wn_dirty(n))
        return WN_PLAN_NONE;
    len = wn_content(n, &data);
    if (n->state == WN_NEW && len == 0)
        return WN_PLAN_KEEP;
    if (wn_on_server(n) && n->base && n->base->len == len &&
        memcmp(n->base->data, data, len) == 0)
        return WN_PLAN_SAME;
    return WN_PLAN_SEND;
}

size_t wn_count(void)
{
    return __atomic_load_n(&nnodes, __ATOMIC_RELAXED); /* a hint without the lock */
}

void wn_each_in(const char *dir, wn_each_fn fn, void *ud)
{
    size_t dl = strlen(dir);
    if (nnodes == 0)
        return;
    for (unsigned b = 0; b < NBUCKETS; b++) {
        for (wnode *n = buckets[b]; n; n = n->hnext) {
            const char *p = n->path;
            /* A direct child: dir + "/" + name without another '/' ("/" is the root). */
            if (dl == 1 && p[0] == '/' && !strchr(p + 1, '/'))
                fn(ud, n, p + 1);
            else if (dl > 1 && strncmp(p, dir, dl) == 0 && p[dl] == '/' &&
                     !strchr(p + dl + 1, '/'))
                fn(ud, n, p + dl + 1);
        }
    }
}

void wn_attr(const wnode *n, cache_attr *attr, struct timespec *mtime)
{
    const char *data;
    memset(attr, 0, sizeof *attr);
    attr->mode = (n->mode & 07777) | (n->is_link ? S_IFLNK : 0);
    attr->size = wn_content(n, &data);
    attr->mtime = n->mtime.tv_sec;
    if (mtime)
        *mtime = n->mtime;
}

/* ------------------------------------------------------------------------- */
/* Facts                                                                      */
/* ------------------------------------------------------------------------- */

typedef struct wfact {
    struct wfact *next;
    char *path;
    bool has_time;
    struct timespec mtime;   /* the time given */
    time_t base_mtime;       /* the cache's time and size when it was given */
    uint64_t base_size;
} wfact;

static pthread_mutex_t facts_lock = PTHREAD_MUTEX_INITIALIZER;
static wfact *facts[NBUCKETS];
static size_t nfacts;

static wfact *fact_find(const char *path, bool make)
{
    unsigned b = bucket_of(path);
    wfact *f;

    for (f = facts[b]; f; f = f->next)
        if (strcmp(f->path, path) == 0)
            return f;
    if (!make)
        return NULL;
    f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->path = strdup(path);
    if (!f->path) {
        free(f);
        return NULL;
    }
    f->next = facts[b];
    facts[b] = f;
    __atomic_add_fetch(&nfacts, 1, __ATOMIC_RELAXED);
    return f;
}

void wf_set_time(const char *path, const struct timespec *mtime, const cache_attr *now)
{
    wfact *f;
    pthread_mutex_lock(&facts_lock);
    f = fact_find(path, true);
    if (f) {
        f->has_time = true;
        f->mtime = *mtime;
        f->base_mtime = now->mtime;
        f->base_size = now->size;
    }
    pthread_mutex_unlock(&facts_lock);
}

void wf_drop_time(const char *path)
{
    wfact *f;
    pthread_mutex_lock(&facts_lock);
    f = nfacts ? fact_find(path, false) : NULL;
    if (f)
        f->has_time = false;
    pthread_mutex_unlock(&facts_lock);
}

void wf_apply(const char *path, cache_attr *attr, struct timespec *mtime)
{
    wfact *f;

    mtime->tv_sec = attr->mtime;
    mtime->tv_nsec = attr->mtime_ns;
    if (__atomic_load_n(&nfacts, __ATOMIC_RELAXED) == 0)
        return;
    pthread_mutex_lock(&facts_lock);
    f = fact_find(path, false);
    if (f && f->has_time) {
        if (f->base_mtime == attr->mtime && f->base_size == attr->size) {
            attr->mtime = f->mtime.tv_sec;
            *mtime = f->mtime;
        } else {
            f->has_time = false; /* the server's content changed since */
        }
    }
    pthread_mutex_unlock(&facts_lock);
}

#define NHOT 65536u /* 256 KiB, touched only where paths were written */
static uint32_t hot_until[NHOT]; /* CLOCK_MONOTONIC seconds, by a hash of the path */

static uint32_t mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)ts.tv_sec + 1; /* never 0: 0 is a slot never written */
}

void wf_mark_written(const char *path)
{
    if (path)
        __atomic_store_n(&hot_until[names_hash64(path, strlen(path)) & (NHOT - 1)],
                         mono_seconds() + WF_HOT_SECONDS, __ATOMIC_SEQ_CST);
}

bool wf_written_lately(const char *path)
{
    uint32_t until;

    if (!path)
        return false;
    until = __atomic_load_n(&hot_until[names_hash64(path, strlen(path)) & (NHOT - 1)],
                            __ATOMIC_SEQ_CST);
    return until != 0 && mono_seconds() < until;
}

/* Whether p is path or below it. */
static bool under(const char *p, const char *path, size_t len)
{
    return strncmp(p, path, len) == 0 && (p[len] == '\0' || p[len] == '/');
}

void wf_move(const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to);
    wfact *moved = NULL;

    pthread_mutex_lock(&facts_lock);
    if (nfacts == 0) {
        pthread_mutex_unlock(&facts_lock);
        return;
    }
    /* Take out what is under `to` (replaced) and what is under `from` (moving). */
    for (unsigned b = 0; b < NBUCKETS; b++) {
        wfact **pp = &facts[b];
        while (*pp) {
            wfact *f = *pp;
            if (under(f->path, from, fl)) {
                *pp = f->next;
                f->next = moved;
                moved = f;
                __atomic_sub_fetch(&nfacts, 1, __ATOMIC_RELAXED);
            } else if (under(f->path, to, tl)) {
                *pp = f->next;
                free(f->path);
                free(f);
                __atomic_sub_fetch(&nfacts, 1, __ATOMIC_RELAXED);
            } else {
                pp = &f->next;
            }
        }
    }
    while (moved) {
        wfact *f = moved, *g;
        size_t rest = strlen(f->path) - fl;
        char *np = malloc(tl + rest + 1);
        moved = f->next;
        if (np) {
            memcpy(np, to, tl);
            memcpy(np + tl, f->path + fl, rest + 1);
            g = fact_find(np, true);
            if (g) {
                g->has_time = f->has_time;
                g->mtime = f->mtime;
                g->base_mtime = f->base_mtime;
                g->base_size = f->base_size;
            }
            free(np);
        }
        free(f->path);
        free(f);
    }
    pthread_mutex_unlock(&facts_lock);
}

void wf_forget(const char *path)
{
    size_t len = strlen(path);

    pthread_mutex_lock(&facts_lock);
    for (unsigned b = 0; nfacts && b < NBUCKETS; b++) {
        wfact **pp = &facts[b];
        while (*pp) {
            wfact *f = *pp;
            if (under(f->path, path, len)) {
                *pp = f->next;
                free(f->path);
                free(f);
                __atomic_sub_fetch(&nfacts, 1, __ATOMIC_RELAXED);
            } else {
                pp = &f->next;
            }
        }
    }
    pthread_mutex_unlock(&facts_lock);
}
