/* ndjson_read.c: read streams: a producer thread runs the paged read (pages in offset
 * order), renders each page as lines, and queues them; read() takes them in turn.
 *
 * Memory: the client holds at most `workers` pages (an ordered read lets a page fetched
 * ahead of its turn wait in its worker, which fetches nothing else meanwhile); the queue
 * holds at most ND_QUEUE_PAGES rendered pages; the callback blocks while the queue is full,
 * which holds the whole read back. Nothing grows with the size of the collection.
 * Cancel: freeing the stream sets the read's stop flag, which abandons the requests in
 * flight and wakes a callback waiting for room, then joins the thread. */
#include "ndjson_stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "errmap.h"
#include "log.h"

/* Rendered pages queued ahead of the reader. */
#define ND_QUEUE_PAGES 4

/* One page as lines: each record compact, then "\n". */
typedef struct nd_chunk {
    struct nd_chunk *next;
    size_t len;
    char data[];
} nd_chunk;

struct nd_stream {
    cf_client *client;
    char *app, *key;        /* app NULL: key is a query slug */
    pthread_mutex_t rlock;  /* one read at a time (taken before lock) */
    pthread_mutex_t lock;   /* guards everything below */
    pthread_cond_t cond;    /* a page came, room came, the producer ended */
    pthread_t thread;
    bool running;           /* the thread was started and is not joined yet */
    bool done;              /* the producer's paged read returned */
    int rc;                 /* its outcome: 0 or a negative errno */
    int stop;               /* the paged read's stop flag (atomic) */
    int render_rc;          /* a page could not be rendered: -ENOMEM */
    nd_chunk *head, *tail;  /* queued pages, in order */
    size_t queued;
    nd_chunk *cur;          /* the page being read */
    size_t cur_off;
    uint64_t pos;           /* bytes handed out since the (re)start */
    uint64_t pages;         /* pages rendered since the (re)start */
};

/* Renders a page: every record's exact text made compact (scalars byte for byte), one a
 * line. Compacting never lengthens a text, so the buffer is sized at once. */
static nd_chunk *render_page(const cf_page *page)
{
    size_t cap = 0, used = 0;
    nd_chunk *ch;

    for (size_t i = 0; i < page->count; i++) {
        size_t len;
        cf_json_text(page->records[i], &len);
        cap += len + 1;
    }
    ch = malloc(sizeof *ch + (cap ? cap : 1));
    if (!ch)
        return NULL;
    for (size_t i = 0; i < page->count; i++) {
        size_t len, out_len = 0;
        const char *text = cf_json_text(page->records[i], &len);
        char *out = NULL;
        if (cf_json_compact(text, len, NULL, NULL, NULL, &out, &out_len) != 0 ||
            out_len > len) {
            free(out);
            free(ch);
            return NULL;
        }
        memcpy(ch->data + used, out, out_len);
        used += out_len;
        ch->data[used++] = '\n';
        free(out);
    }
    ch->next = NULL;
    ch->len = used;
    return ch;
}

/* The paged read's callback (one at a time, pages in order): queue the page, waiting for
 * room; a stop makes it answer non-zero, which cancels the read. */
static int on_page(void *ud, const cf_page *page)
{
    nd_stream *s = ud;
    nd_chunk *ch = render_page(page);

    pthread_mutex_lock(&s->lock);
    if (!ch) {
        s->render_rc = -ENOMEM;
        pthread_mutex_unlock(&s->lock);
        return 1;
    }
    while (s->queued >= ND_QUEUE_PAGES && !__atomic_load_n(&s->stop, __ATOMIC_RELAXED))
        pthread_cond_wait(&s->cond, &s->lock);
    if (__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
        pthread_mutex_unlock(&s->lock);
        free(ch);
        return 1;
    }
    if (s->tail)
        s->tail->next = ch;
    else
        s->head = ch;
    s->tail = ch;
    s->queued++;
    s->pages++;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static void *producer(void *arg)
{
    nd_stream *s = arg;
    cf_read_opts opts = {.ordered = true, .stop = &s->stop};
    cf_error err;
    char text[1400];
    int rc;

    if (s->app)
        rc = cf_read_collection_opts(s->client, s->app, s->key, &opts, on_page, s, NULL, &err);
    else
        rc = cf_read_query_opts(s->client, s->key, &opts, on_page, s, NULL, &err);
    pthread_mutex_lock(&s->lock);
    if (rc != 0) {
        s->rc = s->render_rc ? s->render_rc : -fs_errno(&err);
        if (s->rc == 0)
            s->rc = -EIO;
        /* A stop of ours is no failure: the reader has gone (or starts again). */
        if (err.kind != CF_ERR_CANCELLED || s->render_rc)
            log_error("reading %s%s%s: %s %s: %s", s->app ? s->app : "query ",
                      s->app ? "/" : "", s->key, err.method, err.path,
                      fs_error_text(&err, text, sizeof text));
    }
    s->done = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

nd_stream *nd_stream_new(cf_client *client, const char *app, const char *key)
{
    nd_stream *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->client = client;
    s->app = app ? strdup(app) : NULL;
    s->key = strdup(key);
    if ((app && !s->app) || !s->key || pthread_mutex_init(&s->rlock, NULL) != 0) {
        free(s->app);
        free(s->key);
        free(s);
        return NULL;
    }
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        pthread_mutex_destroy(&s->rlock);
        free(s->app);
        free(s->key);
        free(s);
        return NULL;
    }
    if (pthread_cond_init(&s->cond, NULL) != 0) {
        pthread_mutex_destroy(&s->lock);
        pthread_mutex_destroy(&s->rlock);
        free(s->app);
        free(s->key);
        free(s);
        return NULL;
    }
    return s;
}

/* Under the lock: drops the queue and the page being read. */
static void drop_pages(nd_stream *s)
{
    nd_chunk *ch = s->head, *next;
    for (; ch; ch = next) {
        next = ch->next;
        free(ch);
    }
    free(s->cur);
    s->head = s->tail = s->cur = NULL;
    s->queued = 0;
    s->cur_off = 0;
}

/* Under the lock (let go while waiting for the thread): stops the producer and forgets
 * everything, so that the next read starts from the first record. */
static void stream_reset(nd_stream *s)
{
    if (s->running) {
        __atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
        pthread_mutex_lock(&s->lock);
        s->running = false;
    }
    drop_pages(s);
    s->done = false;
    s->rc = 0;
    s->render_rc = 0;
    s->pos = 0;
    s->pages = 0;
    __atomic_store_n(&s->stop, 0, __ATOMIC_RELAXED);
}

/* Under the lock: copies up to want bytes into buf (buf NULL: skips them), waiting for
 * pages. Returns the bytes taken, or the read's failure when none was. */
static ssize_t take(nd_stream *s, char *buf, size_t want)
{
    size_t got = 0;

    while (got < want) {
        if (s->cur && s->cur_off < s->cur->len) {
            size_t n = s->cur->len - s->cur_off;
            if (n > want - got)
                n = want - got;
            if (buf)
                memcpy(buf + got, s->cur->data + s->cur_off, n);
            s->cur_off += n;
            s->pos += n;
            got += n;
            continue;
        }
        if (s->cur) {
            free(s->cur);
            s->cur = NULL;
        }
        if (s->head) {
            s->cur = s->head;
            s->cur_off = 0;
            s->head = s->head->next;
            if (!s->head)
                s->tail = NULL;
            s->queued--;
            pthread_cond_broadcast(&s->cond); /* room for the producer */
            continue;
        }
        if (!s->running && !s->done) {
            int e = pthread_create(&s->thread, NULL, producer, s);
            if (e != 0) {
                log_error("cannot start a reading thread: %s", strerror(e));
                return got ? (ssize_t)got : -EAGAIN;
            }
            s->running = true;
            continue;
        }
        if (s->done) {
            if (s->rc && got == 0)
                return s->rc;
            break;
        }
        pthread_cond_wait(&s->cond, &s->lock);
    }
    return (ssize_t)got;
}

int nd_stream_read(nd_stream *s, char *buf, size_t size, off_t off)
{
    ssize_t n = 0;

    if (off < 0)
        return -EINVAL;
    if (size > INT32_MAX)
        size = INT32_MAX;
    pthread_mutex_lock(&s->rlock);
    pthread_mutex_lock(&s->lock);
    /* Offset 0 (a new pass, pread(0) after reads, a try after a failure): from the first
     * record again. Behind the stream: the same, then forward. Ahead: the bytes between
     * are skipped. */
    if ((uint64_t)off < s->pos || (off == 0 && (s->pos > 0 || (s->done && s->rc))))
        stream_reset(s);
    if ((uint64_t)off > s->pos) {
        n = take(s, NULL, (size_t)((uint64_t)off - s->pos));
        if (n < 0 || (uint64_t)off > s->pos) {
            pthread_mutex_unlock(&s->lock);
            pthread_mutex_unlock(&s->rlock);
            return n < 0 ? (int)n : 0;
        }
    }
    n = take(s, buf, size);
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_unlock(&s->rlock);
    return (int)n;
}

void nd_stream_free(nd_stream *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    if (s->pages)
        log_debug("read of %s%s%s closed after %llu bytes (%llu pages rendered)",
                  s->app ? s->app : "query ", s->app ? "/" : "", s->key,
                  (unsigned long long)s->pos, (unsigned long long)s->pages);
    stream_reset(s);
    pthread_mutex_unlock(&s->lock);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->rlock);
    free(s->app);
    free(s->key);
    free(s);
}
