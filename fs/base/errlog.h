/* errlog.h: the ring of the last failures, shown as .clappfs/errors. */
#ifndef FS_ERRLOG_H
#define FS_ERRLOG_H

#include <stddef.h>
#include <stdint.h>

#include "clappform.h"

/* How many failures the ring keeps; older ones are dropped. */
#define ERRLOG_CAPACITY 256

/* Records one failure (thread-safe, never blocks on I/O). op is the operation ("open",
 * "getattr", "readdir", "write", "stale", ...), path the file system path, err the
 * positive errno given back (0 when the operation still succeeded, e.g. served stale),
 * e the client's error (NULL or CF_OK when the failure was not the server's). Strings
 * are copied (and cut to fit); the request path is redacted like the debug log's. */
void errlog_add(const char *op, const char *path, int err, const cf_error *e);

/* Records a failure of the file system's own (no request failed) with a message: the
 * entry's "message" is message, its kind, status and request null. */
void errlog_add_note(const char *op, const char *path, int err, const char *message);

/* The ring as JSON lines, oldest first, one object per failure:
 *   {"time": "2024-05-01T12:00:00.123Z", "op": "open", "path": "/apps/a/c/x.json",
 *    "errno": "EIO", "error": "Input/output error", "kind": "http", "status": 503,
 *    "request": "GET /api/item/a/c/x", "message": "...", "response_id": "..."}
 * (kind, status, request, message, response_id are null when there was no server error).
 * *out is malloc'ed and NUL-terminated. Returns 0, or -1 when out of memory. */
int errlog_render(char **out, size_t *len);

/* Failures recorded since start (or the last errlog_reset), and how many the ring holds. */
uint64_t errlog_total(void);
size_t errlog_kept(void);

/* Logs a failed operation op on path (rc a negative errno; err the client's error or
 * NULL) with the server's message and response_id when there is one, and records it in
 * the ring; a missing resource is logged at debug level only and not recorded. */
void errlog_report(const char *op, const char *path, int rc, const cf_error *err);

/* Empties the ring (tests). */
void errlog_reset(void);

/* The symbolic name of an errno ("EIO"), or its number as text in buf. */
const char *errlog_errno_name(int err, char *buf, size_t bufsz);

#endif /* FS_ERRLOG_H */
