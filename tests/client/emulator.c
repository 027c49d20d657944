/* emulator.c: starts and drives the Clappform emulator for the client's integration tests. */
#define _GNU_SOURCE
#include "emulator.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void skip(const char *why)
{
    printf("1..0 # SKIP %s\n", why);
    exit(77);
}

static void die(const char *why)
{
    printf("Bail out! %s\n", why);
    exit(1);
}

void emu_start(emu *e, const char *const *args)
{
    const char *root = getenv("CLAPPFS_SOURCE_ROOT");
    const char *python = getenv("CLAPPFS_PYTHON");
    char script[4096], pyfile[4096], line[512];
    const char *argv[64];
    size_t used = 0;
    int fds[2], n = 0;
    double deadline;

    memset(e, 0, sizeof *e);
    if (!python || !*python)
        python = "/usr/bin/python3";
    if (!root)
        root = CLAPPFS_TEST_SOURCE_ROOT;
    snprintf(script, sizeof script, "%s/scripts/emulator", root);
    snprintf(pyfile, sizeof pyfile, "%s/tests/emulator/emulator.py", root);
    if (access(python, X_OK) != 0)
        skip("no python interpreter for the emulator");
    if (access(script, X_OK) != 0 || access(pyfile, R_OK) != 0)
        skip("the emulator is not there");
    argv[n++] = script;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--user";
    argv[n++] = EMU_USER ":" EMU_PASSWORD;
    for (; args && *args && n < 62; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    if (pipe(fds) != 0)
        die("pipe");
    fflush(stdout);
    e->pid = fork();
    if (e->pid < 0)
        die("fork");
    if (e->pid == 0) {
        /* The emulator must not outlive a crashed test. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        setenv("CLAPPFS_PYTHON", python, 1);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(script, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    deadline = now_ms() + 20000;
    for (;;) {
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        char *nl;
        ssize_t got;
        int wait = (int)(deadline - now_ms());
        if (wait <= 0 || poll(&p, 1, wait) <= 0)
            die("the emulator did not say where it listens within 20 s");
        got = read(fds[0], line + used, sizeof line - 1 - used);
        if (got <= 0)
            die("the emulator exited before listening");
        used += (size_t)got;
        line[used] = '\0';
        nl = strchr(line, '\n');
        if (nl) {
            *nl = '\0';
            break;
        }
        if (used == sizeof line - 1)
            die("the emulator's first line is too long");
    }
    close(fds[0]); /* the emulator prints nothing more on stdout */
    if (sscanf(line, "listening on %127s", e->url) != 1)
        die("unexpected first line of the emulator");
}

void emu_stop(emu *e)
{
    int status;

    if (e->pid <= 0)
        return;
    kill(e->pid, SIGTERM);
    for (int i = 0; i < 50; i++) {
        if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
            e->pid = 0;
            return;
        }
        usleep(100000);
    }
    kill(e->pid, SIGKILL);
    waitpid(e->pid, &status, 0);
    e->pid = 0;
}

struct grow {
    char *data;
    size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct grow *g = ud;
    char *p = realloc(g->data, g->len + size * nmemb + 1);

    if (!p)
        return 0;
    g->data = p;
    memcpy(g->data + g->len, ptr, size * nmemb);
    g->len += size * nmemb;
    g->data[g->len] = '\0';
    return size * nmemb;
}

long emu_http(const emu *e, const char *method, const char *path, const char *body, char **body_out)
{
    CURL *h = curl_easy_init();
    struct grow g = {0};
    char url[512];
    long status = 0;

    if (body_out)
        *body_out = NULL;
    if (!h)
        return 0;
    snprintf(url, sizeof url, "%s%s", e->url, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &g);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (body_out)
        *body_out = g.data;
    else
        free(g.data);
    return status;
}

void emu_reset(const emu *e)
{
    if (emu_http(e, "POST", "/_emulator/reset", "", NULL) != 200)
        die("POST /_emulator/reset failed");
}

void emu_faults(const emu *e, const char *json)
{
    char *answer = NULL;

    if (emu_http(e, "POST", "/_emulator/faults", json, &answer) != 200) {
        printf("# faults %s: %s\n", json, answer ? answer : "(no answer)");
        free(answer);
        die("POST /_emulator/faults failed");
    }
    free(answer);
}

void emu_expire_tokens(const emu *e)
{
    if (emu_http(e, "POST", "/_emulator/expire-tokens", "", NULL) != 200)
        die("POST /_emulator/expire-tokens failed");
}

json_object *emu_stats(const emu *e)
{
    char *body = NULL;
    json_object *obj = NULL;

    if (emu_http(e, "GET", "/_emulator/stats", NULL, &body) == 200 && body)
        obj = json_tokener_parse(body);
    free(body);
    if (!obj)
        die("GET /_emulator/stats failed");
    return obj;
}

long emu_stat(json_object *stats, const char *key)
{
    json_object *routes, *v;

    if (json_object_object_get_ex(stats, key, &v))
        return (long)json_object_get_int64(v);
    if (json_object_object_get_ex(stats, "routes", &routes) &&
        json_object_object_get_ex(routes, key, &v))
        return (long)json_object_get_int64(v);
    return 0;
}

long emu_record_count(const emu *e, const char *app, const char *slug)
{
    char path[256], *body = NULL;
    json_object *arr;
    long n = -1;

    snprintf(path, sizeof path, "/_emulator/records/%s/%s", app, slug);
    if (emu_http(e, "GET", path, NULL, &body) == 200 && body) {
        arr = json_tokener_parse(body);
        if (arr && json_object_is_type(arr, json_type_array))
            n = (long)json_object_array_length(arr);
        json_object_put(arr);
    }
    free(body);
    return n;
}

void emu_config(const emu *e, cf_config *cfg)
{
    cf_config_init(cfg);
    cfg->base_url = e->url;
    cfg->username = EMU_USER;
    cfg->password = EMU_PASSWORD;
    cfg->timeout_ms = 1000;
    cfg->backoff_ms = 10;
}

cf_client *emu_client(const cf_config *cfg)
{
    cf_client *c = NULL;
    cf_error err;

    if (cf_client_new(cfg, &c, &err) != 0) {
        printf("# cf_client_new: %s\n", err.message);
        die("cannot make a client");
    }
    return c;
}

cf_json *jparse(const char *text)
{
    cf_json_problem problem;
    cf_json *v = cf_json_parse(text, strlen(text), 0, &problem);

    if (!v) {
        printf("# %s: %s\n", text, problem.what);
        die("test JSON does not parse");
    }
    return v;
}
