"""What a mount of an emulator must show, computed from the emulator's exact texts.

Records come from GET /_emulator/records/{app}/{slug} (the stored text). Resource
files (.app.json, .collection.json, queries, actionflows, questionnaires, users,
version.json) may be rendered from a list route or a get-one route, and from more than
one `extended` level; the contract does not say which, so each file gets the set of
renderings of every representation the server offers, and the file must be one of them
byte for byte.
"""
from urllib.parse import quote

import mount_jsontext as jt
from release_helpers import ExportCandidates


def _q(segment):
    return quote(str(segment), safe="")


class Entry:
    """One expected path: kind is "dir" or "file"; for a file, candidates is a list of
    acceptable contents (bytes) and mtime, when known, the expected st_mtime. A stream
    (dataframes/, query-results/) shows st_size 0 whatever it holds. An export's candidates
    are an ExportCandidates: any content whose config.timestamp is all that differs."""

    def __init__(self, kind, candidates=None, mtime=None, mode=None, what="", stream=False):
        self.kind, self.candidates, self.mtime, self.mode, self.what = \
            kind, candidates or [], mtime, mode, what
        self.stream = stream

    def __repr__(self):
        return f"Entry({self.kind}, {self.what})"


def _list(emu, path):
    status, text = emu.api_text("GET", path)
    assert status == 200, f"GET {path}: {status} {text[:300]}"
    value = jt.data(text)
    assert value[0] == "arr", f"GET {path}: data is not an array"
    return value[1]


def _one(emu, path):
    status, text = emu.api_text("GET", path)
    if status != 200:
        return None
    return jt.data(text)


def _renderings(values):
    out = []
    for v in values:
        if v is None:
            continue
        r = jt.render(v)
        if r not in out:
            out.append(r)
    return out


def _by(values, field):
    """{decoded field value: [values]} keeping order."""
    out = {}
    for v in values:
        f = jt.get(v, field)
        if f is not None:
            out.setdefault(jt.plain(f), []).append(v)
    return out


def record_files(emu, app, slug):
    """{file name: (rendered bytes, mtime or None, decoded _id)} of a collection."""
    out = {}
    for rec in emu.records(app, slug):
        rid = jt.plain(jt.get(rec, "_id"))
        name = jt.escape_name(rid) + ".json"
        out[name] = (jt.render_record(rec), jt.objectid_time(rid), rid)
    return out


def ndjson(values):
    """The bytes of a streamed .ndjson file: each record compact, one a line."""
    return "".join(jt.compact(v) + "\n" for v in values).encode("utf-8")


def query_results(emu, slug, limit=500):
    """The records of a query's results in the server's order (read_data, page by page)."""
    out, offset = [], 0
    while True:
        path = "/api/dataframe/read_data?extended=true" + \
            (f"&next_page={offset}" if offset else "")
        status, text = emu.api_text("POST", path, {"limit": limit, "query": slug})
        assert status == 200, f"results of query {slug}: {status} {text[:300]}"
        envelope = jt.parse(text)
        page = jt.get(envelope, "data")[1]
        out += page
        offset += len(page)
        if not page or offset >= int(jt.plain(jt.get(envelope, "total"))):
            return out


def expected_tree(emu, apps_only=None, with_records=True):
    """{relative path: Entry} for the whole mount ("" is the root)."""
    tree = {"": Entry("dir", what="root")}

    def d(path, what):
        tree[path] = Entry("dir", what=what)

    def f(path, candidates, what, mtime=None, mode=0o644):
        assert candidates, f"no representation of {what}"
        tree[path] = Entry("file", candidates, mtime=mtime, mode=mode, what=what)

    # Apps.
    d("apps", "apps")
    app_lists = {b: _by(_list(emu, f"/api/apps?extended={b}"), "id") for b in ("false", "true")}
    app_ids = list(app_lists["false"])
    for app in app_ids:
        if apps_only is not None and app not in apps_only:
            continue
        base = f"apps/{jt.escape_name(app)}"
        d(base, f"app {app}")
        values = app_lists["false"][app] + app_lists["true"].get(app, [])
        values += [_one(emu, f"/api/app/{_q(app)}?extended={b}") for b in ("false", "true")]
        f(base + "/.app.json", _renderings(values), f"app {app}")

    # Collections (the list route holds every app's; filter on `app`).
    coll_lists = {n: _list(emu, f"/api/collections?extended={n}") for n in range(4)}
    for c in coll_lists[0]:
        app, slug = jt.plain(jt.get(c, "app")), jt.plain(jt.get(c, "slug"))
        if app not in app_ids or (apps_only is not None and app not in apps_only):
            continue
        base = f"apps/{jt.escape_name(app)}/{jt.escape_name(slug)}"
        d(base, f"collection {app}/{slug}")
        values = []
        for n in range(4):
            values += [v for v in coll_lists[n]
                       if jt.plain(jt.get(v, "app")) == app and jt.plain(jt.get(v, "slug")) == slug]
            values.append(_one(emu, f"/api/collection/{_q(app)}/{_q(slug)}?extended={n}"))
        f(base + "/.collection.json", _renderings(values), f"collection {app}/{slug}")
        if with_records:
            for name, (content, mtime, rid) in record_files(emu, app, slug).items():
                f(f"{base}/{name}", [content], f"record {app}/{slug}/{rid}", mtime=mtime)

    # Queries, actionflows, questionnaires, users.
    d("queries", "queries")
    for slug, values in _by(_list(emu, "/api/queries"), "slug").items():
        values = values + [_one(emu, f"/api/query/{_q(slug)}")]
        f(f"queries/{jt.escape_name(slug)}.json", _renderings(values), f"query {slug}")

    d("actionflows", "actionflows")
    for fid, values in _by(_list(emu, "/api/actionflows"), "id").items():
        values = values + [_one(emu, f"/api/actionflow/{_q(fid)}")]
        f(f"actionflows/{jt.escape_name(str(fid))}.json", _renderings(values),
          f"actionflow {fid}")

    d("questionnaires", "questionnaires")
    q_lists = {b: _by(_list(emu, f"/api/questionnaires?extended={b}"), "id")
               for b in ("false", "true")}
    for qid, values in q_lists["false"].items():
        values = values + q_lists["true"].get(qid, [])
        values += [_one(emu, f"/api/questionnaire/{_q(qid)}?extended={b}")
                   for b in ("false", "true")]
        f(f"questionnaires/{jt.escape_name(str(qid))}.json", _renderings(values),
          f"questionnaire {qid}")

    d("users", "users")
    u_lists = {b: _list(emu, f"/api/users?extended={b}") for b in ("false", "true")}
    u_true = _by(u_lists["true"], "email")
    for email, values in _by(u_lists["false"], "email").items():
        if jt.plain(jt.get(values[0], "is_active", ("lit", "true"))) is False:
            continue
        values = values + u_true.get(email, [])
        values += [_one(emu, f"/api/user/{_q(email)}?extended={b}") for b in ("false", "true")]
        f(f"users/{jt.escape_name(email)}.json", _renderings(values), f"user {email}")

    status, text = emu.api_text("GET", "/api/version")
    assert status == 200, text
    f("version.json", [jt.render(jt.data(text))], "version", mode=0o444)

    # Streamed records: dataframes/<app>/<collection>.ndjson, query-results/<query>.ndjson.
    d("dataframes", "dataframes")
    for app in app_ids:
        if apps_only is None or app in apps_only:
            d(f"dataframes/{jt.escape_name(app)}", f"dataframes of {app}")
    for c in coll_lists[0]:
        app, slug = jt.plain(jt.get(c, "app")), jt.plain(jt.get(c, "slug"))
        if app not in app_ids or (apps_only is not None and app not in apps_only):
            continue
        tree[f"dataframes/{jt.escape_name(app)}/{jt.escape_name(slug)}.ndjson"] = Entry(
            "file", [ndjson(emu.records(app, slug))], mode=0o644, stream=True,
            what=f"dataframe {app}/{slug}")
    # Exports: one file per app, the export with any timestamp (release_helpers.py).
    d("exports", "exports")
    for app in app_ids:
        if apps_only is None or app in apps_only:
            tree[f"exports/{jt.escape_name(app)}.json"] = Entry(
                "file", ExportCandidates(emu, app), mode=0o644, what=f"export of {app}")
    d("query-results", "query-results")
    for slug in _by(_list(emu, "/api/queries"), "slug"):
        tree[f"query-results/{jt.escape_name(slug)}.ndjson"] = Entry(
            "file", [ndjson(query_results(emu, slug))], mode=0o444, stream=True,
            what=f"results of query {slug}")
    return tree
