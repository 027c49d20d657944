/* log.c: levels, formatting and sinks (stderr, syslog, a function) of clappfs's messages. */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

typedef enum sink_kind { SINK_STDERR, SINK_SYSLOG, SINK_FUNCTION } sink_kind;

/* One lock orders the lines of concurrent threads and guards the sink's settings. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static sink_kind sink = SINK_STDERR;
static log_sink_fn sink_fn;
static void *sink_ud;
/* Read without the lock on the fast path: a stale value only lets one line through or not. */
static volatile int max_level = LOG_LVL_INFO;

void log_set_level(log_level max)
{
    max_level = max;
}

log_level log_get_level(void)
{
    return (log_level)max_level;
}

void log_use_stderr(void)
{
    pthread_mutex_lock(&log_lock);
    if (sink == SINK_SYSLOG)
        closelog();
    sink = SINK_STDERR;
    pthread_mutex_unlock(&log_lock);
}

void log_use_syslog(void)
{
    pthread_mutex_lock(&log_lock);
    if (sink != SINK_SYSLOG)
        openlog("clappfs", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    sink = SINK_SYSLOG;
    pthread_mutex_unlock(&log_lock);
}

void log_use_function(log_sink_fn fn, void *ud)
{
    pthread_mutex_lock(&log_lock);
    if (sink == SINK_SYSLOG)
        closelog();
    sink = fn ? SINK_FUNCTION : SINK_STDERR;
    sink_fn = fn;
    sink_ud = ud;
    pthread_mutex_unlock(&log_lock);
}

static const char *level_tag(log_level level)
{
    switch (level) {
    case LOG_LVL_WARNING:
        return "warning: ";
    case LOG_LVL_DEBUG:
        return "debug: ";
    case LOG_LVL_ERROR:
    case LOG_LVL_INFO:
    default:
        return "";
    }
}

static int syslog_priority(log_level level)
{
    switch (level) {
    case LOG_LVL_ERROR:
        return LOG_ERR;
    case LOG_LVL_WARNING:
        return LOG_WARNING;
    case LOG_LVL_INFO:
        return LOG_INFO;
    case LOG_LVL_DEBUG:
    default:
        return LOG_DEBUG;
    }
}

/* The base name of a source path, so lines read "ops.c:12" whatever the build dir is. */
static const char *base_name(const char *file)
{
    const char *slash = file ? strrchr(file, '/') : NULL;
    return slash ? slash + 1 : (file ? file : "?");
}

static void emit(log_level level, const char *file, int line, const char *msg)
{
    int saved = errno;
    pthread_mutex_lock(&log_lock);
    switch (sink) {
    case SINK_FUNCTION:
        sink_fn(sink_ud, level, base_name(file), line, msg);
        break;
    case SINK_SYSLOG:
        syslog(syslog_priority(level), "%s%s (%s:%d)", level_tag(level), msg, base_name(file),
               line);
        break;
    case SINK_STDERR:
    default:
        /* Plain lines for a person at a terminal; the place is added when debugging. */
        if (max_level >= LOG_LVL_DEBUG)
            fprintf(stderr, "clappfs: %s%s (%s:%d)\n", level_tag(level), msg, base_name(file),
                    line);
        else
            fprintf(stderr, "clappfs: %s%s\n", level_tag(level), msg);
        fflush(stderr);
        break;
    }
    pthread_mutex_unlock(&log_lock);
    errno = saved;
}

void log_write(log_level level, const char *file, int line, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    if ((int)level > max_level)
        return;
    int saved = errno;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(level, file, line, msg);
    errno = saved;
}

void log_client_cb(void *ud, int level, const char *file, int line, const char *msg)
{
    (void)ud;
    if (level < LOG_LVL_ERROR)
        level = LOG_LVL_ERROR;
    if (level > LOG_LVL_DEBUG)
        level = LOG_LVL_DEBUG;
    if (level > max_level)
        return;
    emit((log_level)level, file, line, msg ? msg : "");
}

/* Whether a query parameter's name suggests a secret value. */
static bool secret_name(const char *name, size_t len)
{
    static const char *const words[] = {"token", "password", "passwd", "secret", "key", "auth"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t wl = strlen(words[i]);
        for (size_t j = 0; j + wl <= len; j++)
            if (strncasecmp(name + j, words[i], wl) == 0)
                return true;
    }
    return false;
}

void log_redact_path(const char *path, char *out, size_t outsz)
{
    size_t o = 0;
    const char *p = path ? path : "";
    const char *q = strchr(p, '?');

    if (outsz == 0)
        return;
#define PUT(ch)                                                                                \
    do {                                                                                       \
        if (o + 1 < outsz)                                                                     \
            out[o++] = (ch);                                                                   \
    } while (0)
    while (*p && p != q)
        PUT(*p++);
    if (q) {
        PUT('?');
        p = q + 1;
        while (*p) {
            const char *end = p + strcspn(p, "&");
            const char *eq = memchr(p, '=', (size_t)(end - p));
            size_t name_len = eq ? (size_t)(eq - p) : (size_t)(end - p);
            for (const char *s = p; s < (eq ? eq : end); s++)
                PUT(*s);
            if (eq) {
                PUT('=');
                if (secret_name(p, name_len)) {
                    for (const char *s = "REDACTED"; *s; s++)
                        PUT(*s);
                } else {
                    for (const char *s = eq + 1; s < end; s++)
                        PUT(*s);
                }
            }
            p = end;
            if (*p == '&') {
                PUT('&');
                p++;
            }
        }
    }
#undef PUT
    out[o] = '\0';
}

void log_trace_cb(void *ud, const cf_trace *t)
{
    char path[1024];
    (void)ud;
    if (!t || max_level < LOG_LVL_DEBUG)
        return;
    log_redact_path(t->path, path, sizeof path);
    if (t->curl_error && t->curl_error[0])
        log_debug("HTTP %s %s: no answer (%s), try %d, %.3f s, %zu bytes sent",
                  t->method ? t->method : "?", path, t->curl_error, t->attempt, t->seconds,
                  t->bytes_sent);
    else
        log_debug("HTTP %s %s %ld, try %d, %.3f s, %zu bytes sent, %zu received",
                  t->method ? t->method : "?", path, t->status, t->attempt, t->seconds,
                  t->bytes_sent, t->bytes_received);
}
