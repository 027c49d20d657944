"""Names that are not on the server: each is asked once per TTL (the kernel's negative
entries and the cache's), a bulk copy into a collection not listed yet lists it instead of
asking name by name, and a name made through the mount, by another client or after a
refresh shows when it should (requests counted by the emulator)."""
import json
import math
import os
import subprocess
import time

import pytest

from mount_helpers import route_count

APP = "uspresidents"
GET = "GET /api/item/{app}/{slug}/{id}"
POST = "POST /api/item/{app}/{slug}"
READ = "POST /api/dataframe/read_data"


def describe(stats):
    return {k: v for k, v in stats.get("routes", {}).items() if v}


def make_sources(tmp_path, n, prefix="new"):
    src = tmp_path / f"src-{prefix}"
    src.mkdir()
    for i in range(n):
        (src / f"{prefix}{i:05d}.json").write_text(json.dumps({"n": i, "name": f"{prefix} {i}"}))
    return [str(src / name) for name in sorted(os.listdir(src))]


def cp(files, dest):
    r = subprocess.run(["cp", "-t", dest] + files, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr


def exists(path):
    try:
        os.stat(path)
        return True
    except FileNotFoundError:
        return False


def create_elsewhere(emu, slug, rid):
    status, answer = emu.api("POST", f"/api/item/{APP}/{slug}",
                             {"data": {"_id": rid, "by": "another client"}})
    assert status in (200, 201), answer


@pytest.fixture
def emu(emulator):
    return emulator("--demo", "--generate", f"{APP}/small:30", "--generate", f"{APP}/big:1200")


def test_cp_into_an_unlisted_collection_is_one_request_per_file(emu, mount, tmp_path):
    """Before: three 404 GETs before each create. Now: the first new name is asked alone,
    the second lists the (one page) collection, and every other costs its create only.
    revalidate as long as the TTL: the counts are the cache's alone, not those of
    close-to-open checks when reading back takes over 1 s."""
    n = 200
    files = make_sources(tmp_path, n)
    m = mount(emu, "cache_ttl=30", "revalidate=300")
    dest = m.p("apps", APP, "small")
    os.stat(dest)  # the directory is known, its records are not listed
    emu.reset()
    cp(files, dest)
    s = emu.stats()
    assert route_count(s, POST) == n, describe(s)
    assert route_count(s, GET) == 1, describe(s)
    assert route_count(s, READ) == 1, describe(s)
    assert s["total"] == n + 2, describe(s)
    stored = json.loads(emu.records_text(APP, "small"))
    ids = [rec["_id"] for rec in stored]
    assert len(ids) == len(set(ids)) == 30 + n
    # Every copied file reads back, from the cache (the creates' answers).
    emu.reset()
    for f in files[:: 37]:
        with open(os.path.join(dest, os.path.basename(f))) as fh:
            got = json.load(fh)
        got.pop("_id")
        assert got == json.loads(open(f).read())
    assert emu.stats()["total"] == 0


def test_a_large_unlisted_collection_is_listed_once_misses_reach_its_pages(emu, mount, tmp_path):
    """1200 records at page_size=100: 13 pages once the first copy is made, more than a
    small listing's 8. The second new name asks the first page only (and learns the
    pages), the names go on alone until as many missed, then one listing answers the
    rest."""
    n = 40
    files = make_sources(tmp_path, n)
    m = mount(emu, "cache_ttl=30", "page_size=100", "revalidate=300")
    dest = m.p("apps", APP, "big")
    os.stat(dest)
    emu.reset()
    cp(files, dest)
    s = emu.stats()
    pages = math.ceil((1200 + 1) / 100)  # as the first page said, after the first create
    assert route_count(s, POST) == n, describe(s)
    assert route_count(s, GET) == pages, describe(s)
    assert route_count(s, READ) == 1 + math.ceil((1200 + pages) / 100), describe(s)
    assert len(json.loads(emu.records_text(APP, "big"))) == 1200 + n


def test_a_missing_name_is_asked_once_per_ttl(emu, mount):
    m = mount(emu, "cache_ttl=2")
    path = m.p("apps", APP, "presidents", "nobody.json")
    os.stat(m.p("apps", APP, "presidents"))
    emu.reset()
    for _ in range(5):
        assert not exists(path)
    with pytest.raises(FileNotFoundError):
        open(path).close()
    s = emu.stats()
    assert s["total"] == 1 and route_count(s, GET) == 1, describe(s)
    # Made by another client: not seen within the TTL, seen once it ran out.
    create_elsewhere(emu, "presidents", "nobody")
    start = time.monotonic()
    assert not exists(path)
    while not exists(path):
        assert time.monotonic() - start < 4.5, "the new record did not show after the 2 s TTL"
        time.sleep(0.1)


def test_a_refresh_forgets_missing_names(emu, mount):
    m = mount(emu, "cache_ttl=300")
    path = m.p("apps", APP, "presidents", "later.json")
    assert not exists(path)
    assert not exists(path)
    create_elsewhere(emu, "presidents", "later")
    assert not exists(path)  # within the TTL: still known absent (kernel and cache)
    with open(m.p(".clappfs", "refresh"), "w") as f:
        f.write("1")
    assert exists(path)
    with open(path) as f:
        assert json.load(f)["by"] == "another client"


def test_names_made_through_the_mount_show_at_once(emu, mount):
    m = mount(emu, "cache_ttl=300")
    d = m.p("apps", APP, "presidents")
    made, moved, src = (os.path.join(d, x + ".json") for x in ("made", "moved", "src"))
    for p in (made, moved, src):
        assert not exists(p)
    with open(made, "w") as f:
        f.write('{"a": 1}')
    assert exists(made) and "made.json" in os.listdir(d)
    with open(src, "w") as f:
        f.write('{"b": 2}')
    os.rename(src, moved)
    assert exists(moved) and not exists(src)
    with open(moved) as f:
        assert json.load(f)["b"] == 2
    stored = {rec["_id"]: rec for rec in json.loads(emu.records_text(APP, "presidents"))}
    assert stored["made"]["a"] == 1 and stored["moved"]["b"] == 2 and "src" not in stored
