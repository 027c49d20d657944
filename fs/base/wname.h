/* wname.h: what a name written in the mount is: a server resource or a local-only file. */
#ifndef FS_WNAME_H
#define FS_WNAME_H

#include <limits.h>
#include <stdbool.h>

#include "layout.h"

/* What a regular file of a given name in a given directory would be. */
typedef enum wname_class {
    WNAME_NONE,       /* no file may be made here (the root but version.json, apps/) */
    WNAME_RECORD,     /* apps/<app>/<slug>/<_id>.json */
    WNAME_ITEM,       /* queries/<slug>.json, actionflows/<id>.json, ... users/<email>.json */
    WNAME_APP_META,   /* apps/<app>/.app.json */
    WNAME_COLL_META,  /* apps/<app>/<slug>/.collection.json */
    WNAME_VERSION,    /* version.json */
    WNAME_LOCAL,      /* lives only in this mount: never uploaded, gone at unmount */
} wname_class;

/* The class of a regular file `name` in a directory of kind `parent`:
 *   collection:  .collection.json  meta;  "*.json" not starting with '.'  record;  else local
 *   list dir:    "*.json" not starting with '.'  item;  else local
 *   app dir:     .app.json  meta;  any other file  local  (directories there are collections)
 *   root:        version.json;  else none.   apps/: none.
 * Editors' and tools' side files (4913, .x.json.swp, x.json~, .#x.json, #x.json#,
 * .goutputstream-*, rsync's .x.json.AbC123, sed's sedXXXXXX) are all local. */
wname_class wname_file_class(layout_kind parent, const char *name);

/* Whether the class is a file the server holds (record, item, metadata, version). */
bool wname_is_server(wname_class cls);

/* A path split into its directory and last name, both parsed. The layout_paths point
 * into their own buffers: parse into the variable that is used, never copy it. */
typedef struct wpath {
    layout_path dir;      /* the parent directory (a directory kind) */
    layout_path self;     /* the path itself, when self_rc == 0 */
    int self_rc;          /* layout_parse of the whole path */
    wname_class cls;      /* what a regular file at this path is */
    const char *name;     /* the last component (into namebuf) */
    const char *path;     /* the whole path (into pathbuf) */
    char namebuf[NAME_MAX + 1];
    char pathbuf[PATH_MAX];
} wpath;

/* Parses an absolute path whose parent must be a directory of the tree. Returns 0, or
 * -ENOENT (no such parent), -ENOTDIR (the parent is a file), -ENAMETOOLONG, -EINVAL ("/"). */
int wpath_parse(const char *path, wpath *out);

/* The path of the parent directory of path (into out, size outsz). */
void wpath_dirname(const char *path, char *out, size_t outsz);

#endif /* FS_WNAME_H */
