/* ndjson.c: the nodes of the streamed trees (ndjson.h): paths, attributes, directories,
 * and open files (a read stream or a write session each). ndjson_wrap.c routes the FUSE
 * operations of these paths here. */
#include "ndjson_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "cache_ndjson.h"
#include "errlog.h"
#include "log.h"
#include "ops.h"
#include "uploader.h"

#define ND_DIR_MODE 0755
#define ND_DF_MODE 0644
#define ND_QR_MODE 0444

/* ------------------------------------------------------------------------- */
/* Paths                                                                      */
/* ------------------------------------------------------------------------- */

static bool nd_file_name(const char *name)
{
    size_t len = strlen(name), sl = strlen(CACHE_ND_SUFFIX);
    return name[0] != '.' && len > sl && strcmp(name + len - sl, CACHE_ND_SUFFIX) == 0;
}

int nd_parse(const char *path, nd_path *out)
{
    char *part[3];
    size_t n = 0, len;
    char *p, *slash;

    out->kind = ND_NONE;
    out->app = out->file = NULL;
    if (!path || path[0] != '/')
        return 0;
    /* Every other path (most of the traffic) leaves at the first component. */
    len = strcspn(path + 1, "/");
    if (!((len == strlen(ND_DATAFRAMES) && memcmp(path + 1, ND_DATAFRAMES, len) == 0) ||
          (len == strlen(ND_QUERY_RESULTS) && memcmp(path + 1, ND_QUERY_RESULTS, len) == 0)))
        return 0;
    len = strlen(path);
    if (len >= sizeof out->buf)
        return -ENAMETOOLONG;
    memcpy(out->buf, path, len + 1);
    p = out->buf + 1;
    for (;;) {
        if (n == 3) /* a fourth component: below a file, or too deep */
            return out->buf[1] == 'd' && nd_file_name(part[2]) ? -ENOTDIR : -ENOENT;
        part[n++] = p;
        slash = strchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
        p = slash + 1;
        if (!*p)
            break; /* a trailing slash */
    }
    for (size_t i = 1; i < n; i++)
        if (!part[i][0] || part[i][0] == '.')
            return -ENOENT;
    if (strcmp(part[0], ND_DATAFRAMES) == 0) {
        if (n == 1) {
            out->kind = ND_DF_ROOT;
            return 0;
        }
        out->app = part[1];
        if (n == 2) {
            out->kind = ND_DF_APP;
            return 0;
        }
        if (!nd_file_name(part[2]))
            return -ENOENT;
        out->kind = ND_DF_FILE;
        out->file = part[2];
        return 0;
    }
    if (n == 1) {
        out->kind = ND_QR_ROOT;
        return 0;
    }
    if (n > 2)
        return nd_file_name(part[1]) ? -ENOTDIR : -ENOENT;
    if (!nd_file_name(part[1]))
        return -ENOENT;
    out->kind = ND_QR_FILE;
    out->file = part[1];
    return 0;
}

bool nd_is_dir(nd_kind kind)
{
    return kind == ND_DF_ROOT || kind == ND_DF_APP || kind == ND_QR_ROOT;
}

/* ------------------------------------------------------------------------- */
/* Nodes                                                                      */
/* ------------------------------------------------------------------------- */

static void dir_attr(cache_attr *a, time_t t)
{
    memset(a, 0, sizeof *a);
    a->is_dir = true;
    a->mode = ND_DIR_MODE;
    a->mtime = t;
}

static void file_attr(cache_attr *a, nd_kind kind, time_t t)
{
    memset(a, 0, sizeof *a);
    a->mode = kind == ND_QR_FILE ? ND_QR_MODE : ND_DF_MODE;
    a->size = 0; /* not known without reading everything: readers read to the end */
    a->mtime = t;
}

/* The attributes of a node, and (when app/key are non-NULL, for files) its server keys,
 * malloc'ed. Names are checked against the fresh lists. */
static int node(const char *op, const char *path, const nd_path *p, cache_attr *a, char **app,
                char **key)
{
    fs_ctx *x = ops_ctx();
    time_t t = cache_nd_mount_time(x->cache);
    char *k1 = NULL, *k2 = NULL;
    cf_error err;
    int rc = 0;

    cf_error_clear(&err);
    switch (p->kind) {
    case ND_DF_ROOT:
    case ND_QR_ROOT:
        break;
    case ND_DF_APP:
        rc = cache_nd_app(x->cache, p->app, &k1, &err);
        break;
    case ND_DF_FILE:
        rc = cache_nd_collection(x->cache, p->app, p->file, &k1, &k2, &err);
        break;
    case ND_QR_FILE:
        rc = cache_nd_query(x->cache, p->file, &k2, &err);
        break;
    case ND_NONE:
        rc = -ENOENT;
        break;
    }
    if (rc) {
        errlog_report(op, path, rc, &err);
        return rc;
    }
    if (nd_is_dir(p->kind))
        dir_attr(a, t);
    else
        file_attr(a, p->kind, t);
    if (app)
        *app = k1;
    else
        free(k1);
    if (key)
        *key = k2;
    else
        free(k2);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Handles                                                                    */
/* ------------------------------------------------------------------------- */

#define ND_MAGIC 0x6e646a73u /* "ndjs" */

typedef struct nd_file {
    uint32_t magic;
    nd_kind kind;
    cache_attr attr;
    nd_stream *stream;       /* opened for reading */
    nd_writer *writer;       /* opened for writing */
    char **names;            /* directories: the entries, from the last readdir at 0 */
    size_t nnames;
    struct nd_file *prev, *next; /* open files (streams and writers), for nd_shutdown */
} nd_file;

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static nd_file *live;

static void live_add(nd_file *f)
{
    pthread_mutex_lock(&live_lock);
    f->next = live;
    if (live)
        live->prev = f;
    live = f;
    pthread_mutex_unlock(&live_lock);
}

static void live_remove(nd_file *f)
{
    pthread_mutex_lock(&live_lock);
    if (f->prev)
        f->prev->next = f->next;
    else if (live == f)
        live = f->next;
    if (f->next)
        f->next->prev = f->prev;
    f->prev = f->next = NULL;
    pthread_mutex_unlock(&live_lock);
}

static nd_file *handle(const struct fuse_file_info *fi)
{
    nd_file *f = fi ? (nd_file *)(uintptr_t)fi->fh : NULL;
    return f && f->magic == ND_MAGIC ? f : NULL;
}

/* Files still open when the loop ends: stop their reads (the client is freed next) and
 * send what writers hold. */
void nd_shutdown(void)
{
    pthread_mutex_lock(&live_lock);
    for (nd_file *f = live; f; f = f->next) {
        nd_stream_free(f->stream);
        f->stream = NULL;
        nd_writer_free(f->writer);
        f->writer = NULL;
    }
    pthread_mutex_unlock(&live_lock);
}

/* ------------------------------------------------------------------------- */
/* Operations on these paths (p parsed, kind != ND_NONE)                      */
/* ------------------------------------------------------------------------- */

int nd_getattr(const char *path, const nd_path *p, struct stat *st, struct fuse_file_info *fi)
{
    nd_file *f = handle(fi);
    cache_attr a;
    int rc;

    if (f) {
        ops_stat(ops_ctx(), &f->attr, st);
        return 0;
    }
    rc = node("getattr", path, p, &a, NULL, NULL);
    if (rc)
        return rc;
    ops_stat(ops_ctx(), &a, st);
    return 0;
}

int nd_opendir(const char *path, const nd_path *p, struct fuse_file_info *fi)
{
    nd_file *f;
    cache_attr a;
    int rc;

    if (!nd_is_dir(p->kind))
        return -ENOTDIR;
    rc = node("opendir", path, p, &a, NULL, NULL);
    if (rc)
        return rc;
    f = calloc(1, sizeof *f);
    if (!f)
        return -ENOMEM;
    f->magic = ND_MAGIC;
    f->kind = p->kind;
    f->attr = a;
    fi->fh = (uint64_t)(uintptr_t)f;
    return 0;
}

int nd_readdir(const char *path, const nd_path *p, void *buf, fuse_fill_dir_t filler, off_t off,
               struct fuse_file_info *fi)
{
    fs_ctx *x = ops_ctx();
    nd_file *f = handle(fi);
    time_t t = cache_nd_mount_time(x->cache);
    cache_attr dot, entry;
    struct stat st;
    cf_error err;
    int rc;

    if (!f)
        return -EBADF;
    /* From offset 0 the listing is taken again (fetched when stale). */
    if (off == 0 || !f->names) {
        cache_nd_dir which = p->kind == ND_DF_ROOT ? CACHE_ND_APPS
                             : p->kind == ND_DF_APP ? CACHE_ND_COLLECTIONS : CACHE_ND_QUERIES;
        cache_nd_names_free(f->names, f->nnames);
        f->names = NULL;
        f->nnames = 0;
        rc = cache_nd_list(x->cache, which, p->app, &f->names, &f->nnames, &err);
        if (rc) {
            errlog_report("readdir", path, rc, &err);
            return rc;
        }
    }
    dir_attr(&dot, t);
    ops_stat(x, &dot, &st);
    if (off < 1 && filler(buf, ".", &st, 1, 0))
        return 0;
    if (off < 2 && filler(buf, "..", &st, 2, 0))
        return 0;
    if (p->kind == ND_DF_ROOT)
        dir_attr(&entry, t);
    else
        file_attr(&entry, p->kind == ND_QR_ROOT ? ND_QR_FILE : ND_DF_FILE, t);
    ops_stat(x, &entry, &st);
    for (size_t i = off > 2 ? (size_t)off - 2 : 0; i < f->nnames; i++)
        if (filler(buf, f->names[i], &st, (off_t)(i + 3), FUSE_FILL_DIR_PLUS))
            break;
    return 0;
}

int nd_releasedir(struct fuse_file_info *fi)
{
    nd_file *f = handle(fi);
    if (f) {
        cache_nd_names_free(f->names, f->nnames);
        f->magic = 0;
        free(f);
    }
    fi->fh = 0;
    return 0;
}

int nd_open(const char *path, const nd_path *p, struct fuse_file_info *fi)
{
    fs_ctx *x = ops_ctx();
    int acc = fi->flags & O_ACCMODE;
    char *app = NULL, *key = NULL;
    nd_file *f;
    cache_attr a;
    int rc;

    if (nd_is_dir(p->kind))
        return -EISDIR;
    if (acc == O_RDWR)
        return -EINVAL; /* a stream is read or written, not both */
    if (acc == O_WRONLY && p->kind == ND_QR_FILE)
        return -EACCES;
    if (acc == O_WRONLY && x->ro)
        return -EROFS;
    rc = node("open", path, p, &a, &app, &key);
    if (rc)
        return rc;
    f = calloc(1, sizeof *f);
    if (!f) {
        rc = -ENOMEM;
        goto done;
    }
    f->magic = ND_MAGIC;
    f->kind = p->kind;
    f->attr = a;
    if (acc == O_WRONLY)
        f->writer = nd_writer_new(x->client, x->cache, app, key, (fi->flags & O_TRUNC) != 0,
                                  jr_wait_all);
    else
        f->stream = nd_stream_new(x->client, app, key);
    if (!f->writer && !f->stream) {
        free(f);
        rc = -ENOMEM;
        goto done;
    }
    live_add(f);
    fi->fh = (uint64_t)(uintptr_t)f;
    /* The size shown is 0: reads and writes go around the page cache, to the end. */
    fi->direct_io = 1;
    fi->keep_cache = 0;
done:
    free(app);
    free(key);
    return rc;
}

int nd_read(char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    nd_file *f = handle(fi);
    if (!f || !f->stream)
        return -EBADF;
    return nd_stream_read(f->stream, buf, size, off);
}

int nd_write(const char *buf, size_t size, struct fuse_file_info *fi)
{
    nd_file *f = handle(fi);
    /* The offset is not used: a session takes its bytes in the order they come. */
    if (!f || !f->writer)
        return -EBADF;
    return nd_writer_write(f->writer, buf, size);
}

int nd_flush(struct fuse_file_info *fi)
{
    nd_file *f = handle(fi);
    return f && f->writer ? nd_writer_flush(f->writer) : 0;
}

int nd_release(struct fuse_file_info *fi)
{
    nd_file *f = handle(fi);
    if (f) {
        live_remove(f);
        nd_stream_free(f->stream);
        nd_writer_free(f->writer);
        f->magic = 0;
        free(f);
    }
    fi->fh = 0;
    return 0;
}

int nd_truncate(const char *path, const nd_path *p, off_t size, struct fuse_file_info *fi)
{
    fs_ctx *x = ops_ctx();
    nd_file *f = handle(fi);
    char *app = NULL, *key = NULL;
    cache_attr a;
    int rc;

    if (nd_is_dir(p->kind))
        return -EISDIR;
    if (p->kind == ND_QR_FILE)
        return -EACCES;
    if (x->ro)
        return -EROFS;
    if (f && f->writer)
        return nd_writer_truncate(f->writer, size);
    if (f)
        return -EBADF;
    if (size != 0)
        return -EINVAL; /* only emptying has a meaning */
    rc = node("truncate", path, p, &a, &app, &key);
    if (rc == 0)
        rc = nd_empty(x->client, x->cache, app, key, jr_wait_all);
    free(app);
    free(key);
    return rc;
}

int nd_access(const char *path, const nd_path *p, int mask)
{
    cache_attr a;
    int rc = node("access", path, p, &a, NULL, NULL);
    if (rc)
        return rc;
    if ((mask & W_OK) && (a.mode & 0200) == 0)
        return -EACCES;
    if ((mask & W_OK) && !nd_is_dir(p->kind) && ops_ctx()->ro)
        return -EROFS;
    if ((mask & X_OK) && !a.is_dir)
        return -EACCES;
    return 0;
}
