"""Emulator tests: CRUD, field sets and errors of apps, collections, queries, actionflows, questionnaires, users."""
import base64

from emutest import CLIENT_FIELDS, err, ok, q


def test_apps_crud_and_errors(emu, token):
    c = emu.call
    app = ok(c("POST", "/api/app", {"id": "crud app", "name": "CRUD", "description": "d",
                                    "settings": {"a": 1}, "unknown": "dropped"}, token))
    assert set(app) == CLIENT_FIELDS["app"]
    assert app["collections"] == 0 and app["groups"] == 0 and app["settings"] == {"a": 1}
    err(c("POST", "/api/app", {"id": "crud app", "name": "again"}, token), 409, "exists")
    err(c("POST", "/api/app", {"name": "no id"}, token), 400, "id")
    err(c("POST", "/api/app", {"id": "x1", "settings": []}, token), 400, "settings")
    err(c("POST", "/api/app", {"id": 7}, token), 400, "id")
    err(c("POST", "/api/app", ["not", "an", "object"], token), 400, "object")
    err(c("POST", "/api/app", b"{bad json", token), 400, "json")

    path = "/api/app/" + q("crud app")
    got = ok(c("GET", path + "?extended=false", token=token))
    assert got == app
    ok(c("POST", "/api/collection/" + q("crud app"), {"slug": "c1", "name": "C1"}, token))
    ext = ok(c("GET", path + "?extended=true", token=token))
    assert isinstance(ext["collections"], list) and ext["collections"][0]["slug"] == "c1"
    assert ext["groups"] == []
    listed = ok(c("GET", "/api/apps?extended=false", token=token))
    mine = [a for a in listed if a["id"] == "crud app"]
    assert mine and mine[0]["collections"] == 1
    assert all(set(a) == CLIENT_FIELDS["app"] for a in listed)

    upd = ok(c("PUT", path, {"id": "crud app", "name": "CRUD", "description": "new",
                             "collections": 1, "groups": 0}, token))
    assert upd["description"] == "new" and upd["collections"] == 1
    err(c("PUT", path, {"id": "other"}, token), 400, "match")
    err(c("PUT", path, {"name": 3}, token), 400, "name")
    err(c("PUT", "/api/app/nope", {"name": "x"}, token), 404)
    err(c("GET", "/api/app/nope", token=token), 404, "nope")
    err(c("GET", path + "?extended=maybe", token=token), 400, "extended")
    assert "deleted" in c("DELETE", path, token=token)[1]["message"]
    err(c("GET", path, token=token), 404)
    err(c("GET", "/api/collection/" + q("crud app") + "/c1", token=token), 404)
    err(c("DELETE", path, token=token), 404)


def test_collections_levels_and_errors(emu, token):
    c = emu.call
    ok(c("POST", "/api/app", {"id": "colls", "name": "Colls"}, token))
    made = ok(c("POST", "/api/collection/colls", {"app": "colls", "slug": "people",
                                                  "database": "MONGO", "name": "People",
                                                  "description": "All people"}, token))
    assert made["slug"] == "people" and isinstance(made["id"], int)
    err(c("POST", "/api/collection/colls", {"slug": "people"}, token), 409, "exists")
    err(c("POST", "/api/collection/colls", {"name": "no slug"}, token), 400, "slug")
    err(c("POST", "/api/collection/colls", {"slug": "x", "database": "SQL"}, token), 400, "database")
    err(c("POST", "/api/collection/colls", {"slug": "x", "is_locked": "yes"}, token), 400, "is_locked")
    err(c("POST", "/api/collection/nope", {"slug": "x"}, token), 404, "nope")
    err(c("POST", "/api/collection/colls", {"slug": "x", "app": "other"}, token), 400, "app")
    # The same slug in another app is fine.
    ok(c("POST", "/api/app", {"id": "colls2"}, token))
    ok(c("POST", "/api/collection/colls2", {"slug": "people"}, token))
    ok(c("POST", "/api/query", {"app": "colls", "collection": "people", "slug": "people-q",
                                "query": []}, token))

    base = {"app", "slug", "database", "name", "description"}
    level1 = base | {"id", "is_encrypted", "is_locked", "is_logged", "sources"}
    path = "/api/collection/colls/people"
    assert set(ok(c("GET", path + "?extended=0", token=token))) == base
    assert set(ok(c("GET", path + "?extended=1", token=token))) == level1
    two = ok(c("GET", path + "?extended=2", token=token))
    assert set(two) == level1 | {"queries"} and two["queries"] == ["people-q"]
    three = ok(c("GET", path + "?extended=3", token=token))
    assert three["queries"][0]["slug"] == "people-q"
    assert set(three["queries"][0]) == CLIENT_FIELDS["query"]
    err(c("GET", path + "?extended=4", token=token), 400, "extended")
    for level in range(4):
        every = ok(c("GET", "/api/collections?extended=%d" % level, token=token))
        assert all(set(e) <= CLIENT_FIELDS["collection"] and "app" in e for e in every)
        assert {("colls", "people"), ("colls2", "people")} <= {(e["app"], e["slug"]) for e in every}

    upd = ok(c("PUT", path, {"app": "colls", "slug": "people", "name": "Persons",
                             "is_locked": True}, token))
    assert upd["name"] == "Persons" and upd["is_locked"] is True
    err(c("PUT", path, {"slug": "renamed"}, token), 400, "slug")
    err(c("PUT", path, {"database": 1}, token), 400, "database")
    err(c("PUT", "/api/collection/colls/none", {"name": "x"}, token), 404)
    err(c("GET", "/api/collection/colls/none", token=token), 404, "none")
    ok(c("DELETE", path, token=token))
    err(c("GET", path, token=token), 404)
    err(c("GET", "/api/query/people-q", token=token), 404)  # its queries went with it
    err(c("DELETE", path, token=token), 404)


def test_queries_crud_and_errors(emu, token):
    c = emu.call
    made = ok(c("POST", "/api/query", {"app": "uspresidents", "collection": "presidents",
                                       "slug": "q-crud", "name": "Q", "data_source": "app",
                                       "query": [{"$match": {"state": "Ohio"}}],
                                       "source_query": "db.presidents.find()"}, token))
    assert set(made) == CLIENT_FIELDS["query"] and made["source_query"] == "db.presidents.find()"
    err(c("POST", "/api/query", {"app": "uspresidents", "collection": "presidents",
                                 "slug": "q-crud"}, token), 409, "exists")
    err(c("POST", "/api/query", {"app": "uspresidents", "collection": "nope"}, token), 404)
    err(c("POST", "/api/query", {"collection": "presidents"}, token), 400, "app")
    err(c("POST", "/api/query", {"app": "uspresidents", "collection": "presidents",
                                 "query": {"$match": {}}}, token), 400, "query")
    generated = ok(c("POST", "/api/query", {"app": "uspresidents",
                                            "collection": "presidents"}, token))
    assert len(generated["slug"]) == 36  # a UUID when no slug is given
    assert ok(c("GET", "/api/query/q-crud", token=token)) == made
    assert "q-crud" in [x["slug"] for x in ok(c("GET", "/api/queries", token=token))]
    upd = ok(c("PUT", "/api/query/q-crud", {"name": "Ohio", "export": True}, token))
    assert upd["name"] == "Ohio" and upd["export"] is True
    err(c("PUT", "/api/query/q-crud", {"slug": "other"}, token), 400)
    err(c("PUT", "/api/query/q-crud", {"export": "yes"}, token), 400, "export")
    err(c("PUT", "/api/query/none", {"name": "x"}, token), 404)
    ok(c("DELETE", "/api/query/q-crud", token=token))
    err(c("GET", "/api/query/q-crud", token=token), 404)


def test_actionflows_numeric_ids_and_start(emu, token):
    c = emu.call
    made = ok(c("POST", "/api/actionflow", {"name": "Nightly export", "settings": {}}, token))
    assert set(made) == CLIENT_FIELDS["actionflow"] and isinstance(made["id"], int)
    af = "/api/actionflow/%d" % made["id"]
    assert ok(c("GET", af, token=token)) == made
    assert made["id"] in [a["id"] for a in ok(c("GET", "/api/actionflows", token=token))]
    upd = ok(c("PUT", af, {"id": made["id"], "name": "Nightly", "fast": True}, token))
    assert upd["name"] == "Nightly" and upd["fast"] is True
    err(c("PUT", af, {"cronjobs": {}}, token), 400, "cronjobs")
    err(c("GET", "/api/actionflow/abc", token=token), 404)
    err(c("GET", "/api/actionflow/99999", token=token), 404)
    run = ok(c("POST", "/api/actionflow/start", {"actionflowid": made["id"], "user": 1,
                                                 "settings": {"x": 1}}, token))
    assert run["actionflow"] == made["id"]
    ok(c("POST", "/api/actionflow/start", {"actionflowid": "periodic-housekeeping",
                                           "user": 1}, token))
    err(c("POST", "/api/actionflow/start", {"actionflowid": 99999, "user": 1}, token), 404)
    err(c("POST", "/api/actionflow/start", {"user": 1}, token), 400, "actionflowid")
    err(c("POST", "/api/actionflow/start", {"actionflowid": 1, "user": 1, "settings": 2},
          token), 400, "settings")
    ok(c("DELETE", af, token=token))
    err(c("GET", af, token=token), 404)


def test_questionnaires(emu, token):
    c = emu.call
    made = ok(c("POST", "/api/questionnaire", {"name": "Survey", "settings": {"q": []}}, token))
    assert set(made) <= CLIENT_FIELDS["questionnaire"] and isinstance(made["id"], int)
    path = "/api/questionnaire/%d" % made["id"]
    full = ok(c("GET", path + "?extended=true", token=token))
    assert set(full) == CLIENT_FIELDS["questionnaire"] and len(full["versions"]) == 1
    upd = ok(c("PUT", path, {"name": "Survey 2", "settings": {"q": [1]}}, token))
    assert upd["name"] == "Survey 2"
    full = ok(c("GET", path + "?extended=true", token=token))
    assert len(full["versions"]) == 2 and full["latest_version"]["version"] == 2
    listed = ok(c("GET", "/api/questionnaires?extended=false", token=token))
    assert made["id"] in [x["id"] for x in listed]
    err(c("POST", "/api/questionnaire", {"settings": {}}, token), 400, "name")
    err(c("PUT", path, {"settings": "x"}, token), 400, "settings")
    err(c("GET", "/api/questionnaire/77777", token=token), 404)
    ok(c("DELETE", path, token=token))
    err(c("DELETE", path, token=token), 404)


def test_users(emu, token):
    c = emu.call
    email = "j.doe+tag@clappform.test"
    made = ok(c("POST", "/api/user", {"email": email, "first_name": "J", "last_name": "Doe",
                                      "password": "secret"}, token))
    assert set(made) == CLIENT_FIELDS["user"] - {"messages", "last_online", "permissions",
                                                 "roles"}
    assert made["is_active"] is True and "password" not in made
    err(c("POST", "/api/user", {"email": email, "password": "x"}, token), 409, "exists")
    err(c("POST", "/api/user", {"email": "np@x.test"}, token), 400, "password")
    err(c("POST", "/api/user", {"password": "x"}, token), 400, "email")
    path = "/api/user/" + q(email)
    assert "%2B" in path
    got = ok(c("GET", path + "?extended=true", token=token))
    assert set(got) == CLIENT_FIELDS["user"] and "password" not in got
    upd = ok(c("PUT", path, {"first_name": "Jane", "phone": "+31 6"}, token))
    assert upd["first_name"] == "Jane" and upd["phone"] == "+31 6"
    err(c("PUT", path, {"email": "other@x.test"}, token), 400, "email")
    err(c("PUT", path, {"phone": 6}, token), 400, "phone")
    # A password change through PUT takes effect at the next login.
    ok(c("PUT", path, {"password": "changed"}, token))
    assert emu.call("POST", "/api/auth", {"username": email, "password": "changed"})[0] == 200
    users = ok(c("GET", "/api/users?extended=false", token=token))
    assert email in [u["email"] for u in users]
    assert all("password" not in u for u in users)
    err(c("GET", "/api/user/" + q("nobody@x.test"), token=token), 404)
    ok(c("DELETE", path, token=token))
    assert ok(c("GET", path, token=token))["is_active"] is False


def test_version_import_transfer(emu, token):
    c = emu.call
    assert set(ok(c("GET", "/api/version", token=token))) == CLIENT_FIELDS["version"]
    entries = ok(c("GET", "/api/import?extended=true", token=token))
    assert isinstance(entries, list) and all("collection" in e for e in entries)
    export = {"apps": [{"id": "moved", "name": "Moved", "description": "imported",
                        "settings": {}}],
              "collections": [{"app": "moved", "slug": "things", "database": "MONGO",
                               "name": "Things"}],
              "form_templates": [{"name": "Form", "settings": {}}],
              "action_flows": [{"name": "Flow", "settings": {}}],
              "import_entry": [{"collection": "things", "app": "moved", "name": "t.csv"}],
              "config": {}, "delete_mongo_data": False}
    done = ok(c("POST", "/api/transfer/app", export, token))
    assert done["apps"] == ["moved"] and done["collections"] == ["moved/things"]
    assert ok(c("GET", "/api/collection/moved/things?extended=1", token=token))["name"] == "Things"
    names = [e.get("name") for e in ok(c("GET", "/api/import?extended=true", token=token))]
    assert "t.csv" in names
    # Importing again is refused while the app exists (409, nothing changed), unless
    # the export says "overwrite": true; delete_mongo_data empties.
    ok(c("POST", "/api/dataframe/moved/things", [{"a": 1}], token))
    export["delete_mongo_data"] = True
    export["apps"][0]["description"] = "again"
    err(c("POST", "/api/transfer/app", export, token), 409, "overwrite")
    assert ok(c("GET", "/api/app/moved", token=token))["description"] == "imported"
    assert len(emu.control("GET", "records/moved/things")) == 1
    ok(c("POST", "/api/transfer/app", dict(export, overwrite=True), token))
    assert ok(c("GET", "/api/app/moved", token=token))["description"] == "again"
    assert emu.control("GET", "records/moved/things") == []
    flows = [a for a in ok(c("GET", "/api/actionflows", token=token)) if a["name"] == "Flow"]
    assert len(flows) == 1  # matched by slug: updated, not duplicated
    err(c("POST", "/api/transfer/app", {"apps": "x"}, token), 400, "apps")
    err(c("POST", "/api/transfer/app", {"delete_mongo_data": 1}, token), 400)


def test_unknown_routes_and_methods(emu, token):
    err(emu.call("GET", "/api/nothing/here", token=token), 404, "route")
    err(emu.call("GET", "/api/nothing/here"), 404)  # routing comes before auth
    status, body, resp = emu.raw("PATCH", "/api/app/uspresidents", {}, token)
    assert status == 405 and "GET" in resp.getheader("Allow")
    status, body, resp = emu.raw("GET", "/elsewhere")
    assert status == 404 and resp.getheader("Content-Type") == "application/json"


def test_file_store_of_older_clients(emu, token):
    c = emu.call
    content = base64.b64encode("héllo".encode()).decode()
    ok(c("POST", "/api/file", {"content": content, "file_name": "a.txt",
                               "folder_path": ["docs"]}, token))
    err(c("POST", "/api/file", {"content": content, "file_name": "a.txt",
                                "folder_path": ["docs"]}, token), 409)
    err(c("POST", "/api/file", {"content": "!!", "file_name": "b", "folder_path": []}, token),
        400, "base64")
    listed = ok(c("POST", "/api/files", {"folder_path": ["docs"]}, token))
    assert [f["name"] for f in listed] == ["a.txt"]
    assert ok(c("POST", "/api/files", {"folder_path": []}, token))[0]["type"] == "folder"
    assert ok(c("POST", "/api/file/a.txt", {"folder_path": ["docs"]}, token))["content"] == "héllo"
    ok(c("PUT", "/api/file/a.txt", {"content": base64.b64encode(b"new").decode(),
                                    "folder_path": ["docs"]}, token))
    assert ok(c("POST", "/api/file/a.txt", {"folder_path": ["docs"]}, token))["content"] == "new"
    ok(c("DELETE", "/api/file/a.txt", {"folder_path": ["docs"]}, token))
    err(c("POST", "/api/file/a.txt", {"folder_path": ["docs"]}, token), 404)
