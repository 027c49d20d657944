/* uploader_batch.c: when new records of one collection pile up faster than they are sent
 * (a bulk cp), a worker takes several at once and creates them with one request
 * (upload_batch.h). Only puts of records the mount did not see on the server, never a
 * record's second entry (one entry of a path runs at a time, as always); a batch the
 * server refuses as a whole (409: one exists; 4xx) is sent again one by one. */
#include "uploader_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "upload_batch.h"

#define BATCH_MAX 200          /* records a request */
#define BATCH_BYTES (4u << 20) /* their content */
#define SCAN_PER_RECORD 4      /* ready paths looked at per record wanted */
#define BATCH_ALONE 50         /* a backlog this small goes in one request */
#define LINGER 0.005           /* seconds a new record waits for others to join it */

static bool batchable(const jent *e)
{
    return e->e.type == JL_PUT && !(e->e.flags & (JL_F_EXISTS | JL_F_TIME)) && !e->single;
}

static size_t dir_len(const char *path)
{
    return (size_t)(strrchr(path, '/') - path);
}

/* Sends es[0..n) (all S_RUNNING) in one request; no lock held. */
static int send_batch(jent **es, size_t n, char *msg, size_t msgsz)
{
    wpath **ws = calloc(n, sizeof *ws);
    char **datas = calloc(n, sizeof *datas);
    size_t *lens = calloc(n, sizeof *lens);
    int rc = ws && datas && lens ? 0 : -ENOMEM;

    for (size_t i = 0; i < n && rc == 0; i++) {
        ws[i] = malloc(sizeof *ws[i]);
        datas[i] = malloc((size_t)es[i]->e.len + 1);
        if (!ws[i] || !datas[i]) {
            rc = -ENOMEM;
            break;
        }
        rc = wpath_parse(es[i]->e.path, ws[i]);
        if (rc == 0 && (ws[i]->cls != WNAME_RECORD || ws[i]->self_rc != 0))
            rc = -EINVAL;
        if (rc == 0)
            rc = jl_read(J.log, &es[i]->e, datas[i]);
        lens[i] = es[i]->e.len;
    }
    if (rc == 0)
        rc = up_create_batch(J.x, (const wpath *const *)ws, datas, lens, n, msg, msgsz);
    else
        snprintf(msg, msgsz, "%s", strerror(-rc));
    for (size_t i = 0; i < n; i++) {
        if (ws)
            free(ws[i]);
        if (datas)
            free(datas[i]);
    }
    free(ws);
    free(datas);
    free(lens);
    return rc;
}

bool jq_lingers(const jpath *p, double *until)
{
    const jent *e = p->cur;

    if (!e || e->state != S_QUEUED || !batchable(e) || !e->queued_at || p->waiters || J.draining ||
        J.stop || J.queued >= BATCH_MAX)
        return false;
    *until = e->queued_at + LINGER;
    return jq_mono() < *until;
}

bool jq_batch(jpath *p, jent *e)
{
    size_t want, n = 1, bytes, dl, scanned = 0;
    jpath **ps, *prev = NULL, *q;
    jent **es;
    char msg[1400];
    int rc;

    if (!batchable(e) || J.nthreads < 1)
        return false;
    /* A small backlog at once; a large one shared with the other workers. */
    want = 1 + J.queued / (size_t)J.nthreads;
    if (want < 1 + J.queued && want < BATCH_ALONE)
        want = 1 + J.queued < BATCH_ALONE ? 1 + J.queued : BATCH_ALONE;
    if (want > BATCH_MAX)
        want = BATCH_MAX;
    if (want < 2)
        return false;
    ps = malloc(want * sizeof *ps);
    es = malloc(want * sizeof *es);
    if (!ps || !es) {
        free(ps);
        free(es);
        return false;
    }
    ps[0] = p;
    es[0] = e;
    bytes = e->e.len;
    dl = dir_len(p->path);
    for (q = J.rhead; q && n < want && scanned < want * SCAN_PER_RECORD;) {
        jpath *nx = q->rnext;
        jent *qe = q->cur;
        scanned++;
        if (qe && qe->state == S_QUEUED && batchable(qe) && dir_len(q->path) == dl &&
            strncmp(q->path, p->path, dl) == 0 && bytes + qe->e.len <= BATCH_BYTES) {
            if (prev)
                prev->rnext = nx;
            else
                J.rhead = nx;
            if (J.rtail == q)
                J.rtail = prev;
            q->ready = false;
            jq_set_state(qe, S_RUNNING);
            ps[n] = q;
            es[n] = qe;
            n++;
            bytes += qe->e.len;
        } else {
            prev = q;
        }
        q = nx;
    }
    if (n < 2) {
        free(ps);
        free(es);
        return false; /* e alone, by the caller */
    }
    pthread_mutex_unlock(&J.lock);
    rc = send_batch(es, n, msg, sizeof msg);
    pthread_mutex_lock(&J.lock);
    if (rc == 0 || jq_transient(rc)) {
        /* Done, or each waits its turn to be tried again (maybe in another batch). */
        for (size_t i = 0; i < n; i++)
            jq_sent(ps[i], es[i], rc, msg);
    } else {
        log_info("%.*s: %zu new records refused as a whole (%s): sent one by one", (int)dl - 1,
                 p->path + 1, n, msg);
        for (size_t i = 0; i < n; i++) {
            es[i]->single = true;
            jq_set_state(es[i], S_QUEUED);
            jq_ready_push(ps[i]);
        }
        pthread_cond_broadcast(&J.work);
    }
    free(ps);
    free(es);
    return true;
}
