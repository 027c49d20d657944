/* tasks_int.h: the parts of the release-task files (tasks.h): paths, handles, the export
 * and actionflow sides. */
#ifndef FS_TASKS_INT_H
#define FS_TASKS_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* FUSE_USE_VERSION comes from the build (fs/meson.build). */
#include <fuse.h>

#include "clappform.h"
#include "wbuf.h"

#define TK_EXPORTS_NAME "exports"
#define TK_START_SUFFIX ".start"
#define TK_LAST_RUN_SUFFIX ".last-run.json"
#define TK_EXPORTS_MODE 0755
#define TK_EXPORT_MODE 0644
#define TK_START_MODE 0600
#define TK_LAST_RUN_MODE 0444

typedef enum tk_kind {
    TK_NONE,     /* not one of these files */
    TK_EXPORTS,  /* /exports */
    TK_EXPORT,   /* /exports/<app>.json */
    TK_START,    /* /actionflows/<id>.start */
    TK_LAST_RUN, /* /actionflows/<id>.last-run.json */
} tk_kind;

typedef struct tk_path {
    tk_kind kind;
    /* TK_EXPORT: the app's directory name (the file name without ".json");
     * TK_START, TK_LAST_RUN: the actionflow's file-name stem (its id, as in <id>.json). */
    char name[NAME_MAX + 1];
} tk_path;

/* Parses path: 0 with kind TK_NONE outside these files, 0 with the node, or -ENOENT /
 * -ENOTDIR / -ENAMETOOLONG for a path under /exports that no node can have. */
int tk_parse(const char *path, tk_path *out);

/* One open file. The written bytes are held in doc until sent; `show` is what reads
 * return (the export composed at open, or the run's document after a start). */
typedef struct tk_file {
    uint32_t magic;
    tk_kind kind;
    char name[NAME_MAX + 1];
    char path[PATH_MAX];
    pthread_mutex_t lock; /* the fields below */
    bool writable;        /* opened for writing */
    bool dirty;           /* written since open or since the last send */
    bool sent;            /* a start or an import was sent: no more writes */
    wbuf doc;             /* what was written (owned) */
    char *show;           /* what reads return (owned; NULL: they return doc) */
    size_t show_len;
    struct tk_file *next; /* the open writers of exports (tasks_export.c) */
} tk_file;

/* A handle for path, set in fi and opened with direct I/O (the sizes shown may change);
 * writable when fi's flags say so. NULL when out of memory. Freed by release. */
tk_file *tk_handle_new(const char *path, const tk_path *p, struct fuse_file_info *fi);
void tk_handle_free(tk_file *f); /* accepts NULL */

/* Stores size bytes at off in f->doc (growing it, zero-filling a gap) and marks f dirty:
 * size, or -EFBIG beyond TASKS_MAX_DOC, -EINVAL, -ENOMEM. Under f->lock. */
int tk_buf_write(tk_file *f, const char *data, size_t size, off_t off);

/* Takes what f holds to send, once: when f is writable and written since the last send,
 * marks it sent (a failure is returned by this close or fsync, not again by later ones)
 * and sets *out to a malloc'ed copy (NUL-terminated, *len bytes), the caller's to free.
 * 0 with *out NULL when there is nothing to send; -ENOMEM. Takes f->lock. */
int tk_take(tk_file *f, char **out, size_t *len);

/* Parses data as one JSON object without repeated keys into *out (the caller's, freed
 * with cf_json_free). An invalid one is refused (tk_refuse, with op and what, the reason
 * its line, column and problem): -EINVAL with *out NULL. */
int tk_parse_object(const char *op, const char *path, const char *what, const char *data,
                    size_t len, cf_json **out);

/* Logs a refusal found here (not the server's) and puts it in .clappfs/errors with its
 * reason: "<path>: <what>: <why>". Returns -rc. */
int tk_refuse(const char *op, const char *path, int rc, const char *what, const char *why);

/* ---- exports (tasks_export.c) ---------------------------------------------------------- */

/* The attributes of exports/<app>.json: of open_file (a reader's handle, or NULL), of a
 * file being written, or of the composition (made when none is kept). */
int tk_export_getattr(const char *path, const tk_path *p, const tk_file *open_file,
                      struct stat *st);
int tk_exports_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off);
/* Opens an export: for reading, the composition is the handle's content; for writing
 * (create too), the handle collects a document to import at flush. */
int tk_export_open(const char *path, const tk_path *p, struct fuse_file_info *fi, bool create);
/* Imports what f holds when it changed since the last send: 0 or a negative errno. */
int tk_export_flush(tk_file *f);
/* Takes f out of the list of open writers. */
void tk_export_release(tk_file *f);
/* Forgets the compositions kept (after an import, which may change any export). */
void tk_export_forget(void);

/* ---- actionflow starts (tasks_start.c) ------------------------------------------------- */

int tk_start_getattr(const char *path, const tk_path *p, struct stat *st);
int tk_start_open(const char *path, const tk_path *p, struct fuse_file_info *fi);
/* Starts the actionflow with what f holds as settings, when it changed: 0 or a negative
 * errno. Afterwards f->show holds the run's document. */
int tk_start_flush(tk_file *f);
/* Frees the last runs kept (at unmount). */
void tk_start_shutdown(void);

#endif /* FS_TASKS_INT_H */
