"""Helpers of the release-task mount tests (test_release_*.py): the official client's export
composed in Python from the emulator's API, for comparing with exports/<app>.json; what an
import can change on a server; the errno of a call."""
import json
import urllib.parse


def _q(segment):
    return urllib.parse.quote(str(segment), safe="")


def _data(emu, path):
    status, answer = emu.api("GET", path)
    assert status == 200, (path, answer)
    return answer["data"]


def _actions(groups):
    for group in groups or []:
        for page in group.get("pages", []):
            for row in page.get("rows", []):
                for module in row.get("modules", []):
                    yield from (module.get("selection") or {}).get("actions", [])


def _named(groups):
    """The ids of the actionflows and questionnaires the pages' actions name, each once, in
    the order they first appear: (flows, forms)."""
    flows, forms = [], []
    for a in _actions(groups):
        if a.get("type") == "actionflow" and (a.get("actionflowId") or {}).get("id") is not None:
            if a["actionflowId"]["id"] not in flows:
                flows.append(a["actionflowId"]["id"])
        if a.get("type") == "questionnaire" and (a.get("template") or {}).get("id") is not None:
            if a["template"]["id"] not in forms:
                forms.append(a["template"]["id"])
    return flows, forms


def official_export(emu, app):
    """The export the official client's export_app() gives (without config.timestamp),
    with each named actionflow and questionnaire once, as clappfs fetches them."""
    data = _data(emu, f"/api/app/{_q(app)}?extended=true")
    flows, forms = _named(data.get("groups"))
    slugs = [c["slug"] for c in data["collections"]]
    version = _data(emu, "/api/version")
    host = urllib.parse.urlsplit(emu.url).hostname
    return {
        "apps": [data],
        "collections": data["collections"],
        "form_templates": [_data(emu, f"/api/questionnaire/{i}?extended=false") for i in forms],
        "action_flows": [_data(emu, f"/api/actionflow/{i}") for i in flows],
        "import_entry": [e for e in _data(emu, "/api/import?extended=true")
                         if e["collection"] in slugs],
        "config": {"created_by": emu.user, "enviroment": host,
                   "api_version": version["api"],
                   "web_application_version": version["web_application"],
                   "web_server_version": version["web_server"], "deployable": True},
    }


def snapshot(emu):
    """Everything an import can change on a server."""
    out = {}
    for path in ("/api/apps?extended=true", "/api/queries", "/api/actionflows",
                 "/api/questionnaires?extended=true", "/api/import?extended=true"):
        status, answer = emu.api("GET", path)
        assert status == 200, answer
        out[path] = answer["data"]
    return out


def fails(fn, *args):
    """The errno an OSError of fn(*args) carried (None when it did not fail)."""
    try:
        fn(*args)
    except OSError as e:
        return e.errno
    return None


def without_timestamp(content):
    """An export file's content parsed, config.timestamp checked (an int) and left out."""
    doc = json.loads(content)
    assert isinstance(doc["config"].pop("timestamp"), int)
    return doc


# Pages of an app whose actions name actionflow 1 and questionnaire 1, as the web
# application stores them.
GROUPS = [{"name": "main", "pages": [{"name": "home", "rows": [{"modules": [
    {"selection": {"actions": [{"type": "actionflow", "actionflowId": {"id": 1}},
                               {"type": "questionnaire", "template": {"id": 1}},
                               {"type": "link", "url": "/x"}]}}]}]}]}]


def _exact(emu, path):
    """The `data` of an answer as a parsed exact value (mount_jsontext)."""
    import mount_jsontext as jt
    status, text = emu.api_text("GET", path)
    assert status == 200, (path, text[:300])
    return jt.data(text)


def export_template(emu, app):
    """The exact bytes exports/<app>.json must hold, as a function of config.timestamp:
    the server's texts copied, composed as the official client composes an export, and
    rendered as every file is."""
    import mount_jsontext as jt
    data = _exact(emu, f"/api/app/{_q(app)}?extended=true")
    plain = jt.plain(data)
    flows, forms = _named(plain.get("groups"))
    slugs = [c["slug"] for c in plain["collections"]]
    entries = [jt.compact(e) for e in _exact(emu, "/api/import?extended=true")[1]
               if jt.plain(jt.get(e, "collection")) in slugs]
    version = _exact(emu, "/api/version")
    host = urllib.parse.urlsplit(emu.url).hostname
    head = ('{"apps":[%s],"collections":%s,"form_templates":[%s],"action_flows":[%s],'
            '"import_entry":[%s],"config":{"timestamp":' % (
                jt.compact(data), jt.compact(jt.get(data, "collections")),
                ",".join(jt.compact(_exact(emu, f"/api/questionnaire/{i}?extended=false"))
                         for i in forms),
                ",".join(jt.compact(_exact(emu, f"/api/actionflow/{i}")) for i in flows),
                ",".join(entries)))
    tail = (',"created_by":%s,"enviroment":%s,"api_version":%s,"web_application_version":%s,'
            '"web_server_version":%s,"deployable":true}}' % (
                json.dumps(emu.user, ensure_ascii=False), json.dumps(host, ensure_ascii=False),
                jt.compact(jt.get(version, "api")), jt.compact(jt.get(version, "web_application")),
                jt.compact(jt.get(version, "web_server"))))
    return lambda ts: jt.render(jt.parse(head + str(ts) + tail))


class ExportCandidates:
    """The acceptable contents of an export file: the template with any timestamp. Behaves
    as the candidates lists of mount_expect do (`in`, iteration, indexing)."""

    def __init__(self, emu, app):
        import re
        self._make = export_template(emu, app)
        self._ts = re.compile(rb'"timestamp": (\d+),')
        self._one = self._make(0)

    def __contains__(self, content):
        m = self._ts.search(content)
        return bool(m) and content == self._make(int(m.group(1)))

    def __iter__(self):
        return iter([self._one])

    def __getitem__(self, i):
        return [self._one][i]

    def __len__(self):
        return 1
