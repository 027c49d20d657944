/* layout.h: the tree clappfs shows, and the parsing of a path into resource kind and names. */
#ifndef FS_LAYOUT_H
#define FS_LAYOUT_H

#include <limits.h>
#include <stdbool.h>

#include "clappform.h"

/*
 *  /                                   LAYOUT_ROOT
 *  /apps                               LAYOUT_APPS
 *  /apps/<app>                         LAYOUT_APP
 *  /apps/<app>/.app.json               LAYOUT_APP_META
 *  /apps/<app>/<slug>                  LAYOUT_COLLECTION
 *  /apps/<app>/<slug>/.collection.json LAYOUT_COLLECTION_META
 *  /apps/<app>/<slug>/<_id>.json       LAYOUT_RECORD
 *  /queries  /actionflows  /questionnaires  /users            LAYOUT_LIST
 *  /queries/<slug>.json  /actionflows/<id>.json ...  /users/<email>.json   LAYOUT_ITEM
 *  /version.json                       LAYOUT_VERSION
 *  /dataframes/...  /query-results/... not parsed here: ndjson.h answers for them
 *  /exports/...  /actionflows/<id>.start, <id>.last-run.json   not parsed here: tasks.h
 *  /.clappfs                           LAYOUT_CONTROL (control.c: stats, errors, refresh)
 *  /.clappfs/<name>                    LAYOUT_CONTROL_FILE
 * Names in paths are file names (names.h); turning them into server keys is the cache's
 * business, since shortened names need a listing.
 */
typedef enum layout_kind {
    LAYOUT_ROOT,
    LAYOUT_APPS,
    LAYOUT_APP,
    LAYOUT_APP_META,
    LAYOUT_COLLECTION,
    LAYOUT_COLLECTION_META,
    LAYOUT_RECORD,
    LAYOUT_LIST,
    LAYOUT_ITEM,
    LAYOUT_VERSION,
    LAYOUT_CONTROL,
    LAYOUT_CONTROL_FILE,
} layout_kind;

#define LAYOUT_SUFFIX ".json"
#define LAYOUT_APP_META_NAME ".app.json"
#define LAYOUT_COLLECTION_META_NAME ".collection.json"
#define LAYOUT_VERSION_NAME "version.json"
#define LAYOUT_APPS_NAME "apps"
#define LAYOUT_CONTROL_NAME ".clappfs"

/* How one kind of server resource is shown. */
typedef struct layout_resource {
    cf_kind kind;
    const char *dir;       /* directory below the root; NULL for collections (under apps/) */
    const char *key_field; /* the member that names it: "id", "slug", "email" */
    const char *suffix;    /* "" for directories (apps, collections), ".json" for files */
    int extended;          /* the `extended` argument of its list call */
    bool active_only;      /* users: members with "is_active": false are not shown */
} layout_resource;

/* The description of a resource kind (every cf_kind but none other has one). */
const layout_resource *layout_resource_of(cf_kind kind);

/* The entries of the root directory, in the order readdir gives them; NULL-terminated. */
extern const char *const layout_root_names[];

/* A parsed path. The pointers point into buf (or are NULL): parse into the variable that
 * is used, never copy the struct. */
typedef struct layout_path {
    layout_kind kind;
    cf_kind list;       /* LAYOUT_LIST and LAYOUT_ITEM: CF_QUERY, CF_ACTIONFLOW, ... */
    const char *app;    /* LAYOUT_APP and below: the app's directory name */
    const char *coll;   /* LAYOUT_COLLECTION and below: the collection's directory name */
    const char *name;   /* LAYOUT_RECORD, LAYOUT_ITEM, LAYOUT_CONTROL_FILE: the file name */
    char buf[PATH_MAX];
} layout_path;

/* Parses an absolute path as the kernel gives it ("/", "/apps/x", no trailing slash, no
 * "." or ".." components). Returns 0, or -ENOENT when no node can have that path (wrong
 * depth, a record name without ".json", a name starting with '.' that is not ours...),
 * -ENAMETOOLONG when it does not fit or a name is longer than NAME_MAX bytes. Touches no
 * cache and sends nothing. */
int layout_parse(const char *path, layout_path *out);

/* Whether the node of a kind is a directory. */
bool layout_is_dir(layout_kind kind);

#endif /* FS_LAYOUT_H */
