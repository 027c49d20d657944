/* ops_dir.c: getattr and directory operations (opendir, readdir+, releasedir). */
#include "ops.h"

#include <errno.h>
#include <stdlib.h>

#include "cache_write.h"
#include "errlog.h"
#include "layout.h"
#include "log.h"
#include "ops_write.h"
#include "wnode.h"

int ops_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    fs_ctx *x = ops_ctx();
    layout_path p;
    cache_attr a;
    cf_error err;
    int rc;

    /* Files being written, new and local-only files, hidden ones: the write side's. */
    rc = wr_getattr(path, st, fi);
    if (rc <= 0)
        return rc;
    /* fstat of an open file: the snapshot it reads, without asking anyone. */
    if (fi && fi->fh) {
        fs_file *f = (fs_file *)(uintptr_t)fi->fh;
        a = f->attr;
        a.size = f->content->len;
        ops_stat(x, &a, st);
        return 0;
    }
    rc = layout_parse(path, &p);
    if (rc)
        return rc;
    rc = cache_getattr(x->cache, &p, &a, &err);
    if (rc) {
        errlog_report("getattr", path, rc, &err);
        return rc;
    }
    ops_stat(x, &a, st);
    wr_fix_stat(path, &a, st);
    return 0;
}

int ops_opendir(const char *path, struct fuse_file_info *fi)
{
    layout_path p;
    fs_dirh *h;
    int rc = layout_parse(path, &p);

    if (rc)
        return rc;
    if (!layout_is_dir(p.kind))
        return -ENOTDIR;
    /* The listing is fetched by the first readdir (from offset 0), not twice. */
    h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    fi->fh = (uint64_t)(uintptr_t)h;
    return 0;
}

typedef struct fill_ctx {
    fs_ctx *x;
    void *buf;
    fuse_fill_dir_t filler;
    wr_overlay *ov;      /* the write side's entries, or NULL */
    bool attrs_ok;       /* nothing in the directory changed since the snapshot */
    bool full;
} fill_ctx;

/* Entry `index` of the snapshot has offset index + 3 ("." is 1, ".." is 2). */
static int fill_one(void *ud, const char *name, const cache_attr *attr, bool have_attr,
                    size_t index)
{
    fill_ctx *fc = ud;
    struct stat st;
    cache_attr a = *attr;
    struct timespec mt = {a.mtime, 0};

    if (fc->ov && !wr_overlay_filter(fc->ov, name, &a, &mt, &have_attr))
        return 0;
    have_attr = have_attr && fc->attrs_ok;
    ops_stat(fc->x, &a, &st);
    st.st_mtim = st.st_ctim = st.st_atim = mt;
    if (fc->filler(fc->buf, name, &st, (off_t)(index + 3),
                   have_attr ? FUSE_FILL_DIR_PLUS : (enum fuse_fill_dir_flags)0)) {
        fc->full = true;
        return 1;
    }
    return 0;
}

int ops_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    fs_ctx *x = ops_ctx();
    fs_dirh *h = (fs_dirh *)(uintptr_t)fi->fh;
    fill_ctx fc = {.x = x, .buf = buf, .filler = filler};
    cache_attr dot = {.is_dir = true, .mode = 0755};
    struct stat st;
    layout_path p;
    cf_error err;
    int rc;
    (void)flags;

    /* From offset 0 (first read, or rewinddir) the listing is retaken, fetched if stale. */
    if (off == 0 || !h->snap) {
        cache_closedir(x->cache, h->snap);
        h->snap = NULL;
        rc = layout_parse(path, &p);
        if (rc)
            return rc;
        h->gen = wn_dir_generation(path);
        wr_overlay_free(h->ov);
        h->ov = NULL;
        rc = wr_listing_take(x, path, &p, &h->snap, &h->ov, &err);
        if (rc) {
            errlog_report("readdir", path, rc, &err);
            return rc;
        }
    }
    fc.ov = h->ov;
    /* The kernel sent this request before any change that counts after this point, and
     * keeps the attributes of a file changed since then as they are (its attr_version
     * guard). A change counted since the snapshot may be newer than the snapshot's sizes:
     * the entries go without attributes, looked up when needed. */
    fc.attrs_ok = wn_dir_generation(path) == h->gen;
    ops_stat(x, &dot, &st);
    if (off < 1 && filler(buf, ".", &st, 1, 0))
        return 0;
    if (off < 2 && filler(buf, "..", &st, 2, 0))
        return 0;
    rc = cache_readdir(x->cache, h->snap, off > 2 ? (size_t)off - 2 : 0, fill_one, &fc);
    if (rc == 0 && !fc.full && h->ov)
        wr_overlay_fill(h->ov, x, buf, filler, off,
                        (off_t)(3 + cache_dir_size(x->cache, h->snap)), fc.attrs_ok);
    return rc;
}

int ops_releasedir(const char *path, struct fuse_file_info *fi)
{
    fs_dirh *h = (fs_dirh *)(uintptr_t)fi->fh;
    (void)path;
    if (h) {
        cache_closedir(ops_ctx()->cache, h->snap);
        wr_overlay_free(h->ov);
        free(h);
    }
    fi->fh = 0;
    return 0;
}
