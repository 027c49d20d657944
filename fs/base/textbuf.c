/* textbuf.c: growable text and JSON string escaping for the generated files of .clappfs. */
#include "textbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool grow(textbuf *b, size_t more)
{
    size_t need, cap;
    char *p;

    if (b->failed)
        return false;
    if (more > SIZE_MAX / 2 - b->len - 1) {
        b->failed = true;
        return false;
    }
    need = b->len + more + 1;
    if (need <= b->cap)
        return true;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    p = realloc(b->data, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void tb_append(textbuf *b, const char *s, size_t len)
{
    if (!grow(b, len))
        return;
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void tb_puts(textbuf *b, const char *s)
{
    tb_append(b, s, strlen(s));
}

void tb_printf(textbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        tb_append(b, small, (size_t)n);
        return;
    }
    if (!grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))
            return 0; /* overlong, surrogate */
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

void tb_json_str(textbuf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (!s) {
        tb_puts(b, "null");
        return;
    }
    tb_append(b, "\"", 1);
    while (*p) {
        const unsigned char *run = p;
        /* Copy plain ASCII and valid UTF-8 in runs. */
        while (*p && *p != '"' && *p != '\\' && *p >= 0x20 && *p != 0x7f) {
            size_t n = utf8_len(p);
            if (n == 0)
                break;
            p += n;
        }
        if (p > run)
            tb_append(b, (const char *)run, (size_t)(p - run));
        if (!*p)
            break;
        switch (*p) {
        case '"':
            tb_puts(b, "\\\"");
            break;
        case '\\':
            tb_puts(b, "\\\\");
            break;
        case '\n':
            tb_puts(b, "\\n");
            break;
        case '\t':
            tb_puts(b, "\\t");
            break;
        case '\r':
            tb_puts(b, "\\r");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                tb_printf(b, "\\u%04x", *p);
            else
                tb_puts(b, "\\ufffd"); /* a byte of invalid UTF-8 */
            break;
        }
        p++;
    }
    tb_append(b, "\"", 1);
}

char *tb_take(textbuf *b, size_t *len)
{
    char *out;

    if (!b->failed && !b->data)
        grow(b, 0);
    if (b->failed) {
        tb_free(b);
        if (len)
            *len = 0;
        return NULL;
    }
    b->data[b->len] = '\0';
    out = b->data;
    if (len)
        *len = b->len;
    memset(b, 0, sizeof *b);
    return out;
}

void tb_free(textbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}
