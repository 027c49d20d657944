/* json.c: cf_json values, an exact checked JSON text together with json-c's tree of it. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "json_internal.h"

/* text is authoritative and always valid JSON (checked when made), NUL-terminated after
 * len; obj is json-c's reading of it, NULL for the text null (as json-c has it). */
struct cf_json {
    char *text;
    size_t len;
    json_object *obj;
};

/* json-c counts the value inside the innermost container as a nesting level of its own,
 * so it needs one level more than the scanner to read every text the scanner accepts. */
#define JSONC_DEPTH (CF_JSON_MAX_DEPTH + 1)

cf_json *cf_json_parse(const char *text, size_t len, int flags, cf_json_problem *problem)
{
    struct json_tokener *tok = NULL;
    json_object *obj = NULL;
    cf_json *value = NULL;
    char *copy = NULL;

    if (cf_json_check(text, len, flags, problem) < 0)
        return NULL;
    /* json_tokener_parse_ex takes an int length, NUL included (see below). */
    if (len >= INT_MAX) {
        cf_jscan_problem(problem, text, 0, "text of %zu bytes is too large to parse", len);
        return NULL;
    }
    if (!(copy = malloc(len + 1)) || !(tok = json_tokener_new_ex(JSONC_DEPTH))) {
        cf_jscan_problem(problem, text, 0, "out of memory");
        goto cleanup;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    /* The NUL is passed too: it tells json-c the text ends there, without which a
     * top-level number or literal stays unfinished (json_tokener_continue). */
    obj = json_tokener_parse_ex(tok, copy, (int)len + 1);
    if (json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != len) {
        cf_jscan_problem(problem, text,
                         json_tokener_get_parse_end(tok) < len ? json_tokener_get_parse_end(tok)
                                                               : len,
                         "json-c could not read the text: %s",
                         json_tokener_error_desc(json_tokener_get_error(tok)));
        goto cleanup;
    }
    if (!(value = malloc(sizeof *value))) {
        cf_jscan_problem(problem, text, 0, "out of memory");
        goto cleanup;
    }
    value->text = copy;
    value->len = len;
    value->obj = obj;
    copy = NULL;
    obj = NULL;
cleanup:
    if (tok)
        json_tokener_free(tok);
    json_object_put(obj);
    free(copy);
    return value;
}

cf_json *cf_json_wrap(json_object *obj)
{
    const char *text;
    cf_json *value = NULL;
    char *copy = NULL;
    size_t len = 0;

    text = json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    /* json-c writes NaN and infinities as NaN and Infinity, which are not JSON: such a
     * tree has no exact text and is refused here rather than rendered invalid later. */
    if (!text || cf_json_check(text, len, 0, NULL) < 0)
        goto cleanup;
    if (!(copy = malloc(len + 1)) || !(value = malloc(sizeof *value)))
        goto cleanup;
    memcpy(copy, text, len);
    copy[len] = '\0';
    value->text = copy;
    value->len = len;
    value->obj = obj;
    copy = NULL;
    obj = NULL;
cleanup:
    free(copy);
    json_object_put(obj);
    return value;
}

const char *cf_json_text(const cf_json *value, size_t *len)
{
    if (len)
        *len = value ? value->len : 0;
    return value ? value->text : NULL;
}

json_object *cf_json_object(const cf_json *value)
{
    return value ? value->obj : NULL;
}

void cf_json_free(cf_json *value)
{
    if (!value)
        return;
    json_object_put(value->obj);
    free(value->text);
    free(value);
}
