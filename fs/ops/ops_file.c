/* ops_file.c: the file operations: open (a content snapshot per handle), read, release. */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <fuse_lowlevel.h>

#include "lowlevel.h"

#include "errlog.h"
#include "layout.h"
#include "log.h"
#include "ops_write.h"
#include "wnode.h"

/* Contents up to this size are put in the kernel's page cache by the open itself. */
#define PUSH_MAX (128 * 1024)

/* The size the kernel holds for the file being opened, compared with len; *ino its node.
 * The inode table knows it (the last size answered to the kernel, or grown by its
 * writes): nothing is asked of anyone. */
typedef enum ksize { KSIZE_UNKNOWN, KSIZE_SAME, KSIZE_OTHER } ksize;

static ksize kernel_size(size_t len, fuse_ino_t *ino)
{
    uint64_t n, size;

    if (!ll_open_node(&n, &size) || size == LL_SIZE_UNKNOWN)
        return KSIZE_UNKNOWN;
    *ino = (fuse_ino_t)n;
    return size == len ? KSIZE_SAME : KSIZE_OTHER;
}

/* Stores content in the kernel's page cache for inode ino (FUSE_NOTIFY_STORE) before the
 * open returns, so that the reads which follow are served by the kernel: no READ round
 * trip per file (cat, grep, cp of many small files). Returns whether it is all there
 * (the open may then keep the cache). */
static bool push_content(fuse_ino_t ino, const lru_item *content)
{
    struct fuse_bufvec bv = FUSE_BUFVEC_INIT(content->len);

    if (content->len == 0 || content->len > PUSH_MAX)
        return false;
    bv.buf[0].mem = (void *)content->data;
    return fuse_lowlevel_notify_store(ll_session(), ino, 0,
                                      &bv, 0) == 0;
}

int ops_open(const char *path, struct fuse_file_info *fi)
{
    fs_ctx *x = ops_ctx();
    layout_path p;
    fs_file *f;
    lru_item *content = NULL;
    cache_attr attr;
    bool changed = false;
    fuse_ino_t ino = 0;
    ksize k;
    cf_error err;
    int rc;

    /* Opens for writing, and of files being written, new or local: the write side's. */
    rc = wr_open(path, fi);
    if (rc <= 0)
        return rc;
    rc = layout_parse(path, &p);
    if (rc)
        return rc;
    if (layout_is_dir(p.kind))
        return -EISDIR;
    /* What is left of writing (names that are no file of the tree) is refused here. */
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
        return p.kind == LAYOUT_VERSION ? -EACCES : -EROFS;
    /* Close-to-open: a record not confirmed within `revalidate` is asked for again. */
    rc = cache_open_reader(x->cache, &p, &content, &attr, &changed, &err);
    if (rc) {
        errlog_report("open", path, rc, &err);
        return rc;
    }
    f = calloc(1, sizeof *f);
    if (!f) {
        lru_item_unref(content);
        return -ENOMEM;
    }
    f->content = content;
    f->attr = attr;
    f->flags = fi->flags;
    fi->fh = (uint64_t)(uintptr_t)f;
    /* A read-only snapshot has nothing to flush: close(2) sends no FLUSH (a round trip
     * per file less for cat, cp, grep). */
    fi->noflush = 1;
    /* The content was fetched just now with another size than the kernel may hold, or
     * the kernel holds another size (a listing's, taken before a save ended): read around
     * the page cache, which the kernel cuts at its size, so no byte is cut off or
     * invented. */
    /* Another version than the kernel's attributes say: it forgets them (they are kept
     * for cache_ttl, ops_attr_timeout), so the next stat shows this one. */
    if (changed)
        ll_invalidate_path(path);
    k = changed ? KSIZE_OTHER : kernel_size(content->len, &ino);
    /* A file written here lately may be rewritten in place while this handle reads it:
     * the kernel then cuts its page cache and takes the writer's size (wnode.h). */
    if (k != KSIZE_OTHER && wf_written_lately(path))
        k = KSIZE_OTHER;
    fi->direct_io = k == KSIZE_OTHER;
    /* Else the kernel's cache gets this content now and is kept; when that cannot be
     * done, it is dropped as the open returns and reads come here. */
    fi->keep_cache = k == KSIZE_SAME && push_content(ino, content);
    return 0;
}

int ops_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    fs_file *f = (fs_file *)(uintptr_t)fi->fh;
    size_t len;

    if (wr_is_handle(fi))
        return wr_read(path, buf, size, off, fi);
    if (!f)
        return -EBADF;
    len = f->content->len;
    if (off < 0)
        return -EINVAL;
    if ((uint64_t)off >= len)
        return 0;
    if (size > len - (size_t)off)
        size = len - (size_t)off;
    if (size > INT32_MAX)
        size = INT32_MAX;
    memcpy(buf, f->content->data + off, size);
    return (int)size;
}

int ops_release(const char *path, struct fuse_file_info *fi)
{
    fs_file *f = (fs_file *)(uintptr_t)fi->fh;
    if (wr_release(path, fi) == 0)
        return 0;
    if (f) {
        lru_item_unref(f->content);
        free(f);
    }
    fi->fh = 0;
    return 0;
}
