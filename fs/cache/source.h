/* source.h: the cache's source backed by the Clappform client. */
#ifndef FS_SOURCE_H
#define FS_SOURCE_H

#include "cache.h"
#include "clappform.h"

/* Fills *out with functions that call client (borrowed: it must outlive the cache). */
void source_from_client(cf_client *client, cache_source *out);

#endif /* FS_SOURCE_H */
