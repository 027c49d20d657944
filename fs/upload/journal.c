/* journal.c: the on-disk journal of async uploads: segments, replay, appends (journal.h;
 * the record format is journal_fmt.c). */
#include "journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define SEG_MAX (64u << 20)      /* a new segment past this size */
#define SEG_EMPTY_MAX (1u << 20) /* an idle segment (nothing live) past this is replaced */

typedef struct jseg {
    uint32_t num;
    int fd;
    uint64_t size;
    size_t live;
} jseg;

struct jlog {
    pthread_mutex_t lock;
    char *dir;
    int dirfd, lockfd;
    jseg *segs; /* oldest first; the last is appended to */
    size_t nsegs, cap;
    uint64_t next_seq;
    size_t live;
    bool dirty;
};

static int seg_name(char *out, size_t outsz, uint32_t num)
{
    return snprintf(out, outsz, "seg-%010" PRIu32 ".log", num);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The numbers of the segments in the directory, sorted. */
static int list_segs(jlog *j, uint32_t **nums, size_t *n)
{
    DIR *d = opendir(j->dir);
    struct dirent *de;
    size_t cap = 0;

    *nums = NULL;
    *n = 0;
    if (!d)
        return -errno;
    while ((de = readdir(d)) != NULL) {
        unsigned long v;
        char tail[8];
        if (sscanf(de->d_name, "seg-%10lu.%7s", &v, tail) != 2 || strcmp(tail, "log") != 0 ||
            v == 0 || v > UINT32_MAX)
            continue;
        if (*n == cap) {
            uint32_t *nv = realloc(*nums, (cap = cap ? cap * 2 : 16) * sizeof *nv);
            if (!nv) {
                closedir(d);
                return -ENOMEM;
            }
            *nums = nv;
        }
        (*nums)[(*n)++] = (uint32_t)v;
    }
    closedir(d);
    if (*n > 1)
        qsort(*nums, *n, sizeof **nums, cmp_u32);
    return 0;
}

static jseg *seg_of(jlog *j, uint32_t num)
{
    size_t lo = 0, hi = j->nsegs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (j->segs[mid].num == num)
            return &j->segs[mid];
        if (j->segs[mid].num < num)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int seg_push(jlog *j, uint32_t num, int fd, uint64_t size)
{
    if (j->nsegs == j->cap) {
        size_t nc = j->cap ? j->cap * 2 : 8;
        jseg *ns = realloc(j->segs, nc * sizeof *ns);
        if (!ns)
            return -ENOMEM;
        j->segs = ns;
        j->cap = nc;
    }
    j->segs[j->nsegs++] = (jseg){.num = num, .fd = fd, .size = size};
    return 0;
}

/* A new (empty) segment to append to. Lock held (or not yet shared). */
static int seg_new(jlog *j)
{
    uint32_t num = j->nsegs ? j->segs[j->nsegs - 1].num + 1 : 1;
    char name[32];
    int fd, rc;

    seg_name(name, sizeof name, num);
    fd = openat(j->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    rc = seg_push(j, num, fd, 0);
    if (rc) {
        close(fd);
        unlinkat(j->dirfd, name, 0);
        return rc;
    }
    fsync(j->dirfd);
    return 0;
}

/* Removes the oldest segments that hold nothing live (never the last); replaces the last
 * when nothing at all is live and it grew large. Lock held. */
static void seg_gc(jlog *j)
{
    char name[32];
    size_t drop = 0;

    while (drop + 1 < j->nsegs && j->segs[drop].live == 0)
        drop++;
    if (j->live == 0 && drop + 1 == j->nsegs && j->segs[drop].size > SEG_EMPTY_MAX &&
        seg_new(j) == 0)
        drop++;
    if (!drop)
        return;
    /* The DONE records that finished them are on disk first. */
    fdatasync(j->segs[j->nsegs - 1].fd);
    for (size_t i = 0; i < drop; i++) {
        close(j->segs[i].fd);
        seg_name(name, sizeof name, j->segs[i].num);
        unlinkat(j->dirfd, name, 0);
    }
    memmove(j->segs, j->segs + drop, (j->nsegs - drop) * sizeof *j->segs);
    j->nsegs -= drop;
}

/* One record appended (one write); *off gets its offset. Lock held. */
static int append(jlog *j, const jl_rec *r, uint64_t *off)
{
    jseg *s = &j->segs[j->nsegs - 1];
    char *buf;
    size_t len, done = 0;
    int rc;

    if (s->size > SEG_MAX && seg_new(j) == 0)
        s = &j->segs[j->nsegs - 1];
    rc = jl_encode(r, &buf, &len);
    if (rc)
        return rc;
    while (done < len) {
        ssize_t w = write(s->fd, buf + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = w < 0 ? -errno : -EIO;
            /* Nothing half written stays (a torn record would be skipped anyway). */
            if (ftruncate(s->fd, (off_t)s->size) != 0)
                log_warning("journal %s: cannot cut a failed write: %s", j->dir, strerror(errno));
            free(buf);
            return rc;
        }
        done += (size_t)w;
    }
    free(buf);
    *off = s->size;
    s->size += len;
    j->dirty = true;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Replay                                                                     */
/* ------------------------------------------------------------------------- */

typedef struct rentry {
    jl_entry e;
    bool done;
} rentry;

typedef struct replay {
    rentry *v;
    size_t n, cap;
    struct {
        uint64_t ref;
        int type;
        char *msg;
    } * fin;
    size_t nfin, capfin;
    uint64_t max_seq;
} replay;

static int cmp_seq(const void *a, const void *b)
{
    uint64_t x = ((const rentry *)a)->e.seq, y = ((const rentry *)b)->e.seq;
    return (x > y) - (x < y);
}

static int cmp_path_seq(const void *a, const void *b)
{
    const rentry *x = *(rentry *const *)a, *y = *(rentry *const *)b;
    int d = strcmp(x->e.path, y->e.path);
    return d ? d : (x->e.seq > y->e.seq) - (x->e.seq < y->e.seq);
}

static int take(replay *rp, const jl_rec *r, uint32_t seg, uint64_t off)
{
    if (r->seq > rp->max_seq)
        rp->max_seq = r->seq;
    if (r->type == JL_PUT || r->type == JL_DEL) {
        rentry *x;
        if (rp->n == rp->cap) {
            rentry *nv = realloc(rp->v, (rp->cap = rp->cap ? rp->cap * 2 : 64) * sizeof *nv);
            if (!nv)
                return -ENOMEM;
            rp->v = nv;
        }
        x = &rp->v[rp->n];
        memset(x, 0, sizeof *x);
        x->e.path = strndup(r->path, r->plen);
        if (!x->e.path)
            return -ENOMEM;
        x->e.seq = r->seq;
        x->e.type = r->type;
        x->e.flags = r->flags;
        x->e.mtime.tv_sec = (time_t)r->sec;
        x->e.mtime.tv_nsec = r->nsec;
        x->e.seg = seg;
        x->e.off = off + JL_HEADER + r->plen;
        x->e.len = (uint32_t)r->dlen;
        rp->n++;
        return 0;
    }
    if (rp->nfin == rp->capfin) {
        void *nv =
            realloc(rp->fin, (rp->capfin = rp->capfin ? rp->capfin * 2 : 64) * sizeof *rp->fin);
        if (!nv)
            return -ENOMEM;
        rp->fin = nv;
    }
    rp->fin[rp->nfin].ref = r->ref;
    rp->fin[rp->nfin].type = r->type;
    rp->fin[rp->nfin].msg = r->type == JL_FAIL ? strndup(r->data, r->dlen) : NULL;
    rp->nfin++;
    return 0;
}

/* Reads one segment's records into rp; torn or damaged ones are skipped with a warning. */
static int read_seg(jlog *j, jseg *s, replay *rp)
{
    char *buf = s->size ? malloc(s->size) : NULL;
    size_t got = 0, off = 0;
    int rc = 0;

    if (s->size && !buf)
        return -ENOMEM;
    while (got < s->size) {
        ssize_t r = pread(s->fd, buf + got, s->size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            return r < 0 ? -errno : -EIO;
        }
        got += (size_t)r;
    }
    while (off < s->size && rc == 0) {
        jl_rec r;
        size_t n = jl_decode(buf + off, s->size - off, &r), skip = off + 1;
        if (n) {
            rc = take(rp, &r, s->num, off);
            off += n;
            continue;
        }
        /* Torn or damaged: on to the next record that checks. */
        while (skip + JL_HEADER <= s->size &&
               (memcmp(buf + skip, "CFJ1", 4) != 0 || !jl_decode(buf + skip, s->size - skip, &r)))
            skip++;
        if (skip + JL_HEADER > s->size)
            skip = s->size;
        log_warning("journal %s: seg-%010" PRIu32 ".log: %zu damaged or torn bytes at offset "
                    "%zu are ignored (an entry written when the mount stopped?)",
                    j->dir, s->num, skip - off, off);
        off = skip;
    }
    free(buf);
    return rc;
}

static rentry *by_seq(replay *rp, uint64_t seq)
{
    rentry key = {.e.seq = seq};
    return rp->n ? bsearch(&key, rp->v, rp->n, sizeof *rp->v, cmp_seq) : NULL;
}

/* Decides what is live, finishes superseded entries, counts live entries per segment. */
static int resolve(jlog *j, replay *rp, jl_entry **live, size_t *nlive)
{
    rentry **idx = NULL;
    size_t n = 0;
    int rc = 0;

    if (rp->n > 1)
        qsort(rp->v, rp->n, sizeof *rp->v, cmp_seq);
    for (size_t i = 0; i < rp->nfin; i++) {
        rentry *x = by_seq(rp, rp->fin[i].ref);
        if (!x)
            continue;
        if (rp->fin[i].type == JL_DONE) {
            x->done = true;
        } else if (rp->fin[i].msg) {
            free(x->e.fail);
            x->e.fail = rp->fin[i].msg;
            rp->fin[i].msg = NULL;
        }
    }
    idx = rp->n ? malloc(rp->n * sizeof *idx) : NULL;
    *live = rp->n ? calloc(rp->n, sizeof **live) : NULL;
    if (rp->n && (!idx || !*live)) {
        free(idx);
        free(*live);
        *live = NULL;
        return -ENOMEM;
    }
    for (size_t i = 0; i < rp->n; i++)
        idx[i] = &rp->v[i];
    if (rp->n > 1)
        qsort(idx, rp->n, sizeof *idx, cmp_path_seq);
    for (size_t i = 0; i < rp->n; i++) {
        bool newest = i + 1 == rp->n || strcmp(idx[i]->e.path, idx[i + 1]->e.path) != 0;
        if (idx[i]->done)
            continue;
        if (!newest) {
            /* Superseded by a later entry of the same path. */
            jl_rec r = {.type = JL_DONE, .ref = idx[i]->e.seq};
            uint64_t off;
            if (rc == 0)
                rc = append(j, &r, &off);
            idx[i]->done = true;
            continue;
        }
        jseg *s = seg_of(j, idx[i]->e.seg);
        if (s)
            s->live++;
        j->live++;
    }
    free(idx);
    for (size_t i = 0; i < rp->n; i++) {
        if (rp->v[i].done) {
            jl_entry_clear(&rp->v[i].e);
            continue;
        }
        (*live)[n++] = rp->v[i].e; /* ownership moves */
    }
    *nlive = n;
    return rc;
}

int jl_open(const char *dir, const char *about, jlog **out, jl_entry **live, size_t *nlive,
            char *err, size_t errsz)
{
    jlog *j = calloc(1, sizeof *j);
    replay rp = {0};
    uint32_t *nums = NULL;
    size_t nnums = 0;
    int rc, fd;

    *out = NULL;
    *live = NULL;
    *nlive = 0;
    if (!j)
        return jl_errf(err, errsz, "out of memory");
    pthread_mutex_init(&j->lock, NULL);
    j->dirfd = j->lockfd = -1;
    j->dir = strdup(dir);
    if (!j->dir || jl_make_dirs(dir, err, errsz) != 0)
        goto bad;
    j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (j->dirfd < 0) {
        jl_errf(err, errsz, "cannot open %s: %s", dir, strerror(errno));
        goto bad;
    }
    j->lockfd = openat(j->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (j->lockfd < 0 || flock(j->lockfd, LOCK_EX | LOCK_NB) != 0) {
        jl_errf(err, errsz,
             errno == EWOULDBLOCK ? "the upload journal %s is in use by another clappfs mount of "
                                    "this URL and user"
                                  : "cannot lock the upload journal %s: %s",
             dir, strerror(errno));
        goto bad;
    }
    fd = openat(j->dirfd, "about.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        bool ok = write(fd, about, strlen(about)) == (ssize_t)strlen(about);
        close(fd);
        if (ok)
            renameat(j->dirfd, "about.tmp", j->dirfd, "about");
    }
    rc = list_segs(j, &nums, &nnums);
    for (size_t i = 0; rc == 0 && i < nnums; i++) {
        char name[32];
        struct stat st;
        seg_name(name, sizeof name, nums[i]);
        fd = openat(j->dirfd, name, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || fstat(fd, &st) != 0) {
            rc = -errno;
            if (fd >= 0)
                close(fd);
            break;
        }
        rc = seg_push(j, nums[i], fd, (uint64_t)st.st_size);
        if (rc)
            close(fd);
        else
            rc = read_seg(j, &j->segs[j->nsegs - 1], &rp);
    }
    free(nums);
    j->next_seq = rp.max_seq + 1;
    if (rc == 0)
        rc = seg_new(j);
    if (rc == 0) {
        rc = resolve(j, &rp, live, nlive);
        if (*live)
            rp.n = 0; /* every entry was moved to *live or cleared */
    }
    for (size_t i = 0; i < rp.nfin; i++)
        free(rp.fin[i].msg);
    free(rp.fin);
    if (rc) {
        for (size_t i = 0; i < rp.n; i++)
            jl_entry_clear(&rp.v[i].e);
        free(rp.v);
        jl_entries_free(*live, *nlive);
        *live = NULL;
        *nlive = 0;
        jl_errf(err, errsz, "cannot read the upload journal %s: %s", dir, strerror(-rc));
        goto bad;
    }
    free(rp.v);
    j->dirty = true;
    jl_sync(j);
    pthread_mutex_lock(&j->lock);
    seg_gc(j);
    pthread_mutex_unlock(&j->lock);
    *out = j;
    return 0;
bad:
    for (size_t i = 0; i < j->nsegs; i++)
        close(j->segs[i].fd);
    free(j->segs);
    if (j->lockfd >= 0)
        close(j->lockfd);
    if (j->dirfd >= 0)
        close(j->dirfd);
    free(j->dir);
    pthread_mutex_destroy(&j->lock);
    free(j);
    return -1;
}

/* ------------------------------------------------------------------------- */
/* Use                                                                        */
/* ------------------------------------------------------------------------- */

int jl_add(jlog *j, int type, unsigned flags, const struct timespec *mtime, const char *path,
           const char *data, size_t len, jl_entry *e)
{
    jl_rec r = {.type = type,
                .flags = flags,
                .path = path,
                .plen = strlen(path),
                .data = data,
                .dlen = type == JL_PUT ? len : 0};
    uint64_t off;
    int rc;

    memset(e, 0, sizeof *e);
    if (mtime) {
        r.sec = mtime->tv_sec;
        r.nsec = (uint32_t)mtime->tv_nsec;
        e->mtime = *mtime;
    }
    e->path = strdup(path);
    if (!e->path)
        return -ENOMEM;
    pthread_mutex_lock(&j->lock);
    r.seq = j->next_seq;
    rc = append(j, &r, &off);
    if (rc == 0) {
        jseg *s = &j->segs[j->nsegs - 1];
        j->next_seq++;
        s->live++;
        j->live++;
        e->seq = r.seq;
        e->type = type;
        e->flags = flags;
        e->seg = s->num;
        e->off = off + JL_HEADER + r.plen;
        e->len = (uint32_t)r.dlen;
    }
    pthread_mutex_unlock(&j->lock);
    if (rc) {
        free(e->path);
        e->path = NULL;
    }
    return rc;
}

int jl_done(jlog *j, const jl_entry *e)
{
    jl_rec r = {.type = JL_DONE, .ref = e->seq};
    uint64_t off;
    jseg *s;
    int rc;

    pthread_mutex_lock(&j->lock);
    rc = append(j, &r, &off);
    s = seg_of(j, e->seg);
    if (s && s->live)
        s->live--;
    if (j->live)
        j->live--;
    seg_gc(j);
    pthread_mutex_unlock(&j->lock);
    return rc;
}

int jl_fail(jlog *j, const jl_entry *e, const char *msg)
{
    jl_rec r = {.type = JL_FAIL, .ref = e->seq, .data = msg, .dlen = strlen(msg)};
    uint64_t off;
    int rc;

    pthread_mutex_lock(&j->lock);
    rc = append(j, &r, &off);
    pthread_mutex_unlock(&j->lock);
    return rc;
}

int jl_read(jlog *j, const jl_entry *e, char *buf)
{
    size_t got = 0;
    jseg *s;
    int rc = 0;

    pthread_mutex_lock(&j->lock);
    s = seg_of(j, e->seg);
    if (!s)
        rc = -ENOENT;
    while (rc == 0 && got < e->len) {
        ssize_t r = pread(s->fd, buf + got, e->len - got, (off_t)(e->off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            rc = r < 0 ? -errno : -EIO;
        else
            got += (size_t)r;
    }
    pthread_mutex_unlock(&j->lock);
    return rc;
}

int jl_sync(jlog *j)
{
    int fd = -1, rc = 0;

    pthread_mutex_lock(&j->lock);
    if (j->dirty && j->nsegs)
        fd = dup(j->segs[j->nsegs - 1].fd);
    j->dirty = false;
    pthread_mutex_unlock(&j->lock);
    if (fd >= 0) {
        if (fdatasync(fd) != 0)
            rc = -errno;
        close(fd);
    }
    return rc;
}

size_t jl_live(jlog *j)
{
    size_t n;
    pthread_mutex_lock(&j->lock);
    n = j->live;
    pthread_mutex_unlock(&j->lock);
    return n;
}

size_t jl_segments(jlog *j)
{
    size_t n;
    pthread_mutex_lock(&j->lock);
    n = j->nsegs;
    pthread_mutex_unlock(&j->lock);
    return n;
}

const char *jl_path(jlog *j)
{
    return j->dir;
}

void jl_close(jlog *j)
{
    char name[32];
    bool empty;

    if (!j)
        return;
    jl_sync(j);
    empty = j->live == 0;
    for (size_t i = 0; i < j->nsegs; i++) {
        close(j->segs[i].fd);
        if (empty) {
            seg_name(name, sizeof name, j->segs[i].num);
            unlinkat(j->dirfd, name, 0);
        }
    }
    if (empty) {
        unlinkat(j->dirfd, "about", 0);
        unlinkat(j->dirfd, "lock", 0);
        if (rmdir(j->dir) != 0 && errno != ENOTEMPTY && errno != EEXIST)
            log_debug("journal %s: not removed: %s", j->dir, strerror(errno));
    }
    close(j->lockfd);
    close(j->dirfd);
    free(j->segs);
    free(j->dir);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

void jl_entry_clear(jl_entry *e)
{
    free(e->path);
    free(e->fail);
    e->path = NULL;
    e->fail = NULL;
}

void jl_entries_free(jl_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        jl_entry_clear(&v[i]);
    free(v);
}
