"""Open handles across renames, checked against the emulator's stored data and request
counters: a read-write handle of a record renamed in its collection reads the file as its
new name shows it and saves there (the old name gone), also after an fsync while open; a
handle of a removed or replaced file saves nothing; a read-only handle keeps reading what
it opened (fstat too, after its name was replaced); a directory rename answers EXDEV and
the handle works on; opens that meet renames over their name (os.replace, as editors
save) never fail but with ESTALE at the open, rarely, which is counted."""
import errno
import itertools
import json
import os
import stat
import threading

import pytest

APP = "uspresidents"
PUT = "PUT /api/item/{app}/{slug}/{id}"
POST = "POST /api/item/{app}/{slug}"
DELETE = "DELETE /api/item/{app}/{slug}"


def routes(stats):
    return {k: v for k, v in stats.get("routes", {}).items() if v}


def pretty(rec):
    return (json.dumps(rec, indent=2, ensure_ascii=False) + "\n").encode()


def record(i):
    return {"_id": f"r{i}", "name": f"record {i}", "n": i}


class Work:
    def __init__(self, emu, m, slug):
        self.emu, self.m, self.slug = emu, m, slug
        self.dir = m.p("apps", APP, slug)

    def p(self, *parts):
        return os.path.join(self.dir, *parts)

    def stored(self, rid):
        for rec in json.loads(self.emu.records_text(APP, self.slug)):
            if rec["_id"] == rid:
                return rec
        return None

    def counts(self):
        return routes(self.emu.stats())


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory("--demo")


SERIAL = itertools.count()


@pytest.fixture
def work(emu, mount, request):
    slug = f"h{next(SERIAL)}-" + request.node.name.replace("test_", "").replace("_", "-")[:30]
    status, text = emu.api("POST", f"/api/collection/{APP}", {"slug": slug, "name": slug})
    assert status == 200, text
    for i in range(5):
        status, text = emu.api("POST", f"/api/item/{APP}/{slug}", {"data": record(i)})
        assert status == 200, text
    # revalidate as long as the TTL: the counts are the saves' and renames' alone.
    m = mount(emu, "cache_ttl=300", "revalidate=300")
    w = Work(emu, m, slug)
    names = sorted(os.listdir(w.dir))
    assert names == sorted([".collection.json"] + [f"r{i}.json" for i in range(5)])
    for name in names:
        with open(w.p(name), "rb") as f:
            f.read()
    return w


def test_a_read_write_handle_follows_its_file_to_a_new_name(work):
    w = work
    before = pretty(record(1))
    edited = dict(record(1), name="written after the rename")
    f = open(w.p("r1.json"), "r+b")
    try:
        assert f.read() == before
        w.emu.reset()
        os.rename(w.p("r1.json"), w.p("moved.json"))
        # The move itself: made at the new name, then deleted at the old one.
        assert w.counts() == {POST: 1, DELETE: 1}, w.counts()
        assert w.stored("r1") is None
        assert w.stored("moved") == dict(record(1), _id="moved")
        # Other opens read the file at its new name as the server holds it.
        with open(w.p("moved.json"), "rb") as g:
            assert json.loads(g.read()) == dict(record(1), _id="moved")
        # The handle reads the file's content: as the new name shows it (the record's
        # _id is its file name), with the size fstat tells ...
        moved = pretty(dict(record(1), _id="moved"))
        f.seek(0)
        assert f.read() == moved
        assert os.fstat(f.fileno()).st_size == len(moved)
        # ... and writes to the file, now named moved.json.
        f.seek(0)
        f.truncate()
        f.write(pretty(edited))
        f.flush()
    finally:
        f.close()
    # The close saves the bytes under the new name: one update, nothing at the old name.
    assert w.counts() == {POST: 1, DELETE: 1, PUT: 1}, w.counts()
    assert w.stored("moved") == dict(edited, _id="moved")
    assert w.stored("r1") is None
    assert not os.path.exists(w.p("r1.json"))
    with open(w.p("moved.json"), "rb") as g:
        assert json.loads(g.read()) == dict(edited, _id="moved")


def test_a_read_only_handle_keeps_reading_what_it_opened(work):
    w = work
    before = pretty(record(2))
    rewritten = {"_id": "elsewhere", "name": "rewritten at the new name, a longer one"}
    with open(w.p("r2.json"), "rb") as f:
        head = f.read(10)
        os.rename(w.p("r2.json"), w.p("elsewhere.json"))
        # fstat asks by the new name (the server's rendering there has the new _id).
        assert stat.S_ISREG(os.fstat(f.fileno()).st_mode)
        # Saved again at its new name meanwhile, as editors do (a temporary file renamed
        # over it): the handle keeps reading the version it opened.
        with open(w.p(".elsewhere.json.tmp"), "wb") as g:
            g.write(pretty(rewritten))
        os.replace(w.p(".elsewhere.json.tmp"), w.p("elsewhere.json"))
        assert head + f.read() == before
        f.seek(0)
        assert f.read() == before
        # The kernel asks for the attributes of a file whose name was renamed over by its
        # node id, without the handle: the inode table answers them through the handle
        # (what it reads), not ESTALE as the path-based API did.
        st = os.fstat(f.fileno())
        assert stat.S_ISREG(st.st_mode) and st.st_size == len(before)
    assert w.stored("r2") is None
    assert w.stored("elsewhere") == rewritten
    with open(w.p("elsewhere.json"), "rb") as f:
        assert json.loads(f.read()) == rewritten


def test_bytes_written_before_a_rename_are_saved_under_the_new_name(work):
    """Close-to-open: the rename moves the file's saved version (what other opens read);
    the handle's bytes are saved at close, under the name the file has then."""
    w = work
    first = dict(record(4), name="written before the rename")
    second = dict(record(4), name="written after the rename")
    f = open(w.p("r4.json"), "r+b")
    try:
        f.read()
        f.seek(0)
        f.truncate()
        f.write(pretty(first))
        f.flush()
        w.emu.reset()
        os.rename(w.p("r4.json"), w.p("m4.json"))
        assert w.counts() == {POST: 1, DELETE: 1}, w.counts()
        assert w.stored("m4") == dict(record(4), _id="m4")
        assert w.stored("r4") is None
        f.seek(0)
        assert f.read() == pretty(first)
        f.seek(0)
        f.truncate()
        f.write(pretty(second))
    finally:
        f.close()
    assert w.counts() == {POST: 1, DELETE: 1, PUT: 1}, w.counts()
    assert w.stored("m4") == dict(second, _id="m4")
    assert w.stored("r4") is None


def write_over(f, rec):
    f.seek(0)
    f.truncate()
    f.write(pretty(rec))
    f.flush()


def test_a_handle_saved_while_open_follows_a_rename(work):
    """fsync saves the file while it stays open; a rename then, and the handle's next
    bytes go to the new name: the old name is not made again."""
    w = work
    f = open(w.p("r1.json"), "r+b")
    try:
        f.read()
        write_over(f, dict(record(1), name="saved while open"))
        os.fsync(f.fileno())
        w.emu.reset()
        os.rename(w.p("r1.json"), w.p("moved.json"))
        assert w.counts() == {POST: 1, DELETE: 1}, w.counts()
        write_over(f, dict(record(1), name="after the rename"))
    finally:
        f.close()
    assert w.counts() == {POST: 1, DELETE: 1, PUT: 1}, w.counts()
    assert w.stored("moved") == dict(record(1), _id="moved", name="after the rename")
    assert w.stored("r1") is None
    assert not os.path.exists(w.p("r1.json"))


def test_a_handle_saved_while_open_of_a_removed_file_saves_nothing(work):
    w = work
    f = open(w.p("r1.json"), "r+b")
    try:
        f.read()
        write_over(f, dict(record(1), name="saved while open"))
        os.fsync(f.fileno())
        w.emu.reset()
        os.unlink(w.p("r1.json"))
        write_over(f, dict(record(1), name="after the unlink"))
    finally:
        f.close()
    # As on any file system: the bytes went to the removed file, not to a new one.
    assert w.counts() == {DELETE: 1}, w.counts()
    assert w.stored("r1") is None
    assert not os.path.exists(w.p("r1.json"))


def test_a_handle_saved_while_open_of_a_replaced_file_saves_nothing(work):
    w = work
    replacement = dict(record(1), name="the replacement")
    f = open(w.p("r1.json"), "r+b")
    try:
        f.read()
        write_over(f, dict(record(1), name="saved while open"))
        os.fsync(f.fileno())
        with open(w.p(".r1.json.tmp"), "wb") as g:
            g.write(pretty(replacement))
        w.emu.reset()
        os.replace(w.p(".r1.json.tmp"), w.p("r1.json"))
        write_over(f, dict(record(1), name="after the replace"))
    finally:
        f.close()
    # The handle's file was replaced: its bytes do not overwrite the replacement.
    assert w.counts() == {PUT: 1}, w.counts()
    assert w.stored("r1") == replacement
    with open(w.p("r1.json"), "rb") as g:
        assert json.loads(g.read()) == replacement


def test_a_directory_rename_answers_exdev_and_the_handles_work_on(work):
    w = work
    before = pretty(record(3))
    edited = dict(record(3), name="written after both renames")
    renamed_dir = w.dir + "-renamed"
    f = open(w.p("r3.json"), "r+b")
    try:
        assert f.read() == before
        os.rename(w.p("r3.json"), w.p("kept.json"))
        w.emu.reset()
        # A collection cannot be renamed through the API: mv copies and deletes instead.
        with pytest.raises(OSError) as e:
            os.rename(w.dir, renamed_dir)
        assert e.value.errno == errno.EXDEV
        assert w.counts() == {}, w.counts()
        assert not os.path.exists(renamed_dir)
        f.seek(0)
        assert f.read() == pretty(dict(record(3), _id="kept"))
        f.seek(0)
        f.truncate()
        f.write(pretty(edited))
    finally:
        f.close()
    assert w.counts() == {PUT: 1}, w.counts()
    assert w.stored("kept") == dict(edited, _id="kept")
    assert w.stored("r3") is None
    assert sorted(os.listdir(w.dir)) == sorted(
        ["r0.json", "r1.json", "r2.json", "kept.json", "r4.json", ".collection.json"])


REPLACES = 150


def test_opens_that_meet_renames_over_their_name(work, capsys):
    """A writer saves target.json again and again through a temporary file and
    os.replace; a reader opens, fstats and reads it meanwhile. Every open that succeeds
    reads one whole saved version and fstat agrees with it; the only failure is ESTALE
    at the open (the kernel found the replaced file, which has no name any more when
    the open reaches the daemon; it retries an open once); counted. fstat never fails:
    the inode table answers a replaced file's attributes through its open handle."""
    w = work
    target = w.p("target.json")
    with open(target, "wb") as f:
        f.write(pretty({"_id": "target", "v": -1}))
    done = threading.Event()
    seen = {"opens": 0, "reads": 0, "estale_open": 0, "estale_fstat": 0, "other": []}

    def writer():
        try:
            for i in range(REPLACES):
                tmp = w.p(f".target.json.{i}.tmp")
                with open(tmp, "wb") as f:
                    f.write(pretty({"_id": "target", "v": i}))
                os.replace(tmp, target)
        finally:
            done.set()

    t = threading.Thread(target=writer)
    t.start()
    try:
        while not done.is_set():
            seen["opens"] += 1
            try:
                fd = os.open(target, os.O_RDONLY)
            except OSError as e:
                if e.errno == errno.ESTALE:
                    seen["estale_open"] += 1
                else:
                    seen["other"].append(("open", e.errno))
                continue
            try:
                try:
                    size = os.fstat(fd).st_size
                except OSError as e:
                    if e.errno == errno.ESTALE:
                        seen["estale_fstat"] += 1
                    else:
                        seen["other"].append(("fstat", e.errno))
                    continue
                data = b""
                while True:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        break
                    data += chunk
                rec = json.loads(data)
                assert rec["_id"] == "target" and -1 <= rec["v"] < REPLACES, rec
                assert size == len(data)
                seen["reads"] += 1
            finally:
                os.close(fd)
    finally:
        t.join()
    with capsys.disabled():
        print(f"\n[opens meeting renames] {seen['opens']} opens, {seen['reads']} whole reads, "
              f"ESTALE: {seen['estale_open']} at open, {seen['estale_fstat']} at fstat, "
              f"over {REPLACES} os.replace")
    assert seen["other"] == []
    assert seen["estale_fstat"] == 0
    assert seen["reads"] > 0
    assert w.stored("target") == {"_id": "target", "v": REPLACES - 1}
    with open(target, "rb") as f:
        assert json.loads(f.read()) == {"_id": "target", "v": REPLACES - 1}
