/* ctx.h: the mount's context, shared by the layers above the cache (the operations, the
 * uploads, the streamed trees). */
#ifndef FS_CTX_H
#define FS_CTX_H

#include <stdbool.h>
#include <sys/types.h>

#include "cache.h"
#include "clappform.h"

/* What every operation reaches through the FUSE context's private data (ops_ctx()), and
 * what the layers below are handed. Made by main before the session; it outlives the FUSE
 * loop. Borrowed pointers. */
typedef struct fs_ctx {
    cf_client *client;
    cache *cache;
    const char *url;
    const char *mountpoint;
    double ttl;          /* kernel entry timeout; attr/negative: the lesser with revalidate */
    double revalidate;   /* -o revalidate (cache_config.close_to_open) */
    bool overwrite;      /* -o overwrite: saves do not check the server's version */
    int workers;         /* -o workers: requests in flight at once */
    bool ro;
    bool insecure;
    bool daemon;         /* serving in the background: the log is the system log */
    uid_t uid;           /* owner of every node: the mounting user */
    gid_t gid;
} fs_ctx;

#endif /* FS_CTX_H */
