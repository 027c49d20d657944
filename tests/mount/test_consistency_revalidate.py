"""Close-to-open revalidation (-o revalidate): a collection emptied on the server is seen
by the next look at its directory and restored by rsync; opens of records ask the server
once their copy is older than `revalidate`; stat alone is served from the cache."""
import json
import os
import subprocess

import pytest

from consistency_helpers import past_revalidate, run, same_tree, stored_ids
from mount_helpers import need, routes

APP = "uspresidents"
POST = "POST /api/item/{app}/{slug}"
GET = "GET /api/item/{app}/{slug}/{id}"
READ = "POST /api/dataframe/read_data"
EMPTY = "DELETE /api/dataframe/{app}/{slug}"


@pytest.mark.parametrize("revalidate", [None, "0"])
def test_rsync_restores_a_collection_emptied_on_the_server(emulator, mount, tmp_path,
                                                          revalidate):
    need("rsync")
    emu = emulator("--demo", "--generate", f"{APP}/gen:120")
    opts = ["cache_ttl=30"] + ([f"revalidate={revalidate}"] if revalidate else [])
    m = mount(emu, *opts)
    coll = m.p("apps", APP, "gen") + "/"
    bak = str(tmp_path / "bak") + "/"
    ids = stored_ids(emu, APP, "gen")
    texts = emu.records_text(APP, "gen")

    run(["rsync", "-a", coll, bak])
    assert same_tree(coll, bak) == 121

    # Another client empties the collection (the official client's empty_dataframe).
    status, _ = emu.api("DELETE", f"/api/dataframe/{APP}/gen")
    assert status == 200
    assert stored_ids(emu, APP, "gen") == []
    if revalidate is None:
        past_revalidate()

    # Within cache_ttl, the restore sees the empty collection and sends every record.
    emu.reset()
    run(["rsync", "-a", bak, coll])
    counted = routes(emu.stats())
    assert counted.get(POST) == 120, counted
    # What the check cost: a listing page (120 records fit in one) per look at the
    # directory past the interval: one in all with the default interval; with 0, one per
    # stat of it (rsync stats it about five times: the destination, ".", its times).
    if revalidate is None:
        assert counted.get(READ) == 1, counted
    else:
        assert 1 <= counted.get(READ, 0) <= 6, counted
    assert set(counted) == {POST, READ}, counted
    assert stored_ids(emu, APP, "gen") == ids
    assert json.loads(emu.records_text(APP, "gen")) == json.loads(texts)
    assert same_tree(bak, coll) == 121

    # A second rsync transfers nothing (and sends nothing but, past the interval, one
    # check of the collection).
    if revalidate is None:
        past_revalidate()
    emu.reset()
    assert run(["rsync", "-a", "--itemize-changes", bak, coll]) == ""
    counted = routes(emu.stats())
    assert POST not in counted and set(counted) <= {READ}, counted
    assert counted.get(READ, 0) <= (1 if revalidate is None else 6), counted


def record_path(m, emu, coll, index):
    rec = json.loads(emu.records_text(APP, coll))[index]
    return rec["_id"], m.p("apps", APP, coll, rec["_id"] + ".json")


def edit_on_server(emu, coll, rid, marker):
    """Another client changes the record; returns its new stored text."""
    rec = next(r for r in json.loads(emu.records_text(APP, coll)) if r["_id"] == rid)
    body = {k: v for k, v in rec.items() if k != "_id"}
    body["edited_by"] = marker
    status, answer = emu.api("PUT", f"/api/item/{APP}/{coll}/{rid}", {"data": body})
    assert status == 200, answer


def test_open_past_revalidate_is_one_get_and_stat_stays_cached(emulator, mount):
    emu = emulator("--demo", "--generate", f"{APP}/gen:40")
    m = mount(emu, "cache_ttl=30")
    os.listdir(m.p("apps", APP, "gen"))
    rid, path = record_path(m, emu, "gen", 5)
    with open(path, "rb") as f:
        before = f.read()
    edit_on_server(emu, "gen", rid, "other-client")
    past_revalidate()

    # stat alone: from the cache, no request, the old size.
    emu.reset()
    st = os.stat(path)
    assert routes(emu.stats()) == {}
    assert st.st_size == len(before)

    # An open past the interval: one GET of the record, which shows the change.
    emu.reset()
    with open(path, "rb") as f:
        after = f.read()
    assert routes(emu.stats()) == {GET: 1}, routes(emu.stats())
    assert b'"edited_by": "other-client"' in after

    # Right after it, within the interval: no request.
    emu.reset()
    with open(path, "rb") as f:
        assert f.read() == after
    counted = routes(emu.stats())
    assert counted in ({}, {GET: 1}), counted  # {GET: 1} only if a second went by meanwhile


def test_revalidate_0_every_open_asks(emulator, mount):
    emu = emulator("--demo", "--generate", f"{APP}/gen:40")
    m = mount(emu, "cache_ttl=30", "revalidate=0")
    os.listdir(m.p("apps", APP, "gen"))
    rid, path = record_path(m, emu, "gen", 7)
    emu.reset()
    for _ in range(3):
        with open(path, "rb") as f:
            f.read()
    assert routes(emu.stats()) == {GET: 3}, routes(emu.stats())
    edit_on_server(emu, "gen", rid, "at-once")
    with open(path, "rb") as f:
        assert b'"edited_by": "at-once"' in f.read()
    # stat alone still asks nothing.
    emu.reset()
    os.stat(path)
    assert routes(emu.stats()) == {}


def test_reading_a_listed_collection_past_revalidate_costs_a_page_per_page(emulator, mount):
    """A reader going through a collection in the listing's order (xargs cat, cp -r, grep
    -r) once revalidate has passed: two GETs, then the listing page that holds the record
    opened is read again (confirming its 100 records) instead of a GET per file."""
    emu = emulator("--demo", "--generate", f"{APP}/big:1200")
    m = mount(emu, "cache_ttl=30", "page_size=100")
    d = m.p("apps", APP, "big")
    names = [n for n in os.listdir(d) if n != ".collection.json"]  # the listing's order
    assert len(names) == 1200
    rid = names[650][:-len(".json")]
    edit_on_server(emu, "big", rid, "during-the-read")
    past_revalidate()
    emu.reset()
    r = subprocess.run(["xargs", "-0", "cat"], input="\0".join(names).encode(),
                       capture_output=True, cwd=d, timeout=120)
    assert r.returncode == 0, r.stderr
    counted = routes(emu.stats())
    # 2 GETs; then at most one read of each of the 12 pages (all of them when the read
    # lasts less than a second; a slower one may read a page a second time).
    assert counted.get(GET) == 2, counted
    assert 11 <= counted.get(READ, 0) <= 24, counted
    assert set(counted) == {GET, READ}, counted
    assert b'"edited_by": "during-the-read"' in r.stdout
    assert r.stdout.count(b'"_id"') == 1200
