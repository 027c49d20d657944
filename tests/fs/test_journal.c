/* test_journal.c: the upload journal's format (journal.h): records written and read back,
 * torn and damaged records ignored, what replay keeps and in which order, the lock, the
 * place and the modes of its files. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "journal.h"
#include "log.h"

static char root[256];
static int warnings;

static void count_warnings(void *ud, log_level level, const char *file, int line, const char *msg)
{
    (void)ud;
    (void)file;
    (void)line;
    if (level == LOG_LVL_WARNING && strstr(msg, "ignored"))
        warnings++;
}

/* A path below the test's directory (16 kept at once: callers keep a few). */
static const char *dir_of(const char *name)
{
    static char bufs[16][512];
    static int next;
    char *buf = bufs[next++ % 16];
    snprintf(buf, sizeof bufs[0], "%s/%s", root, name);
    return buf;
}

static jlog *open_ok(const char *dir, jl_entry **live, size_t *n)
{
    char err[512] = "";
    jlog *j = NULL;
    int rc = jl_open(dir, "about\n", &j, live, n, err, sizeof err);
    CHECK_MSG(rc == 0 && j, "jl_open %s: %s", dir, err);
    return j;
}

static char *content(jlog *j, const jl_entry *e)
{
    char *buf = calloc(1, (size_t)e->len + 1);
    CHECK(buf && jl_read(j, e, buf) == 0);
    return buf;
}

static void test_format(void)
{
    jl_rec r = {.type = JL_PUT,
                .flags = JL_F_EXISTS,
                .seq = 7,
                .sec = 1700000000,
                .nsec = 5,
                .path = "/apps/a/c/x.json",
                .plen = 16,
                .data = "{\"a\":1}",
                .dlen = 7},
           d;
    char *buf = NULL;
    size_t len = 0;

    CHECK(jl_encode(&r, &buf, &len) == 0);
    CHECK_INT(len, JL_HEADER + 16 + 7);
    CHECK(memcmp(buf, "CFJ1", 4) == 0);
    CHECK_INT(jl_decode(buf, len, &d), len);
    CHECK_INT(d.type, JL_PUT);
    CHECK_INT(d.flags, JL_F_EXISTS);
    CHECK_INT(d.seq, 7);
    CHECK_INT(d.sec, 1700000000);
    CHECK_INT(d.nsec, 5);
    CHECK(d.plen == 16 && memcmp(d.path, "/apps/a/c/x.json", 16) == 0);
    CHECK(d.dlen == 7 && memcmp(d.data, "{\"a\":1}", 7) == 0);
    /* Short, damaged anywhere, or a wrong magic: not a record. */
    CHECK_INT(jl_decode(buf, len - 1, &d), 0);
    CHECK_INT(jl_decode(buf, JL_HEADER - 1, &d), 0);
    for (size_t i = 0; i < len; i += 5) {
        buf[i] ^= 0x20;
        CHECK_MSG(jl_decode(buf, len, &d) == 0, "a flipped byte at %zu was accepted", i);
        buf[i] ^= 0x20;
    }
    CHECK_INT(jl_decode(buf, len, &d), len);
    free(buf);
    /* The standard CRC-32 ("123456789" -> cbf43926). */
    CHECK_INT(jl_crc32("123456789", 9), 0xcbf43926u);
}

static void test_place(void)
{
    char a[512], b[512], c[512];

    setenv("XDG_CACHE_HOME", "/tmp/xdg-test", 1);
    CHECK(jl_dir_for("https://app.clappform.com", "j.doe@example.com", a, sizeof a) == 0);
    CHECK(strncmp(a, "/tmp/xdg-test/clappfs/", 22) == 0 && strlen(a) == 22 + 16);
    CHECK(jl_dir_for("https://app.clappform.com", "other@example.com", b, sizeof b) == 0);
    CHECK(jl_dir_for("https://other.clappform.com", "j.doe@example.com", c, sizeof c) == 0);
    CHECK(strcmp(a, b) != 0 && strcmp(a, c) != 0);
    CHECK(strstr(a, "example") == NULL);
    setenv("XDG_CACHE_HOME", "relative", 1); /* ignored: not absolute */
    setenv("HOME", "/home/someone", 1);
    CHECK(jl_dir_for("https://app.clappform.com", "j.doe@example.com", b, sizeof b) == 0);
    CHECK(strncmp(b, "/home/someone/.cache/clappfs/", 29) == 0);
    CHECK_STR(strrchr(a, '/'), strrchr(b, '/'));
    unsetenv("XDG_CACHE_HOME");
}

static void test_round_trip(void)
{
    const char *dir = dir_of("rt/clappfs/j1");
    jl_entry *live = NULL, e[6];
    size_t n = 99;
    struct stat st;
    struct timespec t = {1700000000, 123};
    jlog *j = open_ok(dir, &live, &n);
    char err[256];
    jlog *j2 = NULL;

    CHECK_INT(n, 0);
    free(live);
    /* Private: 0700 directories, 0600 files. */
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK(stat(dir_of("rt/clappfs"), &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK(stat(dir_of("rt/clappfs/j1/about"), &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(stat(dir_of("rt/clappfs/j1/seg-0000000001.log"), &st) == 0 &&
          (st.st_mode & 0777) == 0600);
    /* One mount at a time. */
    CHECK(jl_open(dir, "x", &j2, &live, &n, err, sizeof err) == -1 && !j2);
    CHECK(strstr(err, "in use") != NULL);

    CHECK(jl_add(j, JL_PUT, 0, &t, "/apps/a/c/x.json", "{\"v\":1}", 7, &e[0]) == 0);
    CHECK(jl_add(j, JL_PUT, JL_F_EXISTS, NULL, "/apps/a/c/y.json", "{\"y\":1}", 7, &e[1]) == 0);
    CHECK(jl_add(j, JL_DEL, 0, NULL, "/apps/a/c/z.json", NULL, 0, &e[2]) == 0);
    CHECK(jl_add(j, JL_PUT, 0, NULL, "/apps/a/c/x.json", "{\"v\":2}", 7, &e[3]) == 0);
    CHECK(jl_add(j, JL_PUT, 0, NULL, "/apps/a/c/w.json", "{\"w\":1}", 7, &e[4]) == 0);
    CHECK(jl_add(j, JL_PUT, 0, NULL, "/apps/a/c/f.json", "{\"f\":1}", 7, &e[5]) == 0);
    CHECK(e[0].seq < e[1].seq && e[1].seq < e[2].seq && e[2].seq < e[3].seq);
    CHECK_INT(jl_live(j), 6);
    {
        char *c = content(j, &e[3]);
        CHECK_STR(c, "{\"v\":2}");
        free(c);
    }
    CHECK(jl_done(j, &e[4]) == 0); /* w uploaded */
    CHECK(jl_fail(j, &e[5], "HTTP 400: bad field") == 0);
    CHECK_INT(jl_live(j), 5);
    jl_close(j); /* something live: the journal stays */
    CHECK(stat(dir, &st) == 0);

    j = open_ok(dir, &live, &n);
    /* x's first version is superseded by its second; w is done; the rest by seq. */
    CHECK_INT(n, 4);
    if (n == 4) {
        CHECK_STR(live[0].path, "/apps/a/c/y.json");
        CHECK(live[0].type == JL_PUT && live[0].flags == JL_F_EXISTS);
        CHECK_STR(live[1].path, "/apps/a/c/z.json");
        CHECK_INT(live[1].type, JL_DEL);
        CHECK_STR(live[2].path, "/apps/a/c/x.json");
        CHECK_INT(live[2].seq, e[3].seq);
        CHECK_STR(live[3].path, "/apps/a/c/f.json");
        CHECK(live[3].fail && strcmp(live[3].fail, "HTTP 400: bad field") == 0);
        CHECK(live[0].fail == NULL);
        char *c = content(j, &live[2]);
        CHECK_STR(c, "{\"v\":2}");
        free(c);
        c = content(j, &live[0]);
        CHECK_STR(c, "{\"y\":1}");
        free(c);
    }
    /* New entries go after the old ones. */
    {
        jl_entry f;
        CHECK(jl_add(j, JL_PUT, 0, NULL, "/apps/a/c/q.json", "{}", 2, &f) == 0);
        CHECK(n == 0 || f.seq > live[n - 1].seq);
        CHECK(jl_done(j, &f) == 0);
        jl_entry_clear(&f);
    }
    for (size_t i = 0; i < n; i++)
        CHECK(jl_done(j, &live[i]) == 0);
    CHECK_INT(jl_live(j), 0);
    CHECK_INT(jl_segments(j), 1); /* the finished old segment is gone */
    jl_entries_free(live, n);
    jl_close(j); /* nothing live: the directory goes */
    CHECK(stat(dir, &st) != 0 && errno == ENOENT);
    for (int i = 0; i < 6; i++)
        jl_entry_clear(&e[i]);
}

/* A record cut short (a crash during its write) at the end of a segment, and a damaged
 * one between good ones: both ignored with a warning, never applied; the rest is read. */
static void test_torn(void)
{
    const char *dir = dir_of("torn/clappfs/j2");
    char seg[600], *buf;
    jl_entry *live = NULL, e[3];
    size_t n = 0, len;
    struct stat st;
    jlog *j = open_ok(dir, &live, &n);
    int fd;

    free(live);
    CHECK(jl_add(j, JL_PUT, 0, NULL, "/apps/a/c/1.json", "{\"n\":1}", 7, &e[0]) == 0);
    CHECK(jl_add(j, JL_PUT, 0, NULL, "/apps/a/c/2.json", "{\"n\":2}", 7, &e[1]) == 0);
    CHECK(jl_add(j, JL_PUT, 0, NULL, "/apps/a/c/3.json", "{\"n\":3}", 7, &e[2]) == 0);
    jl_close(j);
    snprintf(seg, sizeof seg, "%s/seg-0000000001.log", dir);
    /* Damage the middle record's data. */
    fd = open(seg, O_RDWR);
    CHECK(fd >= 0);
    CHECK(pwrite(fd, "X", 1, (off_t)e[1].off + 2) == 1);
    /* And half of a fourth record at the end. */
    {
        jl_rec r = {.type = JL_PUT,
                    .seq = e[2].seq + 1,
                    .path = "/apps/a/c/4.json",
                    .plen = 16,
                    .data = "{\"n\":4}",
                    .dlen = 7};
        CHECK(jl_encode(&r, &buf, &len) == 0);
        CHECK(fstat(fd, &st) == 0);
        CHECK(pwrite(fd, buf, len - 5, st.st_size) == (ssize_t)(len - 5));
        free(buf);
    }
    close(fd);
    warnings = 0;
    log_use_function(count_warnings, NULL);
    j = open_ok(dir, &live, &n);
    log_use_stderr();
    CHECK_INT(warnings, 2);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(live[0].path, "/apps/a/c/1.json");
        CHECK_STR(live[1].path, "/apps/a/c/3.json");
        char *c = content(j, &live[1]);
        CHECK_STR(c, "{\"n\":3}");
        free(c);
    }
    /* A new entry's seq is past everything read (the torn one's too). */
    {
        jl_entry f;
        CHECK(jl_add(j, JL_DEL, 0, NULL, "/apps/a/c/1.json", NULL, 0, &f) == 0);
        CHECK(f.seq > e[2].seq);
        jl_entry_clear(&f);
    }
    jl_entries_free(live, n);
    jl_close(j);
    /* Replayed again: the delete of 1 supersedes its put (the damaged segment, which
     * still holds 3, is read again). */
    warnings = 0;
    log_use_function(count_warnings, NULL);
    j = open_ok(dir, &live, &n);
    log_use_stderr();
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(live[0].path, "/apps/a/c/3.json");
        CHECK_STR(live[1].path, "/apps/a/c/1.json");
        CHECK_INT(live[1].type, JL_DEL);
    }
    for (size_t i = 0; i < n; i++)
        jl_done(j, &live[i]);
    jl_entries_free(live, n);
    jl_close(j);
    CHECK(stat(dir, &st) != 0);
    for (int i = 0; i < 3; i++)
        jl_entry_clear(&e[i]);
}

/* Order per path: when the newest entry of a path is done, older ones left without a
 * DONE (their record lost) are not applied again. */
static void test_order(void)
{
    const char *dir = dir_of("order/clappfs/j3");
    jl_entry *live = NULL, e[4];
    size_t n = 0;
    jlog *j = open_ok(dir, &live, &n);

    free(live);
    CHECK(jl_add(j, JL_PUT, 0, NULL, "/apps/a/c/r.json", "{\"v\":1}", 7, &e[0]) == 0);
    CHECK(jl_add(j, JL_PUT, 0, NULL, "/apps/a/c/r.json", "{\"v\":2}", 7, &e[1]) == 0);
    CHECK(jl_add(j, JL_DEL, 0, NULL, "/apps/a/c/r.json", NULL, 0, &e[2]) == 0);
    CHECK(jl_add(j, JL_PUT, 0, NULL, "/apps/a/c/s.json", "{\"s\":1}", 7, &e[3]) == 0);
    CHECK(jl_done(j, &e[2]) == 0); /* the delete went; the puts' DONEs never came */
    jl_close(j);
    j = open_ok(dir, &live, &n);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK_STR(live[0].path, "/apps/a/c/s.json");
    for (size_t i = 0; i < n; i++)
        jl_done(j, &live[i]);
    jl_entries_free(live, n);
    jl_close(j);
    for (int i = 0; i < 4; i++)
        jl_entry_clear(&e[i]);
    /* Create, update, delete of one record and a create after: the last create is what
     * stays, whatever came before. */
    j = open_ok(dir, &live, &n);
    free(live);
    CHECK(jl_add(j, JL_PUT, 0, NULL, "/apps/a/c/t.json", "{\"t\":1}", 7, &e[0]) == 0);
    CHECK(jl_add(j, JL_DEL, 0, NULL, "/apps/a/c/t.json", NULL, 0, &e[1]) == 0);
    CHECK(jl_add(j, JL_PUT, 0, NULL, "/apps/a/c/t.json", "{\"t\":3}", 7, &e[2]) == 0);
    jl_close(j);
    j = open_ok(dir, &live, &n);
    CHECK_INT(n, 1);
    if (n == 1) {
        char *c = content(j, &live[0]);
        CHECK_STR(c, "{\"t\":3}");
        free(c);
    }
    jl_entries_free(live, n);
    jl_close(j);
    j = open_ok(dir, &live, &n); /* the superseded ones got their DONE at the last open */
    CHECK_INT(n, 1);
    for (size_t i = 0; i < n; i++)
        jl_done(j, &live[i]);
    jl_entries_free(live, n);
    jl_close(j);
    for (int i = 0; i < 3; i++)
        jl_entry_clear(&e[i]);
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/clappfs-test-journal-XXXXXX");
    if (!mkdtemp(root))
        CHECK_SKIP("no temporary directory");
    test_format();
    test_place();
    test_round_trip();
    test_torn();
    test_order();
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        CHECK(system(cmd) == 0);
    }
    return check_done();
}
