/* ndjson.h: the streamed trees of clappfs, one JSON record per line:
 *
 *  /dataframes                              directory of the apps (0755)
 *  /dataframes/<app>                        directory of an app's collections (0755)
 *  /dataframes/<app>/<collection>.ndjson    every record of the collection (0644)
 *  /query-results                           directory of the queries (0755)
 *  /query-results/<query>.ndjson            the query's results (0444)
 *
 * Names are those of apps/ and queries/ (escaped the same way) with ".ndjson" for suffix.
 * The files show size 0 and are opened with direct I/O, as /proc files are: readers read
 * until end of file. Reading streams the records through the paged read, in the server's
 * order, without keeping the collection in memory (ndjson_read.c). Writing a dataframe
 * file appends records (O_APPEND, or no O_TRUNC), or replaces them (O_TRUNC, or a
 * truncation to 0), through the dataframe routes (ndjson_write.c). The design and its
 * limits are in README.md ("Dataframe files").
 */
#ifndef FS_NDJSON_H
#define FS_NDJSON_H

/* FUSE_USE_VERSION comes from the build (fs/meson.build). */
#include <fuse.h>

/* The operations of inner with these trees added: every operation on a path under
 * /dataframes or /query-results is answered here, every other goes to inner unchanged
 * (operations inner lacks stay absent, but for the few these trees need). The table is
 * made once; inner must outlive it. */
const struct fuse_operations *ndjson_wrap(const struct fuse_operations *inner);

#endif /* FS_NDJSON_H */
