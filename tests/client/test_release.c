/* test_release.c: release tasks of the client against the emulator: actionflow runs, app
 * export (composed as the official client composes it), renaming and import. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "emulator.h"

static emu E;
static cf_client *C;

static const char *text_of(const cf_json *v)
{
    size_t n;
    return v ? cf_json_text(v, &n) : "";
}

/* The json-c value at a path of object keys and array indexes ("apps", "0", "id"). */
static json_object *at(const cf_json *v, const char *const *path)
{
    json_object *o = v ? cf_json_object(v) : NULL;
    for (; o && *path; path++) {
        if (json_object_is_type(o, json_type_array))
            o = json_object_array_get_idx(o, (size_t)atoi(*path));
        else if (!json_object_object_get_ex(o, *path, &o))
            o = NULL;
    }
    return o;
}
#define AT(v, ...) at((v), (const char *const[]){__VA_ARGS__, NULL})

static const char *str_at(json_object *o)
{
    return o && json_object_get_string(o) ? json_object_get_string(o) : "";
}

static long long requests(void)
{
    cf_stats st;
    cf_client_stats(C, &st);
    return (long long)st.requests;
}

static void post(const char *path, const char *body)
{
    cf_json *b = jparse(body), *v = NULL;
    cf_error err;
    int rc = -1;

    if (strcmp(path, "app") == 0)
        rc = cf_create(C, CF_APP, NULL, b, &v, &err);
    else if (strcmp(path, "query") == 0)
        rc = cf_create(C, CF_QUERY, NULL, b, &v, &err);
    else
        rc = cf_create(C, CF_COLLECTION, path, b, &v, &err);
    CHECK_MSG(rc == 0, "create %s: %s", body, err.message);
    cf_json_free(v);
    cf_json_free(b);
}

static void test_me_and_runs(void)
{
    cf_json *settings = jparse("{\"month\":\"2024-05\",\"big\":123456789012345678901234}");
    cf_json *env = NULL;
    cf_error err;
    long id = 0;
    char *runs = NULL;

    CHECK_INT(cf_me_id(C, &id, &err), 0);
    CHECK(id > 0);
    CHECK_INT(cf_actionflow_run(C, "1", id, settings, &env, &err), 0);
    CHECK_INT(json_object_get_int(AT(env, "code")), 200);
    CHECK_STR(str_at(AT(env, "message")), "Started action flow 1.");
    CHECK_INT(strlen(str_at(AT(env, "response_id"))), 24);
    CHECK_STR(str_at(AT(env, "data", "status")), "started");
    CHECK(strstr(text_of(env), "123456789012345678901234") != NULL);
    cf_json_free(env);
    /* The emulator kept the run with the user and the settings as sent. */
    CHECK_INT(emu_http(&E, "GET", "/_emulator/runs", NULL, &runs), 200);
    CHECK(runs && strstr(runs, "\"2024-05\"") != NULL);
    CHECK(runs && strstr(runs, "123456789012345678901234") != NULL);
    free(runs);
    /* A refused start: the server's status, message and response_id. */
    CHECK_INT(cf_actionflow_run(C, "4242", id, NULL, &env, &err), -1);
    CHECK(env == NULL);
    CHECK_INT(err.status, 404);
    CHECK(strstr(err.message, "4242") != NULL);
    CHECK_INT(strlen(err.response_id), 24);
    cf_json_free(settings);
}

#define GROUPS                                                                                     \
    "[{\"name\":\"main\",\"pages\":[{\"rows\":[{\"modules\":[{\"selection\":{\"actions\":["     \
    "{\"type\":\"actionflow\",\"actionflowId\":{\"id\":1}},"                                     \
    "{\"type\":\"actionflow\",\"actionflowId\":{\"id\":1}},"                                     \
    "{\"type\":\"questionnaire\",\"template\":{\"id\":1}},{\"type\":\"link\"}]}},"               \
    "{\"selection\":{}}]}]}]}]"

static void test_export(void)
{
    cf_json *doc = NULL;
    cf_error err;
    long long before;

    post("app", "{\"id\":\"rel\",\"name\":\"Release\",\"settings\":{\"n\":1.50},\"groups\":" GROUPS
                "}");
    post("rel", "{\"slug\":\"rows\",\"name\":\"Rows\",\"database\":\"MONGO\"}");
    post("query", "{\"app\":\"rel\",\"collection\":\"rows\",\"slug\":\"rel-rows\",\"query\":[]}");
    before = requests();
    CHECK_INT(cf_export_app(C, "rel", &doc, &err), 0);
    /* app, actionflow 1 (named twice, fetched once), questionnaire 1, import, version. */
    CHECK_INT(requests() - before, 5);
    CHECK_STR(str_at(AT(doc, "apps", "0", "id")), "rel");
    CHECK(strstr(text_of(doc), "\"n\":1.50") != NULL); /* exact texts */
    CHECK_STR(str_at(AT(doc, "collections", "0", "slug")), "rows");
    CHECK_STR(str_at(AT(doc, "collections", "0", "queries", "0", "slug")), "rel-rows");
    CHECK_INT(json_object_array_length(AT(doc, "action_flows")), 1);
    CHECK_INT(json_object_get_int(AT(doc, "action_flows", "0", "id")), 1);
    CHECK_INT(json_object_get_int(AT(doc, "form_templates", "0", "id")), 1);
    CHECK_INT(json_object_array_length(AT(doc, "import_entry")), 0);
    CHECK_STR(str_at(AT(doc, "config", "created_by")), EMU_USER);
    CHECK_STR(str_at(AT(doc, "config", "enviroment")), "127.0.0.1");
    CHECK(json_object_get_boolean(AT(doc, "config", "deployable")));
    CHECK_STR(str_at(AT(doc, "config", "api_version")), "2024.2.0");
    CHECK_INT(cf_export_check(doc, NULL, 0), 0);
    cf_json_free(doc);
    CHECK_INT(cf_export_app(C, "no-such-app", &doc, &err), -1);
    CHECK_INT(err.status, 404);
    CHECK(doc == NULL);
}

static void test_rename_and_import(void)
{
    cf_json *doc = NULL, *copy = NULL, *v = NULL, *bad;
    cf_error err;
    char why[160];
    long long before;

    CHECK_INT(cf_export_app(C, "rel", &doc, &err), 0);
    CHECK_INT(cf_export_rename(doc, "rel-copy", &copy, &err), 0);
    CHECK_STR(str_at(AT(copy, "apps", "0", "id")), "rel-copy");
    CHECK_STR(str_at(AT(copy, "apps", "0", "collections", "0", "app")), "rel-copy");
    CHECK_STR(str_at(AT(copy, "collections", "0", "app")), "rel-copy");
    CHECK_STR(str_at(AT(copy, "collections", "0", "queries", "0", "app")), "rel-copy");
    /* Query slugs are global: kept (so this copy cannot go to the same server as is). */
    CHECK_STR(str_at(AT(copy, "collections", "0", "queries", "0", "slug")), "rel-rows");
    CHECK(strstr(text_of(copy), "\"n\":1.50") != NULL);
    CHECK_INT(cf_import_app(C, copy, false, &v, &err), -1);
    CHECK_INT(err.status, 409);
    CHECK(strstr(err.message, "rel-rows") != NULL);
    cf_json_free(copy);

    /* Without its query the copy goes in; the same again is refused (the app exists). */
    bad = jparse("{\"apps\":[{\"id\":\"rel\",\"name\":\"R\",\"groups\":" GROUPS "}],"
                 "\"collections\":[{\"app\":\"rel\",\"slug\":\"rows\",\"database\":\"MONGO\"}],"
                 "\"config\":{\"deployable\":true},\"delete_mongo_data\":true}");
    CHECK_INT(cf_export_rename(bad, "rel-copy", &copy, &err), 0);
    CHECK_INT(cf_import_app(C, copy, false, &v, &err), 0);
    cf_json_free(v);
    CHECK_INT(cf_get(C, CF_COLLECTION, "rel-copy", "rows", 0, &v, &err), 0);
    cf_json_free(v);
    CHECK_INT(cf_import_app(C, copy, false, &v, &err), -1);
    CHECK_INT(err.status, 409);
    cf_json_free(copy);
    cf_json_free(bad);

    /* Bad documents are refused before anything is sent. */
    before = requests();
    const char *bads[] = {
        "{\"collections\":[]}",
        "{\"apps\":[]}",
        "{\"apps\":[{\"id\":\"a\"},{\"id\":\"b\"}]}",
        "{\"apps\":{\"id\":\"a\"}}",
        "{\"apps\":[{\"id\":\"a\"}],\"collections\":{}}",
        "{\"apps\":[{\"id\":\"a\"}],\"config\":{\"deployable\":false}}",
        "{\"apps\":[{\"id\":\"a\"}],\"overwrite\":\"yes\"}",
    };
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        bad = jparse(bads[i]);
        CHECK_MSG(cf_export_check(bad, why, sizeof why) == -1, "%s", bads[i]);
        CHECK(why[0] != '\0');
        CHECK_INT(cf_import_app(C, bad, false, &v, &err), -1);
        CHECK_INT(err.kind, CF_ERR_INVALID);
        CHECK_INT(cf_export_rename(bad, "x", &copy, &err), -1);
        CHECK(copy == NULL && v == NULL);
        cf_json_free(bad);
    }
    CHECK_INT(requests() - before, 0);
    cf_json_free(doc);
}

int main(void)
{
    cf_config cfg;

    cf_global_init();
    emu_start(&E, (const char *const[]){"--demo", NULL});
    emu_config(&E, &cfg);
    C = emu_client(&cfg);
    test_me_and_runs();
    test_export();
    test_rename_and_import();
    cf_client_free(C);
    emu_stop(&E);
    cf_global_cleanup();
    return check_done();
}
