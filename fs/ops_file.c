/* ops_file.c: the file operations: open (a content snapshot per handle), read, release. */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "log.h"
#include "ops_write.h"

int ops_open(const char *path, struct fuse_file_info *fi)
{
    fs_ctx *x = ops_ctx();
    layout_path p;
    fs_file *f;
    lru_item *content = NULL;
    cache_attr attr;
    bool changed = false;
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
    rc = cache_open(x->cache, &p, &content, &attr, &changed, &err);
    if (rc) {
        ops_report("open", path, rc, &err);
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
    fi->keep_cache = 0;
    /* The content was fetched just now with another size than the kernel may hold: read
     * around the page cache so no byte is cut off or invented. */
    fi->direct_io = changed ? 1 : 0;
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
