/* tasks.c: the operations table with the release-task files added (tasks.h): paths,
 * handles, and the dispatch of each operation to the export or actionflow side. */
#include "tasks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errlog.h"
#include "layout.h"
#include "log.h"
#include "ops.h"
#include "tasks_int.h"

#define TK_MAGIC 0x74736b73u /* "tsks" */

static const struct fuse_operations *inner;
static struct fuse_operations table;

/* ------------------------------------------------------------------------- */
/* Paths                                                                      */
/* ------------------------------------------------------------------------- */

/* Whether name ends with suffix and has something before it. */
static bool ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n > s && strcmp(name + n - s, suffix) == 0;
}

static int stem(tk_path *out, const char *name, const char *suffix)
{
    size_t n = strlen(name) - strlen(suffix);
    if (n >= sizeof out->name)
        return -ENAMETOOLONG;
    memcpy(out->name, name, n);
    out->name[n] = '\0';
    return 0;
}

int tk_parse(const char *path, tk_path *out)
{
    static const char flows[] = "/actionflows/", exports[] = "/" TK_EXPORTS_NAME;
    const char *name;

    memset(out, 0, sizeof *out);
    if (!path)
        return 0;
    if (strncmp(path, flows, sizeof flows - 1) == 0) {
        name = path + sizeof flows - 1;
        if (strchr(name, '/') || name[0] == '.')
            return 0;
        /* Checked first: "<id>.last-run.json" ends with ".json" too. */
        if (ends_with(name, TK_LAST_RUN_SUFFIX)) {
            out->kind = TK_LAST_RUN;
            return stem(out, name, TK_LAST_RUN_SUFFIX);
        }
        if (ends_with(name, TK_START_SUFFIX)) {
            out->kind = TK_START;
            return stem(out, name, TK_START_SUFFIX);
        }
        return 0;
    }
    if (strncmp(path, exports, sizeof exports - 1) != 0)
        return 0;
    name = path + sizeof exports - 1;
    if (*name == '\0') {
        out->kind = TK_EXPORTS;
        return 0;
    }
    if (*name != '/')
        return 0; /* "/exportsX": not ours */
    name++;
    if (strchr(name, '/'))
        return -ENOENT;
    if (strlen(name) > NAME_MAX)
        return -ENAMETOOLONG;
    /* Apps' names never start with '.' (names.h): such names are nobody's. */
    if (name[0] == '.' || !ends_with(name, LAYOUT_SUFFIX))
        return -ENOENT;
    out->kind = TK_EXPORT;
    return stem(out, name, LAYOUT_SUFFIX);
}

/* 1 when path is one of ours (*p parsed), 0 when not, or a negative errno. */
static int mine(const char *path, tk_path *p)
{
    int rc = tk_parse(path, p);
    return rc ? rc : p->kind != TK_NONE;
}

static int is_mine(const char *path)
{
    tk_path p;
    return mine(path, &p);
}

/* ------------------------------------------------------------------------- */
/* Shared helpers                                                             */
/* ------------------------------------------------------------------------- */

/* A document is held in a wbuf, whose bound is the documents' bound. */
_Static_assert(TASKS_MAX_DOC == WBUF_MAX, "TASKS_MAX_DOC is the bound of wbuf_write");

int tk_buf_write(tk_file *f, const char *data, size_t size, off_t off)
{
    int rc = wbuf_write(&f->doc, data, size, off);

    if (rc)
        return rc;
    f->dirty = true;
    return size > INT32_MAX ? INT32_MAX : (int)size;
}

int tk_refuse(const char *op, const char *path, int rc, const char *what, const char *why)
{
    cf_error e;

    cf_error_clear(&e);
    e.kind = CF_ERR_INVALID;
    snprintf(e.message, sizeof e.message, "%s", why);
    log_error("%s: %s: %s", path + 1, what, why);
    errlog_add(op, path, rc, &e);
    return -rc;
}

int tk_take(tk_file *f, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    pthread_mutex_lock(&f->lock);
    if (!f->writable || !f->dirty) {
        pthread_mutex_unlock(&f->lock);
        return 0;
    }
    f->dirty = false;
    f->sent = true;
    *out = malloc(f->doc.len + 1);
    if (*out) {
        memcpy(*out, f->doc.data ? f->doc.data : "", f->doc.len);
        (*out)[f->doc.len] = '\0';
        *len = f->doc.len;
    }
    pthread_mutex_unlock(&f->lock);
    return *out ? 0 : -ENOMEM;
}

int tk_parse_object(const char *op, const char *path, const char *what, const char *data,
                    size_t len, cf_json **out)
{
    cf_json_problem pb;
    char why[400];

    memset(&pb, 0, sizeof pb);
    *out = cf_json_parse(data, len, CF_JSON_OBJECT_ONLY | CF_JSON_NO_DUP_KEYS, &pb);
    if (*out)
        return 0;
    if (pb.line > 0)
        snprintf(why, sizeof why, "line %d, column %d: %s", pb.line, pb.column, pb.what);
    else
        snprintf(why, sizeof why, "%s", pb.what[0] ? pb.what : "not a JSON object");
    return tk_refuse(op, path, EINVAL, what, why);
}

static tk_file *handle(const struct fuse_file_info *fi)
{
    tk_file *f = fi ? (tk_file *)(uintptr_t)fi->fh : NULL;
    return f && f->magic == TK_MAGIC ? f : NULL;
}

tk_file *tk_handle_new(const char *path, const tk_path *p, struct fuse_file_info *fi)
{
    tk_file *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->magic = TK_MAGIC;
    f->kind = p->kind;
    snprintf(f->name, sizeof f->name, "%s", p->name);
    snprintf(f->path, sizeof f->path, "%s", path);
    pthread_mutex_init(&f->lock, NULL);
    f->writable = (fi->flags & O_ACCMODE) != O_RDONLY;
    fi->fh = (uint64_t)(uintptr_t)f;
    fi->direct_io = 1;
    fi->keep_cache = 0;
    return f;
}

void tk_handle_free(tk_file *f)
{
    if (!f)
        return;
    f->magic = 0;
    pthread_mutex_destroy(&f->lock);
    wbuf_free(&f->doc);
    free(f->show);
    free(f);
}

static void dir_stat(struct stat *st)
{
    fs_ctx *x = ops_ctx();
    cache_attr a;

    memset(&a, 0, sizeof a);
    a.is_dir = true;
    a.mode = TK_EXPORTS_MODE;
    a.mtime = time(NULL);
    ops_stat(x, &a, st);
}

/* ------------------------------------------------------------------------- */
/* Operations                                                                 */
/* ------------------------------------------------------------------------- */

#define INNER(op, ...) (inner->op ? inner->op(__VA_ARGS__) : -ENOSYS)

/* The actionflow <name> exists (its <name>.json answers getattr). */
static int flow_exists(const tk_path *p)
{
    char path[PATH_MAX];
    struct stat st;

    if (snprintf(path, sizeof path, "/actionflows/%s%s", p->name, LAYOUT_SUFFIX) >=
        (int)sizeof path)
        return -ENAMETOOLONG;
    return INNER(getattr, path, &st, NULL);
}

static int w_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    tk_path p;
    int m = mine(path, &p), rc;

    if (m <= 0)
        return m < 0 ? m : INNER(getattr, path, st, fi);
    switch (p.kind) {
    case TK_EXPORTS:
        dir_stat(st);
        return 0;
    case TK_EXPORT:
        return tk_export_getattr(path, &p, handle(fi), st);
    case TK_START:
        rc = handle(fi) ? 0 : flow_exists(&p);
        return rc ? rc : tk_start_getattr(path, &p, st);
    case TK_LAST_RUN:
        return tk_start_getattr(path, &p, st);
    case TK_NONE:
        break;
    }
    return -ENOENT;
}

static int w_opendir(const char *path, struct fuse_file_info *fi)
{
    tk_path p;
    int m = mine(path, &p);
    if (m <= 0)
        return m < 0 ? m : inner->opendir ? inner->opendir(path, fi) : 0;
    return p.kind == TK_EXPORTS ? 0 : -ENOTDIR;
}

static int w_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                     struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    tk_path p;
    int m = mine(path, &p);
    if (m <= 0)
        return m < 0 ? m : INNER(readdir, path, buf, filler, off, fi, flags);
    return p.kind == TK_EXPORTS ? tk_exports_readdir(path, buf, filler, off) : -ENOTDIR;
}

static int w_releasedir(const char *path, struct fuse_file_info *fi)
{
    return is_mine(path) > 0 ? 0 : inner->releasedir ? inner->releasedir(path, fi) : 0;
}

static int open_mine(const char *path, const tk_path *p, struct fuse_file_info *fi, bool create)
{
    int rc;

    switch (p->kind) {
    case TK_EXPORTS:
        return -EISDIR;
    case TK_EXPORT:
        return tk_export_open(path, p, fi, create);
    case TK_START:
        rc = flow_exists(p);
        return rc ? rc : tk_start_open(path, p, fi);
    case TK_LAST_RUN:
        return create ? -EACCES : tk_start_open(path, p, fi);
    case TK_NONE:
        break;
    }
    return -ENOENT;
}

static int w_open(const char *path, struct fuse_file_info *fi)
{
    tk_path p;
    int m = mine(path, &p);
    return m < 0 ? m : m ? open_mine(path, &p, fi, false) : inner->open ? inner->open(path, fi) : 0;
}

static int w_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    tk_path p;
    int m = mine(path, &p);
    return m < 0 ? m : m ? open_mine(path, &p, fi, true) : INNER(create, path, mode, fi);
}

static int w_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    tk_file *f;
    int n = 0;

    if (is_mine(path) <= 0)
        return INNER(read, path, buf, size, off, fi);
    f = handle(fi);
    if (!f)
        return -EBADF;
    if (off < 0)
        return -EINVAL;
    pthread_mutex_lock(&f->lock);
    /* A writer that sent nothing yet reads what it wrote; anything else what it shows. */
    const char *data = f->show ? f->show : f->doc.data;
    size_t len = f->show ? f->show_len : f->doc.len;
    if ((uint64_t)off < len) {
        size_t k = len - (size_t)off < size ? len - (size_t)off : size;
        memcpy(buf, data + off, k);
        n = k > INT32_MAX ? INT32_MAX : (int)k;
    }
    pthread_mutex_unlock(&f->lock);
    return n;
}

static int w_write(const char *path, const char *buf, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
    tk_file *f;
    int rc;

    if (is_mine(path) <= 0)
        return INNER(write, path, buf, size, off, fi);
    f = handle(fi);
    if (!f)
        return -EBADF;
    pthread_mutex_lock(&f->lock);
    /* One start or import per open: its answer is what the handle reads now. */
    rc = !f->writable ? -EBADF : f->sent ? -EBUSY : tk_buf_write(f, buf, size, off);
    pthread_mutex_unlock(&f->lock);
    return rc;
}

static int flush_mine(tk_file *f)
{
    if (!f)
        return 0;
    if (f->kind == TK_EXPORT)
        return tk_export_flush(f);
    if (f->kind == TK_START)
        return tk_start_flush(f);
    return 0;
}

/* flush and fsync answer 0 for other paths when inner has none (as ndjson_wrap.c). */
static int w_flush(const char *path, struct fuse_file_info *fi)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? flush_mine(handle(fi)) : inner->flush ? inner->flush(path, fi) : 0;
}

static int w_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? flush_mine(handle(fi)) : inner->fsync ? inner->fsync(path, datasync, fi) : 0;
}

static int w_release(const char *path, struct fuse_file_info *fi)
{
    tk_file *f;

    if (is_mine(path) <= 0)
        return inner->release ? inner->release(path, fi) : 0;
    f = handle(fi);
    if (f && f->kind == TK_EXPORT)
        tk_export_release(f);
    tk_handle_free(f);
    fi->fh = 0;
    return 0;
}

static int w_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    tk_path p;
    tk_file *f;
    int m = mine(path, &p), rc = 0;

    if (m <= 0)
        return m < 0 ? m : INNER(truncate, path, size, fi);
    if (p.kind == TK_EXPORTS)
        return -EISDIR;
    if (p.kind == TK_LAST_RUN)
        return -EACCES;
    f = handle(fi);
    /* Without a handle (truncate(2)), and to the length held: nothing to do. */
    if (!f)
        return size == 0 ? 0 : -EINVAL;
    pthread_mutex_lock(&f->lock);
    if (!f->writable)
        rc = -EBADF;
    else if (size < 0 || (uint64_t)size > f->doc.len)
        rc = -EINVAL;
    else
        rc = wbuf_truncate(&f->doc, size); /* a cut: size is within what is held */
    pthread_mutex_unlock(&f->lock);
    return rc;
}

/* Times and modes of these files are generated: setting them is accepted and keeps
 * nothing (so touch, cp -p and rsync's attribute passes work). */
static int w_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    tk_path p;
    int m = mine(path, &p);
    return m < 0 ? m : m ? 0 : INNER(utimens, path, tv, fi);
}

static int w_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? 0 : INNER(chmod, path, mode, fi);
}

static int w_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? 0 : INNER(chown, path, uid, gid, fi);
}

/* Removing or renaming an export would not delete an app, nor a .start file a flow. */
static int w_unlink(const char *path)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? -EPERM : INNER(unlink, path);
}

static int w_rmdir(const char *path)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? -EPERM : INNER(rmdir, path);
}

static int w_mkdir(const char *path, mode_t mode)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? -EPERM : INNER(mkdir, path, mode);
}

static int w_symlink(const char *target, const char *path)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? -EPERM : INNER(symlink, target, path);
}

static int w_rename(const char *from, const char *to, unsigned int flags)
{
    return is_mine(from) || is_mine(to) ? -EPERM : INNER(rename, from, to, flags);
}

static int w_readlink(const char *path, char *buf, size_t size)
{
    int m = is_mine(path);
    return m < 0 ? m : m ? -EINVAL : INNER(readlink, path, buf, size);
}

static void w_destroy(void *private_data)
{
    tk_start_shutdown();
    tk_export_forget();
    if (inner->destroy)
        inner->destroy(private_data);
}

const struct fuse_operations *tasks_wrap(const struct fuse_operations *in)
{
    if (inner == in)
        return &table;
    inner = in;
    table = *in;
    table.getattr = w_getattr;
    table.opendir = w_opendir;
    table.readdir = w_readdir;
    table.releasedir = w_releasedir;
    table.open = w_open;
    table.create = w_create;
    table.read = w_read;
    table.write = w_write;
    table.flush = w_flush;
    table.fsync = w_fsync;
    table.release = w_release;
    table.truncate = w_truncate;
    table.utimens = w_utimens;
    table.chmod = w_chmod;
    table.chown = w_chown;
    table.unlink = w_unlink;
    table.rmdir = w_rmdir;
    table.mkdir = w_mkdir;
    table.symlink = w_symlink;
    table.rename = w_rename;
    table.readlink = w_readlink;
    table.destroy = w_destroy;
    /* libfuse calls read_buf/write_buf instead of read/write when a table has them: the
     * tables below have none (ops.c has none, ndjson_wrap.c adds them only then), and
     * these files are served by read and write. */
    table.read_buf = NULL;
    table.write_buf = NULL;
    return &table;
}
