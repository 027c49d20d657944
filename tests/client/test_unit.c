/* test_unit.c: the client's pure functions: JWT exp, path escaping, envelopes, errors, config. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "internal.h"

/* base64url of s, with '=' padding when pad is true. */
static char *b64url(const char *s, bool pad)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(s), o = 0;
    char *out = malloc(n / 3 * 4 + 8);
    const unsigned char *u = (const unsigned char *)s;

    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)u[i] << 16 | (i + 1 < n ? (unsigned)u[i + 1] << 8 : 0) |
                     (i + 2 < n ? u[i + 2] : 0);
        out[o++] = abc[v >> 18 & 63];
        out[o++] = abc[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = abc[v >> 6 & 63];
        else if (pad)
            out[o++] = '=';
        if (i + 2 < n)
            out[o++] = abc[v & 63];
        else if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

/* header.payload.signature with the given payload text. */
static int jwt_exp_of(const char *payload, bool pad, int64_t *exp)
{
    char *p = b64url(payload, pad), token[1024];
    int rc;

    snprintf(token, sizeof token, "eyJhbGciOiJIUzI1NiJ9.%s.c2lnbmF0dXJl", p);
    free(p);
    *exp = -42;
    rc = cf_jwt_exp(token, exp);
    return rc;
}

static void test_jwt(void)
{
    int64_t exp;

    /* 18 bytes: no padding needed; 19: one '='... cover both lengths mod 3. */
    CHECK_INT(jwt_exp_of("{\"exp\":1700000000}", false, &exp), 0);
    CHECK_INT(exp, 1700000000);
    CHECK_INT(jwt_exp_of("{\"exp\": 1700000001}", true, &exp), 0);
    CHECK_INT(exp, 1700000001);
    CHECK_INT(jwt_exp_of("{\"exp\": 1700000001}", false, &exp), 0);
    CHECK_INT(exp, 1700000001);
    CHECK_INT(jwt_exp_of("{\"exp\":  1700000002}", true, &exp), 0);
    CHECK_INT(exp, 1700000002);
    CHECK_INT(jwt_exp_of("{\"exp\":  1700000002}", false, &exp), 0);
    CHECK_INT(
        jwt_exp_of("{\"sub\":\"a@b\",\"exp\":1795941397,\"x\":[1,{\"y\":null}]}", false, &exp), 0);
    CHECK_INT(exp, 1795941397);
    CHECK_INT(jwt_exp_of("{\"exp\":1700000000.75}", false, &exp), 0);
    CHECK_INT(exp, 1700000000);
    /* A real token of the emulator. */
    CHECK_INT(
        cf_jwt_exp("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0QGV4YW1wbGUuY29tIiwiaWRl"
                   "bnRpdHkiOiJ0QGV4YW1wbGUuY29tIiwidXNlcl9pZCI6MSwiaWF0IjoxNzk1OTM3Nzk2LCJqdGki"
                   "OiJlZjdkYTNkY2E0ODEtMSIsInR5cGUiOiJhY2Nlc3MiLCJmcmVzaCI6dHJ1ZSwiZXhwIjoxNzk1"
                   "OTQxMzk3fQ.3JgsSBdsyRLHAFuzwDKt3ZwP5K-6D-o6i6yk6tkjz38",
                   &exp),
        0);
    CHECK_INT(exp, 1795941397);
    /* Malformed. */
    CHECK_INT(cf_jwt_exp("eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9", &exp), -1); /* 2 parts */
    CHECK_INT(cf_jwt_exp("a.eyJleHAiOjF9.b.c", &exp), -1);                /* 4 parts */
    CHECK_INT(cf_jwt_exp("a.eyJle*HAiOjF9.b", &exp), -1);                 /* bad char */
    CHECK_INT(cf_jwt_exp("a.eyJleHAiOjF9+.b", &exp), -1);                 /* not url */
    CHECK_INT(cf_jwt_exp("a.eyJleHAiOjF9=.b", &exp), -1);                 /* bad pad */
    CHECK_INT(cf_jwt_exp("a.e.b", &exp), -1);                             /* 1 char */
    CHECK_INT(cf_jwt_exp("a..b", &exp), -1);                              /* empty */
    CHECK_INT(cf_jwt_exp("", &exp), -1);
    CHECK_INT(cf_jwt_exp(NULL, &exp), -1);
    CHECK_INT(jwt_exp_of("not json", false, &exp), -1);
    CHECK_INT(jwt_exp_of("{\"exp\":1700000000", false, &exp), -1); /* truncated */
    CHECK_INT(jwt_exp_of("{\"exp\":1} trailing", false, &exp), -1);
    CHECK_INT(jwt_exp_of("[1700000000]", false, &exp), -1);
    CHECK_INT(jwt_exp_of("{\"iat\":1700000000}", false, &exp), -1); /* exp missing */
    CHECK_INT(jwt_exp_of("{\"exp\":\"1700000000\"}", false, &exp), -1);
    CHECK_INT(jwt_exp_of("{\"exp\":true}", false, &exp), -1);
    CHECK_INT(jwt_exp_of("{\"exp\":null}", false, &exp), -1);
}

static void check_escape(const char *in, const char *want)
{
    char *got = cf_path_escape(in);
    CHECK_STR(got, want);
    free(got);
}

static void test_backoff(void)
{
    CHECK_INT(cfi_backoff_pause(1000, 1), 1000);
    CHECK_INT(cfi_backoff_pause(1000, 2), 2000);
    CHECK_INT(cfi_backoff_pause(1000, 5), 16000);
    CHECK_INT(cfi_backoff_pause(1000, 6), 30000);
    CHECK_INT(cfi_backoff_pause(1000, 1000), 30000);
    CHECK_INT(cfi_backoff_pause(50, 3), 200);
    CHECK_INT(cfi_backoff_pause(0, 9), 0);
    CHECK_INT(cfi_backoff_pause(60000, 1), 60000);
    CHECK_INT(cfi_backoff_pause(60000, 4), 60000);
}

static void test_escape(void)
{
    cf_error err;
    char *path;

    check_escape("j.doe+test@example.com", "j.doe%2Btest%40example.com");
    check_escape("a/b c", "a%2Fb%20c");
    check_escape("6475c76276ffd5e8da000b2c", "6475c76276ffd5e8da000b2c");
    check_escape("AZaz09-._~", "AZaz09-._~");
    check_escape("caf\xc3\xa9 \xe2\x82\xac", "caf%C3%A9%20%E2%82%AC");
    check_escape("%?#&=;:,'\"\\", "%25%3F%23%26%3D%3B%3A%2C%27%22%5C");
    check_escape("", "");
    CHECK(cf_path_escape(NULL) == NULL);

    CHECK_INT(cfi_path(&path, &err, "/api/user/%s?extended=%s", "a+b@c.d", "true"), 0);
    CHECK_STR(path, "/api/user/a%2Bb%40c.d?extended=true");
    free(path);
    CHECK_INT(cfi_path(&path, &err, "/api/collection/%s/%s?extended=%d", "my app", "x/y", 2), 0);
    CHECK_STR(path, "/api/collection/my%20app/x%2Fy?extended=2");
    free(path);
    CHECK_INT(cfi_path(&path, &err, "/api/app/%s", ".."), 0);
    CHECK_STR(path, "/api/app/%2E%2E");
    free(path);
    CHECK_INT(cfi_path(&path, &err, "/api/app/%s", "."), 0);
    CHECK_STR(path, "/api/app/%2E");
    free(path);
    CHECK_INT(cfi_path(&path, &err, "/api/app/%s", ""), -1);
    CHECK(path == NULL);
    CHECK_INT(err.kind, CF_ERR_INVALID);
    CHECK_INT(cfi_path(&path, &err, "/api/app/%s", (const char *)NULL), -1);
    CHECK_INT(cfi_path(&path, &err, "/api/app/%s", "..."), 0);
    CHECK_STR(path, "/api/app/...");
    free(path);
}

static int answer(long status, const char *ctype, const char *body, cfi_expect expect,
                  cfi_envelope *env, cf_error *err)
{
    return cfi_answer_check(status, ctype, body, strlen(body), expect, env, err);
}

static void test_envelope(void)
{
    cfi_envelope env;
    cf_error err;
    char why[200];
    const char *ok = "{\"code\":200,\"message\":\"Successfully retrieved 2 of 5 records\","
                     "\"response_id\":\"64a1\",\"total\":5,\"data\":[{\"a\":1}, 2],"
                     "\"next_page\":2}";
    const char *big =
        "{\"code\":200,\"message\":\"ok\",\"data\":{\"n\":123456789012345678901234567890,"
        "\"z\":-0}}";
    const char *html = "<html><body><h1>502 Bad Gateway</h1></body></html>";

    /* Success with everything. */
    CHECK_INT(cfi_envelope_parse(ok, strlen(ok), &env, why, sizeof why), 0);
    CHECK(env.has_data);
    CHECK_INT(env.data_len, strlen("[{\"a\":1}, 2]"));
    CHECK(memcmp(ok + env.data_start, "[{\"a\":1}, 2]", env.data_len) == 0);
    CHECK(env.has_total);
    CHECK_INT(env.total, 5);
    CHECK(env.has_code);
    CHECK_INT(env.code, 200);
    CHECK_STR(env.message, "Successfully retrieved 2 of 5 records");
    CHECK_STR(env.response_id, "64a1");
    CHECK_INT(answer(200, "application/json", ok, CFI_DATA_ARRAY, &env, &err), 0);
    CHECK_INT(answer(200, NULL, ok, CFI_DATA_ANY, &env, &err), 0);
    CHECK_INT(answer(200, NULL, ok, CFI_DATA_OPTIONAL, &env, &err), 0);

    /* The exact span of data survives numbers json-c would clamp. */
    CHECK_INT(answer(200, NULL, big, CFI_DATA_OBJECT, &env, &err), 0);
    CHECK(env.data_len == strlen("{\"n\":123456789012345678901234567890,\"z\":-0}") &&
          memcmp(big + env.data_start, "{\"n\":123456789012345678901234567890,\"z\":-0}",
                 env.data_len) == 0);

    /* An error envelope: message and response_id surface. */
    CHECK_INT(
        answer(404, "application/json",
               "{\"code\":404,\"message\":\"Item with _id x not found\",\"response_id\":\"r-77\"}",
               CFI_DATA_OBJECT, &env, &err),
        -1);
    CHECK_INT(err.kind, CF_ERR_HTTP);
    CHECK_INT(err.status, 404);
    CHECK_STR(err.message, "Item with _id x not found");
    CHECK_STR(err.response_id, "r-77");
    CHECK_INT(cf_error_errno(&err), ENOENT);

    /* Escapes in messages are decoded; a structured message is shown as its text. */
    CHECK_INT(answer(400, NULL, "{\"message\":\"bad \\\"field\\\" \\u00e9\"}", CFI_DATA_OBJECT,
                     &env, &err),
              -1);
    CHECK_STR(err.message, "bad \"field\" \xc3\xa9");
    CHECK_INT(
        answer(422, NULL, "{\"message\":{\"name\":[\"required\"]}}", CFI_DATA_OBJECT, &env, &err),
        -1);
    CHECK_STR(err.message, "{\"name\":[\"required\"]}");

    /* Missing fields. */
    CHECK_INT(answer(500, NULL, "{}", CFI_DATA_OBJECT, &env, &err), -1);
    CHECK_INT(err.kind, CF_ERR_HTTP);
    CHECK_STR(err.message, "HTTP 500");
    CHECK_STR(err.response_id, "");
    CHECK_INT(answer(200, NULL, "{\"code\":200}", CFI_DATA_OBJECT, &env, &err), -1);
    CHECK_INT(err.kind, CF_ERR_PROTOCOL);
    CHECK_STR(err.message, "HTTP 200 answer without `data`");
    CHECK_INT(
        answer(200, NULL, "{\"code\":200,\"message\":\"Deleted\"}", CFI_DATA_OPTIONAL, &env, &err),
        0);
    CHECK(!env.has_data);
    CHECK_STR(env.message, "Deleted");
    CHECK_INT(cfi_envelope_parse("{\"total\":-1,\"code\":\"x\",\"message\":null}", 38, &env, why,
                                 sizeof why),
              0);
    CHECK(!env.has_total && !env.has_code);
    CHECK_STR(env.message, "");
    CHECK_INT(cfi_envelope_parse("{\"total\":2.5}", 13, &env, why, sizeof why), 0);
    CHECK(!env.has_total);

    /* Not JSON: an HTML page from a proxy. */
    CHECK_INT(answer(502, "text/html", html, CFI_DATA_OBJECT, &env, &err), -1);
    CHECK_INT(err.kind, CF_ERR_HTTP);
    CHECK_INT(err.status, 502);
    CHECK_STR(err.message, "HTTP 502 with a non-JSON body (text/html, 50 bytes)");
    CHECK_INT(answer(503, NULL, "", CFI_DATA_OBJECT, &env, &err), -1);
    CHECK_STR(err.message, "HTTP 503 with an empty body");
    CHECK_INT(answer(200, "text/html", html, CFI_DATA_OBJECT, &env, &err), -1);
    CHECK_INT(err.kind, CF_ERR_PROTOCOL);
    CHECK_INT(cf_error_errno(&err), EIO);
    CHECK_INT(cfi_envelope_parse(html, strlen(html), &env, why, sizeof why), -1);
    CHECK(why[0] != '\0');
    CHECK_INT(cfi_envelope_parse(NULL, 0, &env, why, sizeof why), -1);

    /* Truncated JSON; a JSON value that is not an object. */
    CHECK_INT(answer(200, "application/json", "{\"code\":200,\"data\":[{\"a\":1},{\"b\"",
                     CFI_DATA_ARRAY, &env, &err),
              -1);
    CHECK_INT(err.kind, CF_ERR_PROTOCOL);
    CHECK_INT(answer(200, "application/json", "[1,2]", CFI_DATA_ARRAY, &env, &err), -1);
    CHECK_INT(err.kind, CF_ERR_PROTOCOL);

    /* `data` of the wrong type. */
    CHECK_INT(
        answer(200, NULL, "{\"data\":{\"a\":1},\"response_id\":\"q\"}", CFI_DATA_ARRAY, &env, &err),
        -1);
    CHECK_INT(err.kind, CF_ERR_PROTOCOL);
    CHECK_STR(err.message, "`data` is an object where an array was expected");
    CHECK_STR(err.response_id, "q");
    CHECK_INT(answer(200, NULL, "{\"data\":[]}", CFI_DATA_OBJECT, &env, &err), -1);
    CHECK_STR(err.message, "`data` is an array where an object was expected");
    CHECK_INT(answer(200, NULL, "{\"data\":null}", CFI_DATA_OBJECT, &env, &err), -1);
    CHECK_STR(err.message, "`data` is null where an object was expected");
    CHECK_INT(answer(200, NULL, "{\"data\":\"x\"}", CFI_DATA_ANY, &env, &err), 0);

    /* An empty 2xx body is acceptable only where nothing was asked for. */
    CHECK_INT(answer(204, NULL, "", CFI_DATA_OPTIONAL, &env, &err), 0);
    CHECK(!env.has_data);
    CHECK_INT(answer(200, NULL, "", CFI_DATA_OBJECT, &env, &err), -1);
    CHECK_INT(err.kind, CF_ERR_PROTOCOL);
}

/* An answer whose data is (page: an array of) an object nested depth deep. */
static char *deep_answer(int depth, bool page)
{
    size_t n = 64 + 2 * (size_t)depth;
    char *s = malloc(n), *p = s;

    if (!s)
        abort();
    p += sprintf(p, "{\"code\":200,\"data\":%s{\"a\":", page ? "[" : "");
    for (int i = 1; i < depth; i++)
        *p++ = '[';
    for (int i = 1; i < depth; i++)
        *p++ = ']';
    sprintf(p, "}%s}", page ? "]" : "");
    return s;
}

/* A value nested CF_JSON_MAX_DEPTH deep (a record the filesystem accepts) comes through
 * an envelope, and through a page's array; one level more is refused cleanly. */
static void test_deep_data(void)
{
    cfi_envelope env;
    cf_error err;
    cfi_reply reply;
    cf_json *v = NULL;
    char *s;

    for (int page = 0; page < 2; page++) {
        s = deep_answer(CF_JSON_MAX_DEPTH, page);
        CHECK_INT(answer(200, NULL, s, page ? CFI_DATA_ARRAY : CFI_DATA_ANY, &env, &err), 0);
        memset(&reply, 0, sizeof reply);
        reply.body = s;
        reply.len = strlen(s);
        reply.env = env;
        reply.status = 200;
        CHECK_INT(cfi_reply_data(&reply, &v, &err), 0);
        cf_json_free(v);
        free(s);
        s = deep_answer(CF_JSON_MAX_DEPTH + 1, page);
        memset(&reply, 0, sizeof reply);
        reply.body = s;
        reply.len = strlen(s);
        reply.status = 200;
        if (answer(200, NULL, s, CFI_DATA_ANY, &env, &err) == 0) {
            reply.env = env;
            CHECK_INT(cfi_reply_data(&reply, &v, &err), -1);
            CHECK(v == NULL);
        }
        CHECK_INT(err.kind, CF_ERR_PROTOCOL);
        CHECK(strstr(err.message, "nesting deeper than") != NULL);
        free(s);
    }
}

static int errno_of(cf_error_kind kind, long status)
{
    cf_error err;

    cf_error_clear(&err);
    err.kind = kind;
    err.status = status;
    return cf_error_errno(&err);
}

static void test_errors(void)
{
    cf_error err;

    CHECK_INT(errno_of(CF_OK, 0), 0);
    CHECK_INT(cf_error_errno(NULL), 0);
    CHECK_INT(errno_of(CF_ERR_HTTP, 400), EINVAL);
    CHECK_INT(errno_of(CF_ERR_HTTP, 401), EACCES);
    CHECK_INT(errno_of(CF_ERR_HTTP, 403), EACCES);
    CHECK_INT(errno_of(CF_ERR_HTTP, 404), ENOENT);
    CHECK_INT(errno_of(CF_ERR_HTTP, 405), EOPNOTSUPP);
    CHECK_INT(errno_of(CF_ERR_HTTP, 408), ETIMEDOUT);
    CHECK_INT(errno_of(CF_ERR_HTTP, 409), EEXIST);
    CHECK_INT(errno_of(CF_ERR_HTTP, 410), ENOENT);
    CHECK_INT(errno_of(CF_ERR_HTTP, 413), EFBIG);
    CHECK_INT(errno_of(CF_ERR_HTTP, 414), ENAMETOOLONG);
    CHECK_INT(errno_of(CF_ERR_HTTP, 418), EINVAL);
    CHECK_INT(errno_of(CF_ERR_HTTP, 422), EINVAL);
    CHECK_INT(errno_of(CF_ERR_HTTP, 423), EROFS);
    CHECK_INT(errno_of(CF_ERR_HTTP, 429), EIO);
    CHECK_INT(errno_of(CF_ERR_HTTP, 500), EIO);
    CHECK_INT(errno_of(CF_ERR_HTTP, 502), EIO);
    CHECK_INT(errno_of(CF_ERR_HTTP, 503), EIO);
    CHECK_INT(errno_of(CF_ERR_HTTP, 507), ENOSPC);
    CHECK_INT(errno_of(CF_ERR_HTTP, 302), EIO);
    CHECK_INT(errno_of(CF_ERR_TIMEOUT, 0), ETIMEDOUT);
    CHECK_INT(errno_of(CF_ERR_NETWORK, 0), EIO);
    CHECK_INT(errno_of(CF_ERR_TLS, 0), EACCES);
    CHECK_INT(errno_of(CF_ERR_PROTOCOL, 200), EIO);
    CHECK_INT(errno_of(CF_ERR_INVALID, 0), EINVAL);
    CHECK_INT(errno_of(CF_ERR_NOMEM, 0), ENOMEM);
    CHECK_INT(errno_of(CF_ERR_CANCELLED, 0), ECANCELED);

    CHECK_STR(cf_error_kind_name(CF_OK), "ok");
    CHECK_STR(cf_error_kind_name(CF_ERR_HTTP), "http");
    CHECK_STR(cf_error_kind_name(CF_ERR_TIMEOUT), "timeout");
    CHECK_STR(cf_error_kind_name(CF_ERR_NETWORK), "network");
    CHECK_STR(cf_error_kind_name(CF_ERR_TLS), "tls");
    CHECK_STR(cf_error_kind_name(CF_ERR_PROTOCOL), "protocol");
    CHECK_STR(cf_error_kind_name(CF_ERR_INVALID), "invalid");
    CHECK_STR(cf_error_kind_name(CF_ERR_NOMEM), "nomem");
    CHECK_STR(cf_error_kind_name(CF_ERR_CANCELLED), "cancelled");
    CHECK_STR(cf_error_kind_name((cf_error_kind)99), "unknown");

    memset(&err, 0x55, sizeof err);
    cf_error_clear(&err);
    CHECK_INT(err.kind, CF_OK);
    CHECK_INT(err.status, 0);
    CHECK_STR(err.message, "");
    CHECK_STR(err.path, "");
    cf_error_clear(NULL);
    cfi_fail(&err, CF_ERR_HTTP, 409, "conflict %d", 1);
    cfi_error_where(&err, "POST", "/api/item/a/b");
    CHECK_STR(err.message, "conflict 1");
    CHECK_STR(err.method, "POST");
    CHECK_STR(err.path, "/api/item/a/b");
}

#define UA_PREFIX "clappfs/" CLAPPFS_VERSION " libcurl/"

static int log_count;
static char log_last[1024];

static void on_log(void *ud, int level, const char *file, int line, const char *msg)
{
    (void)ud;
    (void)file;
    (void)line;
    if (level == CF_LOG_WARNING) {
        log_count++;
        snprintf(log_last, sizeof log_last, "%s", msg);
    }
}

static void test_config(void)
{
    cf_config cfg;
    cf_client *c = (cf_client *)1;
    cf_error err;
    cf_stats st;

    cf_config_init(&cfg);
    CHECK_INT(cfg.workers, 8);
    CHECK_INT(cfg.page_size, 500);
    CHECK_INT(cfg.tries, 4);
    CHECK_INT(cfg.timeout_ms, 10000);
    CHECK_INT(cfg.backoff_ms, 1000);
    CHECK_INT(cfg.max_body, 256L << 20);
    CHECK(cfg.base_url == NULL && cfg.cafile == NULL && !cfg.insecure && cfg.log == NULL);
    CHECK_STR(cf_version_string(), CLAPPFS_VERSION);

    CHECK_INT(cf_client_new(&cfg, &c, &err), -1);
    CHECK(c == NULL);
    CHECK_INT(err.kind, CF_ERR_INVALID);
    cfg.base_url = "ftp://example.com";
    cfg.username = "u@example.com";
    cfg.password = "secret";
    CHECK_INT(cf_client_new(&cfg, &c, &err), -1);
    CHECK_INT(err.kind, CF_ERR_INVALID);
    CHECK(strstr(err.message, "secret") == NULL);

    /* Creation sends nothing; insecure warns once. */
    cfg.base_url = "https://clappform.invalid/";
    cfg.insecure = true;
    cfg.log = on_log;
    CHECK_INT(cf_client_new(&cfg, &c, &err), 0);
    CHECK(c != NULL);
    CHECK_INT(log_count, 1);
    CHECK(strstr(log_last, "insecure") != NULL);
    CHECK(strstr(log_last, "secret") == NULL);
    cf_client_stats(c, &st);
    CHECK_INT(st.requests, 0);
    CHECK_INT(st.logins, 0);
    CHECK_STR(c->base_url, "https://clappform.invalid");
    CHECK(strncmp(c->user_agent, UA_PREFIX, strlen(UA_PREFIX)) == 0);
    cf_client_free(c);
    cf_client_free(NULL);
    cf_client_stats(NULL, &st);
    CHECK_INT(st.requests, 0);
}

int main(void)
{
    cf_global_init();
    test_jwt();
    test_escape();
    test_backoff();
    test_envelope();
    test_deep_data();
    test_errors();
    test_config();
    cf_global_cleanup();
    return check_done();
}
