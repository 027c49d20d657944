/* test_faults.c: retries of 5xx and stalls, final 4xx, lost create answers, dead servers, 401s. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "emulator.h"

#define APPS_KEY "GET /api/apps"

static emu E;

/* Warnings logged by the library. */
static char warnings[8192];
static int warning_count;

static void on_log(void *ud, int level, const char *file, int line, const char *msg)
{
    (void)ud;
    (void)file;
    (void)line;
    if (level != CF_LOG_WARNING)
        return;
    warning_count++;
    if (strlen(warnings) + strlen(msg) + 2 < sizeof warnings) {
        strcat(warnings, msg);
        strcat(warnings, "\n");
    }
}

/* Every try, as traced. */
static int traced, traced_auth_header, max_attempt;
static char last_route[128];

static void on_trace(void *ud, const cf_trace *t)
{
    (void)ud;
    traced++;
    if (t->attempt > max_attempt)
        max_attempt = t->attempt;
    snprintf(last_route, sizeof last_route, "%s", t->route);
    if (strstr(t->path, "Bearer") || strstr(t->route, "Bearer"))
        traced_auth_header++;
}

static cf_client *client_with(int tries, long timeout_ms, long backoff_ms)
{
    cf_config cfg;

    emu_config(&E, &cfg);
    cfg.tries = tries;
    cfg.timeout_ms = timeout_ms;
    cfg.backoff_ms = backoff_ms;
    cfg.log = on_log;
    cfg.trace = on_trace;
    return emu_client(&cfg);
}

static long route_count(const char *key)
{
    json_object *st = emu_stats(&E);
    long n = emu_stat(st, key);

    json_object_put(st);
    return n;
}

/* Every other request fails with 502/503/504: every call still succeeds. */
static void test_fail_every_2(void)
{
    cf_client *c = client_with(4, 1000, 10);
    cf_json *v = NULL;
    cf_error err;
    cf_stats st;
    int ok = 0;

    emu_faults(&E, "{\"fail_every\":2}");
    warnings[0] = '\0';
    warning_count = 0;
    for (int i = 0; i < 10; i++) {
        if (cf_list(c, CF_APP, NULL, 0, &v, &err) == 0)
            ok++;
        cf_json_free(v);
    }
    CHECK_INT(ok, 10);
    CHECK_INT(max_attempt, 2);
    CHECK_MSG(strcmp(last_route, "/api/apps") == 0, "%s", last_route);
    cf_client_stats(c, &st);
    CHECK(st.retries >= 5);
    CHECK(st.status_5xx >= 5);
    CHECK_INT(st.failures, 0);
    CHECK(warning_count >= 5);
    CHECK_MSG(strstr(warnings, "retrying GET /api/apps?extended=false after HTTP 50") != NULL &&
                  strstr(warnings, "(try 2 of 4)") != NULL,
              "%s", warnings);
    emu_faults(&E, "{\"fail_every\":0}");
    cf_client_free(c);
}

/* Every request of a route fails: exactly `tries` requests, then the last 5xx. */
static void test_fail_always(void)
{
    cf_client *c = client_with(3, 1000, 20);
    cf_json *v = (cf_json *)1;
    cf_error err;
    double t0, t;

    CHECK_INT(cf_login(c, &err), 0);
    emu_faults(&E, "{\"fail_rate\":1.0,\"fail_routes\":[\"/apps\"]}");
    emu_reset(&E);
    t0 = now_ms();
    CHECK_INT(cf_list(c, CF_APP, NULL, 0, &v, &err), -1);
    t = now_ms() - t0;
    CHECK(v == NULL);
    CHECK_INT(err.kind, CF_ERR_HTTP);
    CHECK(err.status == 502 || err.status == 503 || err.status == 504);
    CHECK(strstr(err.message, "Injected fault") != NULL);
    CHECK(strlen(err.response_id) > 0);
    CHECK_INT(cf_error_errno(&err), EIO);
    CHECK_INT(route_count(APPS_KEY), 3);
    CHECK_MSG(t >= 20 + 40 && t < 3 * 1000, "%.0f ms", t); /* pauses 20 + 40 ms */
    emu_faults(&E, "{\"fail_rate\":0,\"fail_routes\":[]}");
    cf_client_free(c);
}

/* A server that failed and then answered on a later try is flaky: a 502/503/504 may then
 * be tried twice `tries` times; a timeout still stops at `tries`. */
static void test_flaky_server_gets_more_tries(void)
{
    cf_client *c = client_with(3, 1000, 10);
    cf_json *v = NULL;
    cf_error err;

    CHECK_INT(cf_login(c, &err), 0);
    emu_faults(&E, "{\"fail_every\":2,\"fail_routes\":[\"/apps\"]}");
    emu_reset(&E);
    for (int i = 0; i < 2; i++) { /* the first answers, the second fails, then answers */
        CHECK_INT(cf_list(c, CF_APP, NULL, 0, &v, &err), 0);
        cf_json_free(v);
        v = NULL;
    }
    CHECK_INT(route_count(APPS_KEY), 3);
    emu_faults(&E, "{\"fail_every\":0,\"fail_rate\":1.0,\"fail_routes\":[\"/apps\"]}");
    emu_reset(&E);
    warnings[0] = '\0';
    CHECK_INT(cf_list(c, CF_APP, NULL, 0, &v, &err), -1);
    CHECK_INT(err.kind, CF_ERR_HTTP);
    CHECK_INT(route_count(APPS_KEY), 6);
    CHECK_MSG(strstr(warnings, "(try 6 of 6)") != NULL, "%s", warnings);
    /* Stalls past the timeout are not answers: `tries` of them. */
    emu_faults(&E, "{\"fail_rate\":0,\"stall_every\":1,\"stall_ms\":1500}");
    emu_reset(&E);
    CHECK_INT(cf_list(c, CF_APP, NULL, 0, &v, &err), -1);
    CHECK_INT(err.kind, CF_ERR_TIMEOUT);
    CHECK_INT(route_count(APPS_KEY), 3);
    emu_faults(&E, "{\"stall_every\":0,\"stall_ms\":0,\"fail_routes\":[]}");
    cf_client_free(c);
}

/* A stall beyond the timeout is retried; when every try stalls, the end is a timeout. */
static void test_stalls(void)
{
    cf_client *c = client_with(3, 400, 10);
    cf_json *v = NULL;
    cf_error err;
    cf_stats st;
    double t0, t;

    CHECK_INT(cf_login(c, &err), 0);
    emu_faults(&E, "{\"stall_every\":2,\"stall_ms\":2000,\"fail_routes\":[\"/apps\"]}");
    emu_reset(&E);
    CHECK_INT(cf_list(c, CF_APP, NULL, 0, &v, &err), 0); /* request 1: no stall */
    cf_json_free(v);
    t0 = now_ms();
    CHECK_INT(cf_list(c, CF_APP, NULL, 0, &v, &err), 0); /* 2 stalls, 3 answers */
    t = now_ms() - t0;
    cf_json_free(v);
    CHECK_MSG(t >= 400 && t < 2000, "%.0f ms", t); /* did not wait for the stall */
    CHECK_INT(route_count(APPS_KEY), 3);
    cf_client_stats(c, &st);
    CHECK_INT(st.retries, 1);
    CHECK_INT(st.no_answer, 1);

    emu_faults(&E, "{\"stall_every\":1,\"stall_ms\":1200,\"fail_routes\":[\"/apps\"]}");
    emu_reset(&E);
    t0 = now_ms();
    CHECK_INT(cf_list(c, CF_APP, NULL, 0, &v, &err), -1);
    t = now_ms() - t0;
    CHECK_INT(err.kind, CF_ERR_TIMEOUT);
    CHECK_INT(err.status, 0);
    CHECK_INT(cf_error_errno(&err), ETIMEDOUT);
    CHECK_STR(err.method, "GET");
    CHECK_STR(err.path, "/api/apps?extended=false");
    CHECK_MSG(strstr(err.message, "timed out") != NULL && strstr(err.message, "(3 tries)") != NULL,
              "%s", err.message);
    CHECK_MSG(t >= 3 * 400 && t < 3 * 400 + 1500, "%.0f ms", t);
    CHECK_INT(route_count(APPS_KEY), 3);
    emu_faults(&E, "{\"stall_every\":0,\"stall_ms\":0,\"fail_routes\":[]}");
    cf_client_free(c);
}

/* A 404 is final: one request. */
static void test_4xx_final(void)
{
    cf_client *c = client_with(4, 1000, 10);
    cf_json *v = NULL;
    cf_error err;

    CHECK_INT(cf_login(c, &err), 0);
    emu_reset(&E);
    CHECK_INT(cf_get(c, CF_APP, NULL, "no-such-app", 0, &v, &err), -1);
    CHECK_INT(err.status, 404);
    CHECK_INT(route_count("GET /api/app/{id}"), 1);
    cf_client_free(c);
}

/* A create whose first try stalls past the timeout but is stored: the retry's 409 is
 * checked against the stored record. */
static void test_lost_create(void)
{
    /* The retry comes ~1000 ms after the first try, well after the stalled one (600 ms)
     * was stored. */
    cf_client *c = client_with(4, 300, 700);
    cf_json *rec = jparse("{\"_id\":\"lost-1\",\"n\":12345678901234567890,\"s\":\"x\"}");
    cf_json *other = jparse("{\"_id\":\"dup-1\",\"v\":2}"),
            *first = jparse("{\"_id\":\"dup-1\",\"v\":1}");
    cf_json *v = NULL;
    cf_error err;

    CHECK_INT(cf_login(c, &err), 0);
    /* Requests 1 and 2 (404s) do not stall, 3 (the create) does, 4 and 5 do not. */
    emu_faults(&E, "{\"stall_every\":3,\"stall_ms\":600,\"fail_routes\":[\"/item/app/records\"]}");
    emu_reset(&E);
    CHECK_INT(cf_record_get(c, "app", "records", "absent-1", &v, &err), -1);
    CHECK_INT(cf_record_get(c, "app", "records", "absent-2", &v, &err), -1);
    CHECK_INT(cf_record_create(c, "app", "records", rec, &v, &err), 0);
    CHECK_MSG(v && strncmp(cf_json_text(v, NULL), "{\"_id\":\"lost-1\",", 16) == 0, "%s",
              v ? cf_json_text(v, NULL) : err.message);
    CHECK(v && strstr(cf_json_text(v, NULL), "12345678901234567890") != NULL);
    cf_json_free(v);
    v = NULL;
    CHECK_INT(emu_record_count(&E, "app", "records"), 1);
    CHECK_INT(route_count("POST /api/item/{app}/{slug}"), 2);
    CHECK_INT(route_count("GET /api/item/{app}/{slug}/{id}"), 3);

    /* The same story, but the stored record differs from what was sent: the 409 stays. */
    emu_faults(&E, "{\"stall_every\":0,\"stall_ms\":0}");
    CHECK_INT(cf_record_create(c, "app", "records", first, &v, &err), 0);
    cf_json_free(v);
    v = NULL;
    emu_faults(&E, "{\"stall_every\":3,\"stall_ms\":600,\"fail_routes\":[\"/item/app/records\"]}");
    CHECK_INT(cf_record_get(c, "app", "records", "absent-1", &v, &err), -1);
    CHECK_INT(cf_record_get(c, "app", "records", "absent-2", &v, &err), -1);
    CHECK_INT(cf_record_create(c, "app", "records", other, &v, &err), -1);
    CHECK(v == NULL);
    CHECK_INT(err.status, 409);
    CHECK_INT(emu_record_count(&E, "app", "records"), 2);
    emu_faults(&E, "{\"stall_every\":0,\"stall_ms\":0,\"fail_routes\":[]}");
    cf_json_free(rec);
    cf_json_free(other);
    cf_json_free(first);
    cf_client_free(c);
}

/* Nothing listens: `tries` connection attempts, then a network error. */
static void test_no_server(void)
{
    cf_config cfg;
    cf_client *c;
    cf_json *v = NULL;
    cf_error err;
    cf_stats st;

    cf_config_init(&cfg);
    cfg.base_url = "http://127.0.0.1:9"; /* discard: nothing listens in a test box */
    cfg.username = EMU_USER;
    cfg.password = EMU_PASSWORD;
    cfg.timeout_ms = 500;
    cfg.backoff_ms = 10;
    c = emu_client(&cfg);
    CHECK_INT(cf_version(c, &v, &err), -1);
    CHECK_INT(err.kind, CF_ERR_NETWORK);
    CHECK_INT(err.status, 0);
    CHECK_INT(cf_error_errno(&err), EIO);
    CHECK_STR(err.path, "/api/auth");
    CHECK_MSG(strstr(err.message, "(4 tries)") != NULL, "%s", err.message);
    cf_client_stats(c, &st);
    CHECK_INT(st.requests, 4);
    CHECK_INT(st.no_answer, 4);
    CHECK_INT(st.retries, 3);
    CHECK_INT(st.failures, 1);
    cf_client_free(c);
}

/* Tokens refused between calls: one new login, the call succeeds. */
static void test_expired_between_calls(void)
{
    cf_client *c = client_with(4, 1000, 10);
    cf_json *v = NULL;
    cf_error err;
    cf_stats st;

    CHECK_INT(cf_me(c, false, &v, &err), 0);
    cf_json_free(v);
    emu_expire_tokens(&E);
    emu_reset(&E);
    CHECK_INT(cf_me(c, false, &v, &err), 0);
    cf_json_free(v);
    CHECK_INT(route_count("POST /api/auth"), 1);
    CHECK_INT(route_count("GET /api/user/me"), 2);
    cf_client_stats(c, &st);
    CHECK_INT(st.logins, 2);
    CHECK_INT(st.status_4xx, 1);
    CHECK_INT(traced_auth_header, 0);
    CHECK(traced > 0);
    cf_client_free(c);
}

/* 20 threads start at once with a wrong password: the threads that waited for the one
 * login share its failure instead of each logging in again. */
#define LOGIN_THREADS 20
static pthread_barrier_t login_line;
static cf_client *bad_client;

static void *call_me(void *arg)
{
    cf_error *err = arg;
    cf_json *v = NULL;

    pthread_barrier_wait(&login_line);
    if (cf_me(bad_client, false, &v, err) == 0)
        cf_json_free(v);
    return NULL;
}

static void test_failed_login_shared(void)
{
    pthread_t threads[LOGIN_THREADS];
    cf_error errs[LOGIN_THREADS];
    cf_config cfg;
    int refused = 0;

    emu_config(&E, &cfg);
    cfg.password = "not the password";
    bad_client = emu_client(&cfg);
    emu_faults(&E, "{\"latency_ms\":300,\"fail_routes\":[\"/auth\"]}");
    emu_reset(&E);
    pthread_barrier_init(&login_line, NULL, LOGIN_THREADS);
    for (int i = 0; i < LOGIN_THREADS; i++)
        pthread_create(&threads[i], NULL, call_me, &errs[i]);
    for (int i = 0; i < LOGIN_THREADS; i++) {
        pthread_join(threads[i], NULL);
        if (errs[i].kind == CF_ERR_HTTP && errs[i].status == 401 &&
            strcmp(errs[i].path, "/api/auth") == 0)
            refused++;
    }
    pthread_barrier_destroy(&login_line);
    CHECK_INT(refused, LOGIN_THREADS);
    CHECK_INT(route_count("POST /api/auth"), 1);
    CHECK_INT(route_count("GET /api/user/me"), 0);
    emu_faults(&E, "{\"latency_ms\":0,\"fail_routes\":[]}");
    cf_client_free(bad_client);
}

int main(void)
{
    const char *args[] = {"--generate", "app/records:0", NULL};

    cf_global_init();
    emu_start(&E, args);
    test_fail_every_2();
    test_fail_always();
    test_flaky_server_gets_more_tries();
    test_stalls();
    test_4xx_final();
    test_lost_create();
    test_no_server();
    test_expired_between_calls();
    test_failed_login_shared();
    emu_stop(&E);
    cf_global_cleanup();
    return check_done();
}
