"""rsync through the mount: a collection out and back (same _ids, byte-identical files, a
second rsync that copies nothing either way), and a whole app from one emulator's mount to
another's. The mounts revalidate no sooner than their TTL, so the counts are the copies'
alone; a restore after a change on the server, and what the close-to-open checks cost,
are test_consistency_revalidate.py's."""
import json
import os

from consistency_helpers import run, same_tree, stored_ids
from mount_helpers import need, route_count, routes

APP = "uspresidents"
POST = "POST /api/item/{app}/{slug}"
DELETE = "DELETE /api/item/{app}/{slug}"


def test_round_trip_of_a_collection(emulator, mount, tmp_path):
    need("rsync")
    emu = emulator("--demo", "--generate", f"{APP}/gen:120")
    m = mount(emu, "cache_ttl=300", "revalidate=300")
    coll = m.p("apps", APP, "gen") + "/"
    out = str(tmp_path / "out") + "/"
    ids = stored_ids(emu, APP, "gen")
    texts = {r["_id"]: r for r in json.loads(emu.records_text(APP, "gen"))}

    run(["rsync", "-a", coll, out])
    assert same_tree(coll, out) == 121

    # Empty it.
    emu.reset()
    names = [n for n in os.listdir(coll) if n != ".collection.json"]
    for n in names:
        os.unlink(os.path.join(coll, n))
    assert route_count(emu.stats(), DELETE) == 120
    assert stored_ids(emu, APP, "gen") == []
    assert os.listdir(coll) == [".collection.json"]

    # Back again: one create per record, nothing else sent.
    emu.reset()
    run(["rsync", "-a", out, coll])
    assert routes(emu.stats()) == {POST: 120}, routes(emu.stats())
    assert stored_ids(emu, APP, "gen") == ids
    assert {r["_id"]: r for r in json.loads(emu.records_text(APP, "gen"))} == texts
    assert same_tree(out, coll) == 121

    # A second rsync in either direction finds nothing to do.
    emu.reset()
    assert run(["rsync", "-a", "--itemize-changes", out, coll]) == ""
    assert run(["rsync", "-a", "--itemize-changes", coll, out]) == ""
    assert routes(emu.stats()) == {}, routes(emu.stats())
    # Times survive (rsync -a set them): the files' equal on both sides to the nanosecond,
    # the directory's to the second (rsync leaves a time equal to the second alone).
    for n in names[:10] + [".collection.json"]:
        a, b = os.stat(os.path.join(coll, n)), os.stat(os.path.join(out, n))
        assert a.st_mtime_ns == b.st_mtime_ns, n
    assert int(os.stat(coll).st_mtime) == int(os.stat(out).st_mtime)


def test_rsync_of_an_app_between_two_servers(emulator, mount, tmp_path):
    need("rsync")
    src_emu = emulator("--demo", "--generate", f"{APP}/gen:60")
    dst_emu = emulator()
    src = mount(src_emu, "cache_ttl=300", "revalidate=300")
    dst = mount(dst_emu, "cache_ttl=300", "revalidate=300")
    assert APP not in os.listdir(dst.p("apps"))

    run(["rsync", "-a", src.p("apps", APP), dst.p("apps") + "/"])

    # The app, its collections with their metadata, and every record are on the second.
    status, data = dst_emu.api("GET", f"/api/app/{APP}?extended=false")
    assert status == 200, data
    status, sdata = src_emu.api("GET", f"/api/app/{APP}?extended=false")
    for k in ("name", "description", "default_page", "settings"):
        assert data["data"][k] == sdata["data"][k], k
    for slug in ("presidents", "gen"):
        status, d = dst_emu.api("GET", f"/api/collection/{APP}/{slug}?extended=1")
        status2, s = src_emu.api("GET", f"/api/collection/{APP}/{slug}?extended=1")
        assert status == 200 and status2 == 200
        for k in ("name", "description", "database", "is_encrypted", "is_locked", "sources"):
            assert d["data"][k] == s["data"][k], (slug, k)
        assert json.loads(dst_emu.records_text(APP, slug)) == \
            json.loads(src_emu.records_text(APP, slug)), slug

    # Byte for byte through the mounts (the collections' ids differ between servers).
    for slug in ("presidents", "gen"):
        a, b = src.p("apps", APP, slug), dst.p("apps", APP, slug)
        names = sorted(n for n in os.listdir(a) if n != ".collection.json")
        assert names == sorted(n for n in os.listdir(b) if n != ".collection.json")
        for n in names:
            with open(os.path.join(a, n), "rb") as f1, open(os.path.join(b, n), "rb") as f2:
                assert f1.read() == f2.read(), n


def test_rsync_of_local_files_twice_copies_once(emulator, mount, tmp_path):
    """Files made here (times with nanoseconds) into a new collection: the second rsync
    finds nothing to do, and sends nothing. (The files are written as the mount shows
    records, _id first: a file without its _id comes back one member longer, and rsync
    would copy it again, one update each time.)"""
    need("rsync")
    emu = emulator("--demo")
    m = mount(emu, "cache_ttl=300", "revalidate=300")
    src = tmp_path / "new-coll"
    src.mkdir()
    for i in range(20):
        rec = {"_id": f"k{i}", "k": i, "name": f"key {i}"}
        (src / f"k{i}.json").write_text(json.dumps(rec, indent=2) + "\n")
    emu.reset()
    run(["rsync", "-a", str(src), m.p("apps", APP) + "/"])
    c = routes(emu.stats())
    assert c.get(POST) == 20 and c.get("POST /api/collection/{app}") == 1, c
    assert stored_ids(emu, APP, "new-coll") == sorted(f"k{i}" for i in range(20))
    emu.reset()
    assert run(["rsync", "-a", "--itemize-changes", str(src), m.p("apps", APP) + "/"]) == ""
    assert routes(emu.stats()) == {}, routes(emu.stats())
    for i in range(20):
        a = os.stat(src / f"k{i}.json")
        b = os.stat(m.p("apps", APP, "new-coll", f"k{i}.json"))
        assert a.st_mtime_ns == b.st_mtime_ns and a.st_size == b.st_size
