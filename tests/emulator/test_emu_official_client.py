"""Emulator tests: replay the official Python client's calls (as the API notes describe them) unchanged."""
import dataclasses
import json
import threading
import urllib.parse
import urllib.request

import pytest

from emutest import CLIENT_FIELDS, PASSWORD, USER, q

UA = "clappform/4.2.0 python-requests/2.31.0"

# Stand-ins for the client's dataclasses: built from the same field names, they
# raise TypeError on an unknown keyword exactly as the real ones do.
CLASSES = {kind: dataclasses.make_dataclass(kind.title(), [(n, object, None) for n in sorted(names)])
           for kind, names in CLIENT_FIELDS.items()}


def build(kind, data):
    """What the client does with an answer's data: Class(**data) (TypeError on extra fields)."""
    return CLASSES[kind](**data)


def api_response(answer):
    """ApiResponse(code, message, response_id, **kwargs): the three are required."""
    assert isinstance(answer["code"], int)
    assert isinstance(answer["message"], str)
    assert isinstance(answer["response_id"], str)
    return answer


class OfficialClient:
    """The official client's request shapes, sent with urllib (a new connection per call,
    as requests does without a pooled adapter keep-alive guarantee)."""

    def __init__(self, base_url, username, password):
        self.base = base_url + "/api"
        self.username = username
        self.password = password
        self.token = None

    def _send(self, method, path, body=None, auth=True):
        data = None if body is None else json.dumps(body).encode()
        headers = {"User-Agent": UA, "Accept": "*/*"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if auth:
            headers["Authorization"] = "Bearer " + self.token
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def call(self, method, path, body=None):
        status, answer = self._send(method, path, body)
        assert status == 200, (method, path, answer)
        assert answer["code"] == 200
        return answer

    def auth(self):
        status, answer = self._send("POST", "/auth", {"username": self.username,
                                                      "password": self.password}, auth=False)
        assert status == 200, answer
        self.token = build("auth", answer["data"]).access_token

    def read_dataframe(self, body, limit=100, workers=4):
        """First page, then offsets limit, 2*limit, ... below total, fetched in parallel."""
        first = self.call("POST", "/dataframe/read_data?extended=true", dict(body, limit=limit))
        pages = {0: first["data"]}
        total = first["total"]
        lock = threading.Lock()
        offsets = list(range(limit, total, limit))

        def fetch(chunk):
            for offset in chunk:
                answer = self.call("POST", "/dataframe/read_data?extended=true&next_page=%d"
                                   % offset, dict(body, limit=limit))
                assert answer["total"] == total
                with lock:
                    pages[offset] = answer["data"]

        threads = [threading.Thread(target=fetch, args=(offsets[i::workers],))
                   for i in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return [record for offset in sorted(pages) for record in pages[offset]]


    # -- release tasks, as clappform's client composes them --------------------------

    def start_actionflow(self, actionflow, user, settings=None):
        """POST /actionflow/start; the answer is an ApiResponse (code, message, response_id,
        data)."""
        body = {"actionflowid": actionflow, "user": user}
        if settings is not None:
            body["settings"] = settings
        return api_response(self.call("POST", "/actionflow/start", body))

    @staticmethod
    def _actions(groups):
        """Every action of every module of every row of every page of every group."""
        for group in groups:
            for page in group["pages"]:
                for row in page["rows"]:
                    for module in row["modules"]:
                        yield from module["selection"].get("actions", [])

    def export_app(self, app_id, host="127.0.0.1"):
        """The official export, composed on the client side from GET routes: the app
        (extended, with its collections), the actionflows and questionnaires its pages'
        actions name, the import entries of its collections, and a config block."""
        app = build("app", self.call("GET", "/app/%s?extended=true" % app_id)["data"])
        actions = list(self._actions(app.groups))
        flows = [build("actionflow", self.call("GET", "/actionflow/%d" % a["actionflowId"]["id"])
                       ["data"])
                 for a in actions if a.get("type") == "actionflow"
                 and (a.get("actionflowId") or {}).get("id") is not None]
        forms = [build("questionnaire", self.call(
                     "GET", "/questionnaire/%d?extended=false" % a["template"]["id"])["data"])
                 for a in actions if a.get("type") == "questionnaire"
                 and (a.get("template") or {}).get("id") is not None]
        slugs = [c["slug"] for c in app.collections]
        entries = [e for e in self.call("GET", "/import?extended=true")["data"]
                   if e["collection"] in slugs]
        version = build("version", self.call("GET", "/version")["data"])
        return {"apps": [dataclasses.asdict(app)], "collections": app.collections,
                "form_templates": [dataclasses.asdict(f) for f in forms],
                "action_flows": [dataclasses.asdict(f) for f in flows],
                "import_entry": entries,
                "config": {"timestamp": 0, "created_by": self.username, "enviroment": host,
                           "api_version": version.api,
                           "web_application_version": version.web_application,
                           "web_server_version": version.web_server, "deployable": True}}

    def import_app(self, export, data_export=False):
        """config is taken out (a non-deployable export is refused before sending) and
        delete_mongo_data set from data_export."""
        export = dict(export)
        config = export.pop("config")
        assert config["deployable"]
        export["delete_mongo_data"] = data_export
        return api_response(self.call("POST", "/transfer/app", export))


@pytest.fixture(scope="module")
def client(emu):
    c = OfficialClient(emu.url, USER, PASSWORD)
    c.auth()
    return c


def without_nulls(obj):
    return {k: v for k, v in obj.items() if v is not None}


def test_auth_verify_version_current_user(client):
    api_response(client.call("POST", "/auth/verify"))
    build("version", client.call("GET", "/version")["data"])
    me = build("user", client.call("GET", "/user/me?extended=false")["data"])
    assert me.email == USER
    build("user", client.call("GET", "/user/me?extended=true")["data"])


def test_get_apps_and_collections(client):
    apps = [build("app", a) for a in client.call("GET", "/apps?extended=false")["data"]]
    assert "uspresidents" in [a.id for a in apps]
    app = build("app", client.call("GET", "/app/uspresidents?extended=false")["data"])
    assert app.name == "US Presidents" and app.description == "US Presidents Dashboard"
    build("app", client.call("GET", "/app/uspresidents?extended=true")["data"])
    for level in range(4):
        every = [build("collection", c)
                 for c in client.call("GET", "/collections?extended=%d" % level)["data"]]
        mine = [c for c in every if c.app == "uspresidents"]
        assert "presidents" in [c.slug for c in mine]
        build("collection", client.call("GET", "/collection/uspresidents/presidents?extended=%d"
                                        % level)["data"])
    for path, kind in (("/queries", "query"), ("/actionflows", "actionflow"),
                       ("/questionnaires?extended=false", "questionnaire"),
                       ("/questionnaires?extended=true", "questionnaire"),
                       ("/users?extended=false", "user"), ("/users?extended=true", "user")):
        for obj in client.call("GET", path)["data"]:
            build(kind, obj)


def test_create_update_delete_each_resource(client):
    # App, as in the client's documentation.
    app = build("app", client.call("POST", "/app", {"id": "oc-app", "name": "US Presidents",
                                                    "description": "US Presidents Dashboard",
                                                    "settings": {}})["data"])
    app.description = "Dashboard of US Presidents"
    body = without_nulls(dataclasses.asdict(app))
    app = build("app", client.call("PUT", "/app/oc-app", body)["data"])
    assert app.description == "Dashboard of US Presidents"

    coll = build("collection", client.call("POST", "/collection/oc-app", {
        "app": "oc-app", "database": "MONGO", "name": "United States Presidents",
        "slug": "presidents", "description": "All presidents"})["data"])
    coll.name = "Presidents"
    coll = build("collection", client.call("PUT", "/collection/oc-app/presidents",
                                           without_nulls(dataclasses.asdict(coll)))["data"])
    assert coll.name == "Presidents"

    query = build("query", client.call("POST", "/query", {
        "app": "oc-app", "collection": "presidents", "data_source": "app", "query": [],
        "name": "all presidents", "slug": "f1cb2ba5-64a7-4056-99d5-7d639557970f"})["data"])
    query.name = "every president"
    query = build("query", client.call("PUT", "/query/" + query.slug,
                                       without_nulls(dataclasses.asdict(query)))["data"])
    assert query.name == "every president"

    flow = build("actionflow", client.call("POST", "/actionflow", {
        "name": "Periodic housekeeping", "settings": {}})["data"])
    flow.category = "ops"
    flow = build("actionflow", client.call("PUT", "/actionflow/%d" % flow.id,
                                           without_nulls(dataclasses.asdict(flow)))["data"])
    assert flow.category == "ops"
    api_response(client.call("POST", "/actionflow/start", {"actionflowid": flow.id, "user": 1}))

    form = build("questionnaire", client.call("POST", "/questionnaire",
                                              {"name": "Q", "settings": {}})["data"])
    form = build("questionnaire", client.call("PUT", "/questionnaire/%d" % form.id,
                                              {"name": "Q2", "settings": {"a": 1}})["data"])
    assert form.name == "Q2"

    user = build("user", client.call("POST", "/user", {
        "email": "g.washington+oc@clappform.test", "first_name": "George",
        "last_name": "Washington", "password": "HavntGotWoodenTeeth"})["data"])
    user.last_name = "W."
    body = without_nulls(dataclasses.asdict(user))
    del body["email"]  # update of a user leaves email out: it is in the path
    user = build("user", client.call("PUT", "/user/" + q(user.email), body)["data"])
    assert user.last_name == "W."

    for path in ("/user/" + q(user.email), "/questionnaire/%d" % form.id,
                 "/actionflow/%d" % flow.id, "/query/" + query.slug,
                 "/collection/oc-app/presidents", "/app/oc-app"):
        answer = api_response(client.call("DELETE", path))
        assert "data" not in answer
    assert client.call("GET", "/user/" + q(user.email) + "?extended=false")["data"][
        "is_active"] is False


def test_items_and_dataframes(client):
    client.call("POST", "/app", {"id": "oc-df", "name": "DF"})
    client.call("POST", "/collection/oc-df", {"app": "oc-df", "slug": "rows", "database": "MONGO"})
    # write_dataframe: chunks of `size` records appended.
    rows = [{"n": i, "name": "row %d" % i} for i in range(250)]
    for i in range(0, len(rows), 100):
        api_response(client.call("POST", "/dataframe/oc-df/rows", rows[i:i + 100]))
    got = client.read_dataframe({"app": "oc-df", "collection": "rows"})
    assert [r["n"] for r in got] == list(range(250))
    assert all(len(r["_id"]) == 24 for r in got)
    # get/create/update/delete one item; the client re-adds _id to what GET answers.
    item = client.call("POST", "/item/oc-df/rows", {"data": {"name": "one"}})["data"]
    oid = item["_id"]
    data = client.call("GET", "/item/oc-df/rows/" + oid)["data"]
    assert "_id" not in data and dict(data, _id=oid) == item
    assert client.call("PUT", "/item/oc-df/rows/" + oid, {"data": {"name": "uno"}})["data"] == {
        "name": "uno"}
    api_response(client.call("DELETE", "/item/oc-df/rows", {"oids": [oid]}))
    # A query-based read, the aggregate form, then empty_dataframe.
    client.call("POST", "/query", {"app": "oc-df", "collection": "rows", "slug": "oc-rows",
                                   "query": []})
    assert len(client.read_dataframe({"query": "oc-rows"}, limit=100)) == 250
    agg = client.read_dataframe({"app": "oc-df", "collection": "rows", "type": "table",
                                 "sorting": {"DESC": ["n"]}, "search": {"input": "row 1"},
                                 "item_id": None, "deep_dive": {}}, limit=50)
    assert [r["n"] for r in agg] == sorted([i for i in range(250) if "row 1" in "row %d" % i],
                                           reverse=True)
    api_response(client.call("DELETE", "/dataframe/oc-df/rows"))
    first = client.call("POST", "/dataframe/read_data?extended=true",
                        {"limit": 100, "app": "oc-df", "collection": "rows"})
    assert first["total"] == 0 and first["data"] == []


def test_imports_and_transfer(client):
    for entry in client.call("GET", "/import?extended=true")["data"]:
        assert "collection" in entry
    export = {"apps": [{"id": "oc-import", "name": "Imported", "description": "",
                        "default_page": "", "settings": {}}],
              "collections": [{"app": "oc-import", "slug": "c", "database": "MONGO",
                               "name": "C", "description": ""}],
              "form_templates": [], "action_flows": [], "import_entry": [], "config": {},
              "delete_mongo_data": False}
    api_response(client.call("POST", "/transfer/app", export))
    build("app", client.call("GET", "/app/oc-import?extended=false")["data"])


GROUPS = [{"name": "main", "pages": [{"name": "home", "rows": [{"modules": [
    {"selection": {"actions": [{"type": "actionflow", "actionflowId": {"id": 1}},
                               {"type": "questionnaire", "template": {"id": 1}},
                               {"type": "link", "url": "/x"}]}},
    {"selection": {}}]}]}]}]


def test_release_tasks_of_the_official_client(client, emu):
    me = build("user", client.call("GET", "/user/me?extended=false")["data"])
    answer = client.start_actionflow(1, me.id, {"note": "release"})
    assert answer["data"]["settings"] == {"note": "release"}
    assert emu.control("GET", "runs")[-1]["user"] == me.id

    # Pages whose actions name actionflow 1 and questionnaire 1, as the web app saves them.
    client.call("POST", "/app", {"id": "oc-release", "name": "Release", "settings": {},
                                 "groups": GROUPS})
    client.call("POST", "/collection/oc-release", {"app": "oc-release", "slug": "rows",
                                                   "database": "MONGO", "name": "Rows"})
    client.call("POST", "/query", {"app": "oc-release", "collection": "rows",
                                   "slug": "oc-release-rows", "query": []})
    export = client.export_app("oc-release")
    assert [a["id"] for a in export["apps"]] == ["oc-release"]
    assert [c["slug"] for c in export["collections"]] == ["rows"]
    assert [q["slug"] for q in export["collections"][0]["queries"]] == ["oc-release-rows"]
    assert [f["id"] for f in export["action_flows"]] == [1]
    assert [f["id"] for f in export["form_templates"]] == [1]

    # The same app again: refused (it exists); renamed by the user (app, collections, and
    # the query slugs, which are global): imported.
    status, answer = client._send("POST", "/transfer/app",
                                  dict({k: v for k, v in export.items() if k != "config"},
                                       delete_mongo_data=False))
    assert status == 409, answer
    renamed = json.loads(json.dumps(export).replace("oc-release", "oc-copy"))
    client.import_app(renamed)
    copy = build("app", client.call("GET", "/app/oc-copy?extended=true")["data"])
    assert copy.groups == GROUPS and [c["slug"] for c in copy.collections] == ["rows"]
    assert copy.collections[0]["queries"][0]["slug"] == "oc-copy-rows"


def test_answers_are_retried_statuses_only_when_faulted(start_emu):
    """The official client retries 502/503/504 and gives up on 4xx: the emulator's faults
    use exactly those statuses by default."""
    emu = start_emu("--user", "r@x.test:pw", "--fail-every", "2")
    c = OfficialClient(emu.url, "r@x.test", "pw")
    c.auth()  # request 1
    status, answer = c._send("GET", "/version")  # request 2: faulted
    assert status in (502, 503, 504) and answer["code"] == status
    assert c._send("GET", "/version")[0] == 200  # the retry
    assert urllib.parse.urlsplit(emu.url).scheme == "http"
