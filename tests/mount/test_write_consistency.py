"""Consistency of saves: readers racing in-place rewrites see only whole saved versions;
saves of different records run in parallel, saves of one record never overlap."""
import errno
import json
import os
import threading

import pytest

from fault_helpers import (alive, looping, make_collection, read, refresh, run_threads, stored,
                           versions_of, write)
from mount_helpers import route_count

APP = "uspresidents"
PUT = "PUT /api/item/{app}/{slug}/{id}"


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory("--demo")


@pytest.fixture(scope="module")
def m(emu, mount_factory):
    return mount_factory(emu, "cache_ttl=300")


@pytest.fixture(autouse=True)
def no_faults(emu):
    yield
    emu.faults({"latency_ms": 0, "fail_routes": []})


def rewrite(path, data):
    """A rewrite in place: open(O_WRONLY|O_TRUNC), writes in pieces, close (the save)."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        for i in range(0, len(data), 700):
            os.write(fd, data[i:i + 700])
    finally:
        os.close(fd)


def test_readers_racing_in_place_rewrites_see_whole_saved_versions(emu, m):
    """Three readers loop open/read/close (and fstat, through Python's read) while a writer
    rewrites the record in place 40 times, in pieces, alternating short and long versions
    (so that a read cut at another version's length, or padded with NUL bytes up to it,
    cannot pass for a whole one). Every read is one whole version: the written bytes (a
    reader that opened while a close was sending) or the server's rendering; never empty,
    never cut, never padded. One PUT per rewrite. The first rewrite is made before the
    readers start (README, known limits: a reader that opened through the page cache
    before a file's first rewrite on the mount)."""
    make_collection(emu, APP, "inplace", [{"_id": "r", "v": -1}])
    refresh(m)
    path = m.p("apps", APP, "inplace", "r.json")
    bodies = [{"v": -1}, {"v": 0, "pad": "first"}]
    rewrite(path, json.dumps(bodies[-1]).encode())
    emu.faults({"latency_ms": 5, "fail_routes": ["/item"]})
    emu.reset()
    seen = []
    with looping(lambda: seen.append(read(path)), 3) as failures:
        for k in range(1, 41):
            body = {"v": k, "pad": "p" * (60 if k % 2 else 3000 + 37 * k)}
            bodies.append(body)
            rewrite(path, json.dumps(body).encode())
    assert not failures, failures
    whole = versions_of(bodies, "r")
    odd = [r for r in seen if r not in whole]
    assert not odd, [(len(r), r[:40], r[-20:]) for r in odd[:5]]
    assert len(seen) > 40, len(seen)
    assert len(set(seen)) > 2, "the readers saw the versions change"
    st = emu.stats()
    assert route_count(st, PUT) == 40, st["routes"]
    assert stored(emu, APP, "inplace")["r"] == dict(bodies[-1], _id="r")
    assert json.loads(read(path)) == dict(bodies[-1], _id="r")
    assert alive(m)


def test_a_reader_opened_during_a_rewrite_keeps_the_saved_version(emu, m):
    """A reader opened between the writer's O_TRUNC and its close reads the last saved
    version whole, and keeps reading it after the close; stat shows its size and time until
    the save; the next open shows the new version."""
    make_collection(emu, APP, "keeps", [{"_id": "k", "v": 1, "pad": "old" * 300}])
    refresh(m)
    path = m.p("apps", APP, "keeps", "k.json")
    old = read(path)
    write(path, old)  # a first rewrite (the same bytes: nothing sent)
    before = os.stat(path)
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, b'{"v": 2')
        during = os.stat(path)
        assert (during.st_size, during.st_mtime_ns) == (len(old), before.st_mtime_ns)
        with open(path, "rb") as r:
            assert r.read() == old
            os.write(fd, b', "new": true}')
            assert os.fstat(r.fileno()).st_size == len(old)
            r.seek(0)
            assert r.read() == old
            os.close(fd)
            fd = -1
            r.seek(0)
            assert r.read() == old  # its snapshot, even after the save
    finally:
        if fd >= 0:
            os.close(fd)
    assert json.loads(read(path)) == {"_id": "k", "v": 2, "new": True}
    assert os.stat(path).st_size == len(read(path))


def test_saves_of_different_records_run_in_parallel(emu, m):
    """8 writers, each saving its own record 3 times, with 50 ms per request: the emulator
    sees requests in flight at once; one PUT per save, every record ends as its last
    save."""
    make_collection(emu, APP, "par8", [{"_id": f"p{i}", "v": -1} for i in range(8)])
    refresh(m)
    d = m.p("apps", APP, "par8")
    os.listdir(d)
    emu.faults({"latency_ms": 50, "fail_routes": ["/item"]})
    emu.reset()
    barrier = threading.Barrier(8)
    last = {}

    def writer(i):
        barrier.wait()
        for k in range(3):
            body = {"w": i, "k": k}
            rewrite(os.path.join(d, f"p{i}.json"), json.dumps(body).encode())
            last[i] = body

    assert not run_threads(writer, [(i,) for i in range(8)])
    st = emu.stats()
    assert st["max_concurrency"] > 1, st
    assert route_count(st, PUT) == 24, st["routes"]
    got = stored(emu, APP, "par8")
    assert got == {f"p{i}": dict(last[i], _id=f"p{i}") for i in range(8)}


def test_saves_of_one_record_never_overlap(emu, m):
    """Two writers save one record 10 times each (same-length objects, started together);
    with 30 ms per request the emulator never has two requests in flight (only this
    record's PUTs are made), and the record holds exactly one of the two objects. A close
    may find the buffer emptied by the other's O_TRUNC (EINVAL, nothing sent), as the two
    share one open file."""
    make_collection(emu, APP, "one", [{"_id": "o", "by": "nobody"}])
    refresh(m)
    path = m.p("apps", APP, "one", "o.json")
    os.listdir(m.p("apps", APP, "one"))
    objects = {w: {"by": w, "pad": w * 2000} for w in "ab"}
    emu.faults({"latency_ms": 30, "fail_routes": ["/item"]})
    emu.reset()
    barrier = threading.Barrier(2)
    saved = {"a": 0, "b": 0}

    def writer(w):
        barrier.wait()
        for _ in range(10):
            try:
                write(path, json.dumps(objects[w]))
                saved[w] += 1
            except OSError as e:
                if e.errno != errno.EINVAL:
                    raise

    assert not run_threads(writer, [("a",), ("b",)])
    st = emu.stats()
    assert set(st["routes"]) <= {PUT}, st["routes"]
    assert 1 <= route_count(st, PUT) <= saved["a"] + saved["b"], (st["routes"], saved)
    assert st["max_concurrency"] == 1, st
    rec = stored(emu, APP, "one")["o"]
    assert rec in (dict(objects["a"], _id="o"), dict(objects["b"], _id="o"))
    assert alive(m)
