/* journal_fmt.c: the upload journal's record format (CRC-32, encoding) and its place on
 * disk (journal.h). */
#include "journal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------- */
/* Format                                                                     */
/* ------------------------------------------------------------------------- */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t jl_crc32(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint32_t c = 0xFFFFFFFFu;

    pthread_once(&crc_once, crc_init);
    while (len--)
        c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int jl_encode(const jl_rec *r, char **out, size_t *len)
{
    size_t total = JL_HEADER + r->plen + r->dlen;
    unsigned char *b;

    *out = NULL;
    if (r->plen > 0xFFFF || r->dlen > JL_DATA_MAX)
        return -EFBIG;
    b = malloc(total);
    if (!b)
        return -ENOMEM;
    memcpy(b, "CFJ1", 4);
    put_le(b + 4, total, 4);
    b[12] = (unsigned char)r->type;
    b[13] = (unsigned char)r->flags;
    put_le(b + 14, r->plen, 2);
    put_le(b + 16, r->seq, 8);
    put_le(b + 24, r->ref, 8);
    put_le(b + 32, (uint64_t)r->sec, 8);
    put_le(b + 40, r->nsec, 4);
    put_le(b + 44, r->dlen, 4);
    if (r->plen)
        memcpy(b + JL_HEADER, r->path, r->plen);
    if (r->dlen)
        memcpy(b + JL_HEADER + r->plen, r->data, r->dlen);
    put_le(b + 8, jl_crc32(b + 12, total - 12), 4);
    *out = (char *)b;
    *len = total;
    return 0;
}

size_t jl_decode(const char *buf, size_t avail, jl_rec *r)
{
    const unsigned char *b = (const unsigned char *)buf;
    uint64_t total, plen, dlen;

    if (avail < JL_HEADER || memcmp(b, "CFJ1", 4) != 0)
        return 0;
    total = get_le(b + 4, 4);
    plen = get_le(b + 14, 2);
    dlen = get_le(b + 44, 4);
    if (total > avail || dlen > JL_DATA_MAX || total != JL_HEADER + plen + dlen)
        return 0;
    if (get_le(b + 8, 4) != jl_crc32(b + 12, total - 12))
        return 0;
    r->type = b[12];
    if (r->type < JL_PUT || r->type > JL_FAIL)
        return 0;
    r->flags = b[13];
    r->seq = get_le(b + 16, 8);
    r->ref = get_le(b + 24, 8);
    r->sec = (int64_t)get_le(b + 32, 8);
    r->nsec = (uint32_t)get_le(b + 40, 4);
    r->plen = plen;
    r->dlen = dlen;
    r->path = buf + JL_HEADER;
    r->data = buf + JL_HEADER + plen;
    return (size_t)total;
}

/* ------------------------------------------------------------------------- */
/* Files                                                                      */
/* ------------------------------------------------------------------------- */

int jl_errf(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
    return -1;
}

int jl_dir_for(const char *url, const char *username, char *out, size_t outsz)
{
    const char *base = getenv("XDG_CACHE_HOME"), *home;
    uint64_t h = 0xcbf29ce484222325ull;
    const char *parts[3] = {url, "\n", username};
    int n;

    for (int i = 0; i < 3; i++)
        for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++)
            h = (h ^ *p) * 0x100000001b3ull;
    if (base && base[0] == '/') {
        n = snprintf(out, outsz, "%s/clappfs/%016" PRIx64, base, h);
    } else {
        struct passwd *pw;
        home = getenv("HOME");
        if ((!home || home[0] != '/') && (pw = getpwuid(getuid())) != NULL)
            home = pw->pw_dir;
        if (!home || home[0] != '/')
            return -1;
        n = snprintf(out, outsz, "%s/.cache/clappfs/%016" PRIx64, home, h);
    }
    return n > 0 && (size_t)n < outsz ? 0 : -1;
}

/* Makes every missing directory of path (0700); the last two (clappfs/ and the journal)
 * must be ours, real directories, and are set to 0700. */
int jl_make_dirs(const char *path, char *err, size_t errsz)
{
    char buf[PATH_MAX];
    struct stat st;
    size_t len = strlen(path);
    int depth = 0;

    if (len >= sizeof buf)
        return jl_errf(err, errsz, "journal path too long");
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return jl_errf(err, errsz, "cannot make %s: %s", buf, strerror(errno));
        *p = c;
        if (!c)
            break;
    }
    /* The journal directory and its parent. */
    for (char *p = buf + len; depth < 2; depth++) {
        if (lstat(buf, &st) != 0)
            return jl_errf(err, errsz, "cannot stat %s: %s", buf, strerror(errno));
        if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
            return jl_errf(err, errsz, "%s is not a directory of this user's", buf);
        if ((st.st_mode & 07777) != 0700 && chmod(buf, 0700) != 0)
            return jl_errf(err, errsz, "cannot chmod %s: %s", buf, strerror(errno));
        p = strrchr(buf, '/');
        if (!p || p == buf)
            break;
        *p = '\0';
    }
    return 0;
}
