/* ndjson_int.h: the parts of the streamed trees (ndjson.h): paths and operations; the
 * streams and writers they serve are fs/ndjson/ndjson_stream.h. */
#ifndef FS_NDJSON_INT_H
#define FS_NDJSON_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* FUSE_USE_VERSION comes from the build (fs/meson.build). */
#include <fuse.h>

#include "cache.h"
#include "clappform.h"
#include "ndjson_stream.h"

#define ND_DATAFRAMES "dataframes"
#define ND_QUERY_RESULTS "query-results"

/* ---- paths (ndjson.c) ---------------------------------------------------------------- */

typedef enum nd_kind {
    ND_NONE,      /* not under these trees */
    ND_DF_ROOT,   /* /dataframes */
    ND_DF_APP,    /* /dataframes/<app> */
    ND_DF_FILE,   /* /dataframes/<app>/<collection>.ndjson */
    ND_QR_ROOT,   /* /query-results */
    ND_QR_FILE,   /* /query-results/<query>.ndjson */
} nd_kind;

typedef struct nd_path {
    nd_kind kind;
    const char *app;  /* ND_DF_APP, ND_DF_FILE: the app's directory name */
    const char *file; /* ND_DF_FILE, ND_QR_FILE: the file name, ".ndjson" included */
    char buf[PATH_MAX];
} nd_path;

/* Parses path. Returns 0 with kind ND_NONE for a path outside these trees; 0 with the
 * node for one inside; -ENOENT / -ENOTDIR / -ENAMETOOLONG for a path inside that no node
 * can have. Touches nothing. */
int nd_parse(const char *path, nd_path *out);

/* Whether a node is a directory. */
bool nd_is_dir(nd_kind kind);

/* ---- operations on these paths (ndjson.c) --------------------------------------------- */

/* FUSE (high-level) operations for a path p parsed by nd_parse with kind != ND_NONE; fi
 * holds a handle made by nd_open / nd_opendir. Same returns as the FUSE operations. */
struct stat;
struct fuse_file_info;
int nd_getattr(const char *path, const nd_path *p, struct stat *st, struct fuse_file_info *fi);
int nd_opendir(const char *path, const nd_path *p, struct fuse_file_info *fi);
int nd_readdir(const char *path, const nd_path *p, void *buf, fuse_fill_dir_t filler, off_t off,
               struct fuse_file_info *fi);
int nd_releasedir(struct fuse_file_info *fi);
int nd_open(const char *path, const nd_path *p, struct fuse_file_info *fi);
int nd_read(char *buf, size_t size, off_t off, struct fuse_file_info *fi);
int nd_write(const char *buf, size_t size, struct fuse_file_info *fi);
int nd_flush(struct fuse_file_info *fi);
int nd_release(struct fuse_file_info *fi);
int nd_truncate(const char *path, const nd_path *p, off_t size, struct fuse_file_info *fi);
int nd_access(const char *path, const nd_path *p, int mask);
/* Stops the reads and sends what the writers hold of files still open (at unmount). */
void nd_shutdown(void);

#endif /* FS_NDJSON_INT_H */
