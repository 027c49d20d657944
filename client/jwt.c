/* jwt.c: reads the `exp` claim of a JWT access token (no signature check: the server checks). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The value of one base64url character, -1 for anything else (the standard alphabet's
 * '+' and '/' are not base64url and make the token malformed). */
static int b64url_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '-')
        return 62;
    if (ch == '_')
        return 63;
    return -1;
}

/* Decodes base64url text s[0..n), padded with '=' to a multiple of 4 or not padded at all,
 * into a malloc'ed buffer (NUL-terminated for convenience). */
static int b64url_decode(const char *s, size_t n, unsigned char **out, size_t *out_len)
{
    unsigned char *buf = NULL;
    size_t pad = 0, len = 0;
    uint32_t acc = 0;
    int bits = 0, rc = -1;

    *out = NULL;
    while (pad < n && pad < 2 && s[n - 1 - pad] == '=')
        pad++;
    if (pad > 0 && n % 4 != 0)
        goto cleanup;
    n -= pad;
    if (n == 0 || n % 4 == 1)
        goto cleanup;
    buf = malloc(n / 4 * 3 + 3);
    if (!buf)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value((unsigned char)s[i]);
        if (v < 0)
            goto cleanup;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[len++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    buf = NULL;
    rc = 0;
cleanup:
    free(buf);
    return rc;
}

int cf_jwt_exp(const char *token, int64_t *exp)
{
    const char *dot1, *dot2;
    unsigned char *payload = NULL;
    size_t payload_len = 0;
    json_tokener *tok = NULL;
    json_object *obj = NULL, *claim;
    int rc = -1;

    if (!token || !exp)
        goto cleanup;
    /* header.payload.signature: exactly three parts (the signature may be empty). */
    dot1 = strchr(token, '.');
    if (!dot1)
        goto cleanup;
    dot2 = strchr(dot1 + 1, '.');
    if (!dot2 || strchr(dot2 + 1, '.') || dot1 == token)
        goto cleanup;
    if (b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &payload, &payload_len) != 0)
        goto cleanup;
    tok = json_tokener_new();
    if (!tok)
        goto cleanup;
    obj = json_tokener_parse_ex(tok, (const char *)payload, (int)payload_len);
    if (!obj || json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != payload_len ||
        !json_object_is_type(obj, json_type_object))
        goto cleanup;
    if (!json_object_object_get_ex(obj, "exp", &claim))
        goto cleanup;
    if (json_object_is_type(claim, json_type_int)) {
        *exp = json_object_get_int64(claim);
        rc = 0;
    } else if (json_object_is_type(claim, json_type_double)) {
        double d = json_object_get_double(claim);
        if (isfinite(d) && d > -9.2e18 && d < 9.2e18) {
            /* floor without libm: truncation rounds negative fractions up */
            int64_t t = (int64_t)d;
            *exp = (double)t > d ? t - 1 : t;
            rc = 0;
        }
    }
cleanup:
    json_object_put(obj);
    if (tok)
        json_tokener_free(tok);
    free(payload);
    return rc;
}
