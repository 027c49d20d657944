/* test_fuzz.c: random valid documents and random mutations of them, cross-checked with json-c. */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clappform.h"

enum { DOCS = 1000, MUTANTS = 10 };

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

struct buf {
    char *p;
    size_t len, cap;
};

static void add(struct buf *b, const char *s, size_t n)
{
    if (n == 0)
        return;
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void adds(struct buf *b, const char *s)
{
    add(b, s, strlen(s));
}

static void gen_string(struct buf *b)
{
    static const char *const parts[] = {
        "a",
        "key",
        " ",
        "\\\"",
        "\\\\",
        "\\/",
        "\\n",
        "\\t",
        "\\u00e9",
        "\\uD83D\\uDE00",
        "\\ud800",
        "\xc3\xa9",
        "\xe2\x82\xac",
        "\xf0\x9f\x98\x80",
        "_id",
        "\\u0041",
        "x y",
    };
    uint32_t i, n = rnd(4);

    adds(b, "\"");
    for (i = 0; i < n; ++i)
        adds(b, parts[rnd(sizeof parts / sizeof *parts)]);
    adds(b, "\"");
}

static void gen_ws(struct buf *b)
{
    static const char *const ws[] = {"", "", "", " ", "\n", "\t", "\r\n  "};
    adds(b, ws[rnd(sizeof ws / sizeof *ws)]);
}

/* A random valid JSON value, nested at most depth more levels. */
static void gen_value(struct buf *b, int depth)
{
    static const char *const scalars[] = {
        "0",      "-0",      "1",
        "-12",    "3.25",    "1e5",
        "1E+400", "-2.5e-3", "12345678901234567890123",
        "true",   "false",   "null",
        "0.0",
    };
    uint32_t i, n, kind = rnd(depth > 0 ? 5 : 3);

    if (kind == 0) {
        adds(b, scalars[rnd(sizeof scalars / sizeof *scalars)]);
    } else if (kind == 1 || kind == 2) {
        gen_string(b);
    } else {
        n = rnd(5);
        adds(b, kind == 3 ? "[" : "{");
        for (i = 0; i < n; ++i) {
            if (i)
                adds(b, ",");
            gen_ws(b);
            if (kind == 4) {
                gen_string(b);
                gen_ws(b);
                adds(b, ":");
                gen_ws(b);
            }
            gen_value(b, depth - 1);
            gen_ws(b);
        }
        adds(b, kind == 3 ? "]" : "}");
    }
}

static void mutate(struct buf *b)
{
    static const char interesting[] =
        "{}[]\",:\\-+.eE0123456789 \n\t\x00\x80\xbf\xc0\xe0\xed\xf4\xff"
        "u/tfn'";
    size_t pos = b->len ? rnd((uint32_t)b->len + 1) : 0, n;
    char c[8];

    switch (rnd(5)) {
    case 0: /* replace a byte */
        if (pos < b->len)
            b->p[pos] = rnd(2) ? interesting[rnd(sizeof interesting - 1)] : (char)rnd(256);
        break;
    case 1: /* insert a byte */
        c[0] = rnd(2) ? interesting[rnd(sizeof interesting - 1)] : (char)rnd(256);
        add(b, c, 1);
        memmove(b->p + pos + 1, b->p + pos, b->len - 1 - pos);
        b->p[pos] = c[0];
        break;
    case 2: /* delete a few bytes */
        n = 1 + rnd(3);
        if (n > b->len - pos)
            n = b->len - pos;
        memmove(b->p + pos, b->p + pos + n, b->len - pos - n);
        b->len -= n;
        break;
    case 3: /* repeat a slice */
        n = pos < b->len ? rnd((uint32_t)(b->len - pos)) % 16 : 0;
        if (n) {
            char tmp[16];
            memcpy(tmp, b->p + pos, n);
            add(b, tmp, n);
            memmove(b->p + pos + n, b->p + pos, b->len - n - pos);
            memcpy(b->p + pos, tmp, n);
        }
        break;
    default: /* truncate */
        b->len = pos;
        break;
    }
}

/* Whether json-c reads text like json-c's own tree of member key (NULL: the whole). */
static int span_matches(const char *span, size_t len, json_object *want)
{
    cf_json *v = cf_json_parse(span, len, 0, NULL);
    int ok = v && json_object_equal(cf_json_object(v), want);

    cf_json_free(v);
    return ok;
}

struct each_state {
    json_object *arr;
    size_t count;
    int mismatches;
};

static int each_element(void *ud, size_t index, const char *elem, size_t elem_len)
{
    struct each_state *st = ud;

    st->count++;
    if (!span_matches(elem, elem_len, json_object_array_get_idx(st->arr, index)))
        st->mismatches++;
    return 0;
}

/* The properties every text must have, valid or not; counts failures instead of one
 * CHECK per mutant so the TAP stream stays short. */
static int properties(const char *text, size_t len)
{
    cf_json_problem pr;
    char *p1 = NULL, *p2 = NULL, *c = NULL, *pc = NULL;
    size_t l1 = 0, l2 = 0, lc = 0, lpc = 0, start, span;
    int bad = 0, valid = cf_json_check(text, len, 0, &pr) == 0;
    int strict = cf_json_check(text, len, CF_JSON_OBJECT_ONLY | CF_JSON_NO_DUP_KEYS, NULL) == 0;
    struct each_state none = {NULL, 0, 0};
    cf_json *v = NULL;
    json_object *obj;

    if (strict && !valid)
        bad |= 1;
    if (!valid) {
        bad |= (pr.line < 1 || pr.column < 1 || pr.offset > len || pr.what[0] == '\0') << 1;
        bad |= (cf_json_pretty(text, len, NULL, &p1, &l1) != -1 || p1 != NULL) << 2;
        bad |= (cf_json_member_span(text, len, "a", &start, &span) != -1) << 3;
        bad |= (cf_json_array_each(text, len, each_element, &none) != -1 || none.count) << 3;
        bad |= (cf_json_parse(text, len, 0, NULL) != NULL) << 4;
        return bad;
    }
    /* json-c must read whatever the checker accepts */
    v = cf_json_parse(text, len, 0, &pr);
    bad |= (v == NULL) << 5;
    bad |= (cf_json_pretty(text, len, NULL, &p1, &l1) != 0) << 6;
    bad |= (!p1 || cf_json_check(p1, l1, 0, NULL) != 0) << 7;
    bad |=
        (!p1 || cf_json_pretty(p1, l1, NULL, &p2, &l2) != 0 || l1 != l2 || memcmp(p1, p2, l1) != 0)
        << 8;
    bad |=
        (cf_json_compact(text, len, NULL, NULL, NULL, &c, &lc) != 0 ||
         cf_json_pretty(c, lc, NULL, &pc, &lpc) != 0 || !p1 || lpc != l1 || memcmp(pc, p1, l1) != 0)
        << 9;
    /* json-c keys stop at a NUL; such texts are left out of the span cross-check */
    obj = cf_json_object(v);
    if (v && !memmem(text, len, "\\u0000", 6)) {
        if (json_object_is_type(obj, json_type_object)) {
            json_object_object_foreach(obj, key, val)
            {
                /* json-c reads a lone escaped surrogate as U+FFFD, the span compare
                 * keeps it distinct (see json_scan.c): no common ground to compare */
                if (strstr(key, "\xef\xbf\xbd"))
                    continue;
                if (cf_json_member_span(text, len, key, &start, &span) != 0 ||
                    !span_matches(text + start, span, val))
                    bad |= 1 << 10;
            }
        } else if (json_object_is_type(obj, json_type_array)) {
            struct each_state st = {obj, 0, 0};
            bad |= (cf_json_array_each(text, len, each_element, &st) != 0 ||
                    st.count != json_object_array_length(obj) || st.mismatches)
                   << 11;
        }
    }
    cf_json_free(v);
    free(p1);
    free(p2);
    free(c);
    free(pc);
    return bad;
}

int main(void)
{
    struct buf b = {NULL, 0, 0};
    int d, m, bad, failures = 0, accepted = 0, refused = 0, gen_refused = 0;
    char *exact;

    for (d = 0; d < DOCS; ++d) {
        struct buf doc = {NULL, 0, 0};
        gen_ws(&doc);
        gen_value(&doc, 1 + (int)rnd(5));
        gen_ws(&doc);
        if (cf_json_check(doc.p, doc.len, 0, NULL) != 0)
            ++gen_refused;
        for (m = 0; m <= MUTANTS; ++m) {
            b.len = 0;
            add(&b, doc.p, doc.len);
            if (m > 0) {
                int k, n = 1 + (int)rnd(3);
                for (k = 0; k < n; ++k)
                    mutate(&b);
            }
            /* an exact-size copy, so any read past the length is an invalid read */
            exact = malloc(b.len ? b.len : 1);
            if (!exact)
                abort();
            memcpy(exact, b.p, b.len);
            bad = properties(exact, b.len);
            if (cf_json_check(exact, b.len, 0, NULL) == 0)
                ++accepted;
            else
                ++refused;
            if (bad) {
                ++failures;
                if (failures <= 30)
                    printf("# property failure 0x%x on %zu bytes: '%.*s'\n", (unsigned)bad, b.len,
                           (int)b.len, exact);
            }
            free(exact);
        }
        free(doc.p);
    }
    free(b.p);
    printf("# %d texts accepted, %d refused\n", accepted, refused);
    CHECK_INT(gen_refused, 0);
    CHECK_INT(failures, 0);
    CHECK(accepted > DOCS && refused > DOCS);
    return check_done();
}
