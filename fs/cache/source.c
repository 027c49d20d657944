/* source.c: adapts the client's calls to the cache's source interface. */
#include "source.h"

#include <string.h>

static int src_list(void *ud, cf_kind kind, int extended, cf_json **out, cf_error *err)
{
    return cf_list(ud, kind, NULL, extended, out, err);
}

static int src_version(void *ud, cf_json **out, cf_error *err)
{
    return cf_version(ud, out, err);
}

static int src_read_collection(void *ud, const char *app, const char *slug, cf_page_fn fn,
                               void *fn_ud, size_t *total, cf_error *err)
{
    return cf_read_collection(ud, app, slug, fn, fn_ud, total, err);
}

static int src_read_page(void *ud, const char *app, const char *slug, size_t offset,
                         cf_page_fn fn, void *fn_ud, size_t *total, cf_error *err)
{
    cf_read_opts opts = {.first = offset, .max_pages = 1};
    return cf_read_collection_opts(ud, app, slug, &opts, fn, fn_ud, total, err);
}

static int src_record_get(void *ud, const char *app, const char *slug, const char *id,
                          cf_json **out, cf_error *err)
{
    return cf_record_get(ud, app, slug, id, out, err);
}

void source_from_client(cf_client *client, cache_source *out)
{
    memset(out, 0, sizeof *out);
    out->ud = client;
    out->list = src_list;
    out->version = src_version;
    out->read_collection = src_read_collection;
    out->read_page = src_read_page;
    out->record_get = src_record_get;
}
