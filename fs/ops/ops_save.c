/* ops_save.c: the save of an open file (flush, fsync, a truncate by path) and the
 * mutation locks that order the write side's changes path by path. */
#include "ops_write.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "render.h"
#include "upload.h"
#include "uploader.h"
#include "wnode.h"

int wr_lock_names(wl_held *lk, const char *a, const char *b, bool excl)
{
    const char *keys[WL_MAX];
    char *oa, *ob;
    int rc;

    if (excl) {
        wl_lock_excl(lk);
        return 0;
    }
    wn_lock();
    oa = wr_origin_of(wn_find(a));
    ob = b ? wr_origin_of(wn_find(b)) : NULL;
    wn_unlock();
    keys[0] = a;
    keys[1] = b;
    keys[2] = oa;
    keys[3] = ob;
    rc = wl_lock(lk, keys, WL_MAX);
    free(oa);
    free(ob);
    return rc;
}

/* Takes the mutation lock of n's path, with wn_lock held on return (n may be renamed
 * while its lock is waited for: then the new path's). 0 or -ENOMEM (no lock held). */
static int lock_node(wnode *n, wl_held *lk)
{
    char *key;
    int rc;

    for (;;) {
        wn_lock();
        key = strdup(n->path);
        wn_unlock();
        if (!key)
            return -ENOMEM;
        rc = wl_lock(lk, (const char *const *)&key, 1);
        if (rc) {
            free(key);
            return rc;
        }
        wn_lock();
        rc = strcmp(n->path, key);
        free(key);
        if (rc == 0)
            return 0;
        wn_unlock();
        wl_unlock(lk);
    }
}

int wr_save(fs_ctx *x, wnode *n)
{
    char *path = NULL, *data = NULL;
    const char *cur;
    size_t len;
    uint64_t gen0, sum;
    bool exists, quiet, inval = false, journaled = false;
    wn_plan plan;
    cache_attr attr;
    wpath *w = NULL;
    wl_held lk;
    int rc;

    rc = lock_node(n, &lk); /* saves of one file in order, of others in parallel */
    if (rc)
        return rc;
    plan = wn_save_plan(n);
    if (plan == WN_PLAN_NONE) {
        wn_unlock();
        wl_unlock(&lk);
        return 0;
    }
    gen0 = n->gen;
    len = wn_content(n, &cur);
    exists = wn_on_server(n);
    sum = render_checksum(cur, len);
    quiet = n->failed && n->failed_sum == sum;
    path = strdup(n->path);
    data = malloc(len + 1);
    if (!path || !data) {
        rc = -ENOMEM;
    } else {
        memcpy(data, cur, len);
        data[len] = '\0';
    }
    if (rc == 0 && plan == WN_PLAN_KEEP) {
        /* A new file still empty: kept here, visible, nothing sent. */
        n->synced = gen0;
        goto unlock;
    }
    if (rc == 0 && plan == WN_PLAN_SAME) {
        /* The bytes the file showed: nothing to send. */
        n->synced = gen0;
        n->state = WN_OPEN;
        n->server_exists = false;
        wn_unlist(n); /* the name shows the server's file (frees n without handles) */
        goto unlock;
    }
    wn_unlock();
    if (rc == 0)
        rc = up_check(path, data, len, quiet);
    if (rc == -EINVAL) {
        wn_lock();
        n->failed = true;
        n->failed_sum = sum;
        /* Refused: the buffer stays its handles' (to fix and save again); the name shows
         * the server's file. A new file keeps its content here, visible. */
        if (n->state == WN_OPEN) {
            wn_unlist(n);
            inval = true;
        }
        goto unlock;
    }
    if (rc == 0) {
        /* Checked: from now on the version being saved is what other opens read. */
        lru_item *item = lru_item_new(data, len);
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        wn_lock();
        if (item && n->state == WN_OPEN && !n->gone)
            wn_set_shown(n, item, &now);
        wn_unlock();
        lru_item_unref(item);
        w = malloc(sizeof *w);
        rc = w ? wpath_parse(path, w) : -ENOMEM;
    }
    if (rc == 0) {
        log_debug("save %s: %zu bytes (%s)", path, len, exists ? "update" : "create");
        if (jr_takes(w)) { /* async uploads: to the journal, sent in the background */
            rc = jr_put(w, data, len, exists, &attr);
            journaled = rc == 0; /* the name shows these bytes: the kernel has them */
        } else {
            rc = up_save(x, w, data, len, exists, &attr);
        }
    }
    wn_lock();
    inval = (n->state == WN_OPEN || rc == 0) && !journaled;
    if (rc && n->state == WN_OPEN)
        wn_unlist(n); /* as for a refusal */
    if (rc && rc != -EINVAL && rc != -ENOMEM && rc != -EBUSY && n->state == WN_NEW)
        n->maybe_sent = true;
    if (rc == 0) {
        if (!n->gone) {
            n->synced = gen0;
            n->failed = false;
            wn_set_base(n, data, len);
            if (n->time_set) {
                wr_keep_time(x, path, &n->mtime, &attr);
            } else {
                wf_drop_time(path);
                n->mtime.tv_sec = attr.mtime;
                n->mtime.tv_nsec = 0;
            }
            n->state = WN_OPEN;
            n->server_exists = false;
            n->maybe_sent = false;
            /* Saved: the name shows the server's answer; the handles keep their bytes. */
            wn_unlist(n);
        }
    }
unlock:
    wn_unlock();
    wl_unlock(&lk);
    if (inval)
        wr_inval(path);
    free(w);
    free(path);
    free(data);
    return rc;
}
