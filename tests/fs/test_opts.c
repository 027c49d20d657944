/* test_opts.c: the command line: defaults, values, positionals, refusals, password files. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "opts.h"

static char err[1024];

/* Parses a NULL-terminated list of arguments (copied, so argv wiping can be checked). */
static int parse(fs_opts *o, char **argv_out, ...)
{
    va_list ap;
    char *argv[32];
    int argc = 0;
    const char *a;
    int rc;

    va_start(ap, argv_out);
    argv[argc++] = strdup("clappfs");
    while ((a = va_arg(ap, const char *)) != NULL)
        argv[argc++] = strdup(a);
    va_end(ap);
    argv[argc] = NULL;
    rc = fs_opts_parse(argc, argv, o, err, sizeof err);
    for (int i = 0; i < argc; i++) {
        if (argv_out && i > 0 && i < 8)
            argv_out[i - 1] = argv[i];
        else
            free(argv[i]);
    }
    return rc;
}

static int has_arg(const fs_opts *o, const char *needle)
{
    for (int i = 0; i < o->args.argc; i++)
        if (strstr(o->args.argv[i], needle))
            return 1;
    return 0;
}

static void test_defaults(void)
{
    fs_opts o;
    CHECK_INT(parse(&o, NULL, "https://app.clappform.com/", "/tmp", NULL), 0);
    CHECK_STR(o.url, "https://app.clappform.com");
    CHECK_STR(o.mountpoint, "/tmp");
    CHECK(o.cache_ttl == 30.0);
    CHECK_INT(o.page_size, 500);
    CHECK_INT(o.workers, 8);
    CHECK(o.timeout == 10.0);
    CHECK_INT(o.tries, 4);
    CHECK(o.backoff == 1.0);
    CHECK_INT(o.cache_mib, 256);
    CHECK(o.revalidate == 1.0);
    CHECK(!o.overwrite);
    CHECK(!o.ro && !o.debug && !o.insecure && !o.foreground && !o.single_thread);
    CHECK(o.cafile == NULL && o.username == NULL && o.password == NULL);
    fs_opts_free(&o);
}

static void test_values(void)
{
    fs_opts o;
    /* Options after the positionals, as mount.fuse3 passes them. */
    CHECK_INT(parse(&o, NULL, "http://127.0.0.1:1234/api", "/mnt", "-o",
                    "cache_ttl=2.5,page_size=100,workers=3,timeout=0.5,tries=2,backoff=0.25",
                    "-o", "cafile=/etc/ca.pem,insecure,cache_size=0,ro,debug,username=a+b@c.d",
                    "-f", "-s", "-o", "allow_other", NULL), 0);
    CHECK_STR(o.url, "http://127.0.0.1:1234");
    CHECK(o.cache_ttl == 2.5);
    CHECK_INT(o.page_size, 100);
    CHECK_INT(o.workers, 3);
    CHECK(o.timeout == 0.5);
    CHECK_INT(o.tries, 2);
    CHECK(o.backoff == 0.25);
    CHECK_STR(o.cafile, "/etc/ca.pem");
    CHECK(o.insecure && o.ro && o.debug && o.foreground && o.single_thread);
    CHECK_INT(o.cache_mib, 0);
    CHECK_STR(o.username, "a+b@c.d");
    /* libfuse gets ro and allow_other, never our own options nor debug. */
    CHECK(has_arg(&o, "allow_other"));
    CHECK(has_arg(&o, "ro"));
    CHECK(!has_arg(&o, "debug"));
    CHECK(!has_arg(&o, "cache_ttl"));
    CHECK(!has_arg(&o, "username"));
    fs_opts_free(&o);

    CHECK_INT(parse(&o, NULL, "-d", "http://h", "/mnt", NULL), 0);
    CHECK(o.fuse_debug && o.foreground && !o.debug);
    CHECK(has_arg(&o, "-d"));
    fs_opts_free(&o);

    CHECK_INT(parse(&o, NULL, "-o", "cache_ttl=0", "http://h", "/mnt", NULL), 0);
    CHECK(o.cache_ttl == 0.0);
    fs_opts_free(&o);

    /* revalidate: 0 means always; overwrite is a flag; neither reaches libfuse. */
    CHECK_INT(parse(&o, NULL, "-o", "revalidate=0,overwrite", "http://h", "/mnt", NULL), 0);
    CHECK(o.revalidate == 0.0);
    CHECK(o.overwrite);
    CHECK(!has_arg(&o, "revalidate"));
    CHECK(!has_arg(&o, "overwrite"));
    fs_opts_free(&o);
    CHECK_INT(parse(&o, NULL, "-o", "revalidate=2.5", "http://h", "/mnt", NULL), 0);
    CHECK(o.revalidate == 2.5 && !o.overwrite);
    fs_opts_free(&o);
}

static void test_errors(void)
{
    fs_opts o;
    CHECK_INT(parse(&o, NULL, "http://h", NULL), -1);
    CHECK(strstr(err, "mount point") != NULL);
    fs_opts_free(&o);
    CHECK_INT(parse(&o, NULL, NULL), -1);
    CHECK(strstr(err, "no URL") != NULL);
    fs_opts_free(&o);
    CHECK_INT(parse(&o, NULL, "ftp://h", "/mnt", NULL), -1);
    CHECK(strstr(err, "http://") != NULL);
    fs_opts_free(&o);
    CHECK_INT(parse(&o, NULL, "http://h", "/mnt", "extra", NULL), -1);
    fs_opts_free(&o);
    CHECK_INT(parse(&o, NULL, "--bogus", "http://h", "/mnt", NULL), -1);
    CHECK(strstr(err, "--bogus") != NULL);
    fs_opts_free(&o);
    const char *bad[] = {"cache_ttl=-1", "cache_ttl=abc", "page_size=0", "page_size=1x",
                         "workers=0", "timeout=0", "tries=0", "backoff=-2", "cache_size=-1",
                         "cafile=", "username=", "revalidate=-1", "revalidate=x",
                         "revalidate="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(parse(&o, NULL, "http://h", "/mnt", "-o", bad[i], NULL) == -1, "%s", bad[i]);
        fs_opts_free(&o);
    }
    CHECK_INT(parse(&o, NULL, "-o", "password_file=/x,password_stdin", "http://h", "/mnt", NULL),
              -1);
    fs_opts_free(&o);
    /* -h and -V need no positionals. */
    CHECK_INT(parse(&o, NULL, "--help", NULL), 0);
    CHECK(o.show_help);
    fs_opts_free(&o);
    CHECK_INT(parse(&o, NULL, "-V", NULL), 0);
    CHECK(o.show_version);
    fs_opts_free(&o);
}

static void test_password_in_argv(void)
{
    fs_opts o;
    char *kept[8] = {0};
    CHECK_INT(parse(&o, kept, "http://h", "/mnt", "-o", "username=u@x,password=Secret123,ro",
                    NULL), -1);
    CHECK(strstr(err, "passwords are not accepted on the command line; use CLAPPFORM_PASSWORD, "
                      "-o password_file=PATH or -o password_stdin") != NULL);
    /* The secret is gone from argv. */
    CHECK(strstr(kept[3], "Secret123") == NULL);
    CHECK(strstr(kept[3], "password=") != NULL);
    CHECK(strstr(kept[3], ",ro") != NULL);
    for (int i = 0; i < 8; i++)
        free(kept[i]);
    fs_opts_free(&o);
    memset(kept, 0, sizeof kept);
    CHECK_INT(parse(&o, kept, "-opassword=Secret123", "http://h", "/mnt", NULL), -1);
    CHECK(strstr(kept[0], "Secret123") == NULL);
    for (int i = 0; i < 8; i++)
        free(kept[i]);
    fs_opts_free(&o);
    /* password_file= is not password=. */
    CHECK_INT(parse(&o, NULL, "-o", "password_file=/tmp/x", "http://h", "/mnt", NULL), 0);
    CHECK_STR(o.password_file, "/tmp/x");
    fs_opts_free(&o);
}

static void test_password_file(void)
{
    char dir[] = "/tmp/clappfs-test-XXXXXX", path[256], fifo[256];
    char *pw = NULL;
    int fd;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/pw", dir);
    fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    CHECK(write(fd, "s3cret\nsecond line\n", 19) == 19);
    close(fd);
    chmod(path, 0600);
    CHECK_INT(fs_opts_read_password_file(path, &pw, err, sizeof err), 0);
    CHECK_STR(pw, "s3cret");
    free(pw);
    pw = NULL;

    chmod(path, 0400);
    CHECK_INT(fs_opts_read_password_file(path, &pw, err, sizeof err), 0);
    free(pw);
    pw = NULL;

    const mode_t refused[] = {0640, 0604, 0620, 0602, 0644, 0666};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        chmod(path, refused[i]);
        CHECK_MSG(fs_opts_read_password_file(path, &pw, err, sizeof err) == -1 && pw == NULL,
                  "mode %o", (unsigned)refused[i]);
        CHECK(strstr(err, "readable or writable by group or others") != NULL);
    }
    chmod(path, 0610); /* execute bits are not about secrecy */
    CHECK_INT(fs_opts_read_password_file(path, &pw, err, sizeof err), 0);
    free(pw);
    pw = NULL;

    /* CRLF, empty, missing, a directory, a FIFO. */
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(write(fd, "pw\r\n", 4) == 4);
    close(fd);
    chmod(path, 0600);
    CHECK_INT(fs_opts_read_password_file(path, &pw, err, sizeof err), 0);
    CHECK_STR(pw, "pw");
    free(pw);
    pw = NULL;
    fd = open(path, O_WRONLY | O_TRUNC);
    close(fd);
    CHECK_INT(fs_opts_read_password_file(path, &pw, err, sizeof err), -1);
    CHECK(strstr(err, "empty") != NULL);
    CHECK_INT(fs_opts_read_password_file("/nonexistent/pw", &pw, err, sizeof err), -1);
    chmod(dir, 0700);
    CHECK_INT(fs_opts_read_password_file(dir, &pw, err, sizeof err), -1);
    CHECK(strstr(err, "not a regular file") != NULL);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    CHECK_INT(mkfifo(fifo, 0600), 0);
    CHECK_INT(fs_opts_read_password_file(fifo, &pw, err, sizeof err), -1);
    CHECK(strstr(err, "not a regular file") != NULL);
    unlink(fifo);
    unlink(path);
    rmdir(dir);
}

static void test_credentials_env(void)
{
    fs_opts o;
    CHECK_INT(parse(&o, NULL, "http://h", "/mnt", NULL), 0);
    setenv("CLAPPFORM_USERNAME", "env@x.test", 1);
    setenv("CLAPPFORM_PASSWORD", "from-env", 1);
    CHECK_INT(fs_opts_credentials(&o, err, sizeof err), 0);
    CHECK_STR(o.username, "env@x.test");
    CHECK_STR(o.password, "from-env");
    CHECK(getenv("CLAPPFORM_PASSWORD") == NULL);
    fs_opts_free(&o);
    CHECK(o.password == NULL);

    /* No username anywhere. */
    unsetenv("CLAPPFORM_USERNAME");
    setenv("CLAPPFORM_PASSWORD", "x", 1);
    CHECK_INT(parse(&o, NULL, "http://h", "/mnt", NULL), 0);
    CHECK_INT(fs_opts_credentials(&o, err, sizeof err), -1);
    CHECK(strstr(err, "username") != NULL);
    CHECK(getenv("CLAPPFORM_PASSWORD") == NULL); /* removed all the same */
    fs_opts_free(&o);
}

/* --help names every clappfs option with its default. */
static void test_usage(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    CHECK(f != NULL);
    if (!f)
        return;
    fs_opts_usage(f, "clappfs");
    fclose(f);
    CHECK(strstr(text, "-o revalidate=SECONDS") != NULL);
    CHECK(strstr(text, "(1; 0: always)") != NULL);
    CHECK(strstr(text, "-o overwrite") != NULL);
    CHECK(strstr(text, "-o cache_ttl=SECONDS") != NULL);
    free(text);
}

int main(void)
{
    test_usage();
    test_defaults();
    test_values();
    test_errors();
    test_password_in_argv();
    test_password_file();
    test_credentials_env();
    return check_done();
}
