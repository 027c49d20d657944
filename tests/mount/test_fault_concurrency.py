"""Concurrency: many writers on different records, two writers on one record, readers while
a writer saves. What an open file is here: one buffer per path shared by its writers, sent
at close; a reader gets a snapshot of the last saved version (the server's content, or the
version a close is sending), never the writers' unsaved buffer."""
import errno
import json
import os
import threading
import time

import pytest

from fault_helpers import (alive, looping, make_collection, read, refresh, run_threads, stored,
                           versions_of, write)

APP = "uspresidents"


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


def test_16_writers_on_different_records(emu, m):
    make_collection(emu, APP, "writers16", [{"_id": "w00", "k": -1}])
    refresh(m)
    d = m.p("apps", APP, "writers16")
    os.listdir(d)
    emu.faults({"latency_ms": 10, "fail_routes": ["/item"]})
    last = {}

    def writer(i):
        for k in range(6):
            body = {"w": i, "k": k, "pad": "x" * (i * 700 + k)}
            fd = os.open(os.path.join(d, f"w{i:02d}.json"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                         0o644)
            os.write(fd, json.dumps(body).encode())
            os.close(fd)
            last[i] = body

    start = time.monotonic()
    errors = run_threads(writer, [(i,) for i in range(16)])
    elapsed = time.monotonic() - start
    assert not errors, errors
    got = stored(emu, APP, "writers16")
    assert got == {f"w{i:02d}": dict(last[i], _id=f"w{i:02d}") for i in range(16)}
    for i in range(16):
        assert json.loads(read(os.path.join(d, f"w{i:02d}.json"))) == got[f"w{i:02d}"]
    assert elapsed < 60
    assert alive(m)


def test_two_writers_on_one_record(emu, m):
    """Each writer: open(O_TRUNC), one write of its whole object, close. Same-length
    objects, so that whichever wrote last fills the shared buffer. After every round the
    server holds exactly one of the two objects (never a mix) and the file shows it; a
    close finds the buffer emptied by the other's O_TRUNC and fails with EINVAL ("empty
    input"), as a local file would be empty then; nothing else fails."""
    make_collection(emu, APP, "writers2", [{"_id": "same", "by": "nobody"}])
    refresh(m)
    path = m.p("apps", APP, "writers2", "same.json")
    os.listdir(m.p("apps", APP, "writers2"))
    emu.faults({"latency_ms": 5, "fail_routes": ["/item"]})
    objects = {w: {"by": w, "pad": w * 40000} for w in "ab"}
    outcomes = {}
    for rnd in range(15):
        barrier = threading.Barrier(2)
        res = {}

        def writer(w):
            barrier.wait()
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
            os.write(fd, json.dumps(objects[w]).encode())
            try:
                os.close(fd)
                res[w] = None
            except OSError as e:
                res[w] = errno.errorcode[e.errno]

        assert not run_threads(writer, [("a",), ("b",)])
        assert set(res.values()) <= {None, "EINVAL"}, res
        rec = stored(emu, APP, "writers2")["same"]
        assert rec in (dict(objects["a"], _id="same"), dict(objects["b"], _id="same")), \
            {k: str(v)[:40] for k, v in rec.items()}
        assert json.loads(read(path)) == rec
        key = (res["a"], res["b"])
        outcomes[key] = outcomes.get(key, 0) + 1
    assert outcomes.get((None, None), 0) + outcomes.get(("EINVAL", None), 0) + \
        outcomes.get((None, "EINVAL"), 0) >= 1, outcomes
    assert alive(m)


def test_a_reader_while_the_writer_saves(emu, m):
    """A reader that loops while close(2) is sending (PUT slowed to 0.3 s) reads the last
    saved version whole until the save begins, then the new content entirely (the version
    being sent, or the server's answer once it is in), never the old one again; once close
    returned, the server's rendering of it; never an error, never a mix."""
    make_collection(emu, APP, "readsave", [{"_id": "r", "v": -1}])
    refresh(m)
    path = m.p("apps", APP, "readsave", "r.json")
    old = prev = read(path)
    emu.faults({"latency_ms": 300, "fail_routes": ["/item"]})
    for k in range(4):
        body = {"v": k, "pad": "p" * (500 + 300 * (k % 2))}
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.write(fd, json.dumps(body).encode())
        done = threading.Event()
        reads = []

        def reader():
            while not done.is_set():
                try:
                    reads.append(read(path))
                except OSError as e:  # never expected: reported below
                    reads.append(e)
                time.sleep(0.01)

        t = threading.Thread(target=reader)
        t.start()
        os.close(fd)  # the save: ~0.3 s
        done.set()
        t.join(10)
        new = versions_of([body], "r")
        assert len(reads) >= 5
        assert all(r in new or r == prev for r in reads), \
            [r[:60] for r in reads if r not in new and r != prev]
        first_new = min([i for i, r in enumerate(reads) if r in new], default=len(reads))
        assert all(r in new for r in reads[first_new:]), "the old version came back"
        assert first_new < len(reads), "the version being saved was never read"
        assert read(path) == (json.dumps(dict({"_id": "r"}, **body), indent=2) + "\n").encode()
        assert read(path) != old
        prev = read(path)
    assert alive(m)


@pytest.mark.parametrize("how", ["replace", "in place"])
def test_readers_while_a_writer_saves_again_and_again(emu, m, how):
    """Two readers loop while a writer saves 30 versions. With a temporary file and
    os.replace (what editors do), every read is one whole version; but an open, or the
    fstat Python makes after it, that meets the rename can fail with ESTALE: libfuse's
    path-based API forgets a replaced file's name at once (hard_remove) and answers a
    request for it so; the kernel retries an open once, not an fstat. Readers here count
    those and read again. In place (open O_TRUNC, one write, close), every read is one
    whole version too: an open during the rewrite gets the last saved version, and reads
    go around the page cache, whose size is the writer's. The first rewrite is made before
    the readers start: a reader that opened the file through the page cache before its
    first rewrite on the mount may see it cut (README, known limits)."""
    slug = "readers-" + how.replace(" ", "")
    make_collection(emu, APP, slug, [{"_id": "r", "v": -1}])
    refresh(m)
    d = m.p("apps", APP, slug)
    path = os.path.join(d, "r.json")
    bodies = [{"v": -1}]
    seen = []
    stale = []

    def read_once():
        try:
            seen.append(read(path))
        except OSError as e:
            if e.errno != errno.ESTALE or how != "replace":
                raise
            stale.append(e)

    emu.faults({"latency_ms": 10, "fail_routes": ["/item"]})
    if how == "in place":
        bodies.append({"v": -2})
        write(path, json.dumps(bodies[-1]).encode())
    with looping(read_once, 2) as failures:
        for k in range(30):
            body = {"v": k, "pad": "p" * (200 + (k * 37) % 300)}
            bodies.append(body)
            data = json.dumps(body).encode()
            if how == "replace":
                tmp = os.path.join(d, f".r.json.tmp{k}")
                with open(tmp, "wb") as f:
                    f.write(data)
                os.replace(tmp, path)
            else:
                fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
                os.write(fd, data)
                os.close(fd)
    assert not failures, failures
    whole = versions_of(bodies, "r")
    odd = [r for r in seen if r not in whole]
    assert not odd, [r[:80] for r in odd[:5]]
    assert len(seen) > 30 and len(stale) < len(seen), (len(seen), len(stale))
    assert stored(emu, APP, slug)["r"] == dict(bodies[-1], _id="r")
    assert alive(m)


def test_a_listing_across_a_save_does_not_cut_the_file(emu, m):
    """A directory listed in chunks (1500 entries) while one of its files, open for writing,
    is saved: the listing's later chunks must not hand the kernel the size the file had
    while it was being written (the server's rendering is longer), or a read after it is
    cut to that size."""
    make_collection(emu, APP, "chunks", [{"_id": f"r{i:04d}" + "x" * 100, "v": i}
                                         for i in range(1500)])
    refresh(m)
    d = m.p("apps", APP, "chunks")
    last = sorted(n for n in os.listdir(d) if n.startswith("r"))[-1]
    path = os.path.join(d, last)
    body = {"v": -1, "pad": "y" * 500}
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, json.dumps(body).encode())
    it = os.scandir(d)
    next(it)               # the listing starts: its first chunk, with the file open
    os.close(fd)           # the save: the file now shows the server's rendering
    want = read(path)
    assert json.loads(want) == dict(body, _id=last[:-5])
    rest = [e.name for e in it]   # the later chunks
    assert last in rest
    assert read(path) == want
    assert os.stat(path).st_size == len(want)


@pytest.mark.parametrize("change", ["save", "rename", "save, listing expired"])
def test_a_change_during_a_listing_does_not_cut_the_file(emu, m, mount_factory, change):
    """A file that nobody had open when the listing began is saved (or another file is
    renamed over it) between two chunks of the listing: the later chunks must not hand the
    kernel the size the file had before (the kernel takes it: the request for the chunk
    was sent after the change), or a read after it is cut to that size. With the listing
    expired and taken again meanwhile, the first listing's entries are older than the
    cache's: this is what the soak met, a read of a record a thread had just saved, cut
    at its previous size."""
    slug = "chunks-" + change.replace(", ", "-").replace(" ", "")
    make_collection(emu, APP, slug, [{"_id": f"r{i:04d}" + "x" * 100, "v": i}
                                     for i in range(1500)] + [{"_id": "src", "v": -2,
                                                               "pad": "z" * 700}])
    if "expired" in change:
        m = mount_factory(emu, "cache_ttl=1")
    refresh(m)
    d = m.p("apps", APP, slug)
    names = sorted(n for n in os.listdir(d) if n.startswith("r"))
    last = names[-1]
    path = os.path.join(d, last)
    before = read(path)
    assert os.stat(path).st_size == len(before)
    it = os.scandir(d)
    next(it)               # the listing starts: its first chunk
    if "expired" in change:
        time.sleep(1.3)
        os.listdir(d)      # listed again: the cache holds a newer listing
    if change.startswith("save"):
        body = {"v": -1, "pad": "y" * 500}
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.write(fd, json.dumps(body).encode())
        os.close(fd)
        want_body = dict(body, _id=last[:-5])
    else:
        os.rename(os.path.join(d, "src.json"), path)
        want_body = {"v": -2, "pad": "z" * 700, "_id": last[:-5]}
    rest = [e.name for e in it]   # the later chunks
    assert last in rest
    got = read(path)
    assert len(got) > len(before)
    assert json.loads(got) == want_body
    assert os.stat(path).st_size == len(got)
