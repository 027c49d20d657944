/* layout.c: the shape of the mounted tree: which paths exist for which resources. */
#include "layout.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

static const layout_resource resources[] = {
    {CF_APP, LAYOUT_APPS_NAME, "id", "", 0, false},
    {CF_COLLECTION, NULL, "slug", "", 1, false},
    {CF_QUERY, "queries", "slug", LAYOUT_SUFFIX, 0, false},
    {CF_ACTIONFLOW, "actionflows", "id", LAYOUT_SUFFIX, 0, false},
    {CF_QUESTIONNAIRE, "questionnaires", "id", LAYOUT_SUFFIX, 0, false},
    {CF_USER, "users", "email", LAYOUT_SUFFIX, 0, true},
};

const char *const layout_root_names[] = {
    LAYOUT_APPS_NAME, "queries", "actionflows", "questionnaires", "users", LAYOUT_VERSION_NAME,
    "dataframes", "query-results", /* streamed records: ndjson.h */
    "exports",                     /* app exports: tasks.h */
    LAYOUT_CONTROL_NAME,
    NULL,
};

const layout_resource *layout_resource_of(cf_kind kind)
{
    for (size_t i = 0; i < sizeof resources / sizeof resources[0]; i++)
        if (resources[i].kind == kind)
            return &resources[i];
    return NULL;
}

bool layout_is_dir(layout_kind kind)
{
    switch (kind) {
    case LAYOUT_ROOT:
    case LAYOUT_APPS:
    case LAYOUT_APP:
    case LAYOUT_COLLECTION:
    case LAYOUT_LIST:
    case LAYOUT_CONTROL:
        return true;
    case LAYOUT_APP_META:
    case LAYOUT_COLLECTION_META:
    case LAYOUT_RECORD:
    case LAYOUT_ITEM:
    case LAYOUT_VERSION:
    case LAYOUT_CONTROL_FILE:
        return false;
    }
    return false;
}

/* Whether a file name ends with ".json" and has something before it. */
static bool json_file(const char *name)
{
    size_t len = strlen(name), sl = strlen(LAYOUT_SUFFIX);
    return len > sl && strcmp(name + len - sl, LAYOUT_SUFFIX) == 0;
}

int layout_parse(const char *path, layout_path *out)
{
    char *part[5];
    size_t n = 0, len;
    char *p;

    memset(out, 0, offsetof(layout_path, buf));
    if (!path || path[0] != '/')
        return -ENOENT;
    len = strlen(path);
    if (len >= sizeof out->buf)
        return -ENAMETOOLONG;
    memcpy(out->buf, path, len + 1);

    /* Split into at most four components; a fifth means too deep. */
    p = out->buf + 1;
    while (*p) {
        char *slash = strchr(p, '/');
        if (n == 5)
            return -ENOENT;
        part[n++] = p;
        if (!slash)
            break;
        *slash = '\0';
        p = slash + 1;
        if (!*p)
            break; /* a trailing slash */
    }
    for (size_t i = 0; i < n; i++)
        if (!part[i][0] || strcmp(part[i], ".") == 0 || strcmp(part[i], "..") == 0)
            return -ENOENT;
    /* FUSE passes names up to 1024 bytes: longer than any file name here (as ext4 says). */
    for (size_t i = 0; i < n; i++)
        if (strlen(part[i]) > NAME_MAX)
            return -ENAMETOOLONG;

    if (n == 0) {
        out->kind = LAYOUT_ROOT;
        return 0;
    }
    if (strcmp(part[0], LAYOUT_APPS_NAME) == 0) {
        if (n == 1) {
            out->kind = LAYOUT_APPS;
            return 0;
        }
        /* Server names never start with '.' once escaped: such names are ours or nothing. */
        if (part[1][0] == '.')
            return -ENOENT;
        out->app = part[1];
        if (n == 2) {
            out->kind = LAYOUT_APP;
            return 0;
        }
        if (strcmp(part[2], LAYOUT_APP_META_NAME) == 0) {
            if (n != 3)
                return -ENOTDIR;
            out->kind = LAYOUT_APP_META;
            return 0;
        }
        if (part[2][0] == '.')
            return -ENOENT;
        out->coll = part[2];
        if (n == 3) {
            out->kind = LAYOUT_COLLECTION;
            return 0;
        }
        if (n != 4)
            return -ENOENT;
        if (strcmp(part[3], LAYOUT_COLLECTION_META_NAME) == 0) {
            out->kind = LAYOUT_COLLECTION_META;
            return 0;
        }
        if (part[3][0] == '.' || !json_file(part[3]))
            return -ENOENT;
        out->kind = LAYOUT_RECORD;
        out->name = part[3];
        return 0;
    }
    if (strcmp(part[0], LAYOUT_CONTROL_NAME) == 0) {
        /* The control directory (control.c answers for it; these kinds only name it). */
        if (n > 2)
            return -ENOENT;
        out->kind = n == 1 ? LAYOUT_CONTROL : LAYOUT_CONTROL_FILE;
        out->name = n == 2 ? part[1] : NULL;
        return 0;
    }
    if (strcmp(part[0], LAYOUT_VERSION_NAME) == 0) {
        if (n != 1)
            return -ENOTDIR;
        out->kind = LAYOUT_VERSION;
        return 0;
    }
    for (size_t i = 0; i < sizeof resources / sizeof resources[0]; i++) {
        const layout_resource *r = &resources[i];
        if (r->kind == CF_APP || !r->dir || strcmp(part[0], r->dir) != 0)
            continue;
        out->list = r->kind;
        if (n == 1) {
            out->kind = LAYOUT_LIST;
            return 0;
        }
        if (n != 2 || part[1][0] == '.' || !json_file(part[1]))
            return -ENOENT;
        out->kind = LAYOUT_ITEM;
        out->name = part[1];
        return 0;
    }
    return -ENOENT;
}
