/* wnode.h: the write side's per-path state: open buffers, new and local-only files,
 * hidden server files, and the times set by tools. */
#ifndef FS_WNODE_H
#define FS_WNODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cache.h"
#include "content_lru.h"
#include "wbuf.h"
#include "wname.h"

/*
 * A node exists for a path while
 *   WN_OPEN    a server file is open (any access): its buffer, shared by every handle, as a
 *              real file's content is; gone with the last close;
 *   WN_NEW     a server-class name (x.json in a collection, queries/q.json...) was created
 *              and has not been saved to the server yet (empty, or refused): kept locally,
 *              shown with its size, sent once it holds a valid object;
 *   WN_LOCAL   a local-only file (editor side files, tools' temporary files): lives in this
 *              memory only, never uploaded, gone at unmount;
 *   WN_HIDDEN  a server file that was renamed to a local-only name (an editor's backup):
 *              the server keeps it, the name shows nothing until a file is made there again.
 * The buffer of an open server file (WN_OPEN) is its writers': handles opened only to
 * read get the last saved version (wn_shown) and keep it, and the name shows that
 * version's attributes while the buffer holds unsaved changes, so a rewrite in place
 * (O_TRUNC, writes, close) is never seen half done. New and local files share their
 * buffer with every handle, as a local file does.
 * A node that is no longer in the table (unlinked or replaced while open) is detached:
 * its handles go on reading and writing it, and nothing of it is ever sent. An open
 * server file whose buffer was saved (or refused) is unlisted: its handles keep their
 * buffer (and may save it again), while the name shows the server's file to others.
 *
 * Locking: wn_lock() guards the table, every node's fields and buffers; it is held
 * briefly, never across a request. The mutation locks of wlock.h order whatever changes
 * the server (saves, creates, deletes, renames) path by path and are held across the
 * requests; take them first.
 */
typedef enum wn_state { WN_OPEN, WN_NEW, WN_LOCAL, WN_HIDDEN } wn_state;

typedef struct wnode {
    struct wnode *hnext;
    char *path;              /* the table key (kept when unlisted) */
    bool listed;             /* in the table */
    bool gone;               /* unlinked or replaced: never saved */
    wn_state state;
    int opens;               /* handles */
    bool loaded;             /* buf holds the content; otherwise the content is base */
    wbuf buf;
    lru_item *base;          /* the bytes shown at open or last saved; NULL: none (empty) */
    lru_item *shown;         /* WN_OPEN: what other opens read while the buffer changes (the
                              * version being saved, once a save began); NULL: base */
    struct timespec shown_mtime;
    bool shown_set;          /* shown_mtime holds the shown version's time */
    uint64_t gen, synced;    /* changes made, and the change count last saved */
    bool server_exists;      /* WN_NEW made over a hidden server file: the save updates it */
    bool maybe_sent;         /* WN_NEW whose create failed after it was sent (a timeout, a
                              * 5xx, a bad answer): the server may hold it, so an unlink or
                              * a move away deletes it there too */
    char *origin;            /* WN_LOCAL: the server file it is a backup of (now hidden) */
    unsigned mode;
    bool is_link;            /* WN_LOCAL: a symbolic link, its target in buf (emacs's locks) */
    struct timespec mtime;
    bool time_set;           /* mtime given by a tool (utimens), kept over saves */
    bool failed;             /* the content below was refused already (logged once) */
    uint64_t failed_sum;
    struct wnode *unext, *uprev; /* unlisted, not gone, with handles: in that list */
    bool in_ulist;
} wnode;

void wn_lock(void);
void wn_unlock(void);

/* All under wn_lock. */
wnode *wn_find(const char *path);
/* A new node in the table at path (no node may be there); NULL when out of memory. */
wnode *wn_add(const char *path, wn_state state);
/* Takes a node out of the table for good (unlinked, replaced); it is freed now unless
 * handles hold it. Accepts NULL. */
void wn_detach(wnode *n);
/* Takes a node out of the table but lets its handles go on saving to its path. */
void wn_unlist(wnode *n);
/* Moves a node to another path (a node there is detached first, and the unlisted ones
 * there made gone, see wn_detach_at). 0 or -ENOMEM. */
int wn_rekey(wnode *n, const char *path);
/* The file at path was unlinked or replaced: its node is detached, and the unlisted
 * nodes of path that handles hold (saved while open) become gone too, so that no later
 * save of theirs makes the file again. */
void wn_detach_at(const char *path);
/* The file at from moved to to: the unlisted nodes of from that handles hold follow it
 * (their later saves go to its new name). 0 or -ENOMEM (those not moved are gone). */
int wn_follow(const char *from, const char *to);
/* Drops a handle's hold; frees an unlisted node with no handles, and a WN_OPEN one. */
void wn_release(wnode *n);
/* The current content (valid until the lock is released). */
size_t wn_content(const wnode *n, const char **data);
/* Makes buf hold the content, to change it. 0 or -ENOMEM. */
int wn_materialize(wnode *n);
bool wn_dirty(const wnode *n);
/* Sets base to a new item of data[0..len) (NULL on len 0 and no item wanted). */
int wn_set_base(wnode *n, const char *data, size_t len);
/* What opens that only read see of a server file being written: its shown version (a
 * reference, NULL when empty) and that version's time. */
lru_item *wn_shown(const wnode *n, struct timespec *mtime);
/* The attributes the name shows (stat, listings): a server file's shown version's while
 * its buffer holds unsaved changes, else the node's own (wn_attr). */
void wn_name_attr(const wnode *n, cache_attr *attr, struct timespec *mtime);
/* Sets the shown version (a reference is taken; NULL: base again). */
void wn_set_shown(wnode *n, lru_item *item, const struct timespec *mtime);
/* Frees every node without handles (at unmount). */
void wn_free_all(void);
/* Detaches every node below dir. */
void wn_drop_under(const char *dir);
/* A local node that is the backup of the server file at origin, or NULL. */
wnode *wn_find_backup(const char *origin);
/* What a flush or fsync does with a node, decided on its state alone (under the lock). */
typedef enum wn_plan {
    WN_PLAN_NONE,   /* nothing: not changed, local-only, hidden, or unlinked */
    WN_PLAN_KEEP,   /* a new file still empty: kept here, visible, nothing sent */
    WN_PLAN_SAME,   /* the bytes the file showed (it is on the server): nothing sent */
    WN_PLAN_SEND,   /* check, then update (on the server) or create */
} wn_plan;
wn_plan wn_save_plan(const wnode *n);
/* Whether a save of n updates (the server has the file) rather than creates. */
bool wn_on_server(const wnode *n);

/* Number of nodes in the table (a fast "nothing to do"). */
size_t wn_count(void);

/* The nodes whose parent directory is dir, called under the lock. */
typedef void (*wn_each_fn)(void *ud, const wnode *n, const char *name);
void wn_each_in(const char *dir, wn_each_fn fn, void *ud);

/* Change counts of directories, for listings: a listing taken when the count of its
 * directory was g may give the kernel its entries' attributes only while the count is
 * still g (a size shown after a change began could be older than the change, and the
 * kernel would cut reads of the file at it). Nodes made, moved and dropped count for
 * their directory; wn_touch(path) counts any other change of the entry at path
 * (a rename or delete on the server). Lock-free. */
void wn_touch(const char *path);
uint64_t wn_dir_generation(const char *dir);

/* The attributes a node shows. */
void wn_attr(const wnode *n, cache_attr *attr, struct timespec *mtime);

/* ------------------------------------------------------------------------- */
/* Facts about server paths that outlive open files (own lock; any thread)    */
/* ------------------------------------------------------------------------- */

/* A time a tool set on a server file or directory is shown for the rest of the mount, as
 * long as the cache shows the file as it was then (same size and server-side time): once
 * the content changes on the server the file's own time comes back. Records keep theirs
 * in the cache instead (cache_record_set_time): a rsync of a million records must not
 * cost a million of these. */
void wf_set_time(const char *path, const struct timespec *mtime, const cache_attr *now);
void wf_drop_time(const char *path);
/* Applies a kept time to attr (of path); fills *mtime (with attr's nanoseconds, or the
 * kept time's) either way. */
void wf_apply(const char *path, cache_attr *attr, struct timespec *mtime);
/* Server files written here lately: opened for writing or truncated within the last
 * WF_HOT_SECONDS. Readers of them read around the kernel's page cache, whose size of
 * the file is a writer's while it rewrites it. A table of times by a hash of the path:
 * two paths that share a slot only make each other's readers more careful. Lock-free. */
#define WF_HOT_SECONDS 300
void wf_mark_written(const char *path);
bool wf_written_lately(const char *path);
/* Moves the facts of path (and of everything below it) to another path. */
void wf_move(const char *from, const char *to);
/* Forgets path and everything below it. */
void wf_forget(const char *path);

#endif /* FS_WNODE_H */
