/* render.c: file contents from server JSON (through the client's printer) and file times. */
#include "render.h"

#include <stdlib.h>
#include <string.h>

#include "clappform.h"
#include "names.h"

int render_pretty(const char *text, size_t len, const char *id, char **out, size_t *out_len)
{
    *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!text)
        return -1;
    return cf_json_pretty(text, len, id, out, out_len);
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Whether the object text's first member is "_id" (spelled plainly) with a string value. */
static bool id_first(const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    p = skip_ws(p, end);
    if (p == end || *p++ != '{')
        return false;
    p = skip_ws(p, end);
    if ((size_t)(end - p) < 5 || memcmp(p, "\"_id\"", 5) != 0)
        return false;
    p = skip_ws(p + 5, end);
    if (p == end || *p++ != ':')
        return false;
    p = skip_ws(p, end);
    return p < end && *p == '"';
}

int render_record(const char *text, size_t len, const char *id, char **out, size_t *out_len)
{
    size_t start, span;
    char *value = NULL, *compact = NULL;
    size_t clen = 0;
    int rc;

    *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!text)
        return -1;
    if (id_first(text, len))
        return cf_json_pretty(text, len, NULL, out, out_len);
    if (cf_json_member_span(text, len, "_id", &start, &span) != 0 || span == 0 ||
        text[start] != '"')
        return cf_json_pretty(text, len, id, out, out_len);
    /* "_id" elsewhere: move it first with its exact text, then indent. */
    value = strndup(text + start, span);
    if (!value)
        return -1;
    rc = cf_json_compact(text, len, "_id", "_id", value, &compact, &clen);
    if (rc == 0)
        rc = cf_json_pretty(compact, clen, NULL, out, out_len);
    free(value);
    free(compact);
    return rc;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

bool render_objectid_time(const char *id, time_t *t)
{
    uint32_t secs = 0;

    if (!id || strlen(id) != 24)
        return false;
    for (size_t i = 0; i < 24; i++)
        if (hexval(id[i]) < 0)
            return false;
    for (size_t i = 0; i < 8; i++)
        secs = secs * 16 + (uint32_t)hexval(id[i]);
    *t = (time_t)secs;
    return true;
}

/* One multiply-xorshift round over a word. */
static uint64_t mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0xff51afd7ed558ccdULL;
    return h ^ (h >> 32);
}

uint64_t render_checksum(const char *data, size_t len)
{
    /* Eight bytes a step (every record of a listing goes through it), seeded with the
     * length; in memory only, so it may change between versions. */
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w;
    size_t i = 0;

    for (; i + 8 <= len; i += 8) {
        memcpy(&w, data + i, 8);
        h = mix(h, w);
    }
    if (i < len) {
        w = 0;
        memcpy(&w, data + i, len - i);
        h = mix(h, w);
    }
    h ^= h >> 29;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 32);
}
