/* errmap.h: the one table from client errors to errno values, and their one-line text. */
#ifndef FS_ERRMAP_H
#define FS_ERRMAP_H

#include <stddef.h>

#include "clappform.h"

/* The positive errno a failed client call becomes in the filesystem:
 *   HTTP 404, 410            ENOENT  (a missing resource, and nothing else)
 *   HTTP 401, 403            EACCES  (the client has already logged in afresh once)
 *   HTTP 400, 422            EINVAL
 *   HTTP 409                 EEXIST
 *   HTTP 413                 EFBIG
 *   other HTTP 4xx, all 5xx  EIO
 *   timeout                  ETIMEDOUT
 *   network, TLS, protocol   EIO
 *   invalid argument         EINVAL
 *   out of memory            ENOMEM
 *   cancelled                ECANCELED
 * CF_OK (or NULL) gives 0. */
int fs_errno(const cf_error *err);

/* One line for a log or a terminal, e.g.
 *   "HTTP 401: Invalid credentials (response_id 5f2a...)"
 *   "timeout: Operation timed out after 10001 milliseconds"
 * Written into buf (always NUL-terminated); returns buf. */
const char *fs_error_text(const cf_error *err, char *buf, size_t bufsz);

#endif /* FS_ERRMAP_H */
