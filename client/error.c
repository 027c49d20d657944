/* error.c: the cf_error helpers, the one error-to-errno table, and answer (envelope) judging. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "json_internal.h"

void cf_error_clear(cf_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

/* The one table of suggested errno values. The filesystem may decide otherwise; these are
 * chosen so that a plain `ls`/`cat`/`cp` user sees the closest usual message:
 *   HTTP 400, 415, 422 and other 4xx  EINVAL   the server refused what was sent
 *   HTTP 401, 403                     EACCES   (401 only survives a failed re-login)
 *   HTTP 404, 410                     ENOENT
 *   HTTP 405, 501                     EOPNOTSUPP  the route does not do that
 *   HTTP 408                          ETIMEDOUT
 *   HTTP 409, 412                     EEXIST
 *   HTTP 413                          EFBIG
 *   HTTP 414                          ENAMETOOLONG
 *   HTTP 423                          EROFS    a locked (read-only) collection
 *   HTTP 429                          EIO      not EAGAIN: callers of read()/write() on a
 *                                              blocking file do not retry EAGAIN
 *   HTTP 507                          ENOSPC
 *   HTTP other 5xx, 1xx, 3xx          EIO
 *   timeout ETIMEDOUT, network EIO, TLS EACCES (a certificate refused is a permission
 *   matter, not a transient fault), protocol EIO, invalid EINVAL, nomem ENOMEM,
 *   cancelled ECANCELED. */
int cf_error_errno(const cf_error *err)
{
    if (!err)
        return 0;
    switch (err->kind) {
    case CF_OK:
        return 0;
    case CF_ERR_HTTP:
        switch (err->status) {
        case 401:
        case 403:
            return EACCES;
        case 404:
        case 410:
            return ENOENT;
        case 405:
        case 501:
            return EOPNOTSUPP;
        case 408:
            return ETIMEDOUT;
        case 409:
        case 412:
            return EEXIST;
        case 413:
            return EFBIG;
        case 414:
            return ENAMETOOLONG;
        case 423:
            return EROFS;
        case 429:
            return EIO;
        case 507:
            return ENOSPC;
        default:
            return err->status >= 400 && err->status < 500 ? EINVAL : EIO;
        }
    case CF_ERR_TIMEOUT:
        return ETIMEDOUT;
    case CF_ERR_NETWORK:
        return EIO;
    case CF_ERR_TLS:
        return EACCES;
    case CF_ERR_PROTOCOL:
        return EIO;
    case CF_ERR_INVALID:
        return EINVAL;
    case CF_ERR_NOMEM:
        return ENOMEM;
    case CF_ERR_CANCELLED:
        return ECANCELED;
    }
    return EIO;
}

const char *cf_error_kind_name(cf_error_kind kind)
{
    switch (kind) {
    case CF_OK:
        return "ok";
    case CF_ERR_HTTP:
        return "http";
    case CF_ERR_TIMEOUT:
        return "timeout";
    case CF_ERR_NETWORK:
        return "network";
    case CF_ERR_TLS:
        return "tls";
    case CF_ERR_PROTOCOL:
        return "protocol";
    case CF_ERR_INVALID:
        return "invalid";
    case CF_ERR_NOMEM:
        return "nomem";
    case CF_ERR_CANCELLED:
        return "cancelled";
    }
    return "unknown";
}

int cfi_fail(cf_error *err, cf_error_kind kind, long status, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return -1;
    memset(err, 0, sizeof *err);
    err->kind = kind;
    err->status = status;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

void cfi_error_where(cf_error *err, const char *method, const char *path)
{
    if (!err)
        return;
    snprintf(err->method, sizeof err->method, "%s", method ? method : "");
    snprintf(err->path, sizeof err->path, "%s", path ? path : "");
}

/* Reads a span holding a non-negative JSON integer (digits only) into *v. */
static int span_uint(const char *s, size_t len, uint64_t *v)
{
    uint64_t n = 0;

    if (len == 0 || (len > 1 && s[0] == '0'))
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (n > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
            return -1;
        n = n * 10 + (uint64_t)(s[i] - '0');
    }
    *v = n;
    return 0;
}

/* Copies a member that should be a string: decoded when it is one, its raw text
 * otherwise (a server may send structured messages), truncated to size. */
static void member_text(const char *body, bool present, size_t start, size_t span, char *dst,
                        size_t size)
{
    char *decoded;

    dst[0] = '\0';
    if (!present)
        return;
    if (span > 0 && body[start] == '"') {
        decoded = cfi_json_span_string(body + start, span);
        if (decoded) {
            snprintf(dst, size, "%s", decoded);
            free(decoded);
        }
        return;
    }
    if (span == 4 && memcmp(body + start, "null", 4) == 0)
        return;
    snprintf(dst, size, "%.*s", (int)(span < size ? span : size - 1), body + start);
}

int cfi_envelope_parse(const char *body, size_t len, cfi_envelope *env, char *why, size_t why_size)
{
    static const char *const keys[5] = {"data", "total", "code", "message", "response_id"};
    cf_json_problem problem;
    size_t start[5], span[5];
    uint64_t n;
    int found;

    memset(env, 0, sizeof *env);
    if (why_size > 0)
        why[0] = '\0';
    if (!body || len == 0) {
        if (why_size > 0)
            snprintf(why, why_size, "empty body");
        return -1;
    }
    memset(&problem, 0, sizeof problem);
    /* The envelope wraps the data: a record nested CF_JSON_MAX_DEPTH deep is acceptable. */
    if (cf_json_check(body, len, CF_JSON_OBJECT_ONLY | CF_JSON_WRAPPED, &problem) != 0) {
        if (why_size > 0)
            snprintf(why, why_size, "%s at line %d column %d", problem.what, problem.line,
                     problem.column);
        return -1;
    }
    /* One pass over the body for every member (a page is large). */
    found = cfi_json_member_spans(body, len, keys, 5, start, span);
    if (found < 0)
        found = 0;
    if (found & 1) {
        env->has_data = true;
        env->data_start = start[0];
        env->data_len = span[0];
    }
    if ((found & 2) && span_uint(body + start[1], span[1], &n) == 0) {
        env->has_total = true;
        env->total = n;
    }
    if ((found & 4) && span_uint(body + start[2], span[2], &n) == 0 && n < 1000) {
        env->has_code = true;
        env->code = (long)n;
    }
    member_text(body, found & 8, start[3], span[3], env->message, sizeof env->message);
    member_text(body, found & 16, start[4], span[4], env->response_id, sizeof env->response_id);
    return 0;
}

/* The JSON type of a value text, named for messages. */
static const char *span_type(const char *s, size_t len)
{
    while (len > 0 && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) {
        s++;
        len--;
    }
    if (len == 0)
        return "nothing";
    switch (*s) {
    case '{':
        return "an object";
    case '[':
        return "an array";
    case '"':
        return "a string";
    case 't':
    case 'f':
        return "a boolean";
    case 'n':
        return "null";
    default:
        return "a number";
    }
}

int cfi_answer_check(long status, const char *content_type, const char *body, size_t len,
                     cfi_expect expect, cfi_envelope *env, cf_error *err)
{
    char why[200];
    const char *want = NULL, *got;
    int parsed = cfi_envelope_parse(body, len, env, why, sizeof why);
    const char *ctype = content_type && *content_type ? content_type : "no content type";

    if (status < 200 || status > 299) {
        if (parsed != 0) {
            if (len == 0)
                return cfi_fail(err, CF_ERR_HTTP, status, "HTTP %ld with an empty body", status);
            return cfi_fail(err, CF_ERR_HTTP, status,
                            "HTTP %ld with a non-JSON body (%s, %zu bytes)", status, ctype, len);
        }
        if (env->message[0])
            cfi_fail(err, CF_ERR_HTTP, status, "%s", env->message);
        else
            cfi_fail(err, CF_ERR_HTTP, status, "HTTP %ld", status);
        if (err)
            snprintf(err->response_id, sizeof err->response_id, "%s", env->response_id);
        return -1;
    }
    if (parsed != 0 && len == 0 && expect == CFI_DATA_OPTIONAL)
        return 0; /* e.g. 204 No Content for a delete: nothing was asked for */
    if (parsed != 0)
        return cfi_fail(err, CF_ERR_PROTOCOL, status,
                        "HTTP %ld answer is not a JSON envelope: %s (%s, %zu bytes)", status, why,
                        ctype, len);
    if (expect == CFI_DATA_OPTIONAL)
        return 0;
    if (!env->has_data) {
        cfi_fail(err, CF_ERR_PROTOCOL, status, "HTTP %ld answer without `data`", status);
        goto fail_with_id;
    }
    got = span_type(body + env->data_start, env->data_len);
    if (expect == CFI_DATA_OBJECT && strcmp(got, "an object") != 0)
        want = "an object";
    else if (expect == CFI_DATA_ARRAY && strcmp(got, "an array") != 0)
        want = "an array";
    if (!want)
        return 0;
    cfi_fail(err, CF_ERR_PROTOCOL, status, "`data` is %s where %s was expected", got, want);
fail_with_id:
    if (err)
        snprintf(err->response_id, sizeof err->response_id, "%s", env->response_id);
    return -1;
}
