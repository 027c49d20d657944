/* names.h: reversible mapping between server names (ids, slugs, e-mails) and file names. */
#ifndef FS_NAMES_H
#define FS_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* Longest file name the kernel accepts (bytes). */
#define NAMES_MAX 255

/* The marker of a shortened name: "%~" never comes out of percent-escaping. */
#define NAMES_SHORT_MARK "%~"

/* What names_decode found. */
typedef enum names_result {
    NAMES_OK = 0,         /* *out holds the server name */
    NAMES_INVALID = -1,   /* no server name has this file name: ENOENT without asking */
    NAMES_SHORTENED = 1,  /* a shortened name: only a listing can tell what it stands for */
} names_result;

/* Whether a server name is used as it is (with suffix appended): it holds no '/', '%' or
 * control byte (0x01-0x1f, 0x7f), does not start with '.', and name+suffix fits in
 * NAMES_MAX bytes. Bytes >= 0x80 (UTF-8), spaces, '+', '@' are all fine. */
int names_is_safe(const char *name, const char *suffix);

/* The file name of a server name: name escaped (see names_is_safe) then suffix appended
 * (suffix may be NULL or ""). Escapes: '%' -> %25, '/' -> %2F, a leading '.' -> %2E,
 * control bytes -> %XX (upper-case hex). When the result would still exceed NAMES_MAX
 * bytes, it becomes  <prefix of the escaped name> "%~" <16 hex digits of a 64-bit hash of
 * the server name> <suffix>,  the prefix cut at a character boundary: deterministic, at
 * most NAMES_MAX bytes. The empty name has no file name.
 * Returns 0 and a malloc'ed *out (caller frees), or -1 with *out = NULL (empty name, or
 * out of memory, errno set). */
int names_encode(const char *name, const char *suffix, char **out);

/* The server name of a file name made by names_encode. The file name must end with suffix
 * (when non-empty) and be the exact form names_encode makes (so "%41" is not "A": each
 * resource has one path). Returns NAMES_OK with a malloc'ed *out, NAMES_SHORTENED or
 * NAMES_INVALID with *out = NULL. */
names_result names_decode(const char *file, const char *suffix, char **out);

/* 64-bit FNV-1a over len bytes: the hash used in shortened names (also handy elsewhere). */
uint64_t names_hash64(const void *data, size_t len);

#endif /* FS_NAMES_H */
