/* render.h: what a file shows: the pretty JSON text of a resource, its checksum and times. */
#ifndef FS_RENDER_H
#define FS_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The file content of a JSON text (which must be valid JSON, e.g. a cf_json's text):
 * cf_json_pretty's two-space form, keys in the server's order, final newline; with id
 * non-NULL (records) "_id" is written first. Deterministic: equal input, equal bytes.
 * Returns 0 with a malloc'ed *out (caller frees) and *out_len, or -1 (invalid text, out
 * of memory) with *out = NULL. */
int render_pretty(const char *text, size_t len, const char *id, char **out, size_t *out_len);

/* The file content of a record: as render_pretty with "_id" first, but the "_id" value is
 * copied byte for byte from the text (the server's escaping, e.g. "\t" stays "\t") when
 * the text holds one; else id is written as a JSON string. Returns as render_pretty. */
int render_record(const char *text, size_t len, const char *id, char **out, size_t *out_len);

/* The time encoded in a MongoDB ObjectId: when id is exactly 24 hex digits, the first 8
 * are the creation time in epoch seconds. Returns true and sets *t, else false. */
bool render_objectid_time(const char *id, time_t *t);

/* A 64-bit checksum of content, to tell a changed rendering from an unchanged one without
 * keeping the old bytes. */
uint64_t render_checksum(const char *data, size_t len);

#endif /* FS_RENDER_H */
