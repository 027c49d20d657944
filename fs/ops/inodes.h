/* inodes.h: the mount's inode table: node ids the kernel holds, by number and by name. */
#ifndef FS_INODES_H
#define FS_INODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The kernel knows files by node id (fuse_ino_t); the operations below know them by path.
 * The table maps one to the other, and keeps each node while the kernel holds it: a
 * lookup, a create or an entry of readdirplus adds one reference, FORGET takes n away.
 *
 * Numbers are given in the order names are first seen (a listing's order) and a node
 * with a name stays when the kernel forgets it, so a name keeps its number for the life
 * of the mount (a record's `_id`, its inode number). A rename moves the node (the kernel
 * keeps the number it knows); an unlink or a replacing rename detaches it: its number
 * still answers while the kernel holds it (for open handles) but has no path (ino_path
 * gives -ESTALE), and it goes with the last reference. A directory that goes takes the
 * names below it that the kernel does not hold.
 *
 * Thread-safe: one mutex inside. Paths are written into the caller's buffer.
 */
typedef struct ino_table ino_table;

#define INO_ROOT 1

/* A new table holding the root (INO_ROOT, path "/"). 0 or -ENOMEM; *out NULL on failure.
 * ino_free accepts NULL and frees every node. */
int ino_new(ino_table **out);
void ino_free(ino_table *t);

/* The path of node ino into buf ("/" for the root). 0, -ESTALE (unknown or detached),
 * or -ENAMETOOLONG. */
int ino_path(ino_table *t, uint64_t ino, char *buf, size_t len);
/* The path of name under directory parent (NULL name: parent's own). Same returns. */
int ino_child_path(ino_table *t, uint64_t parent, const char *name, char *buf, size_t len);

/*
 * Renames against operations by number. The kernel orders operations on names (a
 * directory's lock), not those on open files or on numbers (fstat, open): one of those
 * could take a name's path just before a rename moves or replaces it, and ask about
 * another file. So an operation by number holds the node while it uses its path, and a
 * rename waits for the holders of its two nodes and keeps new ones waiting until it is
 * done (the path they get then is the new one, or -ESTALE for a replaced node).
 *
 * ino_hold: ino_path, and the node held when it is known (*held; then ino_unhold(ino)
 * after), with or without a name. ino_rename_begin marks the nodes of both names and
 * waits; held[] is what ino_rename_end (after ino_move or not) lets go.
 */
int ino_hold(ino_table *t, uint64_t ino, char *buf, size_t len, bool *held);
void ino_unhold(ino_table *t, uint64_t ino);
void ino_rename_begin(ino_table *t, uint64_t parent, const char *name, uint64_t newparent,
                      const char *newname, uint64_t held[2]);
void ino_rename_end(ino_table *t, const uint64_t held[2]);

/* Open handles by node, so that a file with no name any more still answers fstat (the
 * kernel asks by number, without the handle): ino_opened at open, ino_closed at release,
 * ino_open_handle gives one of its handles (false when none). */
void ino_opened(ino_table *t, uint64_t ino, uint64_t fh);
void ino_closed(ino_table *t, uint64_t ino, uint64_t fh);
bool ino_open_handle(ino_table *t, uint64_t ino, uint64_t *fh);

/* The node of name under parent, made if missing, with `refs` more kernel references
 * (0 to only look or make). Its number, or 0 (parent unknown, or out of memory). */
uint64_t ino_remember(ino_table *t, uint64_t parent, const char *name, uint64_t refs);
/* The node of name under parent without making it, or 0. */
uint64_t ino_find(ino_table *t, uint64_t parent, const char *name);
/* The number of name under parent, the node made (with no reference) if missing: for
 * readdir's d_ino, which then is what stat shows. 0: parent unknown, or out of memory. */
uint64_t ino_number(ino_table *t, uint64_t parent, const char *name);
/* FORGET: n references fewer; a node with none, no children and no name goes. Unknown:
 * ignored. */
void ino_forget(ino_table *t, uint64_t ino, uint64_t n);
/* The name under parent no longer leads to its node (unlink, rmdir). */
void ino_detach(ino_table *t, uint64_t parent, const char *name);
/* A rename done: the node of (parent, name) is now (newparent, newname); what was there is
 * detached. -ENOMEM leaves the table as it was (the node keeps its old name). */
int ino_move(ino_table *t, uint64_t parent, const char *name, uint64_t newparent,
             const char *newname);
/* The size the kernel holds for a node: the last one answered to it (lookup, getattr,
 * setattr, create, readdirplus), or grown by its writes (grow_only: a write's end, kept
 * when larger; nothing when unknown). INO_SIZE_UNKNOWN when never told, or the node is
 * unknown. */
#define INO_SIZE_UNKNOWN UINT64_MAX
void ino_set_size(ino_table *t, uint64_t ino, uint64_t size, bool grow_only);
uint64_t ino_size(ino_table *t, uint64_t ino);
/* Nodes held now (for .clappfs/stats and tests). */
size_t ino_count(ino_table *t);

#endif /* FS_INODES_H */
