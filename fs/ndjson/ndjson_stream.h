/* ndjson_stream.h: streamed reads and chunked writes of records, one JSON object a line
 * (no FUSE here: fs/ops/ndjson.c serves them as files). */
#ifndef FS_NDJSON_STREAM_H
#define FS_NDJSON_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cache.h"
#include "clappform.h"

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

/* Called before each request that changes the collection, so that changes of its records
 * queued elsewhere (the journal of -o async_uploads) go first; NULL: none. A callback, so
 * that this layer does not reach into the upload layer beside it. */
typedef void (*nd_barrier)(void);

/* Makes a writer for app/slug (server keys); truncate: the session replaces the records.
 * NULL when out of memory. */
nd_writer *nd_writer_new(cf_client *client, cache *fscache, const char *app, const char *slug,
                         bool truncate, nd_barrier before_send);
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
/* truncate(2) of a dataframe file to 0: empties the collection now (before_send first). */
int nd_empty(cf_client *client, cache *fscache, const char *app, const char *slug,
             nd_barrier before_send);

#endif /* FS_NDJSON_STREAM_H */
