/* test_raw.c: odd servers from a raw socket: HTML 502s, truncated JSON, huge answers, hang-ups. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "emulator.h"

/* What the server answers to anything but the login. */
typedef enum mode {
    HTML_502,     /* a proxy's error page */
    TRUNCATED,    /* 200 with JSON cut short */
    WRONG_TYPE,   /* 200 with an object where a list belongs */
    HUGE,         /* 200 announcing 5 MB */
    HUGE_CHUNKED, /* 200 streaming 5 MB without a length */
    HANG_UP,      /* reads the request, closes without a word */
    ALWAYS_401,   /* refuses every token */
    EMPTY_PAGE,   /* read_data: no records but a total of 10 */
    NO_TOTAL,     /* read_data: records but no total */
    BAD_RECORD,   /* read_data: a record that is not an object */
} mode;

static int listener, port;
static int current_mode;     /* read and written with __atomic builtins */
static int logins, requests; /* counted by the server thread, read after each call */
static int out_not_null;     /* failed calls that left their out-pointer set */

/* An unsigned JWT whose exp is far away: {"exp":4102444800} (2100-01-01). */
#define TOKEN "eyJhbGciOiJub25lIn0.eyJleHAiOjQxMDI0NDQ4MDB9."

static void send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        data += n;
        len -= (size_t)n;
    }
}

static void answer(int fd, const char *status, const char *ctype, const char *body)
{
    char head[512];

    snprintf(head, sizeof head,
             "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
             status, ctype, strlen(body));
    send_all(fd, head, strlen(head));
    send_all(fd, body, strlen(body));
}

/* Reads one request (headers and Content-Length body); returns its path in buf. */
static int read_request(int fd, char *buf, size_t size)
{
    size_t used = 0, need = 0;
    char *end = NULL;

    while (used < size - 1) {
        ssize_t n = recv(fd, buf + used, size - 1 - used, 0);
        if (n <= 0)
            return -1;
        used += (size_t)n;
        buf[used] = '\0';
        if (!end && (end = strstr(buf, "\r\n\r\n"))) {
            const char *cl = strcasestr(buf, "Content-Length:");
            need = (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0);
        }
        if (end && used >= need)
            return 0;
    }
    return -1;
}

static void *serve(void *arg)
{
    char req[65536];
    static char chunk[65536];

    (void)arg;
    memset(chunk, 'x', sizeof chunk);
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0)
            return NULL;
        if (read_request(fd, req, sizeof req) != 0) {
            close(fd);
            continue;
        }
        if (strncmp(req, "POST /api/auth ", 15) == 0) {
            __atomic_add_fetch(&logins, 1, __ATOMIC_SEQ_CST);
            answer(fd, "200 OK", "application/json",
                   "{\"code\":200,\"message\":\"ok\",\"response_id\":\"r0\",\"data\":{\"access_"
                   "token\":\"" TOKEN "\",\"refresh_expiration\":0,\"refresh_token\":\"x\"}}");
            close(fd);
            continue;
        }
        __atomic_add_fetch(&requests, 1, __ATOMIC_SEQ_CST);
        switch (__atomic_load_n(&current_mode, __ATOMIC_SEQ_CST)) {
        case HTML_502:
            answer(fd, "502 Bad Gateway", "text/html",
                   "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>");
            break;
        case TRUNCATED:
            answer(fd, "200 OK", "application/json",
                   "{\"code\":200,\"message\":\"ok\",\"data\":[{\"id\":\"a\"},{\"id\":\"b");
            break;
        case WRONG_TYPE:
            answer(
                fd, "200 OK", "application/json",
                "{\"code\":200,\"message\":\"ok\",\"response_id\":\"w1\",\"data\":{\"id\":\"a\"}}");
            break;
        case HUGE: {
            const char *head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               "Content-Length: 5000000\r\nConnection: close\r\n\r\n";
            send_all(fd, head, strlen(head));
            for (int i = 0; i < 10; i++)
                send_all(fd, chunk, sizeof chunk);
            break;
        }
        case HUGE_CHUNKED: {
            const char *head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               "Connection: close\r\n\r\n";
            send_all(fd, head, strlen(head));
            for (int i = 0; i < 80; i++)
                send_all(fd, chunk, sizeof chunk);
            break;
        }
        case HANG_UP:
            break;
        case EMPTY_PAGE:
            answer(fd, "200 OK", "application/json", "{\"code\":200,\"total\":10,\"data\":[]}");
            break;
        case NO_TOTAL:
            answer(fd, "200 OK", "application/json", "{\"code\":200,\"data\":[{\"_id\":\"a\"}]}");
            break;
        case BAD_RECORD:
            answer(fd, "200 OK", "application/json",
                   "{\"code\":200,\"total\":2,\"data\":[{\"_id\":\"a\"},[1]]}");
            break;
        case ALWAYS_401:
            answer(fd, "401 UNAUTHORIZED", "application/json",
                   "{\"code\":401,\"message\":\"Signature verification "
                   "failed\",\"response_id\":\"r401\"}");
            break;
        }
        close(fd);
    }
}

static cf_client *client(long max_body)
{
    cf_config cfg;
    char url[64];

    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    cf_config_init(&cfg);
    cfg.base_url = url;
    cfg.username = "u@example.com";
    cfg.password = "pw";
    cfg.timeout_ms = 2000;
    cfg.backoff_ms = 10;
    cfg.tries = 3;
    cfg.max_body = max_body;
    return emu_client(&cfg);
}

/* Runs cf_list in a mode; returns the error and counts in *tries. */
static int list_in(mode m, cf_client *c, cf_error *err, int *tries)
{
    cf_json *v = (cf_json *)1;
    int rc;

    __atomic_store_n(&current_mode, (int)m, __ATOMIC_SEQ_CST);
    __atomic_store_n(&requests, 0, __ATOMIC_SEQ_CST);
    rc = cf_list(c, CF_APP, NULL, 0, &v, err);
    *tries = __atomic_load_n(&requests, __ATOMIC_SEQ_CST);
    if (rc == 0)
        cf_json_free(v);
    else if (v != NULL)
        out_not_null++;
    return rc;
}

static int never_called(void *ud, const cf_page *page)
{
    (void)page;
    ++*(int *)ud;
    return 0;
}

/* Paged reads of answers a client must not trust. */
static void test_bad_pages(cf_client *c)
{
    cf_error err;
    size_t total = 7;
    int calls = 0;

    __atomic_store_n(&current_mode, EMPTY_PAGE, __ATOMIC_SEQ_CST);
    CHECK_INT(cf_read_collection(c, "a", "b", never_called, &calls, &total, &err), -1);
    CHECK_INT(err.kind, CF_ERR_PROTOCOL);
    CHECK_STR(err.message, "read_data gave an empty first page but a total of 10");
    CHECK_STR(err.path, "/api/dataframe/read_data?extended=true");
    CHECK_INT(total, 0);
    __atomic_store_n(&current_mode, NO_TOTAL, __ATOMIC_SEQ_CST);
    CHECK_INT(cf_read_collection(c, "a", "b", never_called, &calls, &total, &err), -1);
    CHECK_INT(err.kind, CF_ERR_PROTOCOL);
    CHECK_STR(err.message, "read_data answer without a total");
    __atomic_store_n(&current_mode, BAD_RECORD, __ATOMIC_SEQ_CST);
    CHECK_INT(cf_read_collection(c, "a", "b", never_called, &calls, &total, &err), -1);
    CHECK_INT(err.kind, CF_ERR_PROTOCOL);
    CHECK(strncmp(err.message, "record 1 of the page: ", 22) == 0);
    CHECK_INT(calls, 0);
}

int main(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    pthread_t server;
    cf_client *c, *small;
    cf_error err;
    int tries;

    cf_global_init();
    listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(listener, 16) != 0 || getsockname(listener, (struct sockaddr *)&addr, &len) != 0)
        CHECK_SKIP("cannot listen on the loopback");
    port = ntohs(addr.sin_port);
    pthread_create(&server, NULL, serve, NULL);
    c = client(0);
    small = client(1000000);

    /* A proxy's HTML 502: retried, then reported with what the body was. */
    CHECK_INT(list_in(HTML_502, c, &err, &tries), -1);
    CHECK_INT(tries, 3);
    CHECK_INT(err.kind, CF_ERR_HTTP);
    CHECK_INT(err.status, 502);
    CHECK_STR(err.message, "HTTP 502 with a non-JSON body (text/html, 74 bytes)");
    CHECK_STR(err.path, "/api/apps?extended=false");
    CHECK_INT(cf_error_errno(&err), EIO);

    /* Truncated JSON: a protocol error, not retried. */
    CHECK_INT(list_in(TRUNCATED, c, &err, &tries), -1);
    CHECK_INT(tries, 1);
    CHECK_INT(err.kind, CF_ERR_PROTOCOL);
    CHECK_INT(err.status, 200);
    CHECK(strstr(err.message, "not a JSON envelope") != NULL);

    /* `data` of the wrong type. */
    CHECK_INT(list_in(WRONG_TYPE, c, &err, &tries), -1);
    CHECK_INT(err.kind, CF_ERR_PROTOCOL);
    CHECK_STR(err.message, "`data` is an object where an array was expected");
    CHECK_STR(err.response_id, "w1");
    CHECK_STR(err.method, "GET");

    /* Answers beyond max_body, announced or streamed. */
    CHECK_INT(list_in(HUGE, small, &err, &tries), -1);
    CHECK_INT(tries, 1);
    CHECK_INT(err.kind, CF_ERR_PROTOCOL);
    CHECK_STR(err.message, "answer larger than 1000000 bytes");
    CHECK_INT(list_in(HUGE_CHUNKED, small, &err, &tries), -1);
    CHECK_INT(tries, 1);
    CHECK_INT(err.kind, CF_ERR_PROTOCOL);
    CHECK_STR(err.message, "answer larger than 1000000 bytes");

    /* A server that hangs up: retried as a network fault. */
    CHECK_INT(list_in(HANG_UP, c, &err, &tries), -1);
    CHECK_INT(tries, 3);
    CHECK_INT(err.kind, CF_ERR_NETWORK);
    CHECK_MSG(strstr(err.message, "(3 tries)") != NULL, "%s", err.message);

    /* A token refused even after a new login: one re-login, one repeat, then the 401. */
    __atomic_store_n(&logins, 0, __ATOMIC_SEQ_CST);
    CHECK_INT(list_in(ALWAYS_401, c, &err, &tries), -1);
    CHECK_INT(tries, 2);
    CHECK_INT(__atomic_load_n(&logins, __ATOMIC_SEQ_CST), 1);
    CHECK_INT(err.kind, CF_ERR_HTTP);
    CHECK_INT(err.status, 401);
    CHECK_STR(err.message, "Signature verification failed");
    CHECK_STR(err.response_id, "r401");
    CHECK_INT(cf_error_errno(&err), EACCES);

    test_bad_pages(c);
    CHECK_INT(out_not_null, 0);
    cf_client_free(c);
    cf_client_free(small);
    shutdown(listener, SHUT_RDWR);
    close(listener);
    pthread_join(server, NULL);
    cf_global_cleanup();
    return check_done();
}
