/* uploader_int.h: what uploader.c, uploader_ops.c and uploader_batch.c share: the
 * entries, the paths, the queue's state and its helpers (uploader.h tells the design). */
#ifndef FS_UPLOADER_INT_H
#define FS_UPLOADER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal.h"
#include "uploader.h"

enum { S_QUEUED, S_RUNNING, S_WAITING, S_FAILED };

typedef struct jent {
    jl_entry e;
    int state;
    int tries;        /* the journal's tries again */
    int err;          /* errno of the last failure */
    double due;       /* S_WAITING: when it is tried again (monotonic seconds) */
    bool single;      /* refused in a batch: sent alone from now on */
    double queued_at; /* when it was journaled (monotonic); 0: tried before */
} jent;

/* The entries of one path: cur runs (or waits its turn, or failed); next, only while cur
 * is being sent, is the newer entry that goes after it. */
typedef struct jpath {
    struct jpath *hnext, *rnext;
    char *path;
    size_t hash;
    jent *cur, *next;
    bool ready; /* in the ready queue */
    int inval;  /* uploaded: the kernel is being told (fsync returns after it) */
    int waiters;
} jpath;

typedef struct jr_state {
    pthread_mutex_t lock;
    pthread_cond_t work;   /* workers: an entry is ready or due, or stop */
    pthread_cond_t settle; /* waiters: an entry finished or failed */
    pthread_cond_t flush;  /* the flusher: something was appended */
    bool on, stop, draining, dirty, started;
    jlog *log;
    fs_ctx *x;
    jr_changed_fn changed; /* NULL once detached */
    void *changed_ud;
    int nworkers, nthreads;
    pthread_t *threads, flusher;
    bool flusher_up;
    int notifying; /* workers telling the kernel (jr_detach waits for them) */
    double backoff;
    bool foreground;
    jpath **tab;
    size_t tabsz, npaths;
    jpath *rhead, *rtail;
    size_t queued, running, waiting, failed;
    double next_due;
    uint64_t uploaded, retries, superseded;
} jr_state;

/* The one queue of the process (a process has one mount). */
extern jr_state jr_st;
#define J jr_st

/* Set in the workers: their saves and deletes do not wait for the journal. */
extern __thread bool jq_in_worker;

/* Under J.lock. */
jpath *jq_find(const char *path);
jpath *jq_get(const char *path);       /* made when missing; NULL: out of memory */
void jq_release(jpath *p);             /* frees p when nothing holds it */
void jq_set_state(jent *e, int state); /* keeps the counts by state */
void jq_ready_push(jpath *p);
void jq_end(jent *e);                /* finished: DONE in the journal, freed */
void jq_enqueue(jpath *p, jent *ne); /* after what p holds (coalescing) */
jent *jq_newest(const jpath *p);

double jq_mono(void);
struct timespec jq_abs_after(double seconds);
/* Whether a failure is the server's or the network's passing trouble (tried again). */
bool jq_transient(int rc);
/* After p's entry e was sent with result rc (lock held, released meanwhile): finishes
 * it, tells the kernel when the file now shows the server's answer, releases p. */
void jq_sent(jpath *p, jent *e, int rc, const char *msg);
/* uploader_batch.c: with e (p's, just made S_RUNNING) a new record and a backlog of new
 * records of its collection, sends them in one request and finishes them: true. False:
 * e is the caller's to send alone. Lock held (released meanwhile). */
bool jq_batch(jpath *p, jent *e);
/* Whether the worker waits (until *until) before taking p, the head of the ready queue:
 * a new record journaled less than a few ms ago, that others may join in one batch. */
bool jq_lingers(const jpath *p, double *until);

#endif /* FS_UPLOADER_INT_H */
