/* ops_list.c: the write side's part of directory listings: hidden server files left
 * out, open, new and local files shown as they are, metadata listed last, kept times. */
#include "ops_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_write.h"
#include "uploader.h"
#include "wnode.h"

/* ------------------------------------------------------------------------- */
/* Listings                                                                   */
/* ------------------------------------------------------------------------- */

enum { OV_HIDE, OV_OVERRIDE, OV_ADD };

/* A name the write side shows in a listing. Listed without attributes, always: an open,
 * new or local file's size changes without a node made, and a pending one shows the
 * server's rendering once sent; a later chunk of the listing must never give the kernel a
 * size older than the change (a read of the file would be cut at it). The kernel asks
 * for the attributes when it needs them. */
typedef struct ov_entry {
    char *name;
    int what;
    cache_attr attr;
    struct timespec mtime;
} ov_entry;

struct wr_overlay {
    char *dir;
    size_t n, cap;
    ov_entry *e;      /* sorted by name */
    const char *meta; /* .app.json / .collection.json of the directory, or NULL */
    bool meta_shown;
    cache_attr meta_attr;
    struct timespec meta_mtime;
};

/* A new entry named name at the end (counted in by the caller), or NULL (out of memory:
 * the listing goes without it). */
static ov_entry *ov_push(wr_overlay *ov, const char *name)
{
    ov_entry *e;

    if (ov->n == ov->cap) {
        size_t nc = ov->cap ? ov->cap * 2 : 8;
        ov_entry *ne = realloc(ov->e, nc * sizeof *ne);
        if (!ne)
            return NULL;
        ov->e = ne;
        ov->cap = nc;
    }
    e = &ov->e[ov->n];
    e->name = strdup(name);
    return e->name ? e : NULL;
}

static void collect(void *ud, const wnode *n, const char *name)
{
    wr_overlay *ov = ud;
    ov_entry *e = ov_push(ov, name);

    if (!e)
        return;
    e->what = n->state == WN_HIDDEN ? OV_HIDE : OV_ADD;
    wn_name_attr(n, &e->attr, &e->mtime);
    ov->n++;
}

static int cmp_ov(const void *a, const void *b)
{
    return strcmp(((const ov_entry *)a)->name, ((const ov_entry *)b)->name);
}

static ov_entry *ov_find(const wr_overlay *ov, const char *name)
{
    ov_entry key = {.name = (char *)name};
    return ov->n ? bsearch(&key, ov->e, ov->n, sizeof *ov->e, cmp_ov) : NULL;
}

/* async uploads: the names with a pending change (uploader.h) that no node shows: a put
 * is shown with its size, a delete hidden. ov->e[0..nodes) is sorted. */
typedef struct pend_ctx {
    wr_overlay *ov;
    size_t nodes;
} pend_ctx;

static void collect_pending(void *ud, const char *name, bool deleted, const cache_attr *a,
                            const struct timespec *mt)
{
    pend_ctx *pc = ud;
    wr_overlay *ov = pc->ov;
    ov_entry key = {.name = (char *)name}, *e;

    if (pc->nodes && bsearch(&key, ov->e, pc->nodes, sizeof *ov->e, cmp_ov))
        return;
    e = ov_push(ov, name);
    if (!e)
        return;
    e->what = deleted ? OV_HIDE : OV_ADD;
    e->attr = *a;
    e->mtime = *mt;
    ov->n++;
}

/* The metadata file of an app or collection is listed last, after the records and local
 * files: rm -r removes it when the directory is empty (see unlink_meta). */
static void take_meta(fs_ctx *x, wr_overlay *ov)
{
    layout_path *p = malloc(sizeof *p);
    char path[PATH_MAX];
    ov_entry *e;
    cf_error err;

    if (!p)
        return;
    if (layout_parse(ov->dir, p) == 0 && (p->kind == LAYOUT_APP || p->kind == LAYOUT_COLLECTION)) {
        ov->meta = p->kind == LAYOUT_APP ? LAYOUT_APP_META_NAME : LAYOUT_COLLECTION_META_NAME;
        e = ov_find(ov, ov->meta);
        if (e) {
            ov->meta_shown = e->what != OV_HIDE;
            ov->meta_attr = e->attr;
            ov->meta_mtime = e->mtime;
        } else {
            snprintf(path, sizeof path, "%s/%s", ov->dir, ov->meta);
            if (layout_parse(path, p) == 0 &&
                cache_getattr(x->cache, p, &ov->meta_attr, &err) == 0) {
                ov->meta_shown = true;
                wf_apply(path, &ov->meta_attr, &ov->meta_mtime);
            }
        }
    }
    free(p);
}

/* The write side's names in dir, collected BEFORE the cache's snapshot is taken (see
 * wr_listing_take). NULL: out of memory (the listing goes without them). */
static wr_overlay *overlay_collect(const char *dir)
{
    wr_overlay *ov = calloc(1, sizeof *ov);

    if (!ov)
        return NULL;
    ov->dir = strdup(dir);
    if (!ov->dir) {
        free(ov);
        return NULL;
    }
    /* Nodes first, then the journal: a save moves a name from its node to the journal
     * (jr_put before wn_unlist), so a name leaving the nodes meanwhile is in the journal
     * when that is read. */
    wn_lock();
    wn_each_in(dir, collect, ov);
    wn_unlock();
    if (jr_on()) {
        pend_ctx pc = {ov, ov->n};
        if (ov->n > 1)
            qsort(ov->e, ov->n, sizeof *ov->e, cmp_ov);
        jr_each_in(dir, collect_pending, &pc);
    }
    return ov;
}

/* The names the snapshot lists too are shown once, in the snapshot's place. */
static void overlay_bind(fs_ctx *x, wr_overlay *ov, cache_dir *snap)
{
    for (size_t i = 0; i < ov->n; i++)
        if (ov->e[i].what == OV_ADD && cache_dir_has(x->cache, snap, ov->e[i].name))
            ov->e[i].what = OV_OVERRIDE;
    if (ov->n > 1)
        qsort(ov->e, ov->n, sizeof *ov->e, cmp_ov);
    take_meta(x, ov);
}

int wr_listing_take(fs_ctx *x, const char *dir, const layout_path *p, cache_dir **snap,
                    wr_overlay **ov, cf_error *err)
{
    /* Order matters: a save or an upload puts the name in the cache before it leaves the
     * nodes or the journal. Collected first, a name is in the overlay or (its save having
     * ended before the snapshot) in the snapshot, never in neither. */
    wr_overlay *o = overlay_collect(dir);
    int rc = cache_opendir(x->cache, p, snap, err);

    if (rc) {
        wr_overlay_free(o);
        *ov = NULL;
        return rc;
    }
    if (o)
        overlay_bind(x, o, *snap);
    *ov = o;
    return 0;
}

void wr_overlay_free(wr_overlay *ov)
{
    if (!ov)
        return;
    for (size_t i = 0; i < ov->n; i++)
        free(ov->e[i].name);
    free(ov->e);
    free(ov->dir);
    free(ov);
}

int wr_overlay_filter(wr_overlay *ov, const char *name, cache_attr *attr, struct timespec *mtime,
                      bool *have_attr)
{
    char path[PATH_MAX];
    ov_entry *e;

    if (ov->meta && strcmp(name, ov->meta) == 0)
        return 0; /* listed last */
    e = ov_find(ov, name);
    if (e && e->what == OV_HIDE)
        return 0;
    if (e) {
        bool is_dir = attr->is_dir;
        *attr = e->attr;
        attr->is_dir = is_dir;
        *mtime = e->mtime;
        *have_attr = false; /* see struct ov_entry */
        return 1;
    }
    if (*have_attr) {
        snprintf(path, sizeof path, "%s/%s", strcmp(ov->dir, "/") == 0 ? "" : ov->dir, name);
        wf_apply(path, attr, mtime);
    }
    return 1;
}

static int fill_one(void *buf, fuse_fill_dir_t filler, fs_ctx *x, const char *name,
                    const cache_attr *attr, const struct timespec *mtime, off_t at, bool plus)
{
    struct stat st;
    ops_stat(x, attr, &st);
    if ((attr->mode & S_IFMT) == S_IFLNK)
        st.st_mode = S_IFLNK | 0777;
    st.st_mtim = st.st_ctim = st.st_atim = *mtime;
    return filler(buf, name, &st, at, plus ? FUSE_FILL_DIR_PLUS : (enum fuse_fill_dir_flags)0);
}

int wr_overlay_fill(wr_overlay *ov, fs_ctx *x, void *buf, fuse_fill_dir_t filler, off_t off,
                    off_t first_off, bool attrs_ok)
{
    off_t at = first_off;

    for (size_t i = 0; i < ov->n; i++) {
        ov_entry *e = &ov->e[i];
        if (e->what != OV_ADD || (ov->meta && strcmp(e->name, ov->meta) == 0))
            continue;
        if (at > off && fill_one(buf, filler, x, e->name, &e->attr, &e->mtime, at, false))
            return 1;
        at++;
    }
    if (ov->meta && ov->meta_shown && at > off &&
        fill_one(buf, filler, x, ov->meta, &ov->meta_attr, &ov->meta_mtime, at, attrs_ok))
        return 1;
    return 0;
}
