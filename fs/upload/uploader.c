/* uploader.c: the queue of async uploads over the journal, its workers, the journal's
 * flusher, and the life of it all (uploader.h; the write side's questions are
 * uploader_ops.c, batches uploader_batch.c). */
#include "uploader_int.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cache_write.h"
#include "errlog.h"
#include "journal.h"
#include "log.h"
#include "upload.h"

#define BACKOFF_MAX 60.0
#define FLUSH_DELAY_NS (50 * 1000 * 1000) /* appends are fdatasync'ed within 50 ms */
#define WORKER_NICE 10 /* background work yields the CPU to the file system's requests */

jr_state jr_st = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .work = PTHREAD_COND_INITIALIZER,
    .settle = PTHREAD_COND_INITIALIZER,
    .flush = PTHREAD_COND_INITIALIZER,
};

__thread bool jq_in_worker;

double jq_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct timespec jq_abs_after(double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)seconds;
    ts.tv_nsec += (long)((seconds - floor(seconds)) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_destroy(c);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

/* ------------------------------------------------------------------------- */
/* Paths and entries (J.lock held)                                            */
/* ------------------------------------------------------------------------- */

static size_t hash_of(const char *s)
{
    size_t h = 14695981039346656037u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211u;
    return h;
}

jpath *jq_find(const char *path)
{
    size_t h;
    if (!J.tabsz)
        return NULL;
    h = hash_of(path);
    for (jpath *p = J.tab[h & (J.tabsz - 1)]; p; p = p->hnext)
        if (p->hash == h && strcmp(p->path, path) == 0)
            return p;
    return NULL;
}

static int grow(void)
{
    size_t nsz = J.tabsz ? J.tabsz * 2 : 1024;
    jpath **nt = calloc(nsz, sizeof *nt);
    if (!nt)
        return -ENOMEM;
    for (size_t i = 0; i < J.tabsz; i++) {
        jpath *p = J.tab[i], *nx;
        for (; p; p = nx) {
            nx = p->hnext;
            p->hnext = nt[p->hash & (nsz - 1)];
            nt[p->hash & (nsz - 1)] = p;
        }
    }
    free(J.tab);
    J.tab = nt;
    J.tabsz = nsz;
    return 0;
}

jpath *jq_get(const char *path)
{
    jpath *p = jq_find(path);
    size_t b;

    if (p)
        return p;
    if (J.npaths >= J.tabsz && grow() != 0 && !J.tabsz)
        return NULL;
    p = calloc(1, sizeof *p);
    if (!p || !(p->path = strdup(path))) {
        free(p);
        return NULL;
    }
    p->hash = hash_of(path);
    b = p->hash & (J.tabsz - 1);
    p->hnext = J.tab[b];
    J.tab[b] = p;
    __atomic_store_n(&J.npaths, J.npaths + 1, __ATOMIC_RELAXED);
    return p;
}

/* Frees a path with nothing left and nobody holding it. */
void jq_release(jpath *p)
{
    jpath **pp;

    if (p->cur || p->next || p->ready || p->waiters || p->inval)
        return;
    for (pp = &J.tab[p->hash & (J.tabsz - 1)]; *pp && *pp != p; pp = &(*pp)->hnext)
        ;
    if (*pp)
        *pp = p->hnext;
    __atomic_store_n(&J.npaths, J.npaths - 1, __ATOMIC_RELAXED);
    free(p->path);
    free(p);
}

void jq_set_state(jent *e, int state)
{
    size_t *from[] = {&J.queued, &J.running, &J.waiting, &J.failed};
    if (e->state >= 0)
        (*from[e->state])--;
    e->state = state;
    if (state >= 0)
        (*from[state])++;
}

void jq_ready_push(jpath *p)
{
    if (p->ready)
        return;
    p->ready = true;
    p->rnext = NULL;
    if (J.rtail)
        J.rtail->rnext = p;
    else
        J.rhead = p;
    J.rtail = p;
    pthread_cond_signal(&J.work);
}

/* The entry is finished (uploaded, superseded): out of the journal and freed. */
void jq_end(jent *e)
{
    jq_set_state(e, -1);
    jl_done(J.log, &e->e);
    J.dirty = true;
    jl_entry_clear(&e->e);
    free(e);
}

/* A new entry of p, in order after what p holds (coalescing: see uploader.h). */
void jq_enqueue(jpath *p, jent *ne)
{
    ne->queued_at = jq_mono();
    ne->state = -1;
    jq_set_state(ne, S_QUEUED);
    if (p->cur && p->cur->state != S_RUNNING) {
        jq_end(p->cur);
        J.superseded++;
        p->cur = NULL;
    }
    if (!p->cur) {
        p->cur = ne;
        jq_ready_push(p);
    } else {
        if (p->next) {
            jq_end(p->next);
            J.superseded++;
        }
        p->next = ne;
    }
    pthread_cond_signal(&J.flush);
}

jent *jq_newest(const jpath *p)
{
    return p->next ? p->next : p->cur;
}

/* ------------------------------------------------------------------------- */
/* Workers                                                                    */
/* ------------------------------------------------------------------------- */

/* Whether a failure is the server's or the network's passing trouble. */
bool jq_transient(int rc)
{
    switch (-rc) {
    case EIO:
    case ETIMEDOUT:
    case ENOMEM:
    case EAGAIN:
    case ECANCELED:
    case ECONNREFUSED:
    case ECONNRESET:
    case ENETUNREACH:
    case EHOSTUNREACH:
        return true;
    default:
        return false;
    }
}

/* Sends one entry (no lock held; e is S_RUNNING, so nobody else touches it). */
static int send_entry(jent *e, char *msg, size_t msgsz)
{
    fs_ctx *x = J.x;
    wpath *w = malloc(sizeof *w);
    char *data = NULL;
    cache_attr attr;
    int rc;

    msg[0] = '\0';
    rc = w ? wpath_parse(e->e.path, w) : -ENOMEM;
    if (rc == 0 && w->cls != WNAME_RECORD)
        rc = -EINVAL;
    up_clear_failure();
    if (rc == 0 && e->e.type == JL_PUT) {
        data = malloc((size_t)e->e.len + 1);
        rc = data ? jl_read(J.log, &e->e, data) : -ENOMEM;
        if (rc == 0)
            rc = up_save(x, w, data, e->e.len, (e->e.flags & JL_F_EXISTS) != 0, &attr);
        if (rc == 0) {
            struct timespec t;
            bool keep;
            pthread_mutex_lock(&J.lock);
            keep = (e->e.flags & JL_F_TIME) != 0;
            t = e->e.mtime;
            pthread_mutex_unlock(&J.lock);
            if (keep)
                cache_record_set_time(x->cache, &w->self, &t, NULL);
        }
    } else if (rc == 0) {
        rc = up_delete(x, w);
        if (rc == -ENOENT)
            rc = 0; /* gone already */
    }
    if (rc)
        snprintf(msg, msgsz, "%s", up_last_failure()[0] ? up_last_failure() : strerror(-rc));
    if (rc && !jq_transient(rc) && !up_last_failure()[0])
        errlog_add(e->e.type == JL_PUT ? "save" : "delete", e->e.path, -rc, NULL);
    free(data);
    free(w);
    return rc;
}

/* After send_entry: what becomes of e and of its path. Returns whether the path's file
 * now shows the server's answer (the kernel's view is renewed). */
static bool finish(jpath *p, jent *e, int rc, const char *msg)
{
    bool shows_server = false;

    if (rc == 0 || p->next) {
        if (rc == 0)
            J.uploaded++;
        else
            J.superseded++;
        jq_end(e);
        p->cur = p->next;
        p->next = NULL;
        if (p->cur)
            jq_ready_push(p);
        else
            shows_server = true;
    } else if (jq_transient(rc)) {
        double pause = J.backoff * pow(2.0, e->tries);
        if (pause > BACKOFF_MAX)
            pause = BACKOFF_MAX;
        if (pause < 0.05)
            pause = 0.05;
        e->tries++;
        e->err = -rc;
        e->due = jq_mono() + pause;
        jq_set_state(e, S_WAITING);
        J.retries++;
        if (J.waiting == 1 || e->due < J.next_due)
            J.next_due = e->due;
        log_warning("%s: upload failed (%s); tried again in %.1f s", e->e.path + 1, msg, pause);
    } else {
        e->err = -rc;
        jq_set_state(e, S_FAILED);
        free(e->e.fail);
        e->e.fail = strdup(msg);
        jl_fail(J.log, &e->e, msg);
        J.dirty = true;
        log_error("%s: not uploaded: %s; kept in the upload journal (write or remove the "
                  "file to replace it; the next mount tries it again)",
                  e->e.path + 1, msg);
    }
    pthread_cond_broadcast(&J.settle);
    pthread_cond_signal(&J.flush);
    return shows_server;
}

void jq_sent(jpath *p, jent *e, int rc, const char *msg)
{
    if (finish(p, e, rc, msg) && J.changed && !J.draining) {
        /* The file shows the server's answer now: the kernel asks again (before a
         * waiting fsync returns). */
        jr_changed_fn changed = J.changed;
        void *ud = J.changed_ud;
        p->inval++;
        J.notifying++;
        pthread_mutex_unlock(&J.lock);
        changed(ud, p->path);
        pthread_mutex_lock(&J.lock);
        J.notifying--;
        p->inval--;
        pthread_cond_broadcast(&J.settle);
    }
    jq_release(p);
}

/* Waiting entries whose time came are queued again. */
static void promote_due(void)
{
    double now = jq_mono(), next = 0;

    if (!J.waiting || now < J.next_due)
        return;
    for (size_t i = 0; i < J.tabsz; i++)
        for (jpath *p = J.tab[i]; p; p = p->hnext) {
            jent *e = p->cur;
            if (!e || e->state != S_WAITING)
                continue;
            if (e->due <= now) {
                jq_set_state(e, S_QUEUED);
                e->queued_at = 0;
                jq_ready_push(p);
            } else if (next == 0 || e->due < next) {
                next = e->due;
            }
        }
    J.next_due = next;
}

static void *worker(void *arg)
{
    char msg[1400];
    (void)arg;

    jq_in_worker = true;
    /* Linux: a thread's own nice value. Failing is harmless. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WORKER_NICE) != 0)
        log_debug("upload worker: nice not set: %s", strerror(errno));
    pthread_mutex_lock(&J.lock);
    while (!J.stop) {
        jpath *p;
        jent *e;
        promote_due();
        p = J.rhead;
        double until;
        if (p && jq_lingers(p, &until)) {
            struct timespec ts = jq_abs_after(fmax(0.0005, until - jq_mono()));
            pthread_cond_timedwait(&J.work, &J.lock, &ts);
            continue;
        }
        if (!p) {
            if (J.waiting) {
                struct timespec ts = jq_abs_after(fmax(0.01, J.next_due - jq_mono()));
                pthread_cond_timedwait(&J.work, &J.lock, &ts);
            } else {
                pthread_cond_wait(&J.work, &J.lock);
            }
            continue;
        }
        J.rhead = p->rnext;
        if (!J.rhead)
            J.rtail = NULL;
        p->ready = false;
        e = p->cur;
        if (!e || e->state != S_QUEUED) {
            jq_release(p);
            continue;
        }
        jq_set_state(e, S_RUNNING);
        if (jq_batch(p, e)) /* a backlog of new records: many in one request */
            continue;
        pthread_mutex_unlock(&J.lock);
        int rc = send_entry(e, msg, sizeof msg);
        pthread_mutex_lock(&J.lock);
        jq_sent(p, e, rc, msg);
    }
    pthread_mutex_unlock(&J.lock);
    return NULL;
}

/* Appends are made durable in batches: at most FLUSH_DELAY after they were written. */
static void *flusher(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&J.lock);
    for (;;) {
        while (!J.dirty && !J.stop)
            pthread_cond_wait(&J.flush, &J.lock);
        if (J.stop)
            break;
        pthread_mutex_unlock(&J.lock);
        /* What comes meanwhile goes in the same fdatasync. */
        nanosleep(&(struct timespec){0, FLUSH_DELAY_NS}, NULL);
        pthread_mutex_lock(&J.lock);
        J.dirty = false;
        pthread_mutex_unlock(&J.lock);
        jl_sync(J.log);
        pthread_mutex_lock(&J.lock);
    }
    pthread_mutex_unlock(&J.lock);
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* Life                                                                       */
/* ------------------------------------------------------------------------- */

int jr_open(const jr_config *cfg, char *err, size_t errsz)
{
    char dir[PATH_MAX], about[PATH_MAX + 512];
    jl_entry *live = NULL;
    size_t n = 0, failed = 0;

    if (jl_dir_for(cfg->url, cfg->username, dir, sizeof dir) != 0) {
        snprintf(err, errsz,
                 "-o async_uploads: no cache directory for the upload journal "
                 "(set XDG_CACHE_HOME or HOME)");
        return -1;
    }
    snprintf(about, sizeof about, "clappfs upload journal\nurl %s\nusername %s\n", cfg->url,
             cfg->username);
    if (jl_open(dir, about, &J.log, &live, &n, err, errsz) != 0)
        return -1;
    cond_init_mono(&J.work);
    cond_init_mono(&J.settle);
    cond_init_mono(&J.flush);
    J.x = cfg->x;
    J.nworkers = cfg->workers > 0 ? cfg->workers : 1;
    J.backoff = cfg->backoff > 0 ? cfg->backoff : 1.0;
    J.foreground = cfg->foreground;
    pthread_mutex_lock(&J.lock);
    for (size_t i = 0; i < n; i++) {
        jent *e = calloc(1, sizeof *e);
        jpath *p = e ? jq_get(live[i].path) : NULL;
        if (!p) {
            free(e);
            jl_entry_clear(&live[i]);
            log_error("out of memory loading the upload journal");
            continue;
        }
        e->e = live[i];
        if (e->e.fail)
            failed++;
        jq_enqueue(p, e);
    }
    J.on = true;
    pthread_mutex_unlock(&J.lock);
    free(live);
    if (n)
        log_info("resuming %zu pending uploads from the journal %s%s", n, dir,
                 failed ? " (some failed before: tried again)" : "");
    else
        log_debug("upload journal: %s", dir);
    return 0;
}

void jr_start(jr_changed_fn changed, void *ud)
{
    if (!J.on || J.started)
        return;
    J.changed = changed;
    J.changed_ud = ud;
    J.started = true;
    J.threads = calloc((size_t)J.nworkers, sizeof *J.threads);
    for (int i = 0; J.threads && i < J.nworkers; i++)
        if (pthread_create(&J.threads[i], NULL, worker, NULL) == 0)
            J.nthreads++;
    J.flusher_up = pthread_create(&J.flusher, NULL, flusher, NULL) == 0;
    if (!J.nthreads)
        log_error("-o async_uploads: cannot start the upload workers");
}

void jr_detach(void)
{
    pthread_mutex_lock(&J.lock);
    J.changed = NULL;
    while (J.notifying > 0)
        pthread_cond_wait(&J.settle, &J.lock);
    pthread_mutex_unlock(&J.lock);
}

void jr_drain(void)
{
    size_t total, left, last = (size_t)-1;
    double every = J.foreground ? 1.0 : 30.0, next;

    if (!J.on)
        return;
    pthread_mutex_lock(&J.lock);
    J.draining = true;
    total = J.queued + J.running + J.waiting;
    next = jq_mono();
    while ((left = J.queued + J.running + J.waiting) > 0 && J.nthreads > 0) {
        if (jq_mono() >= next && left != last) {
            log_info("uploading %zu pending changes... %zu left", total, left);
            last = left;
            next = jq_mono() + every;
        }
        struct timespec ts = jq_abs_after(0.25);
        pthread_cond_timedwait(&J.settle, &J.lock, &ts);
    }
    if (total)
        log_info("uploading %zu pending changes... done", total);
    if (J.failed)
        log_warning("%zu changes could not be uploaded and stay in the journal %s (see the "
                    "log; the next mount of this URL and user tries them again)",
                    J.failed, jl_path(J.log));
    pthread_mutex_unlock(&J.lock);
}

void jr_close(void)
{
    if (!J.log)
        return;
    pthread_mutex_lock(&J.lock);
    J.stop = true;
    pthread_cond_broadcast(&J.work);
    pthread_cond_broadcast(&J.flush);
    pthread_mutex_unlock(&J.lock);
    for (int i = 0; i < J.nthreads; i++)
        pthread_join(J.threads[i], NULL);
    if (J.flusher_up)
        pthread_join(J.flusher, NULL);
    free(J.threads);
    J.threads = NULL;
    J.nthreads = 0;
    pthread_mutex_lock(&J.lock);
    J.on = false;
    for (size_t i = 0; i < J.tabsz; i++) {
        jpath *p = J.tab[i], *nx;
        for (; p; p = nx) {
            nx = p->hnext;
            for (int k = 0; k < 2; k++) {
                jent *e = k ? p->next : p->cur;
                if (e) {
                    jl_entry_clear(&e->e);
                    free(e);
                }
            }
            free(p->path);
            free(p);
        }
    }
    free(J.tab);
    J.tab = NULL;
    J.tabsz = J.npaths = 0;
    J.rhead = J.rtail = NULL;
    pthread_mutex_unlock(&J.lock);
    jl_close(J.log); /* removes the journal when nothing is live */
    J.log = NULL;
}

bool jr_on(void)
{
    return J.on;
}
