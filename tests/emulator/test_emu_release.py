"""Emulator tests: actionflow runs (recorded for tests), import entries and the all-or-nothing app transfer."""
from emutest import err, ok


def test_start_records_each_run(emu, token):
    c = emu.call
    before = emu.control("GET", "runs")
    run = ok(c("POST", "/api/actionflow/start",
               {"actionflowid": 1, "user": 7, "settings": {"month": "2024-05"}}, token))
    assert run["actionflow"] == 1 and run["user"] == 7 and run["status"] == "started"
    assert run["settings"] == {"month": "2024-05"} and isinstance(run["started_at"], int)
    by_slug = ok(c("POST", "/api/actionflow/start", {"actionflowid": "periodic-housekeeping",
                                                     "user": 7}, token))
    assert by_slug["run"] == run["run"] + 1 and by_slug["settings"] == {}
    runs = emu.control("GET", "runs")
    assert runs[len(before):] == [run, by_slug]
    # Refused starts record nothing.
    err(c("POST", "/api/actionflow/start", {"actionflowid": 4242, "user": 7}, token), 404,
        "4242")
    err(c("POST", "/api/actionflow/start", [1], token), 400)
    err(c("POST", "/api/actionflow/start", {"actionflowid": 1, "user": 7, "settings": []},
          token), 400, "settings")
    assert len(emu.control("GET", "runs")) == len(before) + 2


def test_app_extended_nests_collections_with_their_queries(emu, token):
    app = ok(emu.call("GET", "/api/app/uspresidents?extended=true", token=token))
    coll = [x for x in app["collections"] if x["slug"] == "presidents"][0]
    assert {q["slug"] for q in coll["queries"]} == {"all-presidents", "republican-presidents"}
    assert all(isinstance(q, dict) and q["app"] == "uspresidents" for q in coll["queries"])


def snapshot(emu, token):
    """Everything a transfer can touch."""
    c = emu.call
    out = {}
    for path in ("/api/apps?extended=true", "/api/queries", "/api/actionflows",
                 "/api/questionnaires?extended=false", "/api/import?extended=true"):
        out[path] = ok(c("GET", path, token=token))
    return out


def test_transfer_creates_app_collections_queries_and_flows(emu, token):
    c = emu.call
    export = {
        "apps": [{"id": "tr-new", "name": "New", "description": "d", "settings": {},
                  "groups": [], "collections": []}],
        "collections": [{"app": "tr-new", "slug": "rows", "database": "MONGO", "name": "Rows",
                         "id": 99, "queries": [
                             {"app": "tr-new", "collection": "rows", "slug": "tr-rows-all",
                              "id": 5, "name": "all rows", "query": []}]}],
        "form_templates": [{"name": "tr form", "settings": {"a": 1}, "id": 3}],
        "action_flows": [{"name": "tr flow", "slug": "tr-flow", "settings": {}, "id": 77}],
        "import_entry": [{"collection": "rows", "app": "tr-new", "name": "rows.csv"}],
        "config": {"deployable": True}, "delete_mongo_data": False}
    done = ok(c("POST", "/api/transfer/app", export, token))
    assert done["apps"] == ["tr-new"] and done["queries"] == ["tr-rows-all"]
    query = ok(c("GET", "/api/query/tr-rows-all", token=token))
    assert (query["app"], query["collection"], query["name"]) == ("tr-new", "rows", "all rows")
    flows = [f for f in ok(c("GET", "/api/actionflows", token=token)) if f["slug"] == "tr-flow"]
    assert len(flows) == 1 and flows[0]["id"] == done["actionflows"][0]
    entries = ok(c("GET", "/api/import?extended=true", token=token))
    assert [e["name"] for e in entries if e.get("app") == "tr-new"] == ["rows.csv"]


def test_transfer_refusals_change_nothing(emu, token):
    c = emu.call
    base = {"apps": [{"id": "tr-atomic", "name": "A"}],
            "collections": [{"app": "tr-atomic", "slug": "ok", "database": "MONGO"},
                            {"app": "tr-atomic", "slug": "bad", "database": "ORACLE"}],
            "action_flows": [{"name": "tr atomic flow", "settings": {}}]}
    before = snapshot(emu, token)
    # The second collection is refused after the app and the first were made: all undone.
    err(c("POST", "/api/transfer/app", base, token), 400, "database")
    err(c("POST", "/api/transfer/app", {"collections": []}, token), 400, "apps")
    err(c("POST", "/api/transfer/app", {"apps": [{"name": "no id"}]}, token), 400, "id")
    err(c("POST", "/api/transfer/app", dict(base, extra=1), token), 400, "extra")
    err(c("POST", "/api/transfer/app", "[]", token), 400)
    # An existing app without "overwrite": 409; a query slug of another app: 409.
    err(c("POST", "/api/transfer/app", {"apps": [{"id": "uspresidents"}]}, token), 409,
        "overwrite")
    taken = {"apps": [{"id": "tr-taken"}],
             "collections": [{"app": "tr-taken", "slug": "c", "queries": [
                 {"slug": "all-presidents", "query": []}]}]}
    err(c("POST", "/api/transfer/app", taken, token), 409, "uspresidents/presidents")
    assert snapshot(emu, token) == before
    err(c("GET", "/api/app/tr-atomic", token=token), 404)


def test_transfer_overwrite_updates_in_place(emu, token):
    c = emu.call
    doc = {"apps": [{"id": "tr-over", "name": "One"}],
           "collections": [{"app": "tr-over", "slug": "c", "name": "C1", "queries": [
               {"slug": "tr-over-q", "query": [], "name": "Q1"}]}]}
    ok(c("POST", "/api/transfer/app", doc, token))
    ok(c("POST", "/api/dataframe/tr-over/c", [{"n": 1}, {"n": 2}], token))
    doc["apps"][0]["name"] = "Two"
    doc["collections"][0]["name"] = "C2"
    doc["collections"][0]["queries"][0]["name"] = "Q2"
    ok(c("POST", "/api/transfer/app", dict(doc, overwrite=True), token))
    assert ok(c("GET", "/api/app/tr-over", token=token))["name"] == "Two"
    assert ok(c("GET", "/api/collection/tr-over/c", token=token))["name"] == "C2"
    assert ok(c("GET", "/api/query/tr-over-q", token=token))["name"] == "Q2"
    assert len(emu.control("GET", "records/tr-over/c")) == 2  # records kept
    ok(c("POST", "/api/transfer/app", dict(doc, overwrite=True, delete_mongo_data=True), token))
    assert emu.control("GET", "records/tr-over/c") == []
