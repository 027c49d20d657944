/* test_tls.c: TLS against the emulator: verified by default, cafile, name mismatch, insecure. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "emulator.h"

static char dir[] = "/tmp/clappfs-tls-XXXXXX";
static char good_cert[128], good_key[128], wrong_cert[128], wrong_key[128];
static int warnings;

static void on_log(void *ud, int level, const char *file, int line, const char *msg)
{
    (void)ud;
    (void)file;
    (void)line;
    if (level == CF_LOG_WARNING && strstr(msg, "insecure"))
        warnings++;
}

/* A self-signed certificate (a P-256 key) with subject CN=cn and, when san is non-NULL,
 * that subjectAltName. */
static int make_cert(const char *cert, const char *key, const char *cn, const char *san)
{
    char cmd[1024];

    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout %s -out %s -days 2 -subj /CN=%s %s%s >/dev/null 2>&1",
             key, cert, cn, san ? "-addext subjectAltName=" : "", san ? san : "");
    return system(cmd) == 0 ? 0 : -1;
}

static cf_client *client_for(const emu *e, const char *cafile, bool insecure)
{
    cf_config cfg;

    emu_config(e, &cfg);
    cfg.cafile = cafile;
    cfg.insecure = insecure;
    cfg.log = on_log;
    cfg.timeout_ms = 20000; /* handshakes are slow under valgrind: no timeouts here */
    return emu_client(&cfg);
}

int main(void)
{
    const char *good_args[] = {"--tls-cert", good_cert, "--tls-key", good_key, NULL};
    const char *wrong_args[] = {"--tls-cert", wrong_cert, "--tls-key", wrong_key, NULL};
    emu good, wrong;
    cf_client *c;
    cf_json *v = NULL;
    cf_error err;
    cf_stats st;
    char cmd[256];

    if (system("openssl version >/dev/null 2>&1") != 0)
        CHECK_SKIP("no openssl command to make certificates");
    if (!mkdtemp(dir))
        CHECK_SKIP("no temporary directory");
    snprintf(good_cert, sizeof good_cert, "%s/good.pem", dir);
    snprintf(good_key, sizeof good_key, "%s/good.key", dir);
    snprintf(wrong_cert, sizeof wrong_cert, "%s/wrong.pem", dir);
    snprintf(wrong_key, sizeof wrong_key, "%s/wrong.key", dir);
    if (make_cert(good_cert, good_key, "127.0.0.1", "IP:127.0.0.1") != 0 ||
        make_cert(wrong_cert, wrong_key, "wronghost", NULL) != 0)
        CHECK_SKIP("openssl cannot make certificates");
    cf_global_init();
    emu_start(&good, good_args);
    emu_start(&wrong, wrong_args);
    CHECK(strncmp(good.url, "https://", 8) == 0);

    /* Verified with the given CA bundle. */
    c = client_for(&good, good_cert, false);
    CHECK_MSG(cf_version(c, &v, &err) == 0, "%s", err.message);
    cf_json_free(v);
    v = NULL;
    cf_client_free(c);

    /* The system's CAs do not know a self-signed certificate: final, one try. */
    c = client_for(&good, NULL, false);
    CHECK_INT(cf_version(c, &v, &err), -1);
    CHECK_INT(err.kind, CF_ERR_TLS);
    CHECK_INT(cf_error_errno(&err), EACCES);
    printf("# %s\n", err.message);
    cf_client_stats(c, &st);
    CHECK_INT(st.requests, 1);
    cf_client_free(c);

    /* A name that does not match: curl's words. */
    c = client_for(&wrong, wrong_cert, false);
    CHECK_INT(cf_version(c, &v, &err), -1);
    CHECK_INT(err.kind, CF_ERR_TLS);
    CHECK_MSG(strstr(err.message, "SSL: certificate subject name 'wronghost' does not match "
                                  "target host name '127.0.0.1'") != NULL,
              "%s", err.message);
    CHECK_STR(err.path, "/api/auth");
    cf_client_stats(c, &st);
    CHECK_INT(st.requests, 1);
    cf_client_free(c);

    /* insecure: no verification, one warning at creation. */
    warnings = 0;
    c = client_for(&wrong, NULL, true);
    CHECK_INT(warnings, 1);
    CHECK_MSG(cf_version(c, &v, &err) == 0, "%s", err.message);
    cf_json_free(v);
    cf_client_free(c);

    emu_stop(&good);
    emu_stop(&wrong);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("# cannot remove %s\n", dir);
    cf_global_cleanup();
    return check_done();
}
