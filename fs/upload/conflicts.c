/* conflicts.c: the texts of saves refused for a conflict, as a small tree of files. */
#include "conflicts.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A file or directory below .clappfs/conflicts, by its path relative to it. Few: one per
 * refused save of a record still kept, and their directories. Sorted by rel. */
typedef struct cnode {
    char *rel;
    bool is_dir;
    char *data;
    size_t len;
    time_t mtime;
} cnode;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static cnode *nodes;
static size_t count, cap;

/* The index of rel, or -1 (*at: where it would go). Under the lock. */
static long find(const char *rel, size_t *at)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = strcmp(nodes[mid].rel, rel);
        if (d == 0)
            return (long)mid;
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (at)
        *at = lo;
    return -1;
}

/* The node at rel, made (empty, with is_dir) when missing. Under the lock; NULL: no memory. */
static cnode *get_or_add(const char *rel, bool is_dir)
{
    size_t at = 0;
    long i = find(rel, &at);
    char *copy;

    if (i >= 0)
        return &nodes[i];
    if (count == cap) {
        size_t nc = cap ? cap * 2 : 16;
        cnode *nn = realloc(nodes, nc * sizeof *nn);
        if (!nn)
            return NULL;
        nodes = nn;
        cap = nc;
    }
    copy = strdup(rel);
    if (!copy)
        return NULL;
    memmove(&nodes[at + 1], &nodes[at], (count - at) * sizeof *nodes);
    memset(&nodes[at], 0, sizeof *nodes);
    nodes[at].rel = copy;
    nodes[at].is_dir = is_dir;
    nodes[at].mtime = time(NULL);
    count++;
    return &nodes[at];
}

static void remove_at(size_t i)
{
    free(nodes[i].rel);
    free(nodes[i].data);
    memmove(&nodes[i], &nodes[i + 1], (count - i - 1) * sizeof *nodes);
    count--;
}

int conflicts_put(const char *app, const char *coll, const char *name, const char *data,
                  size_t len, char *kept, size_t keptsz)
{
    const char *dot = strrchr(name, '.');
    size_t la = strlen(app), lc = strlen(coll), ln = strlen(name);
    size_t stem = dot && dot != name ? (size_t)(dot - name) : ln, dirlen = la + 1 + lc;
    size_t relsz = dirlen + ln + 32;
    char *rel = malloc(relsz), *copy = malloc(len ? len : 1);
    cnode *n = NULL;
    int rc = 0;

    if (keptsz)
        kept[0] = '\0';
    if (!rel || !copy) {
        rc = -ENOMEM;
        goto cleanup;
    }
    memcpy(copy, data, len);
    pthread_mutex_lock(&lock);
    memcpy(rel, app, la + 1);
    if (!get_or_add(rel, true))
        rc = -ENOMEM;
    rel[la] = '/';
    memcpy(rel + la + 1, coll, lc + 1);
    if (rc == 0 && !get_or_add(rel, true))
        rc = -ENOMEM;
    for (unsigned k = 1; rc == 0 && !n; k++) {
        long i;
        if (k == 1)
            snprintf(rel + dirlen, relsz - dirlen, "/%s", name);
        else
            snprintf(rel + dirlen, relsz - dirlen, "/%.*s.%u%s", (int)stem, name, k,
                     name + stem);
        i = find(rel, NULL);
        if (i >= 0 && (nodes[i].is_dir ||
                       (nodes[i].len == len && memcmp(nodes[i].data, data, len) != 0) ||
                       nodes[i].len != len))
            continue; /* another text (or a directory) there */
        if (!(n = get_or_add(rel, false)))
            rc = -ENOMEM;
    }
    if (n) {
        free(n->data);
        n->data = copy;
        copy = NULL;
        n->len = len;
        n->mtime = time(NULL);
        if (keptsz)
            snprintf(kept, keptsz, "%s", rel + dirlen + 1);
    }
    pthread_mutex_unlock(&lock);
cleanup:
    free(rel);
    free(copy);
    return rc;
}

int conflicts_stat(const char *rel, bool *is_dir, size_t *size, time_t *mtime)
{
    long i;
    int rc = 0;

    *is_dir = true;
    *size = 0;
    *mtime = 0;
    if (!rel[0])
        return 0; /* the conflicts directory: always there (its time: the caller's) */
    pthread_mutex_lock(&lock);
    i = find(rel, NULL);
    if (i < 0) {
        rc = -ENOENT;
    } else {
        *is_dir = nodes[i].is_dir;
        *size = nodes[i].len;
        *mtime = nodes[i].mtime;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

/* Whether node n lies directly in directory rel (of length rl). */
static bool child_of(const cnode *n, const char *rel, size_t rl)
{
    const char *rest = n->rel;
    if (rl) {
        if (strncmp(n->rel, rel, rl) != 0 || n->rel[rl] != '/')
            return false;
        rest = n->rel + rl + 1;
    }
    return rest[0] && !strchr(rest, '/');
}

int conflicts_list(const char *rel, conflicts_fill_fn fn, void *ud)
{
    size_t rl = strlen(rel), n = 0;
    cnode *copy = NULL;
    long i;
    int rc = 0;

    /* Copied out, so fn runs without the lock. */
    pthread_mutex_lock(&lock);
    i = rl ? find(rel, NULL) : 0;
    if (i < 0)
        rc = -ENOENT;
    else if (rl && !nodes[i].is_dir)
        rc = -ENOTDIR;
    else if (count && !(copy = calloc(count, sizeof *copy)))
        rc = -ENOMEM;
    for (size_t k = 0; rc == 0 && k < count; k++) {
        if (!child_of(&nodes[k], rel, rl))
            continue;
        copy[n] = nodes[k];
        copy[n].data = NULL;
        copy[n].rel = strdup(strrchr(nodes[k].rel, '/') ? strrchr(nodes[k].rel, '/') + 1
                                                        : nodes[k].rel);
        if (!copy[n].rel)
            rc = -ENOMEM;
        else
            n++;
    }
    pthread_mutex_unlock(&lock);
    for (size_t k = 0; rc == 0 && k < n; k++)
        if (fn(ud, copy[k].rel, copy[k].is_dir, copy[k].len, copy[k].mtime))
            break;
    for (size_t k = 0; k < n; k++)
        free(copy[k].rel);
    free(copy);
    return rc;
}

int conflicts_read(const char *rel, char **data, size_t *len)
{
    long i;
    int rc = 0;

    *data = NULL;
    *len = 0;
    pthread_mutex_lock(&lock);
    i = rel[0] ? find(rel, NULL) : -1;
    if (!rel[0] || (i >= 0 && nodes[i].is_dir)) {
        rc = -EISDIR;
    } else if (i < 0) {
        rc = -ENOENT;
    } else if (!(*data = malloc(nodes[i].len ? nodes[i].len : 1))) {
        rc = -ENOMEM;
    } else {
        memcpy(*data, nodes[i].data, nodes[i].len);
        *len = nodes[i].len;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int conflicts_unlink(const char *rel)
{
    long i;
    int rc = 0;

    if (!rel[0])
        return -EISDIR;
    pthread_mutex_lock(&lock);
    i = find(rel, NULL);
    if (i < 0)
        rc = -ENOENT;
    else if (nodes[i].is_dir)
        rc = -EISDIR;
    else
        remove_at((size_t)i);
    pthread_mutex_unlock(&lock);
    return rc;
}

int conflicts_rmdir(const char *rel)
{
    size_t rl = strlen(rel);
    long i;
    int rc = 0;

    if (!rel[0])
        return -EACCES;
    pthread_mutex_lock(&lock);
    i = find(rel, NULL);
    if (i < 0) {
        rc = -ENOENT;
    } else if (!nodes[i].is_dir) {
        rc = -ENOTDIR;
    } else {
        for (size_t k = 0; k < count && rc == 0; k++)
            if (child_of(&nodes[k], rel, rl))
                rc = -ENOTEMPTY;
        if (rc == 0)
            remove_at((size_t)i);
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int conflicts_attr(const char *rel, uid_t uid, gid_t gid, time_t dflt_time, struct stat *st)
{
    bool is_dir;
    size_t size;
    time_t mtime;
    int rc = conflicts_stat(rel, &is_dir, &size, &mtime);

    if (rc)
        return rc;
    memset(st, 0, sizeof *st);
    st->st_uid = uid;
    st->st_gid = gid;
    st->st_blksize = 4096;
    st->st_mode = is_dir ? S_IFDIR | 0755 : S_IFREG | 0644;
    st->st_nlink = is_dir ? 2 : 1;
    st->st_size = (off_t)size;
    st->st_blocks = (blkcnt_t)((size + 511) / 512);
    st->st_mtim.tv_sec = mtime ? mtime : dflt_time;
    st->st_ctim = st->st_mtim;
    st->st_atim = st->st_mtim;
    return 0;
}

typedef struct cfill {
    void *buf;
    fuse_fill_dir_t filler;
    uid_t uid;
    gid_t gid;
    off_t off, next;
} cfill;

static int fill_one(void *ud, const char *name, bool is_dir, size_t size, time_t mtime)
{
    cfill *cf = ud;
    struct stat st;

    cf->next++;
    if (cf->next <= cf->off)
        return 0;
    memset(&st, 0, sizeof st);
    st.st_uid = cf->uid;
    st.st_gid = cf->gid;
    st.st_mode = is_dir ? S_IFDIR | 0755 : S_IFREG | 0644;
    st.st_nlink = is_dir ? 2 : 1;
    st.st_size = (off_t)size;
    st.st_mtim.tv_sec = mtime;
    st.st_ctim = st.st_atim = st.st_mtim;
    return cf->filler(cf->buf, name, &st, cf->next, FUSE_FILL_DIR_PLUS) ? 1 : 0;
}

int conflicts_readdir(const char *rel, uid_t uid, gid_t gid, time_t dflt_time, void *buf,
                      fuse_fill_dir_t filler, off_t off)
{
    cfill cf = {.buf = buf, .filler = filler, .uid = uid, .gid = gid, .off = off, .next = 2};
    struct stat st;
    int rc = conflicts_attr(rel, uid, gid, dflt_time, &st);

    if (rc)
        return rc;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if (off < 1 && filler(buf, ".", &st, 1, 0))
        return 0;
    if (off < 2 && filler(buf, "..", &st, 2, 0))
        return 0;
    return conflicts_list(rel, fill_one, &cf);
}

size_t conflicts_count(void)
{
    size_t n = 0;
    pthread_mutex_lock(&lock);
    for (size_t k = 0; k < count; k++)
        if (!nodes[k].is_dir)
            n++;
    pthread_mutex_unlock(&lock);
    return n;
}

void conflicts_clear(void)
{
    pthread_mutex_lock(&lock);
    while (count)
        remove_at(count - 1);
    free(nodes);
    nodes = NULL;
    cap = 0;
    pthread_mutex_unlock(&lock);
}
