/* client.c: configuration, client life cycle, statistics, and the small helpers the files share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "internal.h"

/* Defaults, as documented in clappform.h. */
#define DEFAULT_WORKERS 8
#define DEFAULT_PAGE_SIZE 500
#define DEFAULT_TRIES 4
#define DEFAULT_TIMEOUT_MS 10000L
#define DEFAULT_BACKOFF_MS 1000L
#define DEFAULT_MAX_BODY (256L << 20)
/* More parallel requests than this for one read only burden the server. */
#define MAX_WORKERS 64

void cf_config_init(cf_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->workers = DEFAULT_WORKERS;
    cfg->page_size = DEFAULT_PAGE_SIZE;
    cfg->tries = DEFAULT_TRIES;
    cfg->timeout_ms = DEFAULT_TIMEOUT_MS;
    cfg->backoff_ms = DEFAULT_BACKOFF_MS;
    cfg->max_body = DEFAULT_MAX_BODY;
}

int cf_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void cf_global_cleanup(void)
{
    curl_global_cleanup();
}

const char *cf_version_string(void)
{
    return CLAPPFS_VERSION;
}

static char *dup_or_null(const char *s, bool *failed)
{
    char *copy;

    if (!s)
        return NULL;
    copy = strdup(s);
    if (!copy)
        *failed = true;
    return copy;
}

int cf_client_new(const cf_config *cfg, cf_client **out, cf_error *err)
{
    cf_client *c = NULL;
    bool failed = false;
    size_t n;
    int rc = -1;

    cf_error_clear(err);
    if (!out)
        return cfi_fail(err, CF_ERR_INVALID, 0, "no place for the client");
    *out = NULL;
    if (!cfg || !cfg->base_url || !cfg->username || !cfg->password) {
        cfi_fail(err, CF_ERR_INVALID, 0, "base_url, username and password are required");
        goto cleanup;
    }
    if (strncmp(cfg->base_url, "http://", 7) != 0 && strncmp(cfg->base_url, "https://", 8) != 0) {
        cfi_fail(err, CF_ERR_INVALID, 0, "base_url must start with http:// or https://");
        goto cleanup;
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        goto cleanup;
    }
    c->base_url = dup_or_null(cfg->base_url, &failed);
    c->username = dup_or_null(cfg->username, &failed);
    c->password = dup_or_null(cfg->password, &failed);
    c->password_len = strlen(cfg->password);
    c->cafile = dup_or_null(cfg->cafile, &failed);
    if (cfg->user_agent) {
        c->user_agent = dup_or_null(cfg->user_agent, &failed);
    } else {
        cfi_buf ua = {0};
        cfi_buf_printf(&ua, "clappfs/%s libcurl/%s", CLAPPFS_VERSION,
                       curl_version_info(CURLVERSION_NOW)->version);
        if (cfi_buf_take(&ua, &c->user_agent, NULL) != 0)
            failed = true;
    }
    if (failed) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        goto cleanup;
    }
    n = strlen(c->base_url);
    while (n > 0 && c->base_url[n - 1] == '/')
        c->base_url[--n] = '\0';

    /* Zero or negative numbers mean "the default"; backoff 0 is allowed (no pause). */
    c->workers = cfg->workers > 0 ? (cfg->workers < MAX_WORKERS ? cfg->workers : MAX_WORKERS)
                                  : DEFAULT_WORKERS;
    c->page_size = cfg->page_size > 0 ? cfg->page_size : DEFAULT_PAGE_SIZE;
    c->tries = cfg->tries > 0 ? cfg->tries : DEFAULT_TRIES;
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->backoff_ms = cfg->backoff_ms >= 0 ? cfg->backoff_ms : DEFAULT_BACKOFF_MS;
    c->max_body = cfg->max_body > 0 ? cfg->max_body : DEFAULT_MAX_BODY;
    c->insecure = cfg->insecure;
    c->log = cfg->log;
    c->log_ud = cfg->log_ud;
    c->trace = cfg->trace;
    c->trace_ud = cfg->trace_ud;
    c->token_exp = 0;

    if (pthread_mutex_init(&c->login_lock, NULL) != 0 ||
        pthread_mutex_init(&c->token_lock, NULL) != 0) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "cannot make a mutex");
        goto cleanup;
    }
    if (cfi_http_init(c, err) != 0)
        goto cleanup;
    if (c->insecure)
        CFI_LOG(c, CF_LOG_WARNING,
                "TLS certificate verification is disabled (insecure) for %s: the server is "
                "not authenticated",
                c->base_url);
    *out = c;
    c = NULL;
    rc = 0;
cleanup:
    cf_client_free(c);
    return rc;
}

void cf_client_free(cf_client *c)
{
    if (!c)
        return;
    cfi_http_free(c);
    cfi_auth_free(c);
    pthread_mutex_destroy(&c->login_lock);
    pthread_mutex_destroy(&c->token_lock);
    if (c->password) {
        explicit_bzero(c->password, c->password_len);
        free(c->password);
    }
    free(c->base_url);
    free(c->username);
    free(c->cafile);
    free(c->user_agent);
    free(c);
}

void cf_client_stats(const cf_client *c, cf_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!c)
        return;
#define LOAD(f) out->f = __atomic_load_n(&c->stats.f, __ATOMIC_RELAXED)
    LOAD(requests);
    LOAD(retries);
    LOAD(logins);
    LOAD(failures);
    LOAD(bytes_sent);
    LOAD(bytes_received);
    LOAD(status_2xx);
    LOAD(status_4xx);
    LOAD(status_5xx);
    LOAD(no_answer);
#undef LOAD
}

int cfi_done(cf_client *c, int rc)
{
    if (rc != 0 && c)
        CFI_COUNT(c, failures, 1);
    return rc;
}

void cfi_log(const cf_client *c, int level, const char *file, int line, const char *fmt, ...)
{
    char msg[1024];
    const char *base;
    va_list ap;

    if (!c || !c->log)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    base = strrchr(file, '/');
    c->log(c->log_ud, level, base ? base + 1 : file, line, msg);
}

/* ---- text buffers ----------------------------------------------------------- */

void cfi_buf_add(cfi_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        p = realloc(b->data, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void cfi_buf_str(cfi_buf *b, const char *s)
{
    cfi_buf_add(b, s, strlen(s));
}

void cfi_buf_printf(cfi_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        cfi_buf_add(b, small, (size_t)n);
        return;
    }
    /* Longer than the stack buffer: grow the buffer and format in place. */
    cfi_buf_add(b, "", 0);
    if (b->failed)
        return;
    if (b->len + (size_t)n + 1 > b->cap) {
        char *p = realloc(b->data, b->len + (size_t)n + 1);
        if (!p) {
            b->failed = true;
            return;
        }
        b->data = p;
        b->cap = b->len + (size_t)n + 1;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

int cfi_buf_take(cfi_buf *b, char **out, size_t *len)
{
    int rc = -1;

    *out = NULL;
    if (len)
        *len = 0;
    if (!b->failed) {
        cfi_buf_add(b, "", 0); /* an empty buffer still hands out "" */
        if (!b->failed) {
            *out = b->data;
            if (len)
                *len = b->len;
            b->data = NULL;
            rc = 0;
        }
    }
    cfi_buf_release(b);
    return rc;
}

void cfi_buf_release(cfi_buf *b)
{
    if (!b)
        return;
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ---- JSON and path helpers ---------------------------------------------------- */

char *cfi_json_quote(const char *s)
{
    json_object *str = json_object_new_string(s ? s : "");
    const char *text;
    char *copy = NULL;

    if (!str)
        return NULL;
    text = json_object_to_json_string_ext(str,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (text)
        copy = strdup(text);
    json_object_put(str);
    return copy;
}

char *cfi_json_span_string(const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new();
    json_object *obj = NULL;
    char *copy = NULL;

    if (!tok)
        goto cleanup;
    obj = json_tokener_parse_ex(tok, text, (int)len);
    if (obj && json_tokener_get_error(tok) == json_tokener_success &&
        json_object_is_type(obj, json_type_string))
        copy = strdup(json_object_get_string(obj));
cleanup:
    json_object_put(obj);
    if (tok)
        json_tokener_free(tok);
    return copy;
}

char *cf_path_escape(const char *segment)
{
    static const char hex[] = "0123456789ABCDEF";
    cfi_buf b = {0};
    char *out;

    if (!segment)
        return NULL;
    /* "." and ".." are dot-segments that URL normalisation would remove; spelled
     * %2E they stay a record's or resource's own name. */
    if (strcmp(segment, ".") == 0 || strcmp(segment, "..") == 0) {
        cfi_buf_str(&b, segment[1] ? "%2E%2E" : "%2E");
        return cfi_buf_take(&b, &out, NULL) == 0 ? out : NULL;
    }
    for (const unsigned char *p = (const unsigned char *)segment; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            cfi_buf_add(&b, (const char *)p, 1);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            cfi_buf_add(&b, esc, 3);
        }
    }
    if (cfi_buf_take(&b, &out, NULL) != 0)
        return NULL;
    return out;
}

int cfi_path(char **out, cf_error *err, const char *fmt, ...)
{
    cfi_buf b = {0};
    va_list ap;
    int rc = -1;

    *out = NULL;
    va_start(ap, fmt);
    for (const char *p = fmt; *p; p++) {
        if (p[0] != '%' || p[1] == '\0') {
            cfi_buf_add(&b, p, 1);
            continue;
        }
        p++;
        if (*p == 'd') {
            cfi_buf_printf(&b, "%d", va_arg(ap, int));
        } else if (*p == 's') {
            const char *seg = va_arg(ap, const char *);
            char *esc;
            /* An empty segment would address another resource: refuse it. ("." and
             * ".." are sent percent-encoded by cf_path_escape.) */
            if (!seg || !*seg) {
                cfi_fail(err, CF_ERR_INVALID, 0, "invalid path segment \"%s\"", seg ? seg : "");
                goto cleanup;
            }
            esc = cf_path_escape(seg);
            if (!esc) {
                cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
                goto cleanup;
            }
            cfi_buf_str(&b, esc);
            free(esc);
        } else {
            cfi_buf_add(&b, p, 1);
        }
    }
    if (cfi_buf_take(&b, out, NULL) != 0) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        goto cleanup;
    }
    rc = 0;
cleanup:
    va_end(ap);
    cfi_buf_release(&b);
    return rc;
}
