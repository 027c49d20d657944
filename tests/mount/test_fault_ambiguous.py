"""Failures whose request may have been carried out all the same (the answer lost, late or
unreadable), and saves that race a listing: what the mount shows afterwards must be what
the server holds, never the state before. Found by the soak (test_soak.py); each case here
is deterministic."""
import errno
import json
import os
import threading
import time

import pytest

from fault_helpers import alive, make_collection, read, refresh, stored, write

APP = "uspresidents"


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory("--demo")


@pytest.fixture(scope="module")
def m(emu, mount_factory):
    return mount_factory(emu, "cache_ttl=300", "tries=2", "backoff=0.01", "timeout=5")


@pytest.fixture(autouse=True)
def no_faults(emu):
    yield
    emu.faults({"bad_body": None, "bad_every": 0, "bad_routes": [], "fail_rate": 0.0,
                "latency_ms": 0, "fail_routes": []})


def collection(emu, m, slug, records=()):
    make_collection(emu, APP, slug, records)
    refresh(m)
    d = m.p("apps", APP, slug)
    os.listdir(d)
    return d


def spoil_item_answers(emu):
    """The record routes answer with truncated JSON after carrying the request out."""
    emu.faults({"bad_body": "truncated", "bad_routes": ["/item"]})


def test_an_update_carried_out_but_answered_badly(emu, m):
    """close fails with EIO, but the server took the new content: the file then shows the
    server's content (the cache forgot the old one), and mv moves that content."""
    d = collection(emu, m, "amb-update", [{"_id": "a", "v": 1}])
    spoil_item_answers(emu)
    with pytest.raises(OSError) as e:
        write(os.path.join(d, "a.json"), '{"v": 2}')
    assert e.value.errno == errno.EIO
    emu.faults({"bad_body": None, "bad_routes": []})
    assert stored(emu, APP, "amb-update") == {"a": {"_id": "a", "v": 2}}
    assert json.loads(read(os.path.join(d, "a.json"))) == {"_id": "a", "v": 2}
    os.rename(os.path.join(d, "a.json"), os.path.join(d, "b.json"))
    assert stored(emu, APP, "amb-update") == {"b": {"_id": "b", "v": 2}}
    assert alive(m)


def test_a_delete_carried_out_but_answered_badly(emu, m):
    d = collection(emu, m, "amb-delete", [{"_id": "a", "v": 1}, {"_id": "b", "v": 1}])
    spoil_item_answers(emu)
    with pytest.raises(OSError) as e:
        os.unlink(os.path.join(d, "a.json"))
    assert e.value.errno == errno.EIO
    emu.faults({"bad_body": None, "bad_routes": []})
    assert stored(emu, APP, "amb-delete") == {"b": {"_id": "b", "v": 1}}
    with pytest.raises(OSError) as e:
        read(os.path.join(d, "a.json"))  # asked again: gone
    assert e.value.errno == errno.ENOENT
    refresh(m)
    assert sorted(os.listdir(d)) == [".collection.json", "b.json"]


def test_a_create_carried_out_but_answered_badly_can_be_removed(emu, m):
    """The new file stays in the mount with what was written (its create failed), but the
    server has it: rm deletes it there too."""
    d = collection(emu, m, "amb-create")
    spoil_item_answers(emu)
    with pytest.raises(OSError) as e:
        write(os.path.join(d, "n.json"), '{"v": 1}')
    assert e.value.errno == errno.EIO
    emu.faults({"bad_body": None, "bad_routes": []})
    assert stored(emu, APP, "amb-create") == {"n": {"_id": "n", "v": 1}}
    assert read(os.path.join(d, "n.json")) == b'{"v": 1}'
    os.unlink(os.path.join(d, "n.json"))
    assert stored(emu, APP, "amb-create") == {}
    refresh(m)
    assert os.listdir(d) == [".collection.json"]


def test_a_create_moved_away_after_it_was_carried_out(emu, m):
    d = collection(emu, m, "amb-move")
    spoil_item_answers(emu)
    with pytest.raises(OSError):
        write(os.path.join(d, "n.json"), '{"v": 1}')
    emu.faults({"bad_body": None, "bad_routes": []})
    os.rename(os.path.join(d, "n.json"), os.path.join(d, "m.json"))
    assert stored(emu, APP, "amb-move") == {"m": {"_id": "m", "v": 1}}


def test_a_create_refused_by_every_try_can_be_removed(emu, m):
    """Never carried out (every try a 503): the file stays in the mount; rm removes it
    there and asks the server to delete a record it never had, which is fine."""
    d = collection(emu, m, "amb-never")
    emu.faults({"fail_rate": 1.0, "fail_statuses": [503], "fail_routes": ["/item"]})
    with pytest.raises(OSError) as e:
        write(os.path.join(d, "n.json"), '{"v": 1}')
    assert e.value.errno == errno.EIO
    emu.faults({"fail_rate": 0.0, "fail_routes": []})
    assert stored(emu, APP, "amb-never") == {}
    assert "n.json" in os.listdir(d)
    os.unlink(os.path.join(d, "n.json"))
    assert "n.json" not in os.listdir(d)
    assert stored(emu, APP, "amb-never") == {}


@pytest.fixture(scope="module")
def paged(emu, mount_factory):
    """A mount that lists 10 records a page, one page at a time."""
    return mount_factory(emu, "cache_ttl=300", "page_size=10", "workers=1")


@pytest.mark.parametrize("change", ["create", "update", "delete"])
def test_a_save_during_a_slow_listing_is_not_undone_by_it(emu, paged, change):
    """A listing that began before a save and ends after it must not bring back what the
    save changed (read your own writes). The collection is 10 pages of 10 records, read
    one at a time, 0.1 s each; another thread saves 0.35 s into it: the listing has read
    the page of a and b before the save, and will not read past the count it was given
    by its first page (a new record comes after that)."""
    m = paged
    records = [{"_id": "a", "v": 1}, {"_id": "b", "v": 1}] + \
        [{"_id": f"z{i:03d}", "v": 0} for i in range(98)]
    d = collection(emu, m, f"race-{change}", records)
    refresh(m)
    for rid in ("a", "b"):  # fetched alone: fresh, so the save needs no listing
        read(os.path.join(d, f"{rid}.json"))
    emu.faults({"latency_ms": 100, "fail_routes": ["/dataframe"]})
    listed = {}
    t = threading.Thread(target=lambda: listed.update(names=os.listdir(d)))
    t.start()
    time.sleep(0.35)
    if change == "create":
        write(os.path.join(d, "c.json"), '{"v": 1}')
    elif change == "update":
        write(os.path.join(d, "a.json"), '{"v": 2}')
    else:
        os.unlink(os.path.join(d, "b.json"))
    t.join(10)
    emu.faults({"latency_ms": 0, "fail_routes": []})
    assert {"a.json", "b.json"} <= set(listed["names"])  # the listing's view, from before
    want = {rec["_id"]: rec["v"] for rec in records}
    want.update({"create": {"c": 1}, "update": {"a": 2}, "delete": {}}[change])
    if change == "delete":
        del want["b"]
    assert {k: v["v"] for k, v in stored(emu, APP, f"race-{change}").items()} == want
    # The mount shows the change, at once and in the next listing.
    for rid in ("a", "b", "c"):
        if rid in want:
            assert json.loads(read(os.path.join(d, f"{rid}.json")))["v"] == want[rid]
        else:
            with pytest.raises(OSError) as e:
                os.stat(os.path.join(d, f"{rid}.json"))
            assert e.value.errno == errno.ENOENT
    assert sorted(os.listdir(d)) == sorted([".collection.json"] + [f"{k}.json" for k in want])
