/* opts.c: command-line parsing of clappfs (fuse_opt) and the reading of credentials. */
#include "opts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define PASSWORD_MAX 4096

enum {
    K_HELP, K_VERSION, K_FOREGROUND, K_SINGLE, K_FUSE_DEBUG, K_DEBUG, K_TTL, K_PAGE_SIZE,
    K_WORKERS, K_TIMEOUT, K_TRIES, K_BACKOFF, K_CAFILE, K_INSECURE, K_CACHE_SIZE, K_RO,
    K_USERNAME, K_PASSWORD, K_PASSWORD_FILE, K_PASSWORD_STDIN, K_CLONE_FD, K_MAX_IDLE,
    K_STALE_ON_ERROR, K_ASYNC_UPLOADS, K_REVALIDATE, K_OVERWRITE,
};

static const struct fuse_opt templates[] = {
    FUSE_OPT_KEY("-h", K_HELP),
    FUSE_OPT_KEY("--help", K_HELP),
    FUSE_OPT_KEY("-V", K_VERSION),
    FUSE_OPT_KEY("--version", K_VERSION),
    FUSE_OPT_KEY("-f", K_FOREGROUND),
    FUSE_OPT_KEY("-s", K_SINGLE),
    FUSE_OPT_KEY("-d", K_FUSE_DEBUG),
    FUSE_OPT_KEY("debug", K_DEBUG),
    FUSE_OPT_KEY("cache_ttl=", K_TTL),
    FUSE_OPT_KEY("page_size=", K_PAGE_SIZE),
    FUSE_OPT_KEY("workers=", K_WORKERS),
    FUSE_OPT_KEY("timeout=", K_TIMEOUT),
    FUSE_OPT_KEY("tries=", K_TRIES),
    FUSE_OPT_KEY("backoff=", K_BACKOFF),
    FUSE_OPT_KEY("cafile=", K_CAFILE),
    FUSE_OPT_KEY("insecure", K_INSECURE),
    FUSE_OPT_KEY("cache_size=", K_CACHE_SIZE),
    FUSE_OPT_KEY("ro", K_RO),
    FUSE_OPT_KEY("username=", K_USERNAME),
    FUSE_OPT_KEY("password=", K_PASSWORD),
    FUSE_OPT_KEY("password", K_PASSWORD),
    FUSE_OPT_KEY("password_file=", K_PASSWORD_FILE),
    FUSE_OPT_KEY("password_stdin", K_PASSWORD_STDIN),
    FUSE_OPT_KEY("clone_fd", K_CLONE_FD),
    FUSE_OPT_KEY("max_idle_threads=", K_MAX_IDLE),
    FUSE_OPT_KEY("stale_on_error", K_STALE_ON_ERROR),
    FUSE_OPT_KEY("async_uploads", K_ASYNC_UPLOADS),
    FUSE_OPT_KEY("revalidate=", K_REVALIDATE),
    FUSE_OPT_KEY("overwrite", K_OVERWRITE),
    FUSE_OPT_END,
};

static const char argv_password_msg[] =
    "passwords are not accepted on the command line; use CLAPPFORM_PASSWORD, "
    "-o password_file=PATH or -o password_stdin";

typedef struct parse_ctx {
    fs_opts *o;
    char *err;
    size_t errsz;
    int positionals;
    bool failed;
} parse_ctx;

static int fail(parse_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parse_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    if (!ctx->failed) {
        va_start(ap, fmt);
        vsnprintf(ctx->err, ctx->errsz, fmt, ap);
        va_end(ap);
    }
    ctx->failed = true;
    return -1;
}

/* The value after '=' of an option "name=value". */
static const char *value_of(const char *arg)
{
    const char *eq = strchr(arg, '=');
    return eq ? eq + 1 : "";
}

static int parse_seconds(parse_ctx *ctx, const char *arg, double min, bool min_open,
                         double max, double *out)
{
    const char *v = value_of(arg);
    char *end;
    double d;
    errno = 0;
    d = strtod(v, &end);
    if (!*v || *end || errno || isnan(d) || (min_open ? d <= min : d < min) || d > max)
        return fail(ctx, "invalid value in -o %s: want seconds %s %g and <= %g", arg,
                    min_open ? ">" : ">=", min, max);
    *out = d;
    return 0;
}

static int parse_int(parse_ctx *ctx, const char *arg, long min, long max, long *out)
{
    const char *v = value_of(arg);
    char *end;
    long n;
    errno = 0;
    n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < min || n > max)
        return fail(ctx, "invalid value in -o %s: want a whole number from %ld to %ld", arg,
                    min, max);
    *out = n;
    return 0;
}

static int set_string(parse_ctx *ctx, char **slot, const char *arg)
{
    const char *v = value_of(arg);
    char *copy;
    if (!*v)
        return fail(ctx, "-o %.*s needs a value", (int)(strchr(arg, '=') - arg), arg);
    copy = strdup(v);
    if (!copy)
        return fail(ctx, "out of memory");
    free(*slot);
    *slot = copy;
    return 0;
}

static int positional(parse_ctx *ctx, const char *arg)
{
    fs_opts *o = ctx->o;
    if (ctx->positionals == 0) {
        size_t len;
        if (strncmp(arg, "http://", 7) != 0 && strncmp(arg, "https://", 8) != 0)
            return fail(ctx, "the URL must start with http:// or https:// (got \"%s\")", arg);
        o->url = strdup(arg);
        if (!o->url)
            return fail(ctx, "out of memory");
        /* The client wants the base without a trailing slash or /api. */
        len = strlen(o->url);
        while (len > 8 && o->url[len - 1] == '/')
            o->url[--len] = '\0';
        if (len > 12 && strcmp(o->url + len - 4, "/api") == 0)
            o->url[len - 4] = '\0';
    } else if (ctx->positionals == 1) {
        o->mountpoint = strdup(arg);
        if (!o->mountpoint)
            return fail(ctx, "out of memory");
    } else {
        return fail(ctx, "too many arguments: \"%s\" (usage: clappfs [options] URL MOUNTPOINT)",
                    arg);
    }
    ctx->positionals++;
    return 0;
}

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
    parse_ctx *ctx = data;
    fs_opts *o = ctx->o;
    long n;
    (void)outargs;

    if (ctx->failed)
        return -1;
    switch (key) {
    case FUSE_OPT_KEY_NONOPT:
        return positional(ctx, arg);
    case FUSE_OPT_KEY_OPT:
        if (arg[0] == '-')
            return fail(ctx, "unknown option %s (see clappfs --help)", arg);
        return 1; /* an -o option of libfuse's (allow_other, ...): it judges them */
    case K_HELP:
        o->show_help = true;
        return 0;
    case K_VERSION:
        o->show_version = true;
        return 0;
    case K_FOREGROUND:
        o->foreground = true;
        return 0;
    case K_SINGLE:
        o->single_thread = true;
        return 0;
    case K_FUSE_DEBUG:
        o->fuse_debug = true;
        o->foreground = true;
        return 1; /* libfuse prints its debug output */
    case K_DEBUG:
        o->debug = true;
        return 0;
    case K_TTL:
        return parse_seconds(ctx, arg, 0, false, 1e9, &o->cache_ttl);
    case K_PAGE_SIZE:
        if (parse_int(ctx, arg, 1, 100000, &n))
            return -1;
        o->page_size = (int)n;
        return 0;
    case K_WORKERS:
        if (parse_int(ctx, arg, 1, 256, &n))
            return -1;
        o->workers = (int)n;
        return 0;
    case K_TIMEOUT:
        return parse_seconds(ctx, arg, 0, true, 86400, &o->timeout);
    case K_TRIES:
        if (parse_int(ctx, arg, 1, 100, &n))
            return -1;
        o->tries = (int)n;
        return 0;
    case K_BACKOFF:
        return parse_seconds(ctx, arg, 0, false, 3600, &o->backoff);
    case K_CAFILE:
        return set_string(ctx, &o->cafile, arg);
    case K_INSECURE:
        o->insecure = true;
        return 0;
    case K_CACHE_SIZE:
        if (parse_int(ctx, arg, 0, 1L << 22, &n))
            return -1;
        o->cache_mib = (size_t)n;
        return 0;
    case K_RO:
        o->ro = true;
        return 1; /* the kernel enforces it */
    case K_USERNAME:
        return set_string(ctx, &o->username, arg);
    case K_PASSWORD:
        return fail(ctx, "%s", argv_password_msg);
    case K_PASSWORD_FILE:
        return set_string(ctx, &o->password_file, arg);
    case K_PASSWORD_STDIN:
        o->password_stdin = true;
        return 0;
    case K_CLONE_FD:
        o->clone_fd = true;
        return 0;
    case K_MAX_IDLE:
        if (parse_int(ctx, arg, 1, 100000, &n))
            return -1;
        o->max_idle_threads = (int)n;
        return 0;
    case K_STALE_ON_ERROR:
        o->stale_on_error = true;
        return 0;
    case K_ASYNC_UPLOADS:
        o->async_uploads = true;
        return 0;
    case K_REVALIDATE:
        return parse_seconds(ctx, arg, 0, false, 1e9, &o->revalidate);
    case K_OVERWRITE:
        o->overwrite = true;
        return 0;
    default:
        return 1;
    }
}

/* Overwrites the value of every "password=" option in argv, so ps shows no secret. */
static void wipe_argv_passwords(int argc, char *argv[])
{
    for (int i = 1; i < argc; i++) {
        char *p = argv[i];
        while ((p = strstr(p, "password=")) != NULL) {
            if (p == argv[i] || p[-1] == ',' || (p - argv[i] == 2 && argv[i][0] == '-')) {
                for (p += strlen("password="); *p && *p != ','; p++)
                    *p = 'x';
            } else {
                p++;
            }
        }
    }
}

int fs_opts_parse(int argc, char *argv[], fs_opts *o, char *err, size_t errsz)
{
    parse_ctx ctx = {.o = o, .err = err, .errsz = errsz};
    struct fuse_args in = FUSE_ARGS_INIT(argc, argv);

    memset(o, 0, sizeof *o);
    o->cache_ttl = OPTS_DEFAULT_TTL;
    o->page_size = OPTS_DEFAULT_PAGE_SIZE;
    o->workers = OPTS_DEFAULT_WORKERS;
    o->timeout = OPTS_DEFAULT_TIMEOUT;
    o->tries = OPTS_DEFAULT_TRIES;
    o->backoff = OPTS_DEFAULT_BACKOFF;
    o->cache_mib = OPTS_DEFAULT_CACHE_MIB;
    o->revalidate = OPTS_DEFAULT_REVALIDATE;
    o->max_idle_threads = -1;
    if (errsz)
        err[0] = '\0';

    /* fuse_opt_parse copies what it keeps into in.argv (allocated): that becomes o->args. */
    if (fuse_opt_parse(&in, &ctx, templates, opt_proc) != 0) {
        fuse_opt_free_args(&in);
        wipe_argv_passwords(argc, argv);
        if (!ctx.failed)
            snprintf(err, errsz, "cannot parse the command line");
        return -1;
    }
    o->args = in;
    wipe_argv_passwords(argc, argv);
    if (o->show_help || o->show_version)
        return 0;
    if (ctx.positionals < 2) {
        snprintf(err, errsz, "%s (usage: clappfs [options] URL MOUNTPOINT)",
                 ctx.positionals == 0 ? "no URL given" : "no mount point given");
        return -1;
    }
    if (o->password_file && o->password_stdin) {
        snprintf(err, errsz, "-o password_file and -o password_stdin exclude each other");
        return -1;
    }
    return 0;
}

/* Reads one line (at most PASSWORD_MAX bytes) from fd without stdio, so no copy of the
 * secret stays in a library buffer. Returns the length, or -1 (too long, read error). */
static ssize_t read_line(int fd, char *buf, size_t bufsz)
{
    size_t n = 0;
    for (;;) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0 || ch == '\n')
            break;
        if (n + 1 >= bufsz)
            return -1;
        buf[n++] = ch;
    }
    if (n && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return (ssize_t)n;
}

int fs_opts_read_password_file(const char *path, char **out, char *err, size_t errsz)
{
    char buf[PASSWORD_MAX + 1];
    struct stat st;
    ssize_t n;
    int fd, rc = -1;

    *out = NULL;
    /* O_NONBLOCK: a FIFO must not hang us before fstat refuses it. */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errsz, "cannot open password file %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(err, errsz, "cannot stat password file %s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errsz, "password file %s is not a regular file", path);
        goto cleanup;
    }
    if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
        snprintf(err, errsz,
                 "password file %s is readable or writable by group or others (mode %04o); "
                 "chmod 600 it",
                 path, (unsigned)(st.st_mode & 07777));
        goto cleanup;
    }
    n = read_line(fd, buf, sizeof buf);
    if (n < 0) {
        snprintf(err, errsz, "cannot read password file %s: %s", path,
                 errno ? strerror(errno) : "first line too long");
        goto cleanup;
    }
    if (n == 0) {
        snprintf(err, errsz, "password file %s is empty", path);
        goto cleanup;
    }
    *out = strdup(buf);
    if (!*out) {
        snprintf(err, errsz, "out of memory");
        goto cleanup;
    }
    rc = 0;
cleanup:
    explicit_bzero(buf, sizeof buf);
    close(fd);
    return rc;
}

/* Asks on the controlling terminal with echo off. */
static int ask_terminal(const fs_opts *o, char **out, char *err, size_t errsz)
{
    char buf[PASSWORD_MAX + 1], prompt[512];
    struct termios old, quiet;
    bool restore = false;
    ssize_t n;
    int fd, rc = -1;

    *out = NULL;
    fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errsz, "no password: set CLAPPFORM_PASSWORD, use -o password_file=PATH "
                             "or -o password_stdin (there is no terminal to ask on)");
        return -1;
    }
    snprintf(prompt, sizeof prompt, "Password for %s at %s: ", o->username, o->url);
    if (write(fd, prompt, strlen(prompt)) < 0)
        goto cleanup;
    if (tcgetattr(fd, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
    }
    n = read_line(fd, buf, sizeof buf);
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0) {
        /* nothing to do: the newline is cosmetic */
    }
    if (n <= 0) {
        snprintf(err, errsz, "no password read from the terminal");
        goto cleanup;
    }
    *out = strdup(buf);
    if (!*out)
        snprintf(err, errsz, "out of memory");
    else
        rc = 0;
cleanup:
    explicit_bzero(buf, sizeof buf);
    close(fd);
    return rc;
}

int fs_opts_credentials(fs_opts *o, char *err, size_t errsz)
{
    char *env_pw = NULL, *v;
    int rc = -1;

    /* The environment's password leaves the environment first, used or not. */
    v = getenv("CLAPPFORM_PASSWORD");
    if (v) {
        /* The whole "NAME=value" string is wiped, not just the value: /proc/PID/environ
         * shows the process's first environment block, whatever unsetenv does. */
        static const char prefix[] = "CLAPPFORM_PASSWORD=";
        size_t plen = sizeof prefix - 1, vlen = strlen(v);
        /* Copied first: GCC's object-size checks (with sanitizers) misjudge v once v - plen
         * is taken. */
        env_pw = strdup(v);
        char *entry = v - plen;
        bool whole = memcmp(entry, prefix, plen) == 0;
        unsetenv("CLAPPFORM_PASSWORD");
        if (whole)
            explicit_bzero(entry, plen + vlen);
        else
            explicit_bzero(v, vlen);
        if (!env_pw) {
            snprintf(err, errsz, "out of memory");
            return -1;
        }
    }
    if (!o->username) {
        v = getenv("CLAPPFORM_USERNAME");
        if (v && *v)
            o->username = strdup(v);
        if (!o->username) {
            snprintf(err, errsz, "no username: use -o username=EMAIL or set CLAPPFORM_USERNAME");
            goto cleanup;
        }
    }
    if (o->password) {
        explicit_bzero(o->password, strlen(o->password));
        free(o->password);
        o->password = NULL;
    }
    if (o->password_file) {
        if (fs_opts_read_password_file(o->password_file, &o->password, err, errsz) != 0)
            goto cleanup;
    } else if (o->password_stdin) {
        char buf[PASSWORD_MAX + 1];
        ssize_t n = read_line(STDIN_FILENO, buf, sizeof buf);
        if (n > 0)
            o->password = strdup(buf);
        explicit_bzero(buf, sizeof buf);
        if (n <= 0) {
            snprintf(err, errsz, "-o password_stdin: no password on standard input");
            goto cleanup;
        }
        if (!o->password) {
            snprintf(err, errsz, "out of memory");
            goto cleanup;
        }
    } else if (env_pw && *env_pw) {
        o->password = env_pw;
        env_pw = NULL;
    } else if (ask_terminal(o, &o->password, err, errsz) != 0) {
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (env_pw) {
        explicit_bzero(env_pw, strlen(env_pw));
        free(env_pw);
    }
    return rc;
}

void fs_opts_usage(FILE *f, const char *prog)
{
    fprintf(f,
"usage: %s [options] URL MOUNTPOINT\n"
"Mounts the Clappform environment at URL (e.g. https://app.clappform.com) on MOUNTPOINT.\n"
"\n"
"General options:\n"
"    -h, --help             print this help (with libfuse's options) and exit\n"
"    -V, --version          print the version and exit\n"
"    -f                     stay in the foreground (log to stderr)\n"
"    -s                     single-threaded\n"
"    -d                     libfuse debug output (implies -f)\n"
"    -o opt[,opt...]        mount options, below and libfuse's\n"
"\n"
"clappfs options:\n"
"    -o username=EMAIL      log in as EMAIL (else $CLAPPFORM_USERNAME)\n"
"    -o password_file=PATH  read the password from the first line of PATH\n"
"                           (refused if group or others may read or write it)\n"
"    -o password_stdin      read the password from one line of standard input\n"
"                           (else $CLAPPFORM_PASSWORD, else asked on the terminal;\n"
"                           a password on the command line is refused)\n"
"    -o cache_ttl=SECONDS   keep listings, attributes and contents this long (%g;\n"
"                           0 fetches on every lookup)\n"
"    -o revalidate=SECONDS  an open of a record, and a look at a collection directory\n"
"                           (stat of it, opendir), whose cached copy is older than\n"
"                           this ask the server, whatever cache_ttl says (%g; 0: always)\n"
"    -o overwrite           saves do not check that the record is still the version\n"
"                           this mount read (last writer wins)\n"
"    -o cache_size=MIB      memory for the cache: content, names, nodes (%d MiB)\n"
"    -o page_size=N         records per page of a collection listing (%d)\n"
"    -o workers=N           pages fetched in parallel (%d)\n"
"    -o timeout=SECONDS     time limit of one HTTP try (%g)\n"
"    -o tries=N             tries of a request that timed out or got 502/503/504 (%d;\n"
"                           twice for 502/503/504 while the server is flaky)\n"
"    -o backoff=SECONDS     first pause between tries, doubling to 30 s (%g)\n"
"    -o cafile=PATH         CA certificates to verify the server with\n"
"    -o insecure            do not verify the server's certificate (warns)\n"
"    -o ro                  read-only mount\n"
"    -o debug               log every HTTP request (method, path, status, time, bytes)\n"
"    -o stale_on_error      when the server cannot be reached (network, timeout, HTTP\n"
"                           5xx), serve what was fetched before past its TTL (warns)\n"
"    -o async_uploads       close returns once a record is checked and written to a\n"
"                           journal on disk (~/.cache/clappfs); `workers` threads\n"
"                           upload it; unmount waits until everything is sent\n"
"    -o clone_fd            a /dev/fuse descriptor per thread\n"
"    -o max_idle_threads=N  idle threads kept by the loop\n",
            prog, OPTS_DEFAULT_TTL, OPTS_DEFAULT_REVALIDATE, OPTS_DEFAULT_CACHE_MIB, OPTS_DEFAULT_PAGE_SIZE,
            OPTS_DEFAULT_WORKERS, OPTS_DEFAULT_TIMEOUT, OPTS_DEFAULT_TRIES,
            OPTS_DEFAULT_BACKOFF);
}

void fs_opts_free(fs_opts *o)
{
    if (!o)
        return;
    if (o->password) {
        explicit_bzero(o->password, strlen(o->password));
        free(o->password);
    }
    free(o->url);
    free(o->mountpoint);
    free(o->username);
    free(o->password_file);
    free(o->cafile);
    fuse_opt_free_args(&o->args);
    memset(o, 0, sizeof *o);
}
