/* tasks.h: the release tasks as files: starting actionflows, exporting and importing apps.
 *
 *  /exports                              directory: one file per app (0755)
 *  /exports/<app>.json                   the app's export, as the official client's
 *                                        export_app() composes it (0644); writing an export
 *                                        to a new name imports it as that app
 *  /actionflows/<id>.start               write a JSON object (the run's settings) and close
 *                                        or fsync: starts actionflow <id> (0600; named, not
 *                                        listed); the same handle then reads the run
 *  /actionflows/<id>.last-run.json       the last run this mount started of <id> (0444;
 *                                        only after one)
 *
 * App names are those of apps/ with ".json" appended. Export files show their exact size:
 * a composition is kept for the cache's TTL, so stat and the open that follows read one
 * document (tasks_export.c). Writes are held in memory (at most TASKS_MAX_DOC bytes) and
 * sent once, at the first close(2)/fsync(2) after a change; a document that is not JSON,
 * not an object, or not an export gives EINVAL with nothing sent. The design and its
 * limits are in README.md ("Release tasks").
 */
#ifndef FS_TASKS_H
#define FS_TASKS_H

/* FUSE_USE_VERSION comes from the build (fs/meson.build). */
#include <fuse.h>

/* The largest export read or written, in bytes: beyond, reads and writes fail with EFBIG. */
#define TASKS_MAX_DOC (64u << 20)

/* The operations of inner with these files added: every operation on /exports, on a path
 * below it, or on an actionflow's .start and .last-run.json files is answered here; every
 * other goes to inner unchanged. The table is made once; inner must outlive it. */
const struct fuse_operations *tasks_wrap(const struct fuse_operations *inner);

#endif /* FS_TASKS_H */
