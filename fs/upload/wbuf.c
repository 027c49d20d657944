/* wbuf.c: write buffers, the check of what may be sent, and identity-fixed bodies. */
#include "wbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(wbuf *b, size_t want)
{
    size_t nc;
    char *nd;

    if (want > WBUF_MAX)
        return -EFBIG;
    if (want + 1 <= b->cap)
        return 0;
    nc = b->cap ? b->cap : 4096;
    while (nc < want + 1)
        nc *= 2;
    if (nc > WBUF_MAX + 1)
        nc = WBUF_MAX + 1;
    nd = realloc(b->data, nc);
    if (!nd)
        return -ENOMEM;
    b->data = nd;
    b->cap = nc;
    return 0;
}

int wbuf_write(wbuf *b, const char *src, size_t n, off_t off)
{
    size_t end;
    int rc;

    if (off < 0)
        return -EINVAL;
    if ((uint64_t)off > WBUF_MAX || n > WBUF_MAX - (size_t)off)
        return -EFBIG;
    end = (size_t)off + n;
    rc = reserve(b, end > b->len ? end : b->len);
    if (rc)
        return rc;
    if ((size_t)off > b->len)
        memset(b->data + b->len, 0, (size_t)off - b->len);
    if (n)
        memcpy(b->data + off, src, n);
    if (end > b->len)
        b->len = end;
    b->data[b->len] = '\0';
    return 0;
}

int wbuf_truncate(wbuf *b, off_t size)
{
    int rc;

    if (size < 0)
        return -EINVAL;
    if ((uint64_t)size > WBUF_MAX)
        return -EFBIG;
    rc = reserve(b, (size_t)size);
    if (rc)
        return rc;
    if ((size_t)size > b->len)
        memset(b->data + b->len, 0, (size_t)size - b->len);
    b->len = (size_t)size;
    b->data[b->len] = '\0';
    return 0;
}

int wbuf_set(wbuf *b, const char *src, size_t n)
{
    int rc = reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data, src, n);
    b->len = n;
    b->data[n] = '\0';
    return 0;
}

void wbuf_free(wbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

int wbuf_check(const char *text, size_t len, cf_json_problem *pb)
{
    memset(pb, 0, sizeof *pb);
    if (len > CF_JSON_MAX_RECORD) {
        pb->line = 0;
        pb->column = 0;
        pb->offset = CF_JSON_MAX_RECORD;
        snprintf(pb->what, sizeof pb->what, "%zu bytes, over the limit of %u bytes (16 MiB)",
                 len, CF_JSON_MAX_RECORD);
        return -EINVAL;
    }
    if (cf_json_check(text ? text : "", len, CF_JSON_OBJECT_ONLY | CF_JSON_NO_DUP_KEYS, pb) != 0)
        return -EINVAL;
    return 0;
}

char *wbuf_quote(const char *s)
{
    size_t n = strlen(s), k = 0;
    char *out = malloc(n * 6 + 3);

    if (!out)
        return NULL;
    out[k++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            out[k++] = '\\';
            out[k++] = '"';
            break;
        case '\\':
            out[k++] = '\\';
            out[k++] = '\\';
            break;
        case '\n':
            out[k++] = '\\';
            out[k++] = 'n';
            break;
        case '\t':
            out[k++] = '\\';
            out[k++] = 't';
            break;
        case '\r':
            out[k++] = '\\';
            out[k++] = 'r';
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                k += (size_t)sprintf(out + k, "\\u%04x", *p);
            } else {
                out[k++] = (char)*p;
            }
        }
    }
    out[k++] = '"';
    out[k] = '\0';
    return out;
}

bool wbuf_is_integer(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (!*p || (*p == '0' && p[1]))
        return false;
    for (; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

int wbuf_body(const char *text, size_t len, const char *key1, const char *val1,
              const char *key2, const char *val2, char **out, size_t *out_len)
{
    char *mid = NULL;
    size_t mid_len = 0;
    int rc;

    *out = NULL;
    *out_len = 0;
    if (!key2) {
        rc = cf_json_compact(text, len, key1, val1 ? key1 : NULL, val1, out, out_len);
        return rc == 0 ? 0 : -ENOMEM;
    }
    /* key2 first, then key1 in front of it. */
    rc = cf_json_compact(text, len, key2, val2 ? key2 : NULL, val2, &mid, &mid_len);
    if (rc == 0)
        rc = cf_json_compact(mid, mid_len, key1, val1 ? key1 : NULL, val1, out, out_len);
    free(mid);
    return rc == 0 ? 0 : -ENOMEM;
}
