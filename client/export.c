/* export.c: an app's export composed as the official client composes it, its import, and
 * the renaming of an export to another app id; texts are rebuilt from exact spans. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "json_internal.h"

/* ------------------------------------------------------------------------- */
/* Text helpers                                                               */
/* ------------------------------------------------------------------------- */

/* Appends the exact text of a value. */
static void add_json(cfi_buf *b, const cf_json *v)
{
    size_t n;
    const char *t = cf_json_text(v, &n);
    cfi_buf_add(b, t, n);
}

/* The decoded string of member key of an object text; NULL when absent, not a string, or
 * out of memory. */
static char *member_string(const char *text, size_t len, const char *key)
{
    size_t start, n;

    if (cf_json_member_span(text, len, key, &start, &n) != 0 || n < 2 || text[start] != '"')
        return NULL;
    return cfi_json_span_string(text + start, n);
}

/* ------------------------------------------------------------------------- */
/* Export                                                                     */
/* ------------------------------------------------------------------------- */

/* Ids of the resources an app's pages name, each once, in the order first met. */
typedef struct idset {
    long long *v;
    size_t n, cap;
    bool failed;
} idset;

static void idset_add(idset *s, long long id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == id)
            return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        long long *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            s->failed = true;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = id;
}

/* An array member of a json-c object, or NULL. Borrowed. */
static json_object *array_of(json_object *obj, const char *key)
{
    json_object *m;
    if (!obj || !json_object_object_get_ex(obj, key, &m) || !json_object_is_type(m, json_type_array))
        return NULL;
    return m;
}

/* The integer `id` member of obj's member key ({"id": n}), into *id. */
static bool ref_id(json_object *obj, const char *key, long long *id)
{
    json_object *ref, *m;
    if (!json_object_object_get_ex(obj, key, &ref) || !json_object_is_type(ref, json_type_object) ||
        !json_object_object_get_ex(ref, "id", &m) || !json_object_is_type(m, json_type_int))
        return false;
    *id = (long long)json_object_get_int64(m);
    return true;
}

/* Walks groups[].pages[].rows[].modules[].selection.actions[] of an extended app: actions
 * of type "actionflow" name actionflowId.id, of type "questionnaire" template.id. Shapes
 * that differ are passed over, as the web application may hold anything there. */
static void collect_actions(json_object *app, idset *flows, idset *forms)
{
    json_object *groups = array_of(app, "groups");
    size_t ng = groups ? json_object_array_length(groups) : 0;

    for (size_t g = 0; g < ng; g++) {
        json_object *pages = array_of(json_object_array_get_idx(groups, g), "pages");
        for (size_t p = 0; pages && p < json_object_array_length(pages); p++) {
            json_object *rows = array_of(json_object_array_get_idx(pages, p), "rows");
            for (size_t r = 0; rows && r < json_object_array_length(rows); r++) {
                json_object *mods = array_of(json_object_array_get_idx(rows, r), "modules");
                for (size_t m = 0; mods && m < json_object_array_length(mods); m++) {
                    json_object *sel, *acts, *type;
                    if (!json_object_object_get_ex(json_object_array_get_idx(mods, m),
                                                   "selection", &sel))
                        continue;
                    acts = array_of(sel, "actions");
                    for (size_t a = 0; acts && a < json_object_array_length(acts); a++) {
                        json_object *act = json_object_array_get_idx(acts, a);
                        long long id;
                        const char *t;
                        if (!json_object_object_get_ex(act, "type", &type))
                            continue;
                        t = json_object_get_string(type);
                        if (t && strcmp(t, "actionflow") == 0 && ref_id(act, "actionflowId", &id))
                            idset_add(flows, id);
                        else if (t && strcmp(t, "questionnaire") == 0 &&
                                 ref_id(act, "template", &id))
                            idset_add(forms, id);
                    }
                }
            }
        }
    }
}

/* Fetches each id of a kind and appends the answers as a JSON array. */
static int add_fetched(cf_client *c, cfi_buf *b, cf_kind kind, const idset *ids, cf_error *err)
{
    char key[32];

    cfi_buf_str(b, "[");
    for (size_t i = 0; i < ids->n; i++) {
        cf_json *v = NULL;
        snprintf(key, sizeof key, "%lld", ids->v[i]);
        if (cf_get(c, kind, NULL, key, 0, &v, err) != 0)
            return -1;
        if (i)
            cfi_buf_str(b, ",");
        add_json(b, v);
        cf_json_free(v);
    }
    cfi_buf_str(b, "]");
    return 0;
}

/* The import entries whose `collection` is one of slugs (a json-c array of collection
 * objects), appended as a JSON array of their exact texts. */
struct entry_filter {
    cfi_buf *b;
    json_object *colls;
    size_t kept;
};

static int keep_entry(void *ud, size_t index, const char *elem, size_t len)
{
    struct entry_filter *f = ud;
    char *coll = member_string(elem, len, "collection");
    bool keep = false;

    (void)index;
    for (size_t i = 0; coll && i < json_object_array_length(f->colls); i++) {
        json_object *slug;
        if (json_object_object_get_ex(json_object_array_get_idx(f->colls, i), "slug", &slug) &&
            json_object_get_string(slug) && strcmp(json_object_get_string(slug), coll) == 0)
            keep = true;
    }
    free(coll);
    if (keep) {
        if (f->kept++)
            cfi_buf_str(f->b, ",");
        cfi_buf_add(f->b, elem, len);
    }
    return 0;
}

/* The host of a base URL ("https://h:443/p" gives "h"), as a JSON string literal. */
static char *host_literal(const char *url)
{
    const char *h = strstr(url, "://"), *end;
    char host[256];

    h = h ? h + 3 : url;
    if (*h == '[') { /* an IPv6 literal: what is inside the brackets */
        end = strchr(h, ']');
        h++;
    } else {
        end = h + strcspn(h, ":/?#");
    }
    if (!end)
        end = h + strlen(h);
    snprintf(host, sizeof host, "%.*s", (int)(end - h), h);
    return cfi_json_quote(host);
}

/* Appends `"name":<member key of version, or null>`. */
static void add_version(cfi_buf *b, const char *name, const cf_json *version, const char *key)
{
    size_t len, start, n;
    const char *t = cf_json_text(version, &len);

    cfi_buf_printf(b, ",\"%s\":", name);
    if (cf_json_member_span(t, len, key, &start, &n) == 0)
        cfi_buf_add(b, t + start, n);
    else
        cfi_buf_str(b, "null");
}

int cf_export_app(cf_client *c, const char *app, cf_json **out, cf_error *err)
{
    cf_json *appj = NULL, *entries = NULL, *version = NULL;
    idset flows = {0}, forms = {0};
    cfi_buf b = {0};
    json_object *colls;
    char *text = NULL, *user = NULL, *host = NULL;
    const char *at;
    size_t alen, start, n, len;
    bool nested = false; /* a failure of a call made here, counted by that call */
    int rc = -1;

    cf_error_clear(err);
    if (out)
        *out = NULL;
    if (!c || !app || !*app || !out) {
        cfi_fail(err, CF_ERR_INVALID, 0, "no client, app or place for the export");
        goto cleanup;
    }
    nested = true;
    if (cf_get(c, CF_APP, NULL, app, 1, &appj, err) != 0)
        goto cleanup;
    nested = false;
    at = cf_json_text(appj, &alen);
    colls = array_of(cf_json_object(appj), "collections");
    if (!colls || cf_json_member_span(at, alen, "collections", &start, &n) != 0) {
        cfi_fail(err, CF_ERR_PROTOCOL, 0, "the extended app %s has no list of collections", app);
        goto cleanup;
    }
    collect_actions(cf_json_object(appj), &flows, &forms);
    if (flows.failed || forms.failed) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        goto cleanup;
    }
    cfi_buf_str(&b, "{\"apps\":[");
    cfi_buf_add(&b, at, alen);
    cfi_buf_str(&b, "],\"collections\":");
    cfi_buf_add(&b, at + start, n);
    cfi_buf_str(&b, ",\"form_templates\":");
    nested = true;
    if (add_fetched(c, &b, CF_QUESTIONNAIRE, &forms, err) != 0)
        goto cleanup;
    cfi_buf_str(&b, ",\"action_flows\":");
    if (add_fetched(c, &b, CF_ACTIONFLOW, &flows, err) != 0)
        goto cleanup;
    if (cf_import_entries(c, &entries, err) != 0)
        goto cleanup;
    nested = false;
    cfi_buf_str(&b, ",\"import_entry\":[");
    {
        struct entry_filter f = {.b = &b, .colls = colls};
        const char *et = cf_json_text(entries, &len);
        cf_json_array_each(et, len, keep_entry, &f);
    }
    cfi_buf_str(&b, "]");
    nested = true;
    if (cf_version(c, &version, err) != 0)
        goto cleanup;
    nested = false;
    user = cfi_json_quote(c->username ? c->username : "");
    host = host_literal(c->base_url);
    if (!user || !host) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        goto cleanup;
    }
    /* "enviroment" is spelled as the official client spells it. */
    cfi_buf_printf(&b, ",\"config\":{\"timestamp\":%lld,\"created_by\":%s,\"enviroment\":%s",
                   (long long)time(NULL), user, host);
    add_version(&b, "api_version", version, "api");
    add_version(&b, "web_application_version", version, "web_application");
    add_version(&b, "web_server_version", version, "web_server");
    cfi_buf_str(&b, ",\"deployable\":true}}");
    if (cfi_buf_take(&b, &text, &len) != 0) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        goto cleanup;
    }
    *out = cf_json_parse(text, len, CF_JSON_OBJECT_ONLY, NULL);
    if (!*out) {
        cfi_fail(err, CF_ERR_PROTOCOL, 0, "the export of %s could not be composed", app);
        goto cleanup;
    }
    rc = 0;
cleanup:
    cfi_buf_release(&b);
    free(flows.v);
    free(forms.v);
    free(text);
    free(user);
    free(host);
    cf_json_free(appj);
    cf_json_free(entries);
    cf_json_free(version);
    return nested || rc == 0 ? rc : cfi_done(c, rc);
}

/* ------------------------------------------------------------------------- */
/* Checking, renaming and importing                                           */
/* ------------------------------------------------------------------------- */

int cf_export_check(const cf_json *doc, char *why, size_t why_size)
{
    json_object *o = doc ? cf_json_object(doc) : NULL, *apps, *m, *cfg, *dep;
    const char *problem = NULL;
    static const char *const lists[] = {"collections", "form_templates", "action_flows",
                                        "import_entry"};

    if (!o || !json_object_is_type(o, json_type_object))
        problem = "an export is a JSON object";
    else if (!json_object_object_get_ex(o, "apps", &apps))
        problem = "the export has no \"apps\"";
    else if (!json_object_is_type(apps, json_type_array) || json_object_array_length(apps) != 1 ||
             !json_object_is_type(json_object_array_get_idx(apps, 0), json_type_object))
        problem = "\"apps\" must be an array of one app object";
    for (size_t i = 0; !problem && i < sizeof lists / sizeof lists[0]; i++)
        if (json_object_object_get_ex(o, lists[i], &m) && m &&
            !json_object_is_type(m, json_type_array))
            problem = "\"collections\", \"form_templates\", \"action_flows\" and \"import_entry\" "
                      "must be arrays";
    if (!problem && json_object_object_get_ex(o, "config", &cfg) && cfg) {
        if (!json_object_is_type(cfg, json_type_object))
            problem = "\"config\" must be an object";
        else if (json_object_object_get_ex(cfg, "deployable", &dep) &&
                 json_object_is_type(dep, json_type_boolean) && !json_object_get_boolean(dep))
            problem = "the export says it is not deployable (config.deployable is false)";
    }
    for (const char *const *k = (const char *const[]){"overwrite", "delete_mongo_data", NULL};
         !problem && *k; k++)
        if (json_object_object_get_ex(o, *k, &m) && !json_object_is_type(m, json_type_boolean))
            problem = "\"overwrite\" and \"delete_mongo_data\" must be true or false";
    if (problem && why && why_size)
        snprintf(why, why_size, "%s", problem);
    return problem ? -1 : 0;
}

/* Sets member key of the object text t[0..n) to value (a JSON text); the member goes
 * first. Appends the result to b. */
static int set_member(cfi_buf *b, const char *t, size_t n, const char *key, const char *value)
{
    char *o = NULL;
    size_t olen;

    if (cf_json_compact(t, n, key, key, value, &o, &olen) != 0)
        return -1;
    cfi_buf_add(b, o, olen);
    free(o);
    return 0;
}

/* What an array's elements get: `app` (or `id` for apps) set to the new id, and the
 * nested lists of apps (collections) and collections (queries) renamed alike. */
enum rename_what { R_APP, R_COLLECTION, R_QUERY, R_ENTRY };

struct rename {
    cfi_buf *b;
    enum rename_what what;
    const char *quoted; /* the new app id as a JSON string literal */
    int rc;
};

static int rename_value(cfi_buf *b, const char *t, size_t n, enum rename_what what,
                        const char *quoted);

static int rename_elem(void *ud, size_t index, const char *elem, size_t len)
{
    struct rename *r = ud;

    if (index)
        cfi_buf_str(r->b, ",");
    if (elem[0] != '{') { /* a slug where a level-2 collection lists its queries */
        cfi_buf_add(r->b, elem, len);
        return 0;
    }
    r->rc = rename_value(r->b, elem, len, r->what, r->quoted);
    return r->rc;
}

/* Appends the array t[0..n) with each object element renamed as what says. */
static int rename_array(cfi_buf *b, const char *t, size_t n, enum rename_what what,
                        const char *quoted)
{
    struct rename r = {.b = b, .what = what, .quoted = quoted};

    cfi_buf_str(b, "[");
    if (cf_json_array_each(t, n, rename_elem, &r) != 0 || r.rc != 0)
        return -1;
    cfi_buf_str(b, "]");
    return 0;
}

/* Appends the object t[0..n) renamed: its own key member set, then its nested list (an
 * app's collections, a collection's queries) renamed in turn when it is an array. */
static int rename_value(cfi_buf *b, const char *t, size_t n, enum rename_what what,
                        const char *quoted)
{
    const char *key = what == R_APP ? "id" : "app";
    const char *nested = what == R_APP ? "collections" : what == R_COLLECTION ? "queries" : NULL;
    cfi_buf inner = {0}, list = {0};
    char *mid = NULL, *lt = NULL;
    size_t mlen, llen, start, span;
    int rc = -1;

    /* An import entry without an app keeps none: the server files it under the export's. */
    if (what == R_ENTRY && cf_json_member_span(t, n, "app", &start, &span) != 0) {
        cfi_buf_add(b, t, n);
        return 0;
    }
    if (set_member(&inner, t, n, key, quoted) != 0 || cfi_buf_take(&inner, &mid, &mlen) != 0)
        goto cleanup;
    if (nested && cf_json_member_span(mid, mlen, nested, &start, &span) == 0 && mid[start] == '[') {
        if (rename_array(&list, mid + start, span, what == R_APP ? R_COLLECTION : R_QUERY,
                         quoted) != 0 ||
            cfi_buf_take(&list, &lt, &llen) != 0)
            goto cleanup;
        if (set_member(b, mid, mlen, nested, lt) != 0)
            goto cleanup;
    } else {
        cfi_buf_add(b, mid, mlen);
    }
    rc = 0;
cleanup:
    cfi_buf_release(&inner);
    cfi_buf_release(&list);
    free(mid);
    free(lt);
    return rc;
}

/* Replaces the top-level array member key of *text with its renamed copy (the member
 * goes first); absent members are left alone. */
static int rename_member(char **text, size_t *len, const char *key, enum rename_what what,
                         const char *quoted)
{
    cfi_buf arr = {0}, doc = {0};
    char *at = NULL, *nt = NULL;
    size_t alen, nlen, start, span;
    int rc = -1;

    if (cf_json_member_span(*text, *len, key, &start, &span) != 0 || (*text)[start] != '[')
        return 0;
    if (rename_array(&arr, *text + start, span, what, quoted) != 0 ||
        cfi_buf_take(&arr, &at, &alen) != 0 ||
        set_member(&doc, *text, *len, key, at) != 0 || cfi_buf_take(&doc, &nt, &nlen) != 0)
        goto cleanup;
    free(*text);
    *text = nt;
    *len = nlen;
    nt = NULL;
    rc = 0;
cleanup:
    cfi_buf_release(&arr);
    cfi_buf_release(&doc);
    free(at);
    free(nt);
    return rc;
}

int cf_export_rename(const cf_json *doc, const char *app, cf_json **out, cf_error *err)
{
    char *quoted = NULL, *text = NULL;
    const char *t;
    size_t len;
    char why[160];
    int rc = -1;

    cf_error_clear(err);
    if (out)
        *out = NULL;
    if (!out || !app || !*app) {
        cfi_fail(err, CF_ERR_INVALID, 0, "no app id or no place for the export");
        goto cleanup;
    }
    if (cf_export_check(doc, why, sizeof why) != 0) {
        cfi_fail(err, CF_ERR_INVALID, 0, "%s", why);
        goto cleanup;
    }
    quoted = cfi_json_quote(app);
    t = cf_json_text(doc, &len);
    text = malloc(len + 1);
    if (!quoted || !text) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        goto cleanup;
    }
    memcpy(text, t, len);
    text[len] = '\0';
    /* In reverse order, as each renamed member goes first: apps, collections, import_entry,
     * then the others as they were. */
    if (rename_member(&text, &len, "import_entry", R_ENTRY, quoted) != 0 ||
        rename_member(&text, &len, "collections", R_COLLECTION, quoted) != 0 ||
        rename_member(&text, &len, "apps", R_APP, quoted) != 0) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        goto cleanup;
    }
    *out = cf_json_parse(text, len, CF_JSON_OBJECT_ONLY, NULL);
    if (!*out) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(quoted);
    free(text);
    return rc;
}

int cf_import_app(cf_client *c, const cf_json *doc, bool data_export, cf_json **out, cf_error *err)
{
    char *body = NULL, *nodata = NULL;
    const char *t;
    size_t len, nlen;
    cf_json *sent = NULL;
    char why[160];
    bool nested = false; /* the failure is cf_transfer_app's, counted there */
    int rc = -1;

    cf_error_clear(err);
    if (out)
        *out = NULL;
    if (!c) {
        cfi_fail(err, CF_ERR_INVALID, 0, "no client");
        goto cleanup;
    }
    if (cf_export_check(doc, why, sizeof why) != 0) {
        cfi_fail(err, CF_ERR_INVALID, 0, "%s", why);
        goto cleanup;
    }
    /* As the official import: config is taken out and delete_mongo_data is the caller's. */
    t = cf_json_text(doc, &len);
    if (cf_json_compact(t, len, "config", NULL, NULL, &nodata, &nlen) != 0 ||
        cf_json_compact(nodata, nlen, "delete_mongo_data", "delete_mongo_data",
                        data_export ? "true" : "false", &body, &len) != 0 ||
        !(sent = cf_json_parse(body, len, CF_JSON_OBJECT_ONLY, NULL))) {
        cfi_fail(err, CF_ERR_NOMEM, 0, "out of memory");
        goto cleanup;
    }
    nested = true;
    rc = cf_transfer_app(c, sent, out, err);
cleanup:
    free(nodata);
    free(body);
    cf_json_free(sent);
    return nested || rc == 0 ? rc : cfi_done(c, rc);
}
