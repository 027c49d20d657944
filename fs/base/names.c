/* names.c: percent-escaping of unsafe server names and shortening of over-long ones. */
#include "names.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char hexdig[] = "0123456789ABCDEF";

uint64_t names_hash64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static bool is_control(unsigned char ch)
{
    return ch < 0x20 || ch == 0x7f;
}

/* Whether byte i of name must be escaped. */
static bool needs_escape(const char *name, size_t i)
{
    unsigned char ch = (unsigned char)name[i];
    return ch == '%' || ch == '/' || is_control(ch) || (i == 0 && ch == '.');
}

int names_is_safe(const char *name, const char *suffix)
{
    size_t len, slen = suffix ? strlen(suffix) : 0;

    if (!name || !name[0])
        return 0;
    len = strlen(name);
    if (len + slen > NAMES_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (needs_escape(name, i))
            return 0;
    return 1;
}

/* Length of the longest prefix of esc (escaped text) of at most max bytes that ends at a
 * character boundary: not inside a %XX triple, not inside a UTF-8 sequence. */
static size_t cut_point(const char *esc, size_t len, size_t max)
{
    size_t cut = 0, i = 0;
    while (i < len) {
        size_t step = 1;
        unsigned char ch = (unsigned char)esc[i];
        if (ch == '%')
            step = 3;
        else if (ch >= 0xc0) {
            /* A UTF-8 lead byte: take its continuation bytes along with it. */
            while (i + step < len && ((unsigned char)esc[i + step] & 0xc0) == 0x80)
                step++;
        }
        if (i + step > max)
            break;
        i += step;
        cut = i;
    }
    return cut;
}

int names_encode(const char *name, const char *suffix, char **out)
{
    size_t len, slen, elen = 0, o = 0;
    char *esc = NULL;
    int rc = -1;

    *out = NULL;
    if (!suffix)
        suffix = "";
    if (!name || !name[0]) {
        errno = EINVAL;
        goto cleanup;
    }
    len = strlen(name);
    slen = strlen(suffix);
    for (size_t i = 0; i < len; i++)
        elen += needs_escape(name, i) ? 3 : 1;
    /* Room for the escaped name, or the shortened form, plus the suffix. */
    esc = malloc(elen + slen + 2 + 16 + 1);
    if (!esc)
        goto cleanup;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (needs_escape(name, i)) {
            esc[o++] = '%';
            esc[o++] = hexdig[ch >> 4];
            esc[o++] = hexdig[ch & 15];
        } else {
            esc[o++] = (char)ch;
        }
    }
    if (elen + slen > NAMES_MAX) {
        size_t room = NAMES_MAX - slen - strlen(NAMES_SHORT_MARK) - 16;
        o = cut_point(esc, elen, room);
        o += (size_t)sprintf(esc + o, "%s%016llx", NAMES_SHORT_MARK,
                             (unsigned long long)names_hash64(name, len));
    }
    memcpy(esc + o, suffix, slen + 1);
    *out = esc;
    esc = NULL;
    rc = 0;
cleanup:
    free(esc);
    return rc;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

names_result names_decode(const char *file, const char *suffix, char **out)
{
    size_t flen, slen, blen, o = 0;
    char *name = NULL, *again = NULL;
    names_result rc = NAMES_INVALID;

    *out = NULL;
    if (!suffix)
        suffix = "";
    if (!file)
        goto cleanup;
    flen = strlen(file);
    slen = strlen(suffix);
    if (flen <= slen || flen > NAMES_MAX || strcmp(file + flen - slen, suffix) != 0)
        goto cleanup;
    blen = flen - slen;
    if (strstr(file, NAMES_SHORT_MARK)) {
        /* Only names_encode's shortening writes "%~"; check its shape here, the listing
         * decides whether it exists. */
        const char *mark = file + blen - 16 - strlen(NAMES_SHORT_MARK);
        if (blen < 16 + strlen(NAMES_SHORT_MARK) || strncmp(mark, NAMES_SHORT_MARK, 2) != 0)
            goto cleanup;
        for (size_t i = 0; i < 16; i++)
            if (hexval(mark[2 + i]) < 0 || (mark[2 + i] >= 'A' && mark[2 + i] <= 'F'))
                goto cleanup;
        rc = NAMES_SHORTENED;
        goto cleanup;
    }
    name = malloc(blen + 1);
    if (!name)
        goto cleanup;
    for (size_t i = 0; i < blen; i++) {
        if (file[i] == '%') {
            int hi, lo;
            if (i + 2 >= blen)
                goto cleanup;
            hi = hexval(file[i + 1]);
            lo = hexval(file[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                goto cleanup;
            name[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            name[o++] = file[i];
        }
    }
    name[o] = '\0';
    /* One path per resource: only the exact form that names_encode makes is accepted. */
    if (names_encode(name, suffix, &again) != 0 || strcmp(again, file) != 0)
        goto cleanup;
    *out = name;
    name = NULL;
    rc = NAMES_OK;
cleanup:
    free(name);
    free(again);
    return rc;
}
