/* uploader_ops.c: what the write side asks of the async uploads (uploader.h): journaling
 * saves and deletes, what a path shows meanwhile, waits, listings, counts. */
#include "uploader_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* ------------------------------------------------------------------------- */
/* The write side's questions                                                 */
/* ------------------------------------------------------------------------- */

bool jr_takes(const wpath *w)
{
    return J.on && w->cls == WNAME_RECORD && w->self_rc == 0;
}

static int journal(const wpath *w, int type, const char *data, size_t len, bool exists,
                   cache_attr *attr)
{
    struct timespec now;
    jent *e = calloc(1, sizeof *e);
    jpath *p;
    int rc;

    if (!e)
        return -ENOMEM;
    clock_gettime(CLOCK_REALTIME, &now);
    pthread_mutex_lock(&J.lock);
    /* Under the lock: the journal's order is the queue's. */
    rc = jl_add(J.log, type, exists ? JL_F_EXISTS : 0, &now, w->path, data, len, &e->e);
    p = rc == 0 ? jq_get(w->path) : NULL;
    if (rc == 0 && !p) {
        jl_done(J.log, &e->e);
        jl_entry_clear(&e->e);
        rc = -ENOMEM;
    }
    if (rc == 0) {
        J.dirty = true;
        jq_enqueue(p, e);
        e = NULL;
    }
    pthread_mutex_unlock(&J.lock);
    free(e);
    if (rc)
        log_error("%s: cannot write to the upload journal: %s", w->path + 1, strerror(-rc));
    if (rc == 0 && attr) {
        memset(attr, 0, sizeof *attr);
        attr->mode = 0644;
        attr->size = len;
        attr->mtime = now.tv_sec;
    }
    return rc;
}

int jr_put(const wpath *w, const char *data, size_t len, bool exists, cache_attr *attr)
{
    log_debug("journal %s: %zu bytes (%s)", w->path, len, exists ? "update" : "create");
    return journal(w, JL_PUT, data, len, exists, attr);
}

int jr_delete(const wpath *w)
{
    log_debug("journal %s: delete", w->path);
    return journal(w, JL_DEL, NULL, 0, false, NULL);
}

int jr_lookup(const char *path, cache_attr *attr, struct timespec *mtime, lru_item **content)
{
    char *buf = NULL;
    jpath *p;
    jent *e;
    int rc = 0;

    if (content)
        *content = NULL;
    if (!path || __atomic_load_n(&J.npaths, __ATOMIC_RELAXED) == 0)
        return 0;
    pthread_mutex_lock(&J.lock);
    p = jq_find(path);
    e = p ? jq_newest(p) : NULL;
    if (e && e->e.type == JL_DEL) {
        rc = -ENOENT;
    } else if (e) {
        rc = 1;
        if (attr) {
            memset(attr, 0, sizeof *attr);
            attr->mode = 0644;
            attr->size = e->e.len;
            attr->mtime = e->e.mtime.tv_sec;
            attr->mtime_ns = (uint32_t)e->e.mtime.tv_nsec;
        }
        if (mtime)
            *mtime = e->e.mtime;
        if (content) {
            /* Read under the lock: the entry (and its segment) cannot go meanwhile. */
            buf = malloc((size_t)e->e.len + 1);
            rc = buf ? jl_read(J.log, &e->e, buf) : -ENOMEM;
            if (rc == 0)
                *content = lru_item_new(buf, e->e.len);
            rc = rc ? rc : *content ? 1 : -ENOMEM;
        }
    }
    pthread_mutex_unlock(&J.lock);
    free(buf);
    return rc;
}

bool jr_pending(const char *path)
{
    return jr_lookup(path, NULL, NULL, NULL) != 0;
}

int jr_set_time(const char *path, const struct timespec *t)
{
    jpath *p;
    jent *e;
    int rc = 1;

    if (!path || __atomic_load_n(&J.npaths, __ATOMIC_RELAXED) == 0)
        return 1;
    pthread_mutex_lock(&J.lock);
    p = jq_find(path);
    e = p ? jq_newest(p) : NULL;
    if (e && e->e.type == JL_DEL) {
        rc = -ENOENT;
    } else if (e) {
        e->e.mtime = *t;
        e->e.flags |= JL_F_TIME;
        rc = 0;
    }
    pthread_mutex_unlock(&J.lock);
    return rc;
}

/* Waits (lock held) until p has nothing queued, running or waiting. */
static void settle_path(jpath *p)
{
    p->waiters++;
    while (p->next || p->inval || (p->cur && p->cur->state != S_FAILED))
        pthread_cond_wait(&J.settle, &J.lock);
    p->waiters--;
}

int jr_wait(const char *path)
{
    jpath *p;
    int rc = 0;

    if (!J.on || jq_in_worker || !path)
        return 0;
    pthread_mutex_lock(&J.lock);
    p = jq_find(path);
    if (p) {
        settle_path(p);
        rc = p->cur ? -p->cur->err : 0;
        jq_release(p);
    }
    pthread_mutex_unlock(&J.lock);
    return rc;
}

void jr_sync_begin(const char *path)
{
    (void)jr_wait(path);
}

void jr_sync_done(const char *path)
{
    jpath *p;

    if (!J.on || jq_in_worker || !path)
        return;
    pthread_mutex_lock(&J.lock);
    p = jq_find(path);
    if (p && p->cur && p->cur->state == S_FAILED && !p->next) {
        /* The synchronous change replaced what had failed. */
        jq_end(p->cur);
        J.superseded++;
        p->cur = NULL;
        jq_release(p);
    }
    pthread_mutex_unlock(&J.lock);
}

static bool under(const char *path, const char *dir, size_t dlen)
{
    return strncmp(path, dir, dlen) == 0 && path[dlen] == '/';
}

size_t jr_wait_under(const char *dir)
{
    size_t dlen = strlen(dir), busy, puts;

    if (!J.on || jq_in_worker)
        return 0;
    pthread_mutex_lock(&J.lock);
    for (;;) {
        busy = puts = 0;
        for (size_t i = 0; i < J.tabsz; i++)
            for (jpath *p = J.tab[i]; p; p = p->hnext) {
                if (!under(p->path, dir, dlen) || !p->cur)
                    continue;
                if (p->next || p->cur->state != S_FAILED)
                    busy++;
                else if (p->cur->e.type == JL_PUT)
                    puts++;
            }
        if (!busy)
            break;
        pthread_cond_wait(&J.settle, &J.lock);
    }
    pthread_mutex_unlock(&J.lock);
    return puts;
}

void jr_wait_all(void)
{
    if (!J.on || jq_in_worker)
        return;
    pthread_mutex_lock(&J.lock);
    while (J.queued + J.running + J.waiting > 0)
        pthread_cond_wait(&J.settle, &J.lock);
    pthread_mutex_unlock(&J.lock);
}

void jr_each_in(const char *dir, jr_each_fn fn, void *ud)
{
    size_t dlen = strlen(dir);
    cache_attr a;

    if (strcmp(dir, "/") == 0)
        dlen = 0;
    if (__atomic_load_n(&J.npaths, __ATOMIC_RELAXED) == 0)
        return;
    pthread_mutex_lock(&J.lock);
    for (size_t i = 0; i < J.tabsz; i++)
        for (jpath *p = J.tab[i]; p; p = p->hnext) {
            jent *e = jq_newest(p);
            const char *name = p->path + dlen + 1;
            if (!e || !under(p->path, dir, dlen) || strchr(name, '/'))
                continue;
            memset(&a, 0, sizeof a);
            a.mode = 0644;
            a.size = e->e.len;
            a.mtime = e->e.mtime.tv_sec;
            a.mtime_ns = (uint32_t)e->e.mtime.tv_nsec;
            fn(ud, name, e->e.type == JL_DEL, &a, &e->e.mtime);
        }
    pthread_mutex_unlock(&J.lock);
}

void jr_get_counts(stats_journal *c)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_lock(&J.lock);
    c->enabled = J.on;
    c->pending = J.queued + J.running + J.waiting;
    c->failed = J.failed;
    c->uploaded = J.uploaded;
    c->retries = J.retries;
    c->superseded = J.superseded;
    pthread_mutex_unlock(&J.lock);
}
