/* wlock.h: the write side's mutation locks: one per path, so that changes of different
 * records reach the server in parallel while those of one record stay in order, and an
 * exclusive mode for changes of directories. */
#ifndef FS_WLOCK_H
#define FS_WLOCK_H

#include <stdbool.h>

/* Most paths one change touches: a rename's two names and the origins of their backups. */
#define WL_MAX 4

/* What one thread holds; filled by wl_lock or wl_lock_excl, emptied by wl_unlock. */
typedef struct wl_held {
    char *keys[WL_MAX]; /* copies of the paths held, sorted, no repeats */
    int n;
    bool excl;
    bool held;
} wl_held;

/*
 * Locks the paths given (NULL entries and repeats skipped; at most WL_MAX), in one fixed
 * order (strcmp), so two changes that share paths never wait for each other in a circle.
 * Changes of other paths go on in parallel; an exclusive holder (wl_lock_excl) is waited
 * for, and a waiting one lets no new holder in first. A thread holds one wl_held at a
 * time: a second lock while holding one may deadlock. Returns 0, or -ENOMEM (nothing
 * held then).
 */
int wl_lock(wl_held *h, const char *const *paths, int n);
/* Locks every path: waits for the holders of any path to finish, and runs alone (mkdir,
 * rmdir, metadata, and changes whose paths are known only once inside). */
void wl_lock_excl(wl_held *h);
/* Releases what h holds (nothing when it holds nothing). */
void wl_unlock(wl_held *h);
/* Whether h holds path (always when exclusive; true for NULL: nothing to hold). */
bool wl_holds(const wl_held *h, const char *path);

#endif /* FS_WLOCK_H */
