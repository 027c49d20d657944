"""Moving between environments: two emulators, two mounts. An app's export copied with cp
from one mount's exports/ to the other's, then its collections' records with rsync -a and
with cp, byte for byte, counted in requests on each emulator; a bad document copied over
changes neither server."""
import json
import os
import shutil
import subprocess

import pytest

from fault_helpers import control_errors
from release_helpers import snapshot, without_timestamp

APP = "uspresidents"
POST_ITEM = "POST /api/item/{app}/{slug}"
TRANSFER = "POST /api/transfer/app"
READ_PAGE = "POST /api/dataframe/read_data"


def run(cmd):
    return subprocess.run(cmd, capture_output=True, timeout=300)


def routes(emu):
    return {k: v for k, v in emu.stats()["routes"].items() if v}


def writes(counts):
    """The requests that change something (reads of pages are POSTs too)."""
    return {k: v for k, v in counts.items() if not k.startswith("GET ") and k != READ_PAGE}


def same_files(a, b):
    """The record files of two collection directories: same names, same bytes."""
    names = sorted(n for n in os.listdir(a) if n != ".collection.json")
    assert names == sorted(n for n in os.listdir(b) if n != ".collection.json")
    for n in names:
        with open(os.path.join(a, n), "rb") as f1, open(os.path.join(b, n), "rb") as f2:
            assert f1.read() == f2.read(), n
    return len(names)


def test_move_an_app_between_two_environments(emulator, mount, tmp_path, capsys):
    if not shutil.which("rsync"):
        pytest.skip("rsync is not installed")
    src_emu = emulator("--demo", "--generate", f"{APP}/gen:300")
    dst_emu = emulator()
    # revalidate as long as the TTL: the counts are the transfer's alone, not those of
    # close-to-open checks, which come when a step outlasts 1 s (test_consistency_*.py).
    src = mount(src_emu, "cache_ttl=300", "revalidate=300")
    dst = mount(dst_emu, "cache_ttl=300", "revalidate=300")
    measured = {}

    # 1. The app, its collections and queries: cp of its export.
    src_emu.reset()
    dst_emu.reset()
    r = run(["cp", src.p("exports", APP + ".json"), dst.p("exports", APP + ".json")])
    assert r.returncode == 0, r.stderr
    measured["cp export"] = {"source": routes(src_emu), "destination": routes(dst_emu)}
    # The source composes the export (app, import entries, version; the demo's pages name
    # no actionflow or form) after listing the apps; the destination imports it once.
    assert routes(src_emu) == {"GET /api/apps": 1, "GET /api/app/{id}": 1, "GET /api/import": 1,
                               "GET /api/version": 1}
    assert routes(dst_emu) == {"GET /api/apps": 1, TRANSFER: 1}
    for slug in ("presidents", "gen"):
        s = src_emu.api("GET", f"/api/collection/{APP}/{slug}?extended=2")[1]["data"]
        d = dst_emu.api("GET", f"/api/collection/{APP}/{slug}?extended=2")[1]["data"]
        assert {k: v for k, v in s.items() if k != "id"} == \
            {k: v for k, v in d.items() if k != "id"}, slug
    assert sorted(q["slug"] for q in dst_emu.api("GET", "/api/queries")[1]["data"]) == \
        ["all-presidents", "republican-presidents"]
    with open(src.p("exports", APP + ".json"), "rb") as f1, \
            open(dst.p("exports", APP + ".json"), "rb") as f2:
        a, b = without_timestamp(f1.read()), without_timestamp(f2.read())
    for doc in (a, b):  # ids and the environment are each server's own
        doc["config"].pop("enviroment")
        for c in doc["collections"] + doc["apps"][0]["collections"] + doc["import_entry"]:
            del c["id"]
    assert a == b and len(b["import_entry"]) == 1

    # 2. A collection's records with rsync -a.
    src_emu.reset()
    dst_emu.reset()
    r = run(["rsync", "-a", src.p("apps", APP, "gen") + "/", dst.p("apps", APP, "gen") + "/"])
    assert r.returncode == 0, r.stderr
    measured["rsync -a gen (300 records)"] = {"source": routes(src_emu),
                                              "destination": routes(dst_emu)}
    # One page read on the source; one create per record on the destination, whose new
    # collection is known empty after the import (no lookup asks for each name).
    assert routes(src_emu) == {"GET /api/collections": 1, READ_PAGE: 1}
    assert routes(dst_emu) == {"GET /api/collections": 1, POST_ITEM: 300}
    assert dst_emu.records_text(APP, "gen") == src_emu.records_text(APP, "gen")
    assert same_files(src.p("apps", APP, "gen"), dst.p("apps", APP, "gen")) == 300

    # 3. Another collection's records with cp.
    src_emu.reset()
    dst_emu.reset()
    r = run(["sh", "-c", 'cp "$0"/*.json "$1"/', src.p("apps", APP, "presidents"),
             dst.p("apps", APP, "presidents")])
    assert r.returncode == 0, r.stderr
    measured["cp presidents/*.json (47 records)"] = {"source": routes(src_emu),
                                                    "destination": routes(dst_emu)}
    assert routes(src_emu) == {READ_PAGE: 1}
    assert routes(dst_emu) == {POST_ITEM: 47}
    assert dst_emu.records_text(APP, "presidents") == src_emu.records_text(APP, "presidents")
    assert same_files(src.p("apps", APP, "presidents"), dst.p("apps", APP, "presidents")) == 47

    # 4. A bad document copied over changes neither server.
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"collections": [], "config": {"deployable": true}}')
    before = (snapshot(src_emu), snapshot(dst_emu))
    src_emu.reset()
    dst_emu.reset()
    r = run(["cp", str(bad), dst.p("exports", "other.json")])
    assert r.returncode != 0 and b"Invalid argument" in r.stderr, r.stderr
    assert writes(routes(src_emu)) == {} and writes(routes(dst_emu)) == {}
    assert (snapshot(src_emu), snapshot(dst_emu)) == before
    assert control_errors(dst)[-1]["errno"] == "EINVAL"
    r = run(["cp", src.p("exports", APP + ".json"), dst.p("exports", APP + ".json")])
    assert r.returncode != 0 and b"File exists" in r.stderr, r.stderr
    assert writes(routes(dst_emu)) == {}

    with capsys.disabled():
        print("\nrequests of the transfer, by emulator:")
        for step, counts in measured.items():
            print(f"  {step}: {json.dumps(counts, sort_keys=True)}")


def test_cp_of_an_export_to_a_new_name_on_the_other_mount(emulator, mount):
    src_emu = emulator("--demo")
    dst_emu = emulator("--demo")
    src = mount(src_emu)
    dst = mount(dst_emu)
    # The same app is on both: under its own name it exists (EEXIST); under a new name it
    # is a new app, but its query slugs are taken there (EEXIST, the server's 409).
    r = run(["cp", src.p("exports", APP + ".json"), dst.p("exports", "copy.json")])
    assert r.returncode != 0 and b"File exists" in r.stderr, r.stderr
    err = control_errors(dst)[-1]
    assert err["status"] == 409 and "all-presidents" in err["message"]
    assert dst_emu.api("GET", "/api/app/copy")[0] == 404
    assert os.path.exists(dst.p("apps", APP)) and not os.path.exists(dst.p("apps", "copy"))
