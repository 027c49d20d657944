/* main.c: the clappfs command: options, credentials, login, then mount and serve. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "errmap.h"
#include "memuse.h"
#include "log.h"
#include "lowlevel.h"
#include "ops.h"
#include "opts.h"
#include "source.h"
#include "stats.h"
#include "uploader.h"

/* libfuse's own messages go through our log too. libfuse writes some lines in pieces, so
 * pieces are gathered (per thread) until the newline. */
static void fuse_log_to_ours(enum fuse_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void fuse_log_to_ours(enum fuse_log_level level, const char *fmt, va_list ap)
{
    static __thread char line[1024];
    static __thread size_t used;
    log_level lv = level <= FUSE_LOG_ERR ? LOG_LVL_ERROR
                   : level <= FUSE_LOG_WARNING ? LOG_LVL_WARNING
                   : level <= FUSE_LOG_INFO ? LOG_LVL_INFO : LOG_LVL_DEBUG;
    int n = vsnprintf(line + used, sizeof line - used, fmt, ap);

    if (n > 0)
        used = used + (size_t)n < sizeof line ? used + (size_t)n : sizeof line - 1;
    if (used && line[used - 1] != '\n' && used < sizeof line - 1)
        return;
    while (used && line[used - 1] == '\n')
        line[--used] = '\0';
    log_write(lv, "libfuse", 0, "%s", line);
    used = 0;
    line[0] = '\0';
}

static void print_version(void)
{
    printf("clappfs %s\n", CLAPPFS_VERSION);
    printf("FUSE library version %s\n", fuse_pkgversion());
    fflush(stdout);
}

/* fsname and subtype make /proc/mounts read "URL MOUNTPOINT fuse.clappfs". */
static int add_mount_names(struct fuse_args *args, const char *url)
{
    char *fsname = malloc(strlen(url) * 2 + sizeof "fsname=");
    char *q;
    int rc = -1;

    if (!fsname)
        return -1;
    /* fuse_opt splits at commas and takes backslash escapes. */
    q = fsname + sprintf(fsname, "fsname=");
    for (const char *p = url; *p; p++) {
        if (*p == ',' || *p == '\\')
            *q++ = '\\';
        *q++ = *p;
    }
    *q = '\0';
    if (fuse_opt_add_arg(args, "-o") == 0 && fuse_opt_add_arg(args, "subtype=clappfs") == 0 &&
        fuse_opt_add_arg(args, "-o") == 0 && fuse_opt_add_arg(args, fsname) == 0)
        rc = 0;
    free(fsname);
    return rc;
}

int main(int argc, char *argv[])
{
    char errbuf[1024], text[1400];
    fs_opts o;
    cf_config cfg;
    cf_client *client = NULL;
    cf_error err;
    cache_source src;
    cache_config ccfg;
    cache *fscache = NULL;
    fs_ctx ctx;
    struct fuse_session *se = NULL;
    char *mountpoint = NULL;
    bool mounted = false, handlers = false, curl_ready = false;
    int status = 1;

    memset(&ctx, 0, sizeof ctx);
    fuse_set_log_func(fuse_log_to_ours);
    if (fs_opts_parse(argc, argv, &o, errbuf, sizeof errbuf) != 0) {
        log_error("%s", errbuf);
        goto cleanup;
    }
    if (o.show_help) {
        fs_opts_usage(stdout, "clappfs");
        printf("\nlibfuse options:\n");
        fflush(stdout);
        fuse_lowlevel_help();
        status = 0;
        goto cleanup;
    }
    if (o.show_version) {
        print_version();
        status = 0;
        goto cleanup;
    }
    if (o.debug)
        log_set_level(LOG_LVL_DEBUG);
    mountpoint = realpath(o.mountpoint, NULL);
    if (!mountpoint) {
        log_error("bad mount point %s: %s", o.mountpoint, strerror(errno));
        goto cleanup;
    }
    if (add_mount_names(&o.args, o.url) != 0) {
        log_error("out of memory");
        goto cleanup;
    }
    /* The session checks libfuse's options before anything is asked, sent or mounted; ctx
     * is filled in below, before the loop calls init. */
    se = ll_session_new(&o.args, control_operations(fs_operations()), &ctx, ops_attr_timeout);
    if (!se)
        goto cleanup;

    if (fs_opts_credentials(&o, errbuf, sizeof errbuf) != 0) {
        log_error("%s", errbuf);
        goto cleanup;
    }

    if (cf_global_init() != 0) {
        log_error("cannot initialise libcurl");
        goto cleanup;
    }
    curl_ready = true;
    cf_config_init(&cfg);
    cfg.base_url = o.url;
    cfg.username = o.username;
    cfg.password = o.password;
    cfg.workers = o.workers;
    cfg.page_size = o.page_size;
    cfg.tries = o.tries;
    cfg.timeout_ms = (long)(o.timeout * 1000.0 + 0.5);
    cfg.backoff_ms = (long)(o.backoff * 1000.0 + 0.5);
    cfg.cafile = o.cafile;
    cfg.insecure = o.insecure;
    cfg.log = log_client_cb;
    /* Counted for .clappfs/stats; logged too with -o debug. */
    cfg.trace = stats_trace_cb;
    if (cf_client_new(&cfg, &client, &err) != 0) {
        log_error("cannot set up the client for %s: %s", o.url,
                  fs_error_text(&err, text, sizeof text));
        goto cleanup;
    }
    /* The client has its own copy: ours goes now. */
    explicit_bzero(o.password, strlen(o.password));
    if (o.insecure)
        log_warning("-o insecure: the server's TLS certificate is not verified");

    memset(&ccfg, 0, sizeof ccfg);
    ccfg.ttl = o.cache_ttl;
    ccfg.content_budget = o.cache_mib << 20;
    ccfg.resident_bytes = memuse_resident; /* cache_size bounds the daemon's memory */
    ccfg.release = memuse_release;
    ccfg.page_size = o.page_size > 0 ? (unsigned)o.page_size : 0;
    ccfg.close_to_open = true;
    ccfg.revalidate = o.revalidate;
    ccfg.changed = ops_forget_names;
    source_from_client(client, &src);
    if (cache_new(&ccfg, &src, &fscache) != 0) {
        log_error("out of memory");
        goto cleanup;
    }
    cache_set_stale_on_error(fscache, o.stale_on_error);
    ctx.client = client;
    ctx.cache = fscache;
    ctx.url = o.url;
    ctx.mountpoint = mountpoint;
    ctx.ttl = o.cache_ttl;
    ctx.revalidate = o.revalidate;
    ctx.overwrite = o.overwrite;
    ctx.workers = o.workers;
    ctx.ro = o.ro;
    ctx.insecure = o.insecure;
    ctx.daemon = !o.foreground;
    ctx.uid = getuid();
    ctx.gid = getgid();
    control_init(&(stats_view){.client = client,
                               .cache = fscache,
                               .url = o.url,
                               .mountpoint = mountpoint,
                               .cache_ttl = o.cache_ttl,
                               .stale_on_error = o.stale_on_error,
                               .read_only = o.ro});

    /* Log in before mounting: a wrong password or an unreachable server is an exit
     * status, with nothing mounted. */
    if (cf_login(client, &err) != 0) {
        log_error("cannot log in to %s as %s: %s%s", o.url, o.username,
                  fs_error_text(&err, text, sizeof text),
                  err.kind == CF_ERR_TLS ? " (the server's certificate was refused: it must "
                                           "name the URL's host and be signed by a trusted CA; "
                                           "a private CA is given with -o cafile=PATH)"
                                         : "");
        goto cleanup;
    }
    /* -o async_uploads: the journal is taken (and what a crashed mount left in it loaded,
     * shown at once, sent first) before mounting. */
    if (o.async_uploads && o.ro) {
        log_warning("-o async_uploads is ignored on a read-only mount");
    } else if (o.async_uploads) {
        jr_config jc = {.x = &ctx, .url = o.url, .username = o.username,
                        .workers = o.workers, .backoff = o.backoff,
                        .foreground = o.foreground};
        if (jr_open(&jc, errbuf, sizeof errbuf) != 0) {
            log_error("%s", errbuf);
            goto cleanup;
        }
    }
    if (fuse_session_mount(se, mountpoint) != 0)
        goto cleanup;
    mounted = true;
    if (fuse_daemonize(o.foreground) != 0)
        goto cleanup;
    if (!o.foreground)
        log_use_syslog();
    if (fuse_set_signal_handlers(se) != 0)
        goto cleanup;
    handlers = true;

    if (o.single_thread) {
        status = fuse_session_loop(se) == 0 ? 0 : 1;
    } else {
        struct fuse_loop_config loop = {.clone_fd = o.clone_fd ? 1 : 0,
                                        .max_idle_threads = o.max_idle_threads > 0
                                                                ? (unsigned)o.max_idle_threads
                                                                : 10};
        status = fuse_session_loop_mt(se, &loop) == 0 ? 0 : 1;
    }

cleanup:
    jr_detach(); /* async uploads: no more notices to the kernel */
    if (handlers)
        fuse_remove_signal_handlers(se);
    if (mounted)
        fuse_session_unmount(se);
    ll_session_destroy(se);
    jr_close(); /* after the drain (FUSE destroy), before the client goes */
    cache_free(fscache);
    cf_client_free(client);
    if (curl_ready)
        cf_global_cleanup();
    free(mountpoint);
    fs_opts_free(&o);
    return status;
}
