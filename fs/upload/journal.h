/* journal.h: the on-disk journal of -o async_uploads: an append-only log of record
 * uploads (puts and deletes) with checksums, one per environment and user, that survives
 * a crash of the mount. The queue and the workers that empty it are uploader.c's.
 *
 * Place: $XDG_CACHE_HOME/clappfs/<hash>/ (else ~/.cache/clappfs/<hash>/), <hash> the
 * FNV-1a 64 of "URL\nusername" in hex (no password anywhere); directories 0700, files 0600.
 * It holds `lock` (flock: one mount at a time), `about` (URL and username, for people) and
 * segments seg-NNNNNNNNNN.log, appended in order, a new one per mount (and past 64 MiB).
 *
 * A record is a 48-byte header, then the path, then the data:
 *    0 "CFJ1"   4 u32 size of the whole record   8 u32 CRC-32 of bytes 12..size
 *   12 u8 type  13 u8 flags  14 u16 path length  16 u64 seq  24 u64 ref
 *   32 i64 mtime seconds  40 u32 mtime nanoseconds  44 u32 data length
 * (little-endian). PUT (data: the file's content) and DEL carry a path and a seq that
 * grows by one per entry; DONE and FAIL (data: the server's message) name the entry they
 * finish by ref. Each record is one write(2); the segment is fdatasync'ed by
 * jl_sync (uploader.c calls it within 50 ms of an append). A record whose size, magic
 * or checksum is wrong (a torn write) is skipped with a warning, and reading goes on at
 * the next record that checks; it is never applied.
 *
 * Replay (jl_open): per path, the entry with the highest seq is live unless a DONE names
 * it; older entries of the path are superseded (the newest one holds the file's final
 * state: a put's content, or a delete) and get their DONE at once. A segment is removed
 * when it and every older one hold no live entry; the directory goes at jl_close when
 * nothing is live.
 */
#ifndef FS_JOURNAL_H
#define FS_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum { JL_PUT = 1, JL_DEL = 2, JL_DONE = 3, JL_FAIL = 4 };
#define JL_F_EXISTS 1u /* a put: the file was on the server (update first) */
#define JL_F_TIME 2u   /* the mtime was set by a tool (kept on the server's file) */

#define JL_HEADER 48
#define JL_DATA_MAX (32u << 20)

/* One live entry: a put or a delete of the file at path. */
typedef struct jl_entry {
    uint64_t seq;
    int type; /* JL_PUT or JL_DEL */
    unsigned flags;
    struct timespec mtime;
    char *path;   /* malloc'ed */
    uint32_t seg; /* the segment's number */
    uint64_t off; /* of the data in the segment */
    uint32_t len; /* of the data */
    char *fail;   /* the message of a final failure recorded, or NULL */
} jl_entry;

typedef struct jlog jlog;

/* The journal directory of url + username (into out). 0, or -1 when no cache directory
 * can be named (no $XDG_CACHE_HOME, no home) or it does not fit. */
int jl_dir_for(const char *url, const char *username, char *out, size_t outsz);
/* Writes a message into err (errsz bytes) and returns -1: how the journal fails. */
int jl_errf(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Opens (making it, 0700) the journal at dir: takes its lock, writes `about`, replays
 * every segment and starts a new one. *live gets the live entries by seq (free with
 * jl_entries_free). Returns 0, or -1 with a message in err. */
int jl_open(const char *dir, const char *about, jlog **out, jl_entry **live, size_t *nlive,
            char *err, size_t errsz);

/* Appends a put (data) or a delete (len 0) of path; *e gets the entry (its path copied).
 * mtime may be NULL. 0 or a negative errno (nothing was added). */
int jl_add(jlog *j, int type, unsigned flags, const struct timespec *mtime, const char *path,
           const char *data, size_t len, jl_entry *e);
/* The entry is finished (uploaded, or superseded): a DONE record; its segment may go. */
int jl_done(jlog *j, const jl_entry *e);
/* The entry failed for good with msg: a FAIL record (it stays live). */
int jl_fail(jlog *j, const jl_entry *e, const char *msg);
/* Reads the entry's data into buf (e->len bytes). 0 or a negative errno. */
int jl_read(jlog *j, const jl_entry *e, char *buf);
/* fdatasync of what was appended since the last call (outside the log's lock). */
int jl_sync(jlog *j);
/* Live entries, and segments held (tests). */
size_t jl_live(jlog *j);
size_t jl_segments(jlog *j);
const char *jl_path(jlog *j);
/* Syncs and closes; with nothing live the segments, files and directory are removed.
 * Accepts NULL. */
void jl_close(jlog *j);

void jl_entry_clear(jl_entry *e);
void jl_entries_free(jl_entry *v, size_t n);

/* The record format, for the tests: encodes into a malloc'ed buffer; decodes the record at
 * buf (avail bytes), returning its size, or 0 when it does not check. */
typedef struct jl_rec {
    int type;
    unsigned flags;
    uint64_t seq, ref;
    int64_t sec;
    uint32_t nsec;
    const char *path;
    size_t plen;
    const char *data;
    size_t dlen;
} jl_rec;
int jl_encode(const jl_rec *r, char **out, size_t *len);
/* Makes every missing directory of path (0700); the journal and its parent must be real
 * directories of this user's and are set to 0700. 0, or -1 with a message in err. */
int jl_make_dirs(const char *path, char *err, size_t errsz);
size_t jl_decode(const char *buf, size_t avail, jl_rec *r);
uint32_t jl_crc32(const void *data, size_t len);

#endif /* FS_JOURNAL_H */
