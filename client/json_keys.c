/* json_keys.c: decoding JSON strings and finding duplicate keys in objects. */
#include <stdlib.h>
#include <string.h>

#include "json_internal.h"

/* ---- decoding ------------------------------------------------------------ */

/* The value of 4 hex digits (already checked). */
static unsigned hex4(const char *p)
{
    unsigned v = 0, c;
    int i;

    for (i = 0; i < 4; ++i) {
        c = (unsigned char)p[i];
        v = v << 4 | (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* Decodes the escape at raw[*i] (a backslash) into out (4 bytes) and moves *i past it. */
static size_t decode_escape(const char *raw, size_t n, size_t *i, char *out)
{
    size_t p = *i;
    unsigned cp, lo;

    *i = p + 2;
    switch (raw[p + 1]) {
    case 'b':
        out[0] = '\b';
        return 1;
    case 'f':
        out[0] = '\f';
        return 1;
    case 'n':
        out[0] = '\n';
        return 1;
    case 'r':
        out[0] = '\r';
        return 1;
    case 't':
        out[0] = '\t';
        return 1;
    case 'u':
        break;
    default:
        out[0] = raw[p + 1];
        return 1;
    }
    cp = hex4(raw + p + 2);
    *i = p + 6;
    if (cp >= 0xd800 && cp < 0xdc00 && p + 12 <= n && raw[p + 6] == '\\' && raw[p + 7] == 'u') {
        lo = hex4(raw + p + 8);
        if (lo >= 0xdc00 && lo < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            *i = p + 12;
        }
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

size_t cf_jscan_decode(const char *raw, size_t n, char *out)
{
    size_t i = 0, o = 0, run;
    const char *bs;

    while (i < n) {
        bs = memchr(raw + i, '\\', n - i);
        run = bs ? (size_t)(bs - (raw + i)) : n - i;
        memcpy(out + o, raw + i, run);
        o += run;
        i += run;
        if (i < n)
            o += decode_escape(raw, n, &i, out + o);
    }
    return o;
}

bool cf_jscan_string_is(const char *token, size_t len, bool escaped, const char *key,
                        size_t key_len)
{
    const char *raw = token + 1;
    size_t n = len - 2, i = 0, k = 0, m;
    char unit[4];

    if (!escaped)
        return n == key_len && memcmp(raw, key, n) == 0;
    while (i < n) {
        if (raw[i] != '\\') {
            if (k == key_len || key[k] != raw[i])
                return false;
            ++i;
            ++k;
            continue;
        }
        m = decode_escape(raw, n, &i, unit);
        if (key_len - k < m || memcmp(key + k, unit, m) != 0)
            return false;
        k += m;
    }
    return k == key_len;
}

/* ---- duplicate keys ------------------------------------------------------ */

/* The keys of every open object live on one stack (rec), each object's run starting at
 * its level's base; escaped keys are compared in decoded form, kept in arena. Each level
 * has an open-addressing table of indexes into rec; closing the object clears exactly
 * the slots its keys used, so a level's table is reused without rescanning it, and
 * checking stays linear however many objects and keys the text has. */
struct keyrec {
    const char *plain; /* the key's bytes in the text, or NULL when decoded */
    size_t off;        /* where the decoded bytes are in the arena */
    size_t len;
    uint64_t hash;
    uint32_t slot;
};

struct keylevel {
    uint32_t *slots; /* rec index + 1; 0 is free */
    uint32_t cap;    /* a power of two, or 0 */
    size_t base;
    size_t arena_base;
};

struct cf_jkeys {
    struct keyrec *rec;
    size_t nrec, caprec;
    char *arena;
    size_t narena, caparena;
    struct keylevel level[CF_JSON_MAX_DEPTH + CF_JSON_WRAP_LEVELS + 1];
};

struct cf_jkeys *cf_jkeys_new(void)
{
    return calloc(1, sizeof(struct cf_jkeys));
}

void cf_jkeys_free(struct cf_jkeys *k)
{
    int i;

    if (!k)
        return;
    for (i = 0; i <= CF_JSON_MAX_DEPTH + CF_JSON_WRAP_LEVELS; ++i)
        free(k->level[i].slots);
    free(k->rec);
    free(k->arena);
    free(k);
}

/* Makes room for need items of size bytes (doubling); returns the possibly moved buffer,
 * or NULL (the old one intact) when out of memory. */
static void *grow(void *buf, size_t *cap, size_t need, size_t size)
{
    size_t ncap = *cap ? *cap : 16;
    void *nbuf;

    while (ncap < need)
        ncap *= 2;
    if (ncap == *cap)
        return buf;
    nbuf = realloc(buf, ncap * size);
    if (nbuf)
        *cap = ncap;
    return nbuf;
}

static const char *key_bytes(const struct cf_jkeys *k, const struct keyrec *r)
{
    return r->plain ? r->plain : k->arena + r->off;
}

static bool rehash(struct cf_jkeys *k, struct keylevel *lv)
{
    uint32_t ncap = lv->cap ? lv->cap * 2 : 16, mask = ncap - 1, idx;
    uint32_t *slots = calloc(ncap, sizeof *slots);
    size_t i;

    if (!slots)
        return false;
    for (i = lv->base; i < k->nrec; ++i) {
        for (idx = (uint32_t)k->rec[i].hash & mask; slots[idx]; idx = (idx + 1) & mask)
            ;
        slots[idx] = (uint32_t)(i + 1);
        k->rec[i].slot = idx;
    }
    free(lv->slots);
    lv->slots = slots;
    lv->cap = ncap;
    return true;
}

void cf_jkeys_open(struct cf_jkeys *k, int depth)
{
    k->level[depth].base = k->nrec;
    k->level[depth].arena_base = k->narena;
}

void cf_jkeys_close(struct cf_jkeys *k, int depth)
{
    struct keylevel *lv = &k->level[depth];
    size_t i;

    for (i = lv->base; i < k->nrec; ++i)
        lv->slots[k->rec[i].slot] = 0;
    k->nrec = lv->base;
    k->narena = lv->arena_base;
}

int cf_jkeys_add(struct cf_jkeys *k, int depth, const char *token, size_t len, bool escaped)
{
    struct keylevel *lv = &k->level[depth];
    struct keyrec r = {.plain = token + 1, .len = len - 2};
    const char *bytes = r.plain;
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    uint32_t idx, mask;
    struct keyrec *nrec;
    char *narena;
    size_t i;

    if (k->nrec >= UINT32_MAX - 1 || !(nrec = grow(k->rec, &k->caprec, k->nrec + 1, sizeof r)))
        return -1;
    k->rec = nrec;
    if (escaped) {
        if (!(narena = grow(k->arena, &k->caparena, k->narena + r.len, 1)))
            return -1;
        k->arena = narena;
        r.len = cf_jscan_decode(r.plain, r.len, k->arena + k->narena);
        r.off = k->narena;
        r.plain = NULL;
        bytes = k->arena + r.off;
    }
    for (i = 0; i < r.len; ++i)
        h = (h ^ (unsigned char)bytes[i]) * 0x100000001b3ULL;
    r.hash = h ^ (h >> 32);
    if ((k->nrec - lv->base + 1) * 2 > lv->cap && !rehash(k, lv))
        return -1;
    mask = lv->cap - 1;
    for (idx = (uint32_t)r.hash & mask; lv->slots[idx]; idx = (idx + 1) & mask) {
        const struct keyrec *o = &k->rec[lv->slots[idx] - 1];
        if (o->hash == r.hash && o->len == r.len && memcmp(key_bytes(k, o), bytes, r.len) == 0)
            return 1;
    }
    if (escaped)
        k->narena += r.len;
    r.slot = idx;
    lv->slots[idx] = (uint32_t)(k->nrec + 1);
    k->rec[k->nrec++] = r;
    return 0;
}
