/* errmap.c: maps the client's errors to errno values and formats them for the log. */
#include "errmap.h"

#include <errno.h>
#include <stdio.h>

int fs_errno(const cf_error *err)
{
    if (!err)
        return 0;
    switch (err->kind) {
    case CF_OK:
        return 0;
    case CF_ERR_HTTP:
        switch (err->status) {
        case 404:
        case 410:
            return ENOENT;
        case 401:
        case 403:
            return EACCES;
        case 400:
        case 422:
            return EINVAL;
        case 409:
            return EEXIST;
        case 413:
            return EFBIG;
        default:
            return EIO;
        }
    case CF_ERR_TIMEOUT:
        return ETIMEDOUT;
    case CF_ERR_NETWORK:
    case CF_ERR_TLS:
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

static const char *kind_word(cf_error_kind kind)
{
    switch (kind) {
    case CF_OK:
        return "ok";
    case CF_ERR_HTTP:
        return "HTTP";
    case CF_ERR_TIMEOUT:
        return "timeout";
    case CF_ERR_NETWORK:
        return "network";
    case CF_ERR_TLS:
        return "TLS";
    case CF_ERR_PROTOCOL:
        return "protocol";
    case CF_ERR_INVALID:
        return "invalid";
    case CF_ERR_NOMEM:
        return "out of memory";
    case CF_ERR_CANCELLED:
        return "cancelled";
    }
    return "error";
}

const char *fs_error_text(const cf_error *err, char *buf, size_t bufsz)
{
    int n;

    if (!buf || bufsz == 0)
        return "";
    if (!err) {
        snprintf(buf, bufsz, "no error");
        return buf;
    }
    if (err->kind == CF_ERR_HTTP)
        n = snprintf(buf, bufsz, "HTTP %ld: %s", err->status,
                     err->message[0] ? err->message : "(no message)");
    else
        n = snprintf(buf, bufsz, "%s: %s", kind_word(err->kind),
                     err->message[0] ? err->message : "(no message)");
    if (n >= 0 && (size_t)n < bufsz && err->response_id[0])
        snprintf(buf + n, bufsz - (size_t)n, " (response_id %s)", err->response_id);
    return buf;
}
