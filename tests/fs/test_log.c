/* test_log.c: levels, the function sink with file:line, the client adapters, redaction. */
#include <string.h>

#include "check.h"
#include "log.h"

static char last[2048], last_file[64];
static int last_level, last_line, calls;

/* Arrays as plain pointers, for CHECK_STR's NULL test. */
static const char *S(const char *s)
{
    return s;
}

static void sink(void *ud, log_level level, const char *file, int line, const char *msg)
{
    (void)ud;
    calls++;
    last_level = level;
    last_line = line;
    snprintf(last, sizeof last, "%s", msg);
    snprintf(last_file, sizeof last_file, "%s", file);
}

int main(void)
{
    char out[256];
    int line;

    log_use_function(sink, NULL);
    log_set_level(LOG_LVL_INFO);
    line = __LINE__ + 1;
    log_error("disk %s on fire: %d", "sda", 3);
    CHECK_INT(calls, 1);
    CHECK_STR(S(last), "disk sda on fire: 3");
    CHECK_STR(S(last_file), "test_log.c");
    CHECK_INT(last_line, line);
    CHECK_INT(last_level, LOG_LVL_ERROR);
    log_debug("not shown");
    CHECK_INT(calls, 1);
    log_set_level(LOG_LVL_DEBUG);
    log_debug("shown");
    CHECK_INT(calls, 2);

    /* The client's messages keep their place. */
    log_client_cb(NULL, CF_LOG_WARNING, "client/http.c", 77, "retrying");
    CHECK_STR(S(last), "retrying");
    CHECK_INT(last_line, 77);
    CHECK_INT(last_level, LOG_LVL_WARNING);

    /* HTTP traces: one line each, nothing secret. */
    cf_trace t = {"GET", "/api/apps?extended=false&token=abc", "/api/apps", 200, 1, 0.0123,
                  0, 37000, ""};
    log_trace_cb(NULL, &t);
    CHECK(strstr(last, "GET /api/apps?extended=false&token=REDACTED 200") != NULL);
    CHECK(strstr(last, "37000") != NULL);
    CHECK(strstr(last, "abc") == NULL);
    log_set_level(LOG_LVL_INFO);
    calls = 0;
    log_trace_cb(NULL, &t); /* only with debug */
    CHECK_INT(calls, 0);

    log_redact_path("/api/x?a=1&password=p&refresh_token=q&b", out, sizeof out);
    CHECK_STR(S(out), "/api/x?a=1&password=REDACTED&refresh_token=REDACTED&b");
    log_redact_path("/api/item/a/b/c", out, sizeof out);
    CHECK_STR(S(out), "/api/item/a/b/c");
    log_redact_path("/api/x?password=p", out, 12);
    CHECK_STR(S(out), "/api/x?pass");
    log_use_stderr();
    return check_done();
}
