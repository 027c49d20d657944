/* ndjson_int.h: the parts of the streamed trees (ndjson.h): paths, read streams, writers. */
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

/* ---- read streams (ndjson_read.c) ---------------------------------------------------- */

/* One reading of a collection (app non-NULL) or of a query's results (app NULL). */
typedef struct nd_stream nd_stream;

/* Makes a stream; nothing is asked until the first read. NULL when out of memory. */
nd_stream *nd_stream_new(cf_client *client, const char *app, const char *key);
/* Reads size bytes at off: sequential reads are served from the stream; offset 0 starts
 * it again; another offset starts it again (when behind) and skips to it. Blocks until
 * size bytes or the end. Returns the bytes read (0 at the end) or a negative errno (the
 * failure of the paged read, reported once the bytes before it were read). */
int nd_stream_read(nd_stream *s, char *buf, size_t size, off_t off);
/* Stops the stream's reading (cancels requests in flight), waits for its thread and frees
 * it. Accepts NULL. */
void nd_stream_free(nd_stream *s);

/* ---- writers (ndjson_write.c) -------------------------------------------------------- */

/* One open-to-close write session of a dataframe file. */
typedef struct nd_writer nd_writer;

/* Records are sent in chunks of at most ND_CHUNK_RECORDS records and about ND_CHUNK_BYTES
 * bytes; chunks are held until the flush (close) while the session's records total at
 * most ND_HOLD_BYTES, and sent as they fill up beyond. */
#define ND_CHUNK_RECORDS 1000
#define ND_CHUNK_BYTES (1u << 20)
#define ND_HOLD_BYTES (16u << 20)

/* Makes a writer for app/slug (server keys); truncate: the session replaces the records.
 * NULL when out of memory. */
nd_writer *nd_writer_new(cf_client *client, cache *fscache, const char *app, const char *slug,
                         bool truncate);
/* Takes the bytes of one write call. Returns size or a negative errno: -EINVAL when a
 * complete line of it is not a JSON object (nothing of the call is taken, and the session
 * sends nothing more), the failure of a chunk sent meanwhile. */
int nd_writer_write(nd_writer *w, const char *buf, size_t size);
/* Sends what is held (the last line may lack its newline); a replacing session with no
 * record empties the collection. Returns 0 or a negative errno. */
int nd_writer_flush(nd_writer *w);
/* ftruncate: to 0 drops what is held and makes the session replace the records; to the
 * bytes written so far changes nothing; else -EINVAL. */
int nd_writer_truncate(nd_writer *w, off_t size);
/* Sends anything still held (errors are logged), then frees. Accepts NULL. */
void nd_writer_free(nd_writer *w);
/* truncate(2) of a dataframe file to 0: empties the collection now. */
int nd_empty(cf_client *client, cache *fscache, const char *app, const char *slug);

#endif /* FS_NDJSON_INT_H */
