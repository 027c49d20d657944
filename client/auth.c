/* auth.c: the session: lazy login, token expiry, one login at a time, re-login after a 401. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* Whether the current token can be used now. Called with token_lock held. The margin is
 * CFI_TOKEN_MARGIN seconds, or half the token's lifetime when that is shorter, so that a
 * short-lived token (a test server's) is not renewed before every request. */
static bool token_fresh(const cf_client *c)
{
    return c->token && c->token_exp > (int64_t)time(NULL) + c->token_margin;
}

/* Copies the header for the current token when it is fresh: 1 when done, 0 when a login
 * is needed, -1 when out of memory. */
static int current_header(cf_client *c, char **header, uint64_t *gen)
{
    int rc = 0;

    pthread_mutex_lock(&c->token_lock);
    if (token_fresh(c)) {
        size_t n = strlen(c->token) + sizeof "Authorization: Bearer ";
        *header = malloc(n);
        if (*header) {
            snprintf(*header, n, "Authorization: Bearer %s", c->token);
            *gen = c->token_gen;
            rc = 1;
        } else {
            rc = -1;
        }
    }
    pthread_mutex_unlock(&c->token_lock);
    return rc;
}

/* Builds the login body with json-c (so any password survives quoting) into a malloc'ed
 * buffer; json-c's own copies of the password are wiped before they are freed. */
static char *login_body(const cf_client *c, size_t *len)
{
    json_object *obj = json_object_new_object(), *user = NULL, *pass = NULL;
    const char *text;
    char *body = NULL;

    if (!obj)
        goto cleanup;
    user = json_object_new_string(c->username);
    pass = json_object_new_string_len(c->password, (int)c->password_len);
    if (!user || !pass || json_object_object_add(obj, "username", user) != 0) {
        json_object_put(user);
        json_object_put(pass);
        goto cleanup;
    }
    if (json_object_object_add(obj, "password", pass) != 0) {
        json_object_put(pass);
        goto cleanup;
    }
    text = json_object_to_json_string_ext(obj,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (text) {
        *len = strlen(text);
        body = malloc(*len + 1);
        if (body)
            memcpy(body, text, *len + 1);
        explicit_bzero((char *)text, *len); /* json-c's serialisation buffer */
    }
    explicit_bzero((char *)json_object_get_string(pass), (size_t)json_object_get_string_len(pass));
cleanup:
    json_object_put(obj);
    return body;
}

/* POST /api/auth and install the new token. Called with login_lock held. */
static int login(cf_client *c, cf_error *err)
{
    cfi_call call = {.method = "POST",
                     .path = "/api/auth",
                     .route = "/api/auth",
                     .expect = CFI_DATA_OBJECT,
                     .anonymous = true};
    cfi_reply reply = {0};
    size_t start, span, body_len = 0;
    char *body = NULL, *token = NULL, *old = NULL;
    int64_t exp, now, margin = CFI_TOKEN_MARGIN;
    int rc = -1;

    CFI_COUNT(c, logins, 1);
    if (!err) /* the failure is kept for the threads that waited for this login */
        err = &c->login_err;
    body = login_body(c, &body_len);
    if (!body) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        cfi_error_where(err, call.method, call.path);
        goto cleanup;
    }
    call.body = body;
    call.body_len = body_len;
    if (cfi_call_run(c, &call, &reply, err) != 0)
        goto cleanup;
    if (cf_json_member_span(reply.body + reply.env.data_start, reply.env.data_len, "access_token",
                            &start, &span) == 0)
        token = cfi_json_span_string(reply.body + reply.env.data_start + start, span);
    if (!token || !*token) {
        cfi_fail(err, CF_ERR_PROTOCOL, reply.status, "login answer without an access_token");
        cfi_error_where(err, call.method, call.path);
        goto cleanup;
    }
    now = (int64_t)time(NULL);
    if (cf_jwt_exp(token, &exp) != 0) {
        /* An opaque token: rely on the server's 401 to say when it is over. */
        CFI_LOG(c, CF_LOG_DEBUG, "the access token carries no readable exp");
        exp = INT64_MAX;
    } else if (exp <= now) {
        CFI_LOG(c, CF_LOG_WARNING,
                "the new access token expired %lld s ago by this machine's clock; relying on "
                "the server to refuse it",
                (long long)(now - exp));
        exp = INT64_MAX;
    } else if ((exp - now) / 2 < margin) {
        margin = (exp - now) / 2;
    }
    pthread_mutex_lock(&c->token_lock);
    old = c->token;
    c->token = token;
    c->token_exp = exp;
    c->token_margin = exp == INT64_MAX ? 0 : margin;
    c->token_gen++;
    pthread_mutex_unlock(&c->token_lock);
    token = NULL;
    CFI_LOG(c, CF_LOG_DEBUG, "logged in as %s", c->username);
    rc = 0;
cleanup:
    c->login_failed = rc != 0;
    if (rc != 0 && err != &c->login_err)
        c->login_err = *err;
    __atomic_add_fetch(&c->login_count, 1, __ATOMIC_RELEASE);
    if (old) {
        explicit_bzero(old, strlen(old));
        free(old);
    }
    if (token) {
        explicit_bzero(token, strlen(token));
        free(token);
    }
    if (body) {
        explicit_bzero(body, body_len);
        free(body);
    }
    if (reply.body)
        explicit_bzero(reply.body, reply.len);
    cfi_reply_free(&reply);
    return rc;
}

int cfi_auth_header(cf_client *c, char **header, uint64_t *gen, cf_error *err)
{
    uint64_t seen;
    int got;

    *header = NULL;
    seen = __atomic_load_n(&c->login_count, __ATOMIC_ACQUIRE);
    got = current_header(c, header, gen);
    if (got == 0) {
        /* Only one login at a time. Whoever waited here uses what the login it waited for
         * gave: its token, or its failure (so a wrong password or a dead server costs
         * one login, not one per waiting thread). */
        pthread_mutex_lock(&c->login_lock);
        got = current_header(c, header, gen);
        if (got == 0 && c->login_count != seen && c->login_failed) {
            if (err)
                *err = c->login_err;
            got = -2;
        } else if (got == 0) {
            got = login(c, err) == 0 ? current_header(c, header, gen) : -2;
            if (got == 0) { /* the token lived shorter than the login took */
                cfi_fail(err, CF_ERR_PROTOCOL, 0, "the new access token is already expired");
                got = -2;
            }
        }
        pthread_mutex_unlock(&c->login_lock);
    }
    if (got == -1)
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
    return got == 1 ? 0 : -1;
}

void cfi_auth_invalidate(cf_client *c, uint64_t gen)
{
    pthread_mutex_lock(&c->token_lock);
    if (c->token_gen == gen) {
        c->token_exp = 0; /* not fresh: the next cfi_auth_header logs in */
        c->token_gen++;
    }
    pthread_mutex_unlock(&c->token_lock);
}

void cfi_auth_free(cf_client *c)
{
    if (c->token) {
        explicit_bzero(c->token, strlen(c->token));
        free(c->token);
        c->token = NULL;
    }
}

int cf_login(cf_client *c, cf_error *err)
{
    int rc;

    cf_error_clear(err);
    if (!c)
        return cfi_fail(err, CF_ERR_INVALID, 0, "no client");
    pthread_mutex_lock(&c->login_lock);
    rc = login(c, err);
    pthread_mutex_unlock(&c->login_lock);
    return cfi_done(c, rc);
}

int cf_verify(cf_client *c, cf_error *err)
{
    cfi_call call = {.method = "POST",
                     .path = "/api/auth/verify",
                     .route = "/api/auth/verify",
                     .expect = CFI_DATA_OPTIONAL};
    cfi_reply reply = {0};
    int rc;

    if (!c)
        return cfi_fail(err, CF_ERR_INVALID, 0, "no client");
    rc = cfi_call_run(c, &call, &reply, err);
    cfi_reply_free(&reply);
    return cfi_done(c, rc);
}
