/* ndjson_write.c: write sessions of dataframe files: lines are checked as they come,
 * gathered into JSON arrays of records (chunks) and sent with the dataframe routes.
 *
 * A session is one open file, from open to release. Each complete line must be a JSON
 * object (blank lines are skipped; the last line may lack its newline). A write call
 * holding a line that is not one fails with EINVAL, none of its bytes are taken, and the
 * session is spoilt: it sends nothing more, and every later write, flush and close fails
 * with the same error. While the session's records total at most ND_HOLD_BYTES, chunks
 * are held and sent at the flush (close, fsync): a bad line anywhere leaves the server
 * unchanged. Beyond that, chunks are sent as they fill up (memory stays bounded); what was
 * sent before a bad line stays on the server.
 * Appending sessions POST every chunk; a replacing one (O_TRUNC, ftruncate to 0) PUTs its
 * first chunk and POSTs the others. A flush that finds a replacing session with no record
 * empties the collection (DELETE) there and then: that is `: > file`, and also the close
 * by which a shell's `cmd > file` moves the descriptor to cmd's output before cmd runs
 * (the file is emptied before cmd writes, as a regular file is). The release could tell
 * the two apart, but the kernel does not wait for it, and a later reader must find the
 * collection empty. */
#include "ndjson_stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cache_ndjson.h"
#include "errmap.h"
#include "log.h"

/* A JSON array of records being built: "[" rec ("," rec)* and, once closed, "]". */
typedef struct wchunk {
    struct wchunk *next;
    char *text;
    size_t len, cap;
    size_t count;
} wchunk;

struct nd_writer {
    cf_client *client;
    cache *cache;
    nd_barrier before_send; /* NULL: none */
    char *app, *slug;
    pthread_mutex_t lock;
    bool replace;          /* the next send replaces the records (or empties them) */
    bool emptied;          /* emptied by a flush since the truncation: not again */
    int failed;            /* 0, or the negative errno that spoilt the session */
    bool streaming;        /* past ND_HOLD_BYTES: full chunks are sent at once */
    char *part;            /* the bytes of an incomplete last line */
    size_t part_len, part_cap;
    wchunk *held, *held_tail; /* closed chunks, in order */
    wchunk *open;          /* the chunk being filled, or NULL */
    size_t held_bytes;     /* text of the held and open chunks */
    uint64_t written;      /* bytes taken by write calls since the last truncation */
    uint64_t lines;        /* lines seen, for messages */
    uint64_t sent;         /* records sent */
};

static void barrier(nd_barrier fn)
{
    if (fn)
        fn();
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Cuts JSON white space off both ends of text[0..*len); returns the new start. */
static const char *trim(const char *text, size_t *len)
{
    while (*len && is_space(text[0])) {
        text++;
        (*len)--;
    }
    while (*len && is_space(text[*len - 1]))
        (*len)--;
    return text;
}

static void chunk_free(wchunk *c)
{
    if (c) {
        free(c->text);
        free(c);
    }
}

/* Appends raw bytes to a chunk's text. */
static int chunk_add(wchunk *c, const char *s, size_t n)
{
    if (c->len + n + 2 > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        char *t;
        while (cap < c->len + n + 2)
            cap *= 2;
        t = realloc(c->text, cap);
        if (!t)
            return -ENOMEM;
        c->text = t;
        c->cap = cap;
    }
    memcpy(c->text + c->len, s, n);
    c->len += n;
    c->text[c->len] = '\0';
    return 0;
}

/* Closes the open chunk ("]") and queues it. */
static int close_open(nd_writer *w)
{
    wchunk *c = w->open;
    if (!c)
        return 0;
    if (chunk_add(c, "]", 1) != 0)
        return -ENOMEM;
    w->held_bytes++;
    w->open = NULL;
    if (w->held_tail)
        w->held_tail->next = c;
    else
        w->held = c;
    w->held_tail = c;
    return 0;
}

/* Adds one checked record (trimmed text) to the open chunk, closing it first when the
 * record would not fit. */
static int add_record(nd_writer *w, const char *rec, size_t len)
{
    int rc;

    if (w->open && (w->open->count >= ND_CHUNK_RECORDS ||
                    w->open->len + len + 2 > ND_CHUNK_BYTES)) {
        rc = close_open(w);
        if (rc)
            return rc;
    }
    if (!w->open) {
        w->open = calloc(1, sizeof *w->open);
        if (!w->open || chunk_add(w->open, "[", 1) != 0)
            return -ENOMEM;
        w->held_bytes++;
    } else if (chunk_add(w->open, ",", 1) != 0) {
        return -ENOMEM;
    } else {
        w->held_bytes++;
    }
    if (chunk_add(w->open, rec, len) != 0)
        return -ENOMEM;
    w->held_bytes += len;
    w->open->count++;
    if (w->held_bytes > ND_HOLD_BYTES)
        w->streaming = true;
    return 0;
}

/* Spoils the session (the first failure stays). Returns the failure. */
static int spoil(nd_writer *w, int rc)
{
    if (!w->failed)
        w->failed = rc;
    return w->failed;
}

/* Sends the first held chunk: PUT when the session replaces, else POST. */
static int send_first(nd_writer *w)
{
    wchunk *c = w->held;
    cf_json_problem problem;
    cf_json *records;
    cf_error err;
    char text[1400];
    int rc = 0;

    w->held = c->next;
    if (!w->held)
        w->held_tail = NULL;
    w->held_bytes -= c->len;
    /* An array of checked lines: each may nest as deep as a record alone. */
    records = cf_json_parse(c->text, c->len, CF_JSON_WRAPPED, &problem);
    if (!records) {
        /* Every line was checked: only memory can be missing here. */
        log_error("write %s/%s: a chunk of %zu records is not JSON: %s", w->app, w->slug,
                  c->count, problem.what);
        chunk_free(c);
        return spoil(w, -ENOMEM);
    }
    barrier(w->before_send); /* async uploads: pending record changes go first */
    if ((w->replace ? cf_df_replace : cf_df_append)(w->client, w->app, w->slug, records,
                                                    &err) != 0) {
        rc = -fs_errno(&err);
        log_error("write %s/%s: %s %s (%zu records): %s", w->app, w->slug, err.method, err.path,
                  c->count, fs_error_text(&err, text, sizeof text));
        spoil(w, rc ? rc : -EIO);
    } else {
        w->replace = false;
        w->sent += c->count;
    }
    /* Whatever the answer, what the cache knows of the records may be wrong now. */
    cache_nd_changed(w->cache, w->app, w->slug);
    cf_json_free(records);
    chunk_free(c);
    return w->failed;
}

/* Sends every held chunk, in order. */
static int send_held(nd_writer *w)
{
    while (w->held && !w->failed)
        send_first(w);
    return w->failed;
}

/* Whether a line is blank (0), a JSON object (1), or neither (-1, a warning logged). */
static int check_line(nd_writer *w, const char *line, size_t len, uint64_t number)
{
    cf_json_problem problem;

    line = trim(line, &len);
    if (len == 0)
        return 0;
    if (len > CF_JSON_MAX_RECORD) {
        log_warning("write %s/%s: line %llu is longer than %u bytes", w->app, w->slug,
                    (unsigned long long)number, CF_JSON_MAX_RECORD);
        return -1;
    }
    if (cf_json_check(line, len, CF_JSON_OBJECT_ONLY, &problem) != 0) {
        log_warning("write %s/%s: line %llu is not a JSON object: %s (column %d); nothing "
                    "more is sent by this open file", w->app, w->slug,
                    (unsigned long long)number, problem.what, problem.column);
        return -1;
    }
    return 1;
}

nd_writer *nd_writer_new(cf_client *client, cache *fscache, const char *app, const char *slug,
                         bool truncate, nd_barrier before_send)
{
    nd_writer *w = calloc(1, sizeof *w);

    if (!w)
        return NULL;
    w->client = client;
    w->cache = fscache;
    w->app = strdup(app);
    w->slug = strdup(slug);
    w->replace = truncate;
    w->before_send = before_send;
    if (!w->app || !w->slug || pthread_mutex_init(&w->lock, NULL) != 0) {
        free(w->app);
        free(w->slug);
        free(w);
        return NULL;
    }
    return w;
}

/* The lines of one write call: the first may begin in w->part. */
typedef struct lines_of {
    const char *first;     /* the first complete line (part + buf), or NULL when none */
    size_t first_len;
    const char *rest;      /* buf after the first line's newline */
    size_t rest_len;
} lines_of;

/* Checks every complete line of a write call (pass 1) or adds them (pass 2). In pass 1
 * returns -EINVAL at the first bad line; in pass 2 an allocation failure. */
static int walk(nd_writer *w, const lines_of *L, bool add, size_t *tail_start)
{
    const char *p = L->rest, *end = L->rest + L->rest_len;
    uint64_t number = w->lines;
    int rc;

    if (L->first) {
        number++;
        rc = check_line(w, L->first, L->first_len, number);
        if (!add && rc < 0)
            return -EINVAL;
        if (add && rc > 0) {
            size_t len = L->first_len;
            const char *t = trim(L->first, &len);
            if (add_record(w, t, len) != 0)
                return -ENOMEM;
        }
    }
    for (;;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        number++;
        if (!add) {
            if (check_line(w, p, (size_t)(nl - p), number) < 0)
                return -EINVAL;
        } else {
            size_t len = (size_t)(nl - p);
            const char *t = trim(p, &len);
            if (len && add_record(w, t, len) != 0)
                return -ENOMEM;
        }
        p = nl + 1;
    }
    if (add)
        w->lines = number;
    *tail_start = (size_t)(p - L->rest);
    return 0;
}

int nd_writer_write(nd_writer *w, const char *buf, size_t size)
{
    lines_of L = {0};
    char *joined = NULL;
    const char *nl;
    size_t tail = 0;
    int rc;

    if (size > INT32_MAX)
        size = INT32_MAX;
    nl = memchr(buf, '\n', size);
    pthread_mutex_lock(&w->lock);
    if (w->failed) {
        rc = w->failed;
        goto out;
    }
    if (nl) {
        /* The first line ends in this call: put its beginning (held) and end together. */
        size_t head = (size_t)(nl - buf);
        if (w->part_len) {
            joined = malloc(w->part_len + head + 1);
            if (!joined) {
                rc = -ENOMEM;
                goto out;
            }
            memcpy(joined, w->part, w->part_len);
            memcpy(joined + w->part_len, buf, head);
            L.first = joined;
            L.first_len = w->part_len + head;
        } else {
            L.first = buf;
            L.first_len = head;
        }
        L.rest = nl + 1;
        L.rest_len = size - head - 1;
    } else {
        L.rest = buf + size; /* no complete line: everything goes to the held part */
        L.rest_len = 0;
    }
    rc = walk(w, &L, false, &tail);
    if (rc) {
        rc = spoil(w, rc);
        goto out;
    }
    rc = walk(w, &L, true, &tail);
    if (rc) {
        rc = spoil(w, rc);
        goto out;
    }
    /* What follows the last newline waits for the rest of its line. */
    {
        const char *t = nl ? L.rest + tail : buf;
        size_t tl = nl ? L.rest_len - tail : size;
        size_t keep = (nl ? 0 : w->part_len) + tl;
        if (keep > CF_JSON_MAX_RECORD + 64) {
            log_warning("write %s/%s: line %llu is longer than %u bytes", w->app, w->slug,
                        (unsigned long long)w->lines + 1, CF_JSON_MAX_RECORD);
            rc = spoil(w, -EFBIG);
            goto out;
        }
        if (keep > w->part_cap) {
            size_t cap = w->part_cap ? w->part_cap : 256;
            char *np;
            while (cap < keep)
                cap *= 2;
            np = realloc(w->part, cap);
            if (!np) {
                rc = spoil(w, -ENOMEM);
                goto out;
            }
            w->part = np;
            w->part_cap = cap;
        }
        if (nl)
            w->part_len = 0;
        if (tl)
            memcpy(w->part + w->part_len, t, tl);
        w->part_len += tl;
    }
    w->written += size;
    rc = (int)size;
    if (w->streaming) {
        while (w->held && !w->failed)
            send_first(w);
        if (w->failed)
            rc = w->failed;
    }
out:
    pthread_mutex_unlock(&w->lock);
    free(joined);
    return rc;
}

/* Under the lock: the flush's work. */
static int flush_locked(nd_writer *w)
{
    uint64_t before = w->sent;
    int rc;

    if (w->failed)
        return w->failed;
    /* A flush ends the last line, newline or not. */
    if (w->part_len) {
        rc = check_line(w, w->part, w->part_len, w->lines + 1);
        w->lines++;
        if (rc < 0)
            return spoil(w, -EINVAL);
        if (rc > 0) {
            size_t len = w->part_len;
            const char *t = trim(w->part, &len);
            if (add_record(w, t, len) != 0)
                return spoil(w, -ENOMEM);
        }
        w->part_len = 0;
    }
    if (close_open(w) != 0)
        return spoil(w, -ENOMEM);
    rc = send_held(w);
    if (rc)
        return rc;
    if (w->replace && !w->emptied && w->sent == before) {
        cf_error err;
        char text[1400];
        /* Truncated and nothing written: the collection is emptied. */
        barrier(w->before_send);
        if (cf_df_empty(w->client, w->app, w->slug, &err) != 0) {
            rc = -fs_errno(&err);
            log_error("empty %s/%s: %s %s: %s", w->app, w->slug, err.method, err.path,
                      fs_error_text(&err, text, sizeof text));
            spoil(w, rc ? rc : -EIO);
        } else {
            /* The first chunk written later still replaces (PUT): what others added
             * meanwhile goes too, as the truncation said. */
            w->emptied = true;
        }
        cache_nd_changed(w->cache, w->app, w->slug);
    }
    return w->failed;
}

int nd_writer_flush(nd_writer *w)
{
    int rc;

    pthread_mutex_lock(&w->lock);
    rc = flush_locked(w);
    pthread_mutex_unlock(&w->lock);
    return rc;
}

int nd_writer_truncate(nd_writer *w, off_t size)
{
    int rc = 0;

    pthread_mutex_lock(&w->lock);
    if (size == 0) {
        while (w->held) {
            wchunk *c = w->held;
            w->held = c->next;
            chunk_free(c);
        }
        w->held_tail = NULL;
        chunk_free(w->open);
        w->open = NULL;
        w->held_bytes = 0;
        w->part_len = 0;
        w->written = 0;
        w->replace = true;
        w->emptied = false;
    } else if (size < 0 || (uint64_t)size != w->written) {
        rc = -EINVAL;
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

void nd_writer_free(nd_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    /* Every close flushes first: anything left here came after the last flush. */
    if (!w->failed && (w->part_len || w->open || w->held || (w->replace && !w->emptied)))
        flush_locked(w);
    while (w->held) {
        wchunk *c = w->held;
        w->held = c->next;
        chunk_free(c);
    }
    chunk_free(w->open);
    if (w->sent)
        log_debug("write %s/%s: %llu records sent", w->app, w->slug,
                  (unsigned long long)w->sent);
    pthread_mutex_unlock(&w->lock);
    pthread_mutex_destroy(&w->lock);
    free(w->part);
    free(w->app);
    free(w->slug);
    free(w);
}

int nd_empty(cf_client *client, cache *fscache, const char *app, const char *slug,
             nd_barrier before_send)
{
    cf_error err;
    char text[1400];
    int rc = 0;

    barrier(before_send);
    if (cf_df_empty(client, app, slug, &err) != 0) {
        rc = -fs_errno(&err);
        log_error("empty %s/%s: %s %s: %s", app, slug, err.method, err.path,
                  fs_error_text(&err, text, sizeof text));
        if (rc == 0)
            rc = -EIO;
    }
    cache_nd_changed(fscache, app, slug);
    return rc;
}
