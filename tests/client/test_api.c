/* test_api.c: every call of the client library against the emulator, with exact values kept. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "emulator.h"

static emu E;
static cf_client *C;

/* A string member of a value's tree ("" when absent). */
static const char *jstr(const cf_json *v, const char *key)
{
    json_object *m;

    if (v && json_object_object_get_ex(cf_json_object(v), key, &m) && json_object_get_string(m))
        return json_object_get_string(m);
    return "";
}

static long long jint(const cf_json *v, const char *key)
{
    json_object *m;

    if (v && json_object_object_get_ex(cf_json_object(v), key, &m))
        return (long long)json_object_get_int64(m);
    return -1;
}

static size_t jlen(const cf_json *v)
{
    return v && json_object_is_type(cf_json_object(v), json_type_array)
               ? json_object_array_length(cf_json_object(v))
               : 0;
}

static const char *jtext(const cf_json *v)
{
    size_t n;
    return v ? cf_json_text(v, &n) : "";
}

/* Makes a resource from JSON text; returns the created value (or NULL, failing the test). */
static cf_json *create(cf_kind kind, const char *app, const char *text)
{
    cf_json *body = jparse(text), *out = NULL;
    cf_error err;
    int rc = cf_create(C, kind, app, body, &out, &err);

    CHECK_MSG(rc == 0, "create %s: %s", text, err.message);
    cf_json_free(body);
    return out;
}

static void test_version_me(void)
{
    cf_json *v = NULL;
    cf_error err;

    CHECK_INT(cf_version(C, &v, &err), 0);
    CHECK(strlen(jstr(v, "api")) > 0);
    cf_json_free(v);
    CHECK_INT(cf_me(C, false, &v, &err), 0);
    CHECK_STR(jstr(v, "email"), EMU_USER);
    CHECK(!json_object_object_get_ex(cf_json_object(v), "permissions", NULL));
    cf_json_free(v);
    CHECK_INT(cf_me(C, true, &v, &err), 0);
    CHECK(json_object_object_get_ex(cf_json_object(v), "permissions", NULL));
    cf_json_free(v);
    CHECK_INT(cf_login(C, &err), 0);
    CHECK_INT(cf_verify(C, &err), 0);
}

static void test_apps(void)
{
    cf_json *v, *body, *list = NULL;
    cf_error err;

    v = create(CF_APP, NULL,
               "{\"id\":\"t-app\",\"name\":\"Test\",\"description\":\"d\",\"settings\":{\"k\":1}}");
    CHECK_STR(jstr(v, "id"), "t-app");
    cf_json_free(v);
    v = NULL;
    CHECK_INT(cf_get(C, CF_APP, NULL, "t-app", 0, &v, &err), 0);
    CHECK_STR(jstr(v, "name"), "Test");
    CHECK_INT(jint(v, "collections"), 0);
    cf_json_free(v);
    CHECK_INT(cf_get(C, CF_APP, NULL, "t-app", 1, &v, &err), 0);
    CHECK(json_object_is_type(json_object_object_get(cf_json_object(v), "collections"),
                              json_type_array));
    cf_json_free(v);
    CHECK_INT(cf_list(C, CF_APP, NULL, 0, &list, &err), 0);
    CHECK(jlen(list) >= 1);
    cf_json_free(list);
    body = jparse("{\"id\":\"t-app\",\"name\":\"Renamed\"}");
    CHECK_INT(cf_update(C, CF_APP, NULL, "t-app", body, &v, &err), 0);
    CHECK_STR(jstr(v, "name"), "Renamed");
    CHECK_STR(jstr(v, "description"), "d");
    cf_json_free(v);
    cf_json_free(body);
    CHECK_INT(cf_delete(C, CF_APP, NULL, "t-app", &err), 0);
    v = (cf_json *)1;
    CHECK_INT(cf_get(C, CF_APP, NULL, "t-app", 0, &v, &err), -1);
    CHECK(v == NULL);
    CHECK_INT(err.kind, CF_ERR_HTTP);
    CHECK_INT(err.status, 404);
    CHECK_INT(cf_error_errno(&err), ENOENT);
    CHECK_STR(err.method, "GET");
    CHECK_STR(err.path, "/api/app/t-app?extended=false");
    CHECK(strstr(err.message, "t-app") != NULL);
    CHECK(strlen(err.response_id) > 0);
    /* Refused before anything is sent. */
    CHECK_INT(cf_get(C, CF_APP, NULL, "", 0, &v, &err), -1);
    CHECK_INT(err.kind, CF_ERR_INVALID);
    /* ".." is a name like any other: sent as %2E%2E, so the server answers 404. */
    CHECK_INT(cf_get(C, CF_APP, NULL, "..", 0, &v, &err), -1);
    CHECK_INT(err.status, 404);
    CHECK_STR(err.path, "/api/app/%2E%2E?extended=false");
    CHECK_INT(cf_get(C, CF_COLLECTION, NULL, "x", 0, &v, &err), -1);
    CHECK_INT(err.kind, CF_ERR_INVALID);
    body = jparse("[1]");
    CHECK_INT(cf_create(C, CF_APP, NULL, body, &v, &err), -1);
    CHECK_INT(err.kind, CF_ERR_INVALID);
    cf_json_free(body);
}

static void test_collections(void)
{
    cf_json *v, *body, *list = NULL;
    cf_error err;

    cf_json_free(create(CF_APP, NULL, "{\"id\":\"capp\",\"name\":\"Collections\"}"));
    v = create(CF_COLLECTION, "capp", "{\"slug\":\"c 1\",\"name\":\"C1\",\"database\":\"MONGO\"}");
    CHECK_STR(jstr(v, "slug"), "c 1");
    CHECK_STR(jstr(v, "app"), "capp");
    cf_json_free(v);
    cf_json_free(create(CF_COLLECTION, "capp", "{\"slug\":\"items\",\"name\":\"Items\"}"));
    CHECK_INT(cf_get(C, CF_COLLECTION, "capp", "c 1", 1, &v, &err), 0);
    CHECK(jint(v, "id") > 0);
    CHECK(json_object_object_get_ex(cf_json_object(v), "is_locked", NULL));
    cf_json_free(v);
    CHECK_INT(cf_get(C, CF_COLLECTION, "capp", "c 1", 0, &v, &err), 0);
    CHECK(!json_object_object_get_ex(cf_json_object(v), "is_locked", NULL));
    cf_json_free(v);
    CHECK_INT(cf_list(C, CF_COLLECTION, "capp", 0, &list, &err), 0);
    CHECK_INT(jlen(list), 2);
    cf_json_free(list);
    CHECK_INT(cf_list(C, CF_COLLECTION, NULL, 0, &list, &err), 0);
    CHECK(jlen(list) > 2); /* the generated collection too */
    cf_json_free(list);
    CHECK_INT(cf_list(C, CF_COLLECTION, "no-such-app", 3, &list, &err), 0);
    CHECK_STR(jtext(list), "[]");
    cf_json_free(list);
    body = jparse("{\"name\":\"C one\"}");
    CHECK_INT(cf_update(C, CF_COLLECTION, "capp", "c 1", body, &v, &err), 0);
    CHECK_STR(jstr(v, "name"), "C one");
    cf_json_free(v);
    cf_json_free(body);
    CHECK_INT(cf_delete(C, CF_COLLECTION, "capp", "c 1", &err), 0);
    CHECK_INT(cf_get(C, CF_COLLECTION, "capp", "c 1", 0, &v, &err), -1);
    CHECK_INT(err.status, 404);
}

static void test_queries(void)
{
    cf_json *v, *body, *list = NULL;
    cf_error err;

    v = create(CF_QUERY, NULL,
               "{\"app\":\"gapp\",\"collection\":\"gen\",\"slug\":\"q-group1\",\"name\":\"Q\","
               "\"query\":[{\"$match\":{\"group\":\"group-01\"}}]}");
    CHECK_STR(jstr(v, "slug"), "q-group1");
    cf_json_free(v);
    CHECK_INT(cf_get(C, CF_QUERY, NULL, "q-group1", 0, &v, &err), 0);
    CHECK_STR(jstr(v, "collection"), "gen");
    cf_json_free(v);
    CHECK_INT(cf_list(C, CF_QUERY, NULL, 0, &list, &err), 0);
    CHECK_INT(jlen(list), 1);
    cf_json_free(list);
    body = jparse("{\"name\":\"Group one\"}");
    CHECK_INT(cf_update(C, CF_QUERY, NULL, "q-group1", body, &v, &err), 0);
    CHECK_STR(jstr(v, "name"), "Group one");
    cf_json_free(v);
    cf_json_free(body);
}

static void test_actionflows(void)
{
    cf_json *v, *body, *list = NULL, *settings;
    cf_error err;
    char key[32];

    v = create(CF_ACTIONFLOW, NULL, "{\"name\":\"House keeping\",\"settings\":{}}");
    snprintf(key, sizeof key, "%lld", jint(v, "id"));
    CHECK(jint(v, "id") > 0);
    cf_json_free(v);
    CHECK_INT(cf_get(C, CF_ACTIONFLOW, NULL, key, 0, &v, &err), 0);
    CHECK_STR(jstr(v, "name"), "House keeping");
    cf_json_free(v);
    CHECK_INT(cf_list(C, CF_ACTIONFLOW, NULL, 0, &list, &err), 0);
    CHECK(jlen(list) >= 1);
    cf_json_free(list);
    body = jparse("{\"category\":\"ops\"}");
    CHECK_INT(cf_update(C, CF_ACTIONFLOW, NULL, key, body, &v, &err), 0);
    CHECK_STR(jstr(v, "category"), "ops");
    cf_json_free(v);
    cf_json_free(body);
    settings = jparse("{\"dry\":true,\"n\":12345678901234567890123}");
    CHECK_INT(cf_actionflow_start(C, key, 1, settings, &v, &err), 0);
    CHECK_STR(jstr(v, "status"), "started");
    CHECK(strstr(jtext(v), "12345678901234567890123") != NULL);
    cf_json_free(v);
    CHECK_INT(cf_actionflow_start(C, "house-keeping", 1, NULL, &v, &err), 0);
    CHECK_INT(jint(v, "actionflow"), atoll(key));
    cf_json_free(v);
    CHECK_INT(cf_actionflow_start(C, "no-such-flow", 1, NULL, &v, &err), -1);
    CHECK_INT(err.status, 404);
    cf_json_free(settings);
    CHECK_INT(cf_delete(C, CF_ACTIONFLOW, NULL, key, &err), 0);
}

static void test_questionnaires(void)
{
    cf_json *v, *body, *list = NULL;
    cf_error err;
    char key[32];

    v = create(CF_QUESTIONNAIRE, NULL,
               "{\"name\":\"Survey\",\"settings\":{\"a\":1},\"active\":null}");
    snprintf(key, sizeof key, "%lld", jint(v, "id"));
    cf_json_free(v);
    CHECK_INT(cf_get(C, CF_QUESTIONNAIRE, NULL, key, 1, &v, &err), 0);
    CHECK_STR(jstr(v, "name"), "Survey");
    CHECK(json_object_object_get_ex(cf_json_object(v), "versions", NULL));
    cf_json_free(v);
    body = jparse("{\"id\":999,\"name\":\"Survey 2\",\"created_by\":{\"x\":1}}");
    CHECK_INT(cf_update(C, CF_QUESTIONNAIRE, NULL, key, body, &v, &err), 0);
    CHECK_STR(jstr(v, "name"), "Survey 2");
    cf_json_free(v);
    cf_json_free(body);
    CHECK_INT(cf_list(C, CF_QUESTIONNAIRE, NULL, 1, &list, &err), 0);
    CHECK_INT(jlen(list), 1);
    cf_json_free(list);
    CHECK_INT(cf_delete(C, CF_QUESTIONNAIRE, NULL, key, &err), 0);
}

static void test_users(void)
{
    const char *email = "new.user+x@example.com";
    cf_json *v, *body, *list = NULL;
    cf_error err;

    v = create(CF_USER, NULL,
               "{\"email\":\"new.user+x@example.com\",\"password\":\"p w\\\"q\","
               "\"first_name\":\"New\"}");
    CHECK_STR(jstr(v, "email"), email);
    CHECK(!json_object_object_get_ex(cf_json_object(v), "password", NULL));
    cf_json_free(v);
    CHECK_INT(cf_get(C, CF_USER, NULL, email, 0, &v, &err), 0);
    CHECK_STR(jstr(v, "first_name"), "New");
    cf_json_free(v);
    /* The e-mail in the body differs from the path: left out, so no 400. */
    body = jparse("{\"email\":\"other@example.com\",\"first_name\":\"Changed\"}");
    CHECK_INT(cf_update(C, CF_USER, NULL, email, body, &v, &err), 0);
    CHECK_STR(jstr(v, "first_name"), "Changed");
    CHECK_STR(jstr(v, "email"), email);
    cf_json_free(v);
    cf_json_free(body);
    CHECK_INT(cf_list(C, CF_USER, NULL, 1, &list, &err), 0);
    CHECK(jlen(list) >= 2);
    cf_json_free(list);
    CHECK_INT(cf_delete(C, CF_USER, NULL, email, &err), 0);
    CHECK_INT(cf_get(C, CF_USER, NULL, email, 0, &v, &err), 0);
    CHECK(!json_object_get_boolean(json_object_object_get(cf_json_object(v), "is_active")));
    cf_json_free(v);
}

static void test_records(void)
{
    const char *exact = "{\"_id\":\"my/id 1\",\"big\":123456789012345678901234567890,\"neg\":-0,"
                        "\"f\":1.5e300,\"s\":\"caf\xc3\xa9\"}";
    cf_json *rec = jparse(exact), *v = NULL, *upd;
    const char *ids[3];
    cf_error err;
    cf_stats before, after;
    char assigned[64];

    CHECK_INT(cf_record_create(C, "capp", "items", rec, &v, &err), 0);
    CHECK(strncmp(jtext(v), "{\"_id\":\"my/id 1\",", 17) == 0);
    CHECK(strstr(jtext(v), "123456789012345678901234567890") != NULL);
    cf_json_free(v);
    CHECK_INT(cf_record_get(C, "capp", "items", "my/id 1", &v, &err), 0);
    CHECK_STR(jtext(v), exact);
    cf_json_free(v);

    /* A server-assigned id comes first too. */
    upd = jparse("{\"name\":\"no id\",\"n\":1}");
    CHECK_INT(cf_record_create(C, "capp", "items", upd, &v, &err), 0);
    CHECK(strncmp(jtext(v), "{\"_id\":\"", 8) == 0);
    snprintf(assigned, sizeof assigned, "%s", jstr(v, "_id"));
    CHECK_INT(strlen(assigned), 24);
    cf_json_free(v);
    cf_json_free(upd);

    /* A duplicate is a 409 at once: 4xx are not retried. */
    cf_client_stats(C, &before);
    CHECK_INT(cf_record_create(C, "capp", "items", rec, &v, &err), -1);
    cf_client_stats(C, &after);
    CHECK_INT(err.status, 409);
    CHECK_INT(cf_error_errno(&err), EEXIST);
    CHECK_INT(after.requests - before.requests, 1);
    CHECK_INT(after.failures - before.failures, 1);

    /* Update: the _id of the record is not sent; it comes back first. */
    upd = jparse("{\"s\":\"new\",\"_id\":\"ignored\",\"big\":-98765432109876543210987654321}");
    CHECK_INT(cf_record_update(C, "capp", "items", "my/id 1", upd, &v, &err), 0);
    CHECK_STR(jtext(v),
              "{\"_id\":\"my/id 1\",\"s\":\"new\",\"big\":-98765432109876543210987654321}");
    cf_json_free(v);
    cf_json_free(upd);
    CHECK_INT(cf_record_get(C, "capp", "items", "my/id 1", &v, &err), 0);
    CHECK_STR(jstr(v, "s"), "new");
    cf_json_free(v);

    CHECK_INT(emu_record_count(&E, "capp", "items"), 2);
    ids[0] = "my/id 1";
    ids[1] = assigned;
    ids[2] = "absent";
    CHECK_INT(cf_record_delete(C, "capp", "items", ids, 3, &err), 0);
    CHECK_INT(emu_record_count(&E, "capp", "items"), 0);
    CHECK_INT(cf_record_delete(C, "capp", "items", ids, 0, &err), 0);
    CHECK_INT(cf_record_get(C, "capp", "items", "my/id 1", &v, &err), -1);
    CHECK_INT(err.status, 404);
    CHECK_STR(err.path, "/api/item/capp/items/my%2Fid%201");
    cf_json_free(rec);
}

static void test_dataframes(void)
{
    cf_json *two = jparse("[{\"_id\":\"a\",\"v\":1},{\"v\":2}]"), *one = jparse("[{\"v\":3}]");
    cf_json *obj = jparse("{\"v\":1}");
    cf_error err;

    CHECK_INT(cf_df_append(C, "capp", "items", two, &err), 0);
    CHECK_INT(emu_record_count(&E, "capp", "items"), 2);
    CHECK_INT(cf_df_append(C, "capp", "items", two, &err), -1);
    CHECK_INT(err.status, 409);
    CHECK_INT(cf_df_replace(C, "capp", "items", one, &err), 0);
    CHECK_INT(emu_record_count(&E, "capp", "items"), 1);
    CHECK_INT(cf_df_empty(C, "capp", "items", &err), 0);
    CHECK_INT(emu_record_count(&E, "capp", "items"), 0);
    CHECK_INT(cf_df_append(C, "capp", "items", obj, &err), -1);
    CHECK_INT(err.kind, CF_ERR_INVALID);
    CHECK_INT(cf_df_empty(C, "capp", "nope", &err), -1);
    CHECK_INT(err.status, 404);
    cf_json_free(two);
    cf_json_free(one);
    cf_json_free(obj);
}

/* Collects what paged reads deliver. */
typedef struct seen {
    size_t records, pages, first_offset;
    long long first_seq, last_seq;
    bool ids_ok;
} seen;

static int on_page(void *ud, const cf_page *page)
{
    seen *s = ud;

    if (s->pages == 0)
        s->first_offset = page->offset;
    s->pages++;
    for (size_t i = 0; i < page->count; i++) {
        json_object *seq;
        if (!strstr(jtext(page->records[i]), "\"_id\""))
            s->ids_ok = false;
        if (json_object_object_get_ex(cf_json_object(page->records[i]), "seq", &seq)) {
            if (s->records == 0)
                s->first_seq = json_object_get_int64(seq);
            s->last_seq = json_object_get_int64(seq);
        }
        s->records++;
    }
    return 0;
}

static void test_reads(void)
{
    seen s = {.ids_ok = true};
    size_t total = 0;
    cf_json *opts;
    cf_config cfg;
    cf_client *small;
    cf_error err;

    CHECK_INT(cf_read_query(C, "q-group1", on_page, &s, &total, &err), 0);
    CHECK_INT(total, 3);
    CHECK_INT(s.records, 3);
    CHECK(s.ids_ok);
    CHECK_INT(cf_read_query(C, "no-such-query", on_page, &s, &total, &err), -1);
    CHECK_INT(err.status, 404);

    /* The aggregate form pages too: 300 records, 50 a page, newest first. */
    emu_config(&E, &cfg);
    cfg.page_size = 50;
    small = emu_client(&cfg);
    opts = jparse("{\"app\":\"gapp\",\"collection\":\"gen\",\"type\":\"table\",\"limit\":3,"
                  "\"sorting\":{\"DESC\":[\"seq\"]},\"search\":{\"input\":\"\"},"
                  "\"item_id\":null,\"deep_dive\":{}}");
    memset(&s, 0, sizeof s);
    s.ids_ok = true;
    CHECK_INT(cf_aggregate(small, opts, on_page, &s, &total, &err), 0);
    CHECK_INT(total, 300);
    CHECK_INT(s.records, 300);
    CHECK_INT(s.pages, 6);
    CHECK_INT(s.first_seq, 299);
    CHECK_INT(s.first_offset, 0);
    cf_json_free(opts);
    opts = jparse("{\"app\":\"gapp\",\"collection\":\"gen\",\"type\":\"table\","
                  "\"search\":{\"input\":\"record 17\"}}");
    memset(&s, 0, sizeof s);
    CHECK_INT(cf_aggregate(small, opts, on_page, &s, &total, &err), 0);
    CHECK_INT(total, 11); /* record 17, 170..179 */
    cf_json_free(opts);
    cf_client_free(small);
}

static void test_transfer_import(void)
{
    cf_json *exp = jparse("{\"apps\":[{\"id\":\"xapp\",\"name\":\"X\"}],"
                          "\"collections\":[{\"app\":\"xapp\",\"slug\":\"xc\",\"name\":\"XC\"}],"
                          "\"form_templates\":[],\"action_flows\":[],"
                          "\"import_entry\":[{\"collection\":\"xc\",\"app\":\"xapp\"}],"
                          "\"config\":{},\"delete_mongo_data\":false}");
    cf_json *v = NULL;
    cf_error err;

    CHECK_INT(cf_transfer_app(C, exp, &v, &err), 0);
    CHECK(v != NULL);
    cf_json_free(v);
    CHECK_INT(cf_get(C, CF_COLLECTION, "xapp", "xc", 0, &v, &err), 0);
    CHECK_STR(jstr(v, "name"), "XC");
    cf_json_free(v);
    CHECK_INT(cf_import_entries(C, &v, &err), 0);
    CHECK(jlen(v) >= 1);
    CHECK(strstr(jtext(v), "\"xc\"") != NULL);
    cf_json_free(v);
    cf_json_free(exp);
}

static void test_bad_login(void)
{
    cf_config cfg;
    cf_client *c;
    cf_json *v = (cf_json *)1;
    cf_error err;

    emu_config(&E, &cfg);
    cfg.password = "wrong";
    c = emu_client(&cfg);
    CHECK_INT(cf_version(c, &v, &err), -1);
    CHECK(v == NULL);
    CHECK_INT(err.kind, CF_ERR_HTTP);
    CHECK_INT(err.status, 401);
    CHECK_STR(err.message, "Invalid username or password");
    CHECK_STR(err.method, "POST");
    CHECK_STR(err.path, "/api/auth");
    CHECK_INT(cf_error_errno(&err), EACCES);
    CHECK_INT(cf_login(c, &err), -1);
    CHECK_INT(err.status, 401);
    cf_client_free(c);
}

int main(void)
{
    const char *args[] = {"--generate", "gapp/gen:300", NULL};
    cf_config cfg;
    cf_stats st;

    cf_global_init();
    emu_start(&E, args);
    emu_config(&E, &cfg);
    C = emu_client(&cfg);
    test_version_me();
    test_apps();
    test_collections();
    test_queries();
    test_actionflows();
    test_questionnaires();
    test_users();
    test_records();
    test_dataframes();
    test_reads();
    test_transfer_import();
    test_bad_login();
    cf_client_stats(C, &st);
    CHECK_INT(st.logins, 2); /* the lazy one and cf_login */
    CHECK_INT(st.retries, 0);
    CHECK(st.status_2xx > 50 && st.status_4xx > 5);
    cf_client_free(C);
    emu_stop(&E);
    cf_global_cleanup();
    return check_done();
}
