/* cache_ndjson.h: what the dataframes/ and query-results/ trees (ndjson.h) ask of the
 * cache: their directory entries, the server keys of their names, and forgetting a
 * collection's records after a dataframe write. */
#ifndef FS_CACHE_NDJSON_H
#define FS_CACHE_NDJSON_H

#include <stddef.h>

#include "cache.h"
#include "clappform.h"

/* The suffix of the streamed files. */
#define CACHE_ND_SUFFIX ".ndjson"

/* Which directory: dataframes/ (the apps), dataframes/<app>/ (its collections) or
 * query-results/ (the queries). */
typedef enum cache_nd_dir {
    CACHE_ND_APPS,
    CACHE_ND_COLLECTIONS,
    CACHE_ND_QUERIES,
} cache_nd_dir;

/* The names of a directory, fresh within the TTL (fetching the list when stale): app
 * directory names as in apps/, "<collection>.ndjson", "<query>.ndjson" (the name shown
 * elsewhere with ".ndjson" for its suffix; names_encode of the key when that does not
 * fit). app_name is the app's directory name (CACHE_ND_COLLECTIONS only). *names is a
 * malloc'ed array of *n malloc'ed strings: free with cache_nd_names_free.
 * Returns 0 or a negative errno (-ENOENT: no such app), err telling a server failure. */
int cache_nd_list(cache *c, cache_nd_dir which, const char *app_name, char ***names, size_t *n,
                  cf_error *err);
void cache_nd_names_free(char **names, size_t n);

/* The app key of the directory name app_name (fresh list). */
int cache_nd_app(cache *c, const char *app_name, char **app, cf_error *err);
/* The app key and collection slug of dataframes/<app_name>/<file>. */
int cache_nd_collection(cache *c, const char *app_name, const char *file, char **app,
                        char **slug, cf_error *err);
/* The query slug of query-results/<file>. */
int cache_nd_query(cache *c, const char *file, char **slug, cf_error *err);

/* Records of app/slug were written through the dataframe routes: what the cache knows of
 * them is dropped, so apps/<app>/<slug>/ is listed afresh. */
void cache_nd_changed(cache *c, const char *app, const char *slug);

/* The mount time: the time of every node of these trees. */
time_t cache_nd_mount_time(cache *c);

#endif /* FS_CACHE_NDJSON_H */
