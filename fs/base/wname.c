/* wname.c: classification of written names: server files versus local-only files. */
#include "wname.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool json_name(const char *name)
{
    size_t len = strlen(name), sl = strlen(LAYOUT_SUFFIX);
    return name[0] != '.' && len > sl && strcmp(name + len - sl, LAYOUT_SUFFIX) == 0;
}

wname_class wname_file_class(layout_kind parent, const char *name)
{
    if (!name || !name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
        strchr(name, '/'))
        return WNAME_NONE;
    switch (parent) {
    case LAYOUT_ROOT:
        return strcmp(name, LAYOUT_VERSION_NAME) == 0 ? WNAME_VERSION : WNAME_NONE;
    case LAYOUT_APPS:
        return WNAME_NONE;
    case LAYOUT_APP:
        return strcmp(name, LAYOUT_APP_META_NAME) == 0 ? WNAME_APP_META : WNAME_LOCAL;
    case LAYOUT_COLLECTION:
        if (strcmp(name, LAYOUT_COLLECTION_META_NAME) == 0)
            return WNAME_COLL_META;
        return json_name(name) ? WNAME_RECORD : WNAME_LOCAL;
    case LAYOUT_LIST:
        return json_name(name) ? WNAME_ITEM : WNAME_LOCAL;
    default:
        return WNAME_NONE;
    }
}

bool wname_is_server(wname_class cls)
{
    return cls == WNAME_RECORD || cls == WNAME_ITEM || cls == WNAME_APP_META ||
           cls == WNAME_COLL_META || cls == WNAME_VERSION;
}

void wpath_dirname(const char *path, char *out, size_t outsz)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n == 0)
        snprintf(out, outsz, "/");
    else
        snprintf(out, outsz, "%.*s", (int)n, path);
}

int wpath_parse(const char *path, wpath *out)
{
    char dir[PATH_MAX];
    const char *slash;
    size_t len;
    int rc;

    memset(out, 0, offsetof(wpath, namebuf));
    if (!path || path[0] != '/')
        return -ENOENT;
    len = strlen(path);
    if (len >= sizeof out->pathbuf)
        return -ENAMETOOLONG;
    if (len == 1)
        return -EINVAL;
    memcpy(out->pathbuf, path, len + 1);
    out->path = out->pathbuf;
    slash = strrchr(path, '/');
    if (strlen(slash + 1) > NAME_MAX)
        return -ENAMETOOLONG;
    snprintf(out->namebuf, sizeof out->namebuf, "%s", slash + 1);
    out->name = out->namebuf;
    wpath_dirname(path, dir, sizeof dir);
    rc = layout_parse(dir, &out->dir);
    if (rc)
        return rc;
    if (!layout_is_dir(out->dir.kind))
        return -ENOTDIR;
    out->cls = wname_file_class(out->dir.kind, out->name);
    out->self_rc = layout_parse(path, &out->self);
    return 0;
}
