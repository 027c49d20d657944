/* test_errmap.c: every row of the client-error to errno table, and the error text. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "errmap.h"

static cf_error make(cf_error_kind kind, long status)
{
    cf_error e;
    memset(&e, 0, sizeof e);
    e.kind = kind;
    e.status = status;
    return e;
}

static void row(cf_error_kind kind, long status, int want)
{
    cf_error e = make(kind, status);
    CHECK_MSG(fs_errno(&e) == want, "kind %d status %ld: %d, want %d", kind, status,
              fs_errno(&e), want);
}

int main(void)
{
    char buf[1400];
    cf_error e;

    CHECK_INT(fs_errno(NULL), 0);
    row(CF_OK, 0, 0);
    row(CF_ERR_HTTP, 404, ENOENT);
    row(CF_ERR_HTTP, 410, ENOENT);
    row(CF_ERR_HTTP, 401, EACCES);
    row(CF_ERR_HTTP, 403, EACCES);
    row(CF_ERR_HTTP, 400, EINVAL);
    row(CF_ERR_HTTP, 422, EINVAL);
    row(CF_ERR_HTTP, 409, EEXIST);
    row(CF_ERR_HTTP, 413, EFBIG);
    row(CF_ERR_HTTP, 405, EIO);
    row(CF_ERR_HTTP, 429, EIO);
    row(CF_ERR_HTTP, 500, EIO);
    row(CF_ERR_HTTP, 502, EIO);
    row(CF_ERR_HTTP, 503, EIO);
    row(CF_ERR_HTTP, 504, EIO);
    row(CF_ERR_TIMEOUT, 0, ETIMEDOUT);
    row(CF_ERR_NETWORK, 0, EIO);
    row(CF_ERR_TLS, 0, EIO);
    row(CF_ERR_PROTOCOL, 200, EIO);
    row(CF_ERR_INVALID, 0, EINVAL);
    row(CF_ERR_NOMEM, 0, ENOMEM);
    row(CF_ERR_CANCELLED, 0, ECANCELED);
    /* Nothing but a missing resource is ENOENT. */
    for (long s = 400; s < 600; s++) {
        cf_error x = make(CF_ERR_HTTP, s);
        if (s != 404 && s != 410 && fs_errno(&x) == ENOENT)
            CHECK_MSG(0, "status %ld is ENOENT", s);
    }

    e = make(CF_ERR_HTTP, 401);
    strcpy(e.message, "Invalid credentials");
    strcpy(e.response_id, "5f2a");
    CHECK_STR(fs_error_text(&e, buf, sizeof buf), "HTTP 401: Invalid credentials (response_id 5f2a)");
    e = make(CF_ERR_TIMEOUT, 0);
    strcpy(e.message, "Operation timed out");
    CHECK_STR(fs_error_text(&e, buf, sizeof buf), "timeout: Operation timed out");
    e = make(CF_ERR_NETWORK, 0);
    CHECK_STR(fs_error_text(&e, buf, sizeof buf), "network: (no message)");
    CHECK_STR(fs_error_text(&e, buf, 8), "network");
    return check_done();
}
