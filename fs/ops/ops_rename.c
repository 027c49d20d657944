/* ops_rename.c: rename between server files, local-only files and new files: uploads,
 * moves (create first, then delete), editors' backups (hidden server files). */
#include "ops_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "upload.h"
#include "wnode.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1u << 0) /* renameat2(2) */
#endif

/* ------------------------------------------------------------------------- */
/* rename                                                                     */
/* ------------------------------------------------------------------------- */

/* Whether two server classes may trade a file by rename (metadata: meta_to_meta). */
static int server_pair(const wpath *from, const wpath *to)
{
    bool fm = from->cls == WNAME_APP_META || from->cls == WNAME_COLL_META;
    bool tm = to->cls == WNAME_APP_META || to->cls == WNAME_COLL_META;

    if (from->cls == WNAME_VERSION || to->cls == WNAME_VERSION || fm || tm)
        return -EPERM;
    if (from->cls == WNAME_RECORD && to->cls == WNAME_RECORD)
        return 0;
    if (from->cls == WNAME_ITEM && to->cls == WNAME_ITEM && from->self.list == to->self.list)
        return 0;
    return -EXDEV; /* mv copies, as between file systems */
}

/* A copy of a node's content as an item (a reference), under wn_lock. */
static lru_item *content_item(const wnode *n)
{
    const char *data;
    size_t len = wn_content(n, &data);
    if (!n->loaded && n->base) {
        lru_item_ref(n->base);
        return n->base;
    }
    return lru_item_new(data, len);
}

typedef struct rn {
    fs_ctx *x;
    const char *from, *to;
    wpath *wf, *wt;
    unsigned flags;
} rn;

/* What is at the target: 1 a file (node or server), 0 nothing, <0 an error. *on_server
 * tells the server has a file there (hidden ones included); *server_content (when asked)
 * is what it holds now. */
static int target_state(rn *r, bool *on_server, lru_item **server_content)
{
    cache_attr attr;
    wnode *tn;
    wn_state st = WN_OPEN;
    bool have = false, srv_exists = false;
    lru_item *base = NULL;
    int rc;

    *on_server = false;
    if (server_content)
        *server_content = NULL;
    wn_lock();
    tn = wn_find(r->to);
    if (tn) {
        have = true;
        st = tn->state;
        srv_exists = tn->server_exists;
        if (tn->base && (st == WN_HIDDEN || (st == WN_NEW && srv_exists))) {
            base = tn->base;
            lru_item_ref(base);
        }
    }
    wn_unlock();
    if (have && st != WN_OPEN) {
        *on_server = st == WN_HIDDEN || (st == WN_NEW && srv_exists);
        if (server_content)
            *server_content = base;
        else
            lru_item_unref(base);
        return st == WN_HIDDEN ? 0 : 1;
    }
    lru_item_unref(base);
    if (!wname_is_server(r->wt->cls)) {
        /* A local name in an app directory may be a collection's. */
        if (r->wt->dir.kind == LAYOUT_APP && r->wt->self_rc == 0 &&
            up_exists(r->x, r->wt, &attr) == 0)
            return -EISDIR;
        return have ? 1 : 0;
    }
    if (server_content) {
        rc = up_content(r->x, r->wt, server_content, &attr);
    } else {
        rc = up_exists(r->x, r->wt, &attr);
    }
    if (rc == -ENOENT)
        return 0;
    if (rc)
        return rc;
    *on_server = true;
    return 1;
}

/* A local or new file onto a local name: the node moves. */
static int local_to_local(rn *r)
{
    bool on_server, over_hidden;
    char *replaced = NULL;
    lru_item *base = NULL;
    wnode *sn, *hn;
    int rc = target_state(r, &on_server, NULL);

    if (rc < 0)
        return rc;
    if (rc == 1 && (r->flags & RENAME_NOREPLACE))
        return -EEXIST;
    wn_lock();
    replaced = wr_origin_of(wn_find(r->to));
    wn_unlock();
    if (replaced) {
        rc = wr_drop_origin(r->x, replaced);
        free(replaced);
        if (rc)
            return rc;
    }
    wn_lock();
    sn = wn_find(r->from);
    if (!sn) {
        wn_unlock();
        return -ENOENT;
    }
    /* A new file standing where a server file is hidden: the name keeps hiding it, and
     * the file answers for it as a backup does. */
    over_hidden = sn->state == WN_NEW && sn->server_exists;
    if (over_hidden && sn->base) {
        base = sn->base;
        lru_item_ref(base);
    }
    rc = wn_rekey(sn, r->to);
    if (rc == 0) {
        sn->state = WN_LOCAL;
        sn->server_exists = false;
        if (over_hidden) {
            free(sn->origin);
            sn->origin = strdup(r->from);
            hn = wn_add(r->from, WN_HIDDEN);
            if (hn) {
                hn->base = base;
                base = NULL;
            }
        }
    }
    wn_unlock();
    lru_item_unref(base);
    return rc;
}

/* A local or new file onto a server name: its content is sent there (update or create).
 * Nothing changes when the server's file already holds exactly these bytes. */
static int local_to_server(rn *r)
{
    lru_item *server = NULL, *mine = NULL;
    cache_attr attr;
    bool on_server, equal, src_over_hidden, time_set;
    struct timespec mtime;
    char *origin = NULL;
    wnode *sn;
    int rc = target_state(r, &on_server, &server);

    if (rc < 0)
        return rc;
    if (rc == 1 && (r->flags & RENAME_NOREPLACE)) {
        lru_item_unref(server);
        return -EEXIST;
    }
    wn_lock();
    sn = wn_find(r->from);
    if (!sn || sn->state == WN_HIDDEN) {
        wn_unlock();
        lru_item_unref(server);
        return -ENOENT;
    }
    mine = content_item(sn);
    origin = wr_origin_of(sn);
    /* (or its create failed after it was sent: the server may hold it under this name) */
    src_over_hidden = sn->state == WN_NEW && (sn->server_exists || sn->maybe_sent);
    time_set = sn->time_set;
    mtime = sn->mtime;
    wn_unlock();
    if (!mine) {
        lru_item_unref(server);
        free(origin);
        return -ENOMEM;
    }
    equal = on_server && server && server->len == mine->len &&
            memcmp(server->data, mine->data, mine->len) == 0;
    rc = 0;
    if (mine->len == 0 && !on_server) {
        /* An empty file made under a server name: a new file, kept here until it has
         * content. */
        wn_lock();
        sn = wn_find(r->from);
        rc = sn ? wn_rekey(sn, r->to) : -ENOENT;
        if (rc == 0) {
            sn->state = WN_NEW;
            sn->server_exists = false;
            free(sn->origin);
            sn->origin = NULL;
        }
        wn_unlock();
        goto out;
    }
    if (!equal) {
        rc = up_check(r->to, mine->data, mine->len, false);
        if (rc == 0)
            rc = up_save(r->x, r->wt, mine->data, mine->len, on_server, &attr);
        if (rc)
            goto out;
    } else if (up_exists(r->x, r->wt, &attr) != 0) {
        memset(&attr, 0, sizeof attr);
    }
    wn_lock();
    wn_detach_at(r->to);
    sn = wn_find(r->from);
    if (wn_follow(r->from, r->to)) /* handles of versions saved while open, too */
        log_error("%s: out of memory: handles open on it will not save it at %s",
                  r->from + 1, r->to + 1);
    if (sn && sn->opens > 0) {
        /* Open handles follow the file: it is the server's file now. */
        if (wn_rekey(sn, r->to) == 0) {
            sn->state = WN_OPEN;
            sn->server_exists = false;
            free(sn->origin);
            sn->origin = NULL;
            lru_item_unref(sn->base);
            sn->base = mine;
            lru_item_ref(mine);
            sn->synced = sn->gen;
        }
    } else if (sn) {
        wn_detach(sn);
    }
    wn_unlock();
    if (time_set)
        wr_keep_time(r->x, r->to, &mtime, &attr);
    wf_forget(r->from);
    wr_inval(r->from); /* the moved file, once the rename is done, shows the server's */
    /* The file left its old name: what that name stood for on the server goes. */
    if (origin && strcmp(origin, r->to) != 0)
        rc = wr_drop_origin(r->x, origin);
    if (src_over_hidden) {
        rc = up_delete(r->x, r->wf);
        if (rc == -ENOENT)
            rc = 0;
    }
out:
    lru_item_unref(server);
    lru_item_unref(mine);
    free(origin);
    return rc;
}

/* A server file onto a local name (an editor's backup): the local name gets a copy, the
 * server keeps the file, hidden here until something is made at its name again. */
static int server_to_local(rn *r)
{
    lru_item *server = NULL;
    cache_attr attr;
    struct timespec mt;
    bool on_server;
    char *replaced = NULL;
    wnode *sn, *tn, *hn;
    int rc = target_state(r, &on_server, NULL);

    if (rc < 0)
        return rc;
    if (rc == 1 && (r->flags & RENAME_NOREPLACE))
        return -EEXIST;
    rc = up_content(r->x, r->wf, &server, &attr);
    if (rc)
        return rc;
    wf_apply(r->from, &attr, &mt);
    wn_lock();
    replaced = wr_origin_of(wn_find(r->to));
    wn_unlock();
    if (replaced) {
        rc = wr_drop_origin(r->x, replaced);
        free(replaced);
        if (rc) {
            lru_item_unref(server);
            return rc;
        }
    }
    wn_lock();
    sn = wn_find(r->from);
    if (sn && sn->state == WN_OPEN) {
        /* Open handles follow the file to its new name: now a local file. */
        rc = wn_rekey(sn, r->to);
        tn = sn;
    } else {
        wn_detach_at(r->to);
        tn = wn_add(r->to, WN_LOCAL);
        rc = tn ? 0 : -ENOMEM;
        if (tn) {
            tn->base = server;
            lru_item_ref(server);
            tn->mtime = mt;
        }
    }
    if (rc == 0) {
        tn->state = WN_LOCAL;
        tn->server_exists = false;
        tn->mode = 0644;
        free(tn->origin);
        tn->origin = strdup(r->from);
        hn = wn_add(r->from, WN_HIDDEN);
        if (hn) {
            hn->base = server;
            lru_item_ref(server);
        } else {
            rc = -ENOMEM;
        }
    }
    wn_unlock();
    lru_item_unref(server);
    return rc;
}

/* A server file onto another server name of its kind: made there first, then deleted
 * here, so a failure leaves the source in place. */
static int server_to_server(rn *r)
{
    lru_item *content = NULL, *moved = NULL;
    cache_attr attr, now;
    struct timespec mt;
    bool on_server, unchanged_open;
    wnode *sn;
    int rc = server_pair(r->wf, r->wt);

    if (rc)
        return rc;
    rc = target_state(r, &on_server, NULL);
    if (rc < 0)
        return rc;
    if (rc == 1 && (r->flags & RENAME_NOREPLACE))
        return -EEXIST;
    rc = up_content(r->x, r->wf, &content, &attr);
    if (rc)
        return rc;
    wf_apply(r->from, &attr, &mt);
    rc = up_save(r->x, r->wt, content->data, content->len, on_server, &now);
    if (rc == 0) {
        rc = up_delete(r->x, r->wf);
        if (rc == -ENOENT)
            rc = 0;
        else if (rc)
            log_error("%s: moved to %s, but the original could not be deleted", r->from + 1,
                      r->to + 1);
    }
    if (rc == 0) {
        /* An open file not written to reads on what the new name shows (the server's
         * rendering, its _id the new name's: from the cache, just saved), so its handles,
         * their fstat and other opens agree on its bytes. */
        wn_lock();
        sn = wn_find(r->from);
        unchanged_open = sn && sn->opens > 0 && !sn->loaded;
        wn_unlock();
        if (unchanged_open && up_content(r->x, r->wt, &moved, &attr) != 0)
            moved = NULL;
        wn_lock();
        wn_detach_at(r->to);
        sn = wn_find(r->from);
        if (sn && sn->opens > 0) {
            /* Open handles follow the file as those of a file saved while open do: the
             * new name shows the server's file, the handles keep their bytes (written
             * ones, or the file's) and save them there once changed. */
            lru_item *base = moved && !sn->loaded ? moved : content;
            lru_item_unref(sn->base);
            sn->base = base;
            lru_item_ref(base);
            wn_unlist(sn);
        } else if (sn) {
            wn_detach(sn);
        }
        /* Unlisted nodes (saved while open, and sn) follow the file: their next save goes
         * to its new name, never makes the old one again. */
        if (wn_follow(r->from, r->to))
            log_error("%s: out of memory: handles open on it will not save it at %s",
                      r->from + 1, r->to + 1);
        wn_unlock();
        wf_forget(r->from);
        wr_keep_time(r->x, r->to, &mt, &now); /* a rename keeps the file's time */
        wr_inval(r->from);
    }
    lru_item_unref(moved);
    lru_item_unref(content);
    return rc;
}

/* .collection.json onto another collection's (.app.json onto another app's): what mv
 * does when it moves a directory by copying. The target's metadata is updated from the
 * source's (identity from the target's path); the source's name is hidden here (metadata
 * cannot be deleted; rmdir of its directory removes it with the directory). */
static int meta_to_meta(rn *r)
{
    lru_item *content = NULL;
    cache_attr attr, now;
    wnode *h;
    int rc = up_content(r->x, r->wf, &content, &attr);

    if (rc)
        return rc;
    rc = up_check(r->to, content->data, content->len, false);
    if (rc == 0)
        rc = up_save(r->x, r->wt, content->data, content->len, true, &now);
    if (rc == 0) {
        wn_lock();
        wn_detach(wn_find(r->to));
        wn_detach(wn_find(r->from));
        h = wn_add(r->from, WN_HIDDEN);
        if (h) {
            h->base = content;
            lru_item_ref(content);
        }
        wn_unlock();
        wf_forget(r->from);
        wr_inval(r->from);
    }
    lru_item_unref(content);
    return rc;
}

/* Whether a rename of or onto w locks its names only: records, list items and local
 * files; metadata, directories and names no file may have lock every path. */
static bool keyed(const wpath *w)
{
    if (w->self_rc == 0 && layout_is_dir(w->self.kind))
        return false;
    return w->cls == WNAME_RECORD || w->cls == WNAME_ITEM || w->cls == WNAME_LOCAL;
}

int wr_rename(const char *from, const char *to, unsigned int flags)
{
    fs_ctx *x = ops_ctx();
    rn r = {.x = x, .from = from, .to = to, .flags = flags};
    wn_state st = WN_OPEN;
    bool have = false;
    cache_attr attr;
    wl_held lk;
    int rc;

    if (x->ro)
        return -EROFS;
    if (flags & ~(unsigned)RENAME_NOREPLACE)
        return -EINVAL;
    wn_touch(from); /* listings under way give these names no attributes (wnode.h) */
    wn_touch(to);
    r.wf = malloc(sizeof *r.wf);
    r.wt = malloc(sizeof *r.wt);
    if (!r.wf || !r.wt) {
        rc = -ENOMEM;
        goto out;
    }
    rc = wpath_parse(from, r.wf);
    if (rc == 0)
        rc = wpath_parse(to, r.wt);
    if (rc)
        goto out;
    if (strcmp(from, to) == 0)
        goto out;
    log_debug("rename %s -> %s", from, to);
    rc = wr_lock_names(&lk, from, to, !keyed(r.wf) || !keyed(r.wt));
    if (rc)
        goto out;
    for (;;) {
        char *of, *ot;
        bool held;
        wn_lock();
        {
            wnode *sn = wn_find(from);
            if (sn) {
                have = true;
                st = sn->state;
            }
        }
        of = wr_origin_of(wn_find(from));
        ot = wr_origin_of(wn_find(to));
        held = wl_holds(&lk, of) && wl_holds(&lk, ot);
        wn_unlock();
        free(of);
        free(ot);
        if (held)
            break;
        /* One became another file's backup meanwhile: that file's lock too. */
        wl_unlock(&lk);
        wl_lock_excl(&lk);
        have = false;
        st = WN_OPEN;
    }
    if (have && st == WN_HIDDEN) {
        rc = -ENOENT;
    } else if (!have && r.wf->self_rc == 0 && layout_is_dir(r.wf->self.kind)) {
        /* Apps and collections move by copying (mv does that on EXDEV). */
        rc = up_exists(x, r.wf, &attr);
        if (rc == 0)
            rc = r.wf->self.kind == LAYOUT_APP || r.wf->self.kind == LAYOUT_COLLECTION ? -EXDEV
                                                                                      : -EPERM;
    } else if (r.wt->cls == WNAME_NONE) {
        rc = -EPERM;
    } else if (have && (st == WN_LOCAL || st == WN_NEW)) {
        rc = wname_is_server(r.wt->cls) ? local_to_server(&r) : local_to_local(&r);
    } else if (!wname_is_server(r.wf->cls)) {
        rc = -ENOENT;
    } else if (r.wf->cls == WNAME_VERSION || r.wt->cls == WNAME_VERSION) {
        rc = -EPERM;
    } else if (!wname_is_server(r.wt->cls)) {
        rc = server_to_local(&r);
    } else if ((r.wf->cls == WNAME_APP_META || r.wf->cls == WNAME_COLL_META) &&
               r.wt->cls == r.wf->cls) {
        rc = (flags & RENAME_NOREPLACE) ? -EEXIST : meta_to_meta(&r);
    } else {
        rc = server_to_server(&r);
    }
    wl_unlock(&lk);
out:
    free(r.wf);
    free(r.wt);
    return rc;
}
