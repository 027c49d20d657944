/* json.c: cf_json values, an exact checked JSON text together with json-c's tree of it. */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "json_internal.h"

/* text is authoritative and always valid JSON (checked when made), NUL-terminated after
 * len; obj is json-c's reading of it, NULL for the text null (as json-c has it). */
struct cf_json {
    char *text;
    size_t len;
    json_object *obj;
    /* Whether obj is made (read atomically): values of cfi_json_parse_lazy make it on the
     * first cf_json_object call; depth is json-c's nesting limit for it. */
    int tree;
    int depth;
};

/* Guards the installation of a lazily made tree (the parse itself runs without it). */
static pthread_mutex_t tree_lock = PTHREAD_MUTEX_INITIALIZER;

/* json-c counts the value inside the innermost container as a nesting level of its own,
 * so it needs one level more than the scanner to read every text the scanner accepts. */
#define JSONC_DEPTH (CF_JSON_MAX_DEPTH + 1)

static cf_json *parse(const char *text, size_t len, int flags, bool lazy,
                      cf_json_problem *problem)
{
    struct json_tokener *tok = NULL;
    json_object *obj = NULL;
    cf_json *value = NULL;
    char *copy = NULL;
    int depth = JSONC_DEPTH + (flags & CF_JSON_WRAPPED ? CF_JSON_WRAP_LEVELS : 0);

    if (cf_json_check(text, len, flags, problem) < 0)
        return NULL;
    /* json_tokener_parse_ex takes an int length, NUL included (see below). */
    if (len >= INT_MAX) {
        cf_jscan_problem(problem, text, 0, "text of %zu bytes is too large to parse", len);
        return NULL;
    }
    if (lazy) {
        if (!(copy = malloc(len + 1)) || !(value = malloc(sizeof *value))) {
            cf_jscan_problem(problem, text, 0, "out of memory");
            free(copy);
            return NULL;
        }
        memcpy(copy, text, len);
        copy[len] = '\0';
        value->text = copy;
        value->len = len;
        value->obj = NULL;
        value->tree = 0;
        value->depth = depth;
        return value;
    }
    if (!(copy = malloc(len + 1)) || !(tok = json_tokener_new_ex(depth))) {
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
    value->tree = 1;
    value->depth = depth;
    copy = NULL;
    obj = NULL;
cleanup:
    if (tok)
        json_tokener_free(tok);
    json_object_put(obj);
    free(copy);
    return value;
}

cf_json *cf_json_parse(const char *text, size_t len, int flags, cf_json_problem *problem)
{
    return parse(text, len, flags, false, problem);
}

cf_json *cfi_json_parse_lazy(const char *text, size_t len, int flags, cf_json_problem *problem)
{
    return parse(text, len, flags, true, problem);
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
    value->tree = 1;
    value->depth = JSONC_DEPTH;
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

/* Makes the tree of a lazy value: parsed without the lock (the text was checked when the
 * value was made), installed under it unless another thread was first. */
static void make_tree(cf_json *v)
{
    struct json_tokener *tok = json_tokener_new_ex(v->depth);
    json_object *obj = NULL;

    if (tok) {
        obj = json_tokener_parse_ex(tok, v->text, (int)v->len + 1);
        if (json_tokener_get_error(tok) != json_tokener_success) {
            json_object_put(obj);
            obj = NULL;
        }
        json_tokener_free(tok);
    }
    pthread_mutex_lock(&tree_lock);
    if (!v->tree) {
        v->obj = obj;
        obj = NULL;
        __atomic_store_n(&v->tree, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&tree_lock);
    json_object_put(obj);
}

json_object *cf_json_object(const cf_json *value)
{
    if (!value)
        return NULL;
    if (!__atomic_load_n(&value->tree, __ATOMIC_ACQUIRE))
        make_tree((cf_json *)value);
    return value->obj;
}

void cf_json_free(cf_json *value)
{
    if (!value)
        return;
    json_object_put(value->obj);
    free(value->text);
    free(value);
}
