/* stats.h: request statistics of the mount (from the client's trace hook) and their JSON
 * rendering as .clappfs/stats. */
#ifndef FS_STATS_H
#define FS_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "clappform.h"

/* The client's trace hook (cf_config.trace, ud unused): counts every HTTP exchange per
 * method, route template and status, then passes it to log_trace_cb (the -o debug line).
 * Thread-safe. */
void stats_trace_cb(void *ud, const cf_trace *t);

/* For the write side: one upload (a file's content sent to the server) of `bytes`, which
 * worked or not. */
void stats_upload(size_t bytes, bool ok);

/* Forgets every count (tests). */
void stats_reset(void);

/* The entries of the journal of -o async_uploads (fs/upload/uploader.h fills it). */
typedef struct stats_journal {
    bool enabled;
    uint64_t pending;    /* queued, being sent, or waiting to be tried again */
    uint64_t failed;     /* failed for good, kept in the journal */
    uint64_t uploaded;   /* entries sent (this mount) */
    uint64_t retries;    /* tries again by the journal (beyond the client's) */
    uint64_t superseded; /* replaced by a newer entry of their path before sending */
} stats_journal;

/* The kernel's requests to the mount, by kind, and the nodes it holds (fs/ops/lowlevel.c
 * counts them): what a tool's run cost in round trips through /dev/fuse. */
typedef struct stats_kernel {
    uint64_t lookup, forget, getattr, setattr, open, read, write, flush, release, opendir,
        readdir, readdirplus, create, other;
    uint64_t nodes;
} stats_kernel;

/* What the rendering reads; any pointer may be NULL (that part is left out). */
typedef struct stats_view {
    cf_client *client;
    cache *cache;
    const char *url;
    const char *mountpoint;
    double cache_ttl;
    bool stale_on_error;
    bool read_only;
    double uptime;            /* seconds since the mount */
    stats_journal journal;    /* as the caller read it just before rendering */
    stats_kernel kernel;      /* likewise */
} stats_view;

/* The statistics as one JSON object (pretty, keys in a fixed order, final newline):
 *   {"mount": {...}, "requests": {"total", "retries", "logins", "failures", "no_answer",
 *    "by_class": {"2xx", "4xx", "5xx"}}, "bytes": {"sent", "received"},
 *    "routes": {"GET /api/apps": {"200": {"count", "retries", "seconds", "bytes_sent",
 *    "bytes_received"}, ...}, ...}, "cache": {...}, "uploads": {...}, "journal":
 *    {"enabled", "pending", "failed", "uploaded", "retries", "superseded"} (-o async_uploads),
 *    "kernel": {"lookup", "forget", "getattr", "setattr", "open", "read", "write", "flush",
 *    "release", "opendir", "readdir", "readdirplus", "create", "other", "nodes"},
 *    "errors": {...}}
 * Route keys are "METHOD TEMPLATE" as the emulator's stats name them; status "0" counts
 * tries that got no answer. *out is malloc'ed; returns 0 or -1 (out of memory). */
int stats_render(const stats_view *v, char **out, size_t *len);

#endif /* FS_STATS_H */
