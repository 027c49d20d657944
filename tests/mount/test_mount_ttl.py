"""cache_ttl: a change made through the API (as another client) shows through the mount
after the TTL (cache_ttl=2) or at once (cache_ttl=0). The mounts with a TTL set
revalidate longer than it, so that the TTL alone decides: close-to-open revalidation
(-o revalidate, 1 s by default) is test_consistency_revalidate.py's."""
import os
import subprocess
import time
from urllib.parse import quote

import pytest

import mount_jsontext as jt

APP, COLL = "uspresidents", "presidents"


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory("--demo")


def cat(path):
    r = subprocess.run(["cat", path], capture_output=True, timeout=30)
    return r.stdout if r.returncode == 0 else None


def ls(path):
    r = subprocess.run(["ls", "-a", path], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return set(r.stdout.decode("utf-8").splitlines())


def record(emu, index):
    rec = emu.records(APP, COLL)[index]
    return jt.plain(jt.get(rec, "_id")), rec


def stored(emu, rid):
    for rec in emu.records(APP, COLL):
        if jt.plain(jt.get(rec, "_id")) == rid:
            return jt.render_record(rec)
    return None


def change(emu, rid, rec, marker):
    body = {k: v for k, v in jt.plain(rec).items() if k != "_id"}
    body["ttl_marker"] = marker
    status, answer = emu.api("PUT", f"/api/item/{APP}/{COLL}/{quote(rid, safe='')}", {"data": body})
    assert status == 200, answer
    new = stored(emu, rid)
    assert b"ttl_marker" in new
    return new


def create(emu, rid):
    status, answer = emu.api("POST", f"/api/item/{APP}/{COLL}",
                             {"data": {"_id": rid, "name": "Created by another client"}})
    assert status in (200, 201), answer


def poll(fn, want, limit):
    """Seconds until fn() == want (checked every 0.1 s), or None after limit seconds."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if fn() == want:
            return time.monotonic() - start
        time.sleep(0.1)
    return None


def test_ttl_2_change_is_visible_after_the_ttl(emu, mount_factory):
    m = mount_factory(emu, "cache_ttl=2", "revalidate=60")
    rid, rec = record(emu, 3)
    path = m.p("apps", APP, COLL, jt.escape_name(rid) + ".json")
    old = cat(path)
    assert old == jt.render_record(rec)
    filled = time.monotonic()
    new = change(emu, rid, rec, "after-ttl")
    assert cat(path) == old, "a change is visible before the TTL ran out"
    waited = poll(lambda: cat(path), new, 4.5)
    assert waited is not None, "the change did not show within 4.5 s with cache_ttl=2"
    seen = time.monotonic() - filled
    assert seen >= 1.5, f"the change showed {seen:.2f} s after the read, before the 2 s TTL"


def test_ttl_2_new_record_is_listed_after_the_ttl(emu, mount_factory):
    m = mount_factory(emu, "cache_ttl=2", "revalidate=60")
    base = m.p("apps", APP, COLL)
    before = ls(base)
    filled = time.monotonic()
    name = "ttl2-new-record"
    create(emu, name)
    assert name + ".json" not in ls(base), "a new record is listed before the TTL ran out"
    waited = poll(lambda: name + ".json" in ls(base), True, 4.5)
    assert waited is not None, "the new record was not listed within 4.5 s with cache_ttl=2"
    assert time.monotonic() - filled >= 1.5
    assert ls(base) == before | {name + ".json"}
    assert cat(os.path.join(base, name + ".json")) == stored(emu, name)


def test_ttl_0_change_is_visible_at_once(emu, mount_factory):
    m = mount_factory(emu, "cache_ttl=0")
    rid, rec = record(emu, 5)
    path = m.p("apps", APP, COLL, jt.escape_name(rid) + ".json")
    assert cat(path) == jt.render_record(rec)
    new = change(emu, rid, rec, "at-once")
    assert cat(path) == new
    assert os.stat(path).st_size == len(new)


def test_ttl_0_created_and_deleted_records_show_at_once(emu, mount_factory):
    m = mount_factory(emu, "cache_ttl=0")
    base = m.p("apps", APP, COLL)
    before = ls(base)
    name = "ttl0-new-record"
    create(emu, name)
    assert ls(base) == before | {name + ".json"}
    assert cat(os.path.join(base, name + ".json")) == stored(emu, name)
    status, answer = emu.api("DELETE", f"/api/item/{APP}/{COLL}", {"oids": [name]})
    assert status == 200, answer
    assert ls(base) == before
    assert not os.path.exists(os.path.join(base, name + ".json"))


def test_default_ttl_keeps_what_was_read(emu, mount_factory):
    """Without cache_ttl (30 s by default) a change is not fetched at once (when opens do
    not revalidate sooner: with the default revalidate they do after 1 s)."""
    m = mount_factory(emu, "revalidate=30")
    rid, rec = record(emu, 8)
    path = m.p("apps", APP, COLL, jt.escape_name(rid) + ".json")
    old = cat(path)
    assert old == jt.render_record(rec)
    change(emu, rid, rec, "default-ttl")
    time.sleep(2.5)
    assert cat(path) == old


def test_expired_listing_read_through_is_listed_again(emu, mount_factory):
    """Reading every record of a listing that expired: a few single GETs (as many as a
    listing has pages, at least 8), then one listing again instead of a GET per file."""
    from mount_helpers import route_count
    m = mount_factory(emu, "cache_ttl=2", "revalidate=60")
    base = m.p("apps", APP, COLL)
    names = sorted(n for n in os.listdir(base) if not n.startswith("."))
    assert len(names) > 12
    rid, rec = record(emu, 2)
    new = change(emu, rid, rec, "read-through")
    time.sleep(2.3)
    emu.reset()
    r = subprocess.run(["xargs", "-0", "cat"], input="\0".join(names).encode(),
                       capture_output=True, cwd=base, timeout=60)
    assert r.returncode == 0, r.stderr
    s = emu.stats()
    items = route_count(s, "GET /api/item/{app}/{slug}/{id}")
    pages = route_count(s, "POST /api/dataframe/read_data")
    assert items == 8 and pages == 1, s.get("routes")
    assert new in r.stdout, "a change made before the TTL ran out did not show after it"
