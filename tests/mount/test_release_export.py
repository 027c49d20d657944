"""exports/<app>.json: the official client's export, read; an export written to a new name
imported as that app (compare collections and records); EEXIST for an existing app unless
the document says "overwrite"; bad documents refused with EINVAL and nothing sent."""
import errno
import json
import os
import shutil
import subprocess

import pytest

from fault_helpers import control_errors
from mount_helpers import route_count
from release_helpers import (GROUPS, ExportCandidates, fails, official_export, snapshot,
                             without_timestamp)

APP = "uspresidents"
TRANSFER = "POST /api/transfer/app"


def run(cmd, ok=True):
    r = subprocess.run(cmd, capture_output=True, timeout=300)
    if ok:
        assert r.returncode == 0, f"{cmd} exited {r.returncode}: {r.stderr.decode(errors='replace')}"
    return r


def write_file(path, data, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC):
    fd = os.open(path, flags, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def make_shop(emu, records=25):
    """An app with pages naming actionflow 1 and questionnaire 1, two collections with
    records, no queries (their slugs are global: a copy on the same server would clash)."""
    assert emu.api("POST", "/api/app", {"id": "shop", "name": "Shop", "description": "d",
                                        "settings": {"theme": "dark", "n": 1.50},
                                        "groups": GROUPS})[0] == 200
    for slug, name in (("items", "Items"), ("orders", "Orders")):
        assert emu.api("POST", "/api/collection/shop", {"slug": slug, "name": name,
                                                        "database": "MONGO",
                                                        "description": name.lower()})[0] == 200
    rows = [{"_id": "i%03d" % i, "n": i, "price": i * 1.25, "tags": ["a", str(i)]}
            for i in range(records)]
    assert emu.api("POST", "/api/dataframe/shop/items", rows)[0] == 200
    assert emu.api("POST", "/api/dataframe/shop/orders", [{"_id": "o1", "item": "i001"}])[0] == 200


def test_export_is_the_official_composition(emulator, mount):
    emu = emulator("--demo")
    assert emu.api("PUT", f"/api/app/{APP}", {"groups": GROUPS})[0] == 200
    m = mount(emu, "cache_ttl=300", "revalidate=300")
    assert sorted(os.listdir(m.p("exports"))) == [APP + ".json"]
    emu.reset()
    path = m.p("exports", APP + ".json")
    st = os.stat(path)
    with open(path, "rb") as f:
        content = f.read()
    assert st.st_size == len(content) and st.st_mode & 0o777 == 0o644
    # Composed as the official client does: the app, actionflow 1, questionnaire 1, the
    # import entries, the version (stat and read share one composition).
    routes = {k: v for k, v in emu.stats()["routes"].items() if v}
    assert routes == {"GET /api/app/{id}": 1, "GET /api/actionflow/{id}": 1,
                      "GET /api/questionnaire/{id}": 1, "GET /api/import": 1,
                      "GET /api/version": 1}, routes
    assert content in ExportCandidates(emu, APP)  # byte for byte, but for the timestamp
    doc = without_timestamp(content)
    assert doc == official_export(emu, APP)
    assert [c["slug"] for c in doc["collections"]] == ["presidents"]
    assert {q["slug"] for q in doc["collections"][0]["queries"]} == {"all-presidents",
                                                                      "republican-presidents"}
    assert [f["id"] for f in doc["action_flows"]] == [1]
    assert [f["id"] for f in doc["form_templates"]] == [1]
    assert [e["collection"] for e in doc["import_entry"]] == ["presidents"]
    # Within the TTL, reading again asks nothing.
    emu.reset()
    with open(path, "rb") as f:
        assert f.read() == content
    assert emu.stats()["total"] == 0
    assert fails(os.stat, m.p("exports", "nothing.json")) == errno.ENOENT
    assert fails(os.unlink, path) == errno.EPERM


def test_import_under_a_new_name_then_the_records(emulator, mount, tmp_path):
    if not shutil.which("rsync"):
        pytest.skip("rsync is not installed")
    emu = emulator("--demo")
    make_shop(emu)
    m = mount(emu, "cache_ttl=300", "revalidate=300")
    before = {k: v for k, v in snapshot(emu).items()}
    emu.reset()
    run(["cp", m.p("exports", "shop.json"), m.p("exports", "shop-copy.json")])
    routes = {k: v for k, v in emu.stats()["routes"].items() if v}
    # The apps' list (names to ids), the export (5 requests), one import; nothing else.
    assert routes == {"GET /api/apps": 1, "GET /api/app/{id}": 1, "GET /api/actionflow/{id}": 1,
                      "GET /api/questionnaire/{id}": 1, "GET /api/import": 1,
                      "GET /api/version": 1, TRANSFER: 1}, routes
    status, copy = emu.api("GET", "/api/app/shop-copy?extended=true")
    assert status == 200, copy
    status, orig = emu.api("GET", "/api/app/shop?extended=true")
    for k in ("name", "description", "default_page", "settings", "groups"):
        assert copy["data"][k] == orig["data"][k], k
    strip = lambda c: {k: v for k, v in c.items() if k not in ("app", "id")}  # noqa: E731
    assert [strip(c) for c in copy["data"]["collections"]] == \
        [strip(c) for c in orig["data"]["collections"]]
    # Flows and forms the pages name are matched, not duplicated; nothing else changed.
    after = snapshot(emu)
    assert after["/api/actionflows"] == before["/api/actionflows"]
    assert len(after["/api/questionnaires?extended=true"]) == \
        len(before["/api/questionnaires?extended=true"])
    # The mount shows the new app at once (an import forgets the cache).
    assert sorted(os.listdir(m.p("apps", "shop-copy"))) == [".app.json", "items", "orders"]
    assert "shop-copy.json" in os.listdir(m.p("exports"))
    # An export carries no records: they follow with rsync, byte for byte.
    for slug in ("items", "orders"):
        assert json.loads(emu.records_text("shop-copy", slug)) == []
        run(["rsync", "-a", "--exclude=.collection.json", m.p("apps", "shop", slug) + "/",
             m.p("apps", "shop-copy", slug) + "/"])
        assert json.loads(emu.records_text("shop-copy", slug)) == \
            json.loads(emu.records_text("shop", slug))
        a, b = m.p("apps", "shop", slug), m.p("apps", "shop-copy", slug)
        names = sorted(n for n in os.listdir(a) if n != ".collection.json")
        assert names == sorted(n for n in os.listdir(b) if n != ".collection.json")
        for n in names:
            with open(os.path.join(a, n), "rb") as f1, open(os.path.join(b, n), "rb") as f2:
                assert f1.read() == f2.read(), n
    # The copy's own export is the original's with the new app id.
    with open(m.p("exports", "shop-copy.json"), "rb") as f:
        mine = without_timestamp(f.read())
    with open(m.p("exports", "shop.json"), "rb") as f:
        theirs = without_timestamp(f.read())
    theirs = json.loads(json.dumps(theirs).replace('"shop"', '"shop-copy"'))
    for doc in (mine, theirs):  # collection ids are the server's own
        for c in doc["collections"] + doc["apps"][0]["collections"]:
            del c["id"]
    assert mine == theirs


def test_existing_app_is_eexist_unless_overwrite(emulator, mount):
    emu = emulator("--demo")
    make_shop(emu)
    m = mount(emu, "cache_ttl=300", "revalidate=300")
    with open(m.p("exports", "shop.json"), "rb") as f:
        doc = json.loads(f.read())
    before = snapshot(emu)
    emu.reset()
    # cp onto an existing app's export: refused at close, nothing sent.
    r = run(["cp", m.p("exports", "shop.json"), m.p("exports", "shop.json.tmp")], ok=False)
    assert r.returncode != 0  # not a *.json name of an app: no such file can be made
    doc["apps"][0]["description"] = "replaced"
    assert fails(write_file, m.p("exports", "shop.json"), json.dumps(doc).encode()) == \
        errno.EEXIST
    assert route_count(emu.stats(), TRANSFER) == 0 and snapshot(emu) == before
    err = control_errors(m)[-1]
    assert err["op"] == "import" and err["errno"] == "EEXIST" and "overwrite" in err["message"]
    # With "overwrite": true it is replaced in place; records are kept.
    doc["overwrite"] = True
    write_file(m.p("exports", "shop.json"), json.dumps(doc).encode())
    assert route_count(emu.stats(), TRANSFER) == 1
    assert emu.api("GET", "/api/app/shop")[1]["data"]["description"] == "replaced"
    assert len(json.loads(emu.records_text("shop", "items"))) == 25
    # The server's own refusal (a query slug another app holds) is EEXIST too, and its
    # message is in .clappfs/errors.
    with open(m.p("exports", APP + ".json"), "rb") as f:
        pres = f.read()
    emu.reset()
    assert fails(write_file, m.p("exports", "pres-copy.json"), pres) == errno.EEXIST
    assert route_count(emu.stats(), TRANSFER) == 1
    err = control_errors(m)[-1]
    assert err["status"] == 409 and "taken" in err["message"] and len(err["response_id"]) == 24
    assert emu.api("GET", "/api/app/pres-copy")[0] == 404


@pytest.mark.parametrize("payload,words", [
    (b'{"apps": [', "line"),
    (b"[1, 2, 3]", "object"),
    (b'{"collections": []}', "apps"),
    (b'{"apps": []}', "one app"),
    (b'{"apps": [{"id": "a"}, {"id": "b"}]}', "one app"),
    (b'{"apps": [{"id": "x"}], "config": {"deployable": false}}', "deployable"),
    (b'{"apps": [{"id": "x"}], "apps": [{"id": "y"}]}', "apps"),
    (b"", ""),
])
def test_bad_documents_are_einval_and_change_nothing(emulator, mount, payload, words):
    emu = emulator("--demo")
    m = mount(emu, "cache_ttl=300", "revalidate=300")
    before = snapshot(emu)
    emu.reset()
    if payload:
        assert fails(write_file, m.p("exports", "newapp.json"), payload) == errno.EINVAL
        err = control_errors(m)[-1]
        assert err["op"] == "import" and err["errno"] == "EINVAL"
        assert words.lower() in err["message"].lower(), err
    else:
        write_file(m.p("exports", "newapp.json"), payload)  # an empty file: nothing sent
    # Only reads (the apps' list, to tell whether the name is an app's): nothing sent.
    routes = {k: v for k, v in emu.stats()["routes"].items() if v}
    assert set(routes) <= {"GET /api/apps"}, routes
    assert snapshot(emu) == before
    assert fails(os.stat, m.p("exports", "newapp.json")) == errno.ENOENT
