/* errlog.c: a fixed ring of the last failures of the file system, rendered as JSON lines. */
#define _GNU_SOURCE /* strerror_r returning a string */
#include "errlog.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errmap.h"
#include "log.h"
#include "textbuf.h"

typedef struct errlog_entry {
    struct timespec when;   /* CLOCK_REALTIME */
    int err;
    bool server;            /* kind..response_id are set */
    cf_error_kind kind;
    long status;
    char op[16];
    char method[8];
    char path[512];
    char request[512];
    char message[512];
    char response_id[128];
} errlog_entry;

/* A static ring: no allocation on the failure path, nothing to free at exit. */
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static errlog_entry ring[ERRLOG_CAPACITY];
static size_t ring_next;   /* slot of the next entry */
static size_t ring_count;  /* entries held, <= capacity */
static uint64_t ring_total;

static void copy(char *dst, size_t dstsz, const char *src)
{
    snprintf(dst, dstsz, "%s", src ? src : "");
}

/* One entry: e's fields when it is a server error, else message (or none). */
static void add(const char *op, const char *path, int err, const cf_error *e,
                const char *message)
{
    errlog_entry tmp;

    memset(&tmp, 0, sizeof tmp);
    clock_gettime(CLOCK_REALTIME, &tmp.when);
    tmp.err = err < 0 ? -err : err;
    copy(tmp.op, sizeof tmp.op, op);
    copy(tmp.path, sizeof tmp.path, path);
    if (e && e->kind != CF_OK) {
        tmp.server = true;
        tmp.kind = e->kind;
        tmp.status = e->status;
        copy(tmp.method, sizeof tmp.method, e->method);
        log_redact_path(e->path, tmp.request, sizeof tmp.request);
        copy(tmp.message, sizeof tmp.message, e->message);
        copy(tmp.response_id, sizeof tmp.response_id, e->response_id);
    } else if (message) {
        copy(tmp.message, sizeof tmp.message, message);
    }
    pthread_mutex_lock(&ring_lock);
    ring[ring_next] = tmp;
    ring_next = (ring_next + 1) % ERRLOG_CAPACITY;
    if (ring_count < ERRLOG_CAPACITY)
        ring_count++;
    ring_total++;
    pthread_mutex_unlock(&ring_lock);
}

void errlog_add(const char *op, const char *path, int err, const cf_error *e)
{
    add(op, path, err, e, NULL);
}

void errlog_add_note(const char *op, const char *path, int err, const char *message)
{
    add(op, path, err, NULL, message);
}

const char *errlog_errno_name(int err, char *buf, size_t bufsz)
{
    static const struct {
        int n;
        const char *name;
    } names[] = {
        {0, "0"},           {EPERM, "EPERM"},         {ENOENT, "ENOENT"},
        {EIO, "EIO"},       {EBADF, "EBADF"},         {ENOMEM, "ENOMEM"},
        {EACCES, "EACCES"}, {EEXIST, "EEXIST"},       {ENOTDIR, "ENOTDIR"},
        {EISDIR, "EISDIR"}, {EINVAL, "EINVAL"},       {EFBIG, "EFBIG"},
        {ENOSPC, "ENOSPC"}, {EROFS, "EROFS"},         {ENAMETOOLONG, "ENAMETOOLONG"},
        {ENOTEMPTY, "ENOTEMPTY"}, {ETIMEDOUT, "ETIMEDOUT"}, {ECANCELED, "ECANCELED"},
        {ENOTSUP, "ENOTSUP"}, {EAGAIN, "EAGAIN"},     {ENOTCONN, "ENOTCONN"},
        {EBUSY, "EBUSY"},   {EXDEV, "EXDEV"},         {ENOSYS, "ENOSYS"},
    };
    if (err < 0)
        err = -err;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].n == err)
            return names[i].name;
    snprintf(buf, bufsz, "%d", err);
    return buf;
}

static void render_one(textbuf *b, const errlog_entry *e)
{
    char when[64], num[16], reason[128];
    struct tm tm;

    gmtime_r(&e->when.tv_sec, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + strlen(when), sizeof when - strlen(when), ".%03ldZ",
             e->when.tv_nsec / 1000000L);
    tb_printf(b, "{\"time\": \"%s\", \"op\": ", when);
    tb_json_str(b, e->op);
    tb_puts(b, ", \"path\": ");
    tb_json_str(b, e->path);
    tb_printf(b, ", \"errno\": \"%s\", \"error\": ", errlog_errno_name(e->err, num, sizeof num));
    /* strerror_r (GNU) may return a static string rather than fill reason. */
    tb_json_str(b, e->err ? strerror_r(e->err, reason, sizeof reason) : "");
    if (e->server) {
        tb_printf(b, ", \"kind\": \"%s\", \"status\": %ld, \"request\": ", cf_error_kind_name(e->kind),
                  e->status);
        if (e->method[0] || e->request[0]) {
            char req[sizeof e->method + sizeof e->request + 2];
            snprintf(req, sizeof req, "%s %s", e->method, e->request);
            tb_json_str(b, req);
        } else {
            tb_puts(b, "null");
        }
        tb_puts(b, ", \"message\": ");
        tb_json_str(b, e->message);
        tb_puts(b, ", \"response_id\": ");
        if (e->response_id[0])
            tb_json_str(b, e->response_id);
        else
            tb_puts(b, "null");
    } else {
        tb_puts(b, ", \"kind\": null, \"status\": null, \"request\": null, \"message\": ");
        if (e->message[0])
            tb_json_str(b, e->message);
        else
            tb_puts(b, "null");
        tb_puts(b, ", \"response_id\": null");
    }
    tb_puts(b, "}\n");
}

int errlog_render(char **out, size_t *len)
{
    textbuf b = {0};
    errlog_entry *copy_of;
    size_t n, first;

    *out = NULL;
    if (len)
        *len = 0;
    /* Copy out under the lock, format without it. */
    copy_of = malloc(ERRLOG_CAPACITY * sizeof *copy_of);
    if (!copy_of)
        return -1;
    pthread_mutex_lock(&ring_lock);
    n = ring_count;
    first = (ring_next + ERRLOG_CAPACITY - ring_count) % ERRLOG_CAPACITY;
    for (size_t i = 0; i < n; i++)
        copy_of[i] = ring[(first + i) % ERRLOG_CAPACITY];
    pthread_mutex_unlock(&ring_lock);
    for (size_t i = 0; i < n; i++)
        render_one(&b, &copy_of[i]);
    free(copy_of);
    *out = tb_take(&b, len);
    return *out ? 0 : -1;
}

uint64_t errlog_total(void)
{
    uint64_t t;
    pthread_mutex_lock(&ring_lock);
    t = ring_total;
    pthread_mutex_unlock(&ring_lock);
    return t;
}

size_t errlog_kept(void)
{
    size_t n;
    pthread_mutex_lock(&ring_lock);
    n = ring_count;
    pthread_mutex_unlock(&ring_lock);
    return n;
}

void errlog_reset(void)
{
    pthread_mutex_lock(&ring_lock);
    memset(ring, 0, sizeof ring);
    ring_next = ring_count = 0;
    ring_total = 0;
    pthread_mutex_unlock(&ring_lock);
}

void errlog_report(const char *op, const char *path, int rc, const cf_error *err)
{
    char text[1400];

    if (err && err->kind != CF_OK) {
        fs_error_text(err, text, sizeof text);
        if (rc == -ENOENT)
            log_debug("%s %s: %s", op, path, text);
        else if (err->method[0])
            log_error("%s %s: %s %s: %s", op, path, err->method, err->path, text);
        else /* found in an answer that came: no request to name */
            log_error("%s %s: %s", op, path, text);
        errlog_add(op, path, -rc, err); /* .clappfs/errors */
    } else if (rc != -ENOENT && rc != -ENOTDIR && rc != -EISDIR) {
        log_warning("%s %s: %s", op, path, strerror(-rc));
        errlog_add(op, path, -rc, NULL);
    }
}
