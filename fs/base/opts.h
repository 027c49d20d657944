/* opts.h: the command line of clappfs (options, positionals) and its credentials. */
#ifndef FS_OPTS_H
#define FS_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* FUSE_USE_VERSION comes from the build (fs/meson.build). */
#include <fuse.h>

/* Defaults of the options (also in --help and the man page). */
#define OPTS_DEFAULT_TTL 30.0
#define OPTS_DEFAULT_PAGE_SIZE 500
#define OPTS_DEFAULT_WORKERS 8
#define OPTS_DEFAULT_TIMEOUT 10.0
#define OPTS_DEFAULT_TRIES 4
#define OPTS_DEFAULT_BACKOFF 1.0
#define OPTS_DEFAULT_CACHE_MIB 256
#define OPTS_DEFAULT_REVALIDATE 1.0

typedef struct fs_opts {
    char *url;             /* the server's base URL, trailing '/' (and "/api") removed */
    char *mountpoint;      /* as given */
    char *username;        /* -o username= or $CLAPPFORM_USERNAME (after fs_opts_credentials) */
    char *password;        /* secret (after fs_opts_credentials); wiped by fs_opts_free */
    char *password_file;
    bool password_stdin;
    double cache_ttl;      /* seconds, >= 0 */
    int page_size;
    int workers;
    double timeout;        /* seconds, > 0 */
    int tries;
    double backoff;        /* seconds, >= 0 */
    char *cafile;
    bool insecure;
    size_t cache_mib;
    bool ro;
    bool debug;            /* -o debug: HTTP trace in the log (not libfuse's -d) */
    bool stale_on_error;   /* -o stale_on_error: serve cached data past its TTL when the
                              server cannot be reached (network, timeout, 5xx) */
    double revalidate;     /* -o revalidate=: seconds after which an open of a record, and a
                              look at a collection directory, ask the server (>= 0) */
    bool overwrite;        /* -o overwrite: saves never check the server's version first
                              (last writer wins) */
    bool async_uploads;    /* -o async_uploads: record saves and deletes go to a journal on
                              disk at close and are sent in the background (uploader.h) */
    bool foreground;       /* -f, or -d */
    bool single_thread;    /* -s */
    bool fuse_debug;       /* -d: libfuse's own debug output */
    bool clone_fd;
    int max_idle_threads;  /* -1: libfuse's default */
    bool show_help;
    bool show_version;
    struct fuse_args args; /* for the session: argv[0] and the options libfuse takes */
} fs_opts;

/* Parses argv (options before or after the two positionals URL and MOUNTPOINT; -o lists
 * may repeat). A password in argv is refused, and its characters in argv are overwritten.
 * Unknown -o options are kept in o->args for libfuse to judge; unknown dashed options are
 * errors. With -h or -V the positionals are not required. Returns 0, or -1 with a message
 * (without the "clappfs: " prefix) in err. The caller calls fs_opts_free either way. */
int fs_opts_parse(int argc, char *argv[], fs_opts *o, char *err, size_t errsz);

/* Resolves the username (option, else $CLAPPFORM_USERNAME) and the password: from
 * -o password_file=PATH (refused unless a regular file not readable nor writable by group
 * or others; first line), -o password_stdin (one line), $CLAPPFORM_PASSWORD (removed from
 * the environment, its text wiped, whether used or not), else the terminal (no echo).
 * Returns 0, or -1 with a message in err. */
int fs_opts_credentials(fs_opts *o, char *err, size_t errsz);

/* Reads the first line of a password file with the checks above: *out is malloc'ed. */
int fs_opts_read_password_file(const char *path, char **out, char *err, size_t errsz);

/* Prints the usage and every option of clappfs (not libfuse's) to f. */
void fs_opts_usage(FILE *f, const char *prog);

/* Frees what o holds; wipes the password. Accepts a zeroed struct. */
void fs_opts_free(fs_opts *o);

#endif /* FS_OPTS_H */
