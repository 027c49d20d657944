"""Files and directories through the mount, checked against the emulator's stored data and
its request counters: cp, cp -a, install, mv (within and across collections), rm, rm -r,
mkdir, rmdir, tar -x; local-only files; metadata and the other resources; the buffer's
rules (one request per save, none when unchanged, invalid content refused with EINVAL)."""
import errno
import itertools
import json
import os
import subprocess
import tarfile

import pytest

from mount_helpers import need, routes

APP = "uspresidents"
PUT = "PUT /api/item/{app}/{slug}/{id}"
POST = "POST /api/item/{app}/{slug}"
DELETE = "DELETE /api/item/{app}/{slug}"
READ = "POST /api/dataframe/read_data"


def pretty(rec):
    return (json.dumps(rec, indent=2, ensure_ascii=False) + "\n").encode()


def record(i):
    return {"_id": f"r{i}", "name": f"record {i}", "n": i}


class Work:
    def __init__(self, emu, m, slugs):
        self.emu, self.m, self.slugs = emu, m, slugs
        self.slug = slugs[0]
        self.dir = m.p("apps", APP, self.slug)

    def p(self, *parts):
        return os.path.join(self.dir, *parts)

    def q(self, slug, *parts):
        return self.m.p("apps", APP, slug, *parts)

    def stored(self, rid, slug=None):
        for rec in json.loads(self.emu.records_text(APP, slug or self.slug)):
            if rec["_id"] == rid:
                return rec
        return None

    def ids(self, slug=None):
        return sorted(rec["_id"] for rec in json.loads(self.emu.records_text(APP, slug or self.slug)))

    def reset(self):
        self.emu.reset()

    def counts(self):
        return routes(self.emu.stats())


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory("--demo")


def make_collection(emu, slug, n=5):
    status, text = emu.api("POST", f"/api/collection/{APP}", {"slug": slug, "name": slug})
    assert status == 200, text
    for i in range(n):
        status, text = emu.api("POST", f"/api/item/{APP}/{slug}", {"data": record(i)})
        assert status == 200, text


SERIAL = itertools.count()


@pytest.fixture
def work(emu, mount, request):
    base = f"f{next(SERIAL)}-" + request.node.name.replace("test_", "").replace("_", "-")[:30]
    slugs = [base, base + "-b"]
    for s in slugs:
        make_collection(emu, s)
    # revalidate as long as the TTL: the counts are the saves' alone (close-to-open
    # checks are test_consistency_*.py's).
    m = mount(emu, "cache_ttl=300", "revalidate=300")
    w = Work(emu, m, slugs)
    for s in slugs:
        for name in os.listdir(w.q(s)):
            with open(w.q(s, name), "rb") as f:
                f.read()
    return w


def run(cmd, ok=True, **kw):
    r = subprocess.run(cmd, capture_output=True, timeout=120, **kw)
    if ok:
        assert r.returncode == 0, f"{cmd} exited {r.returncode}: {r.stderr.decode(errors='replace')}"
    return r


def oserror(fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    return e.value.errno


# -- copies ---------------------------------------------------------------------------

def test_cp_makes_a_record_named_by_the_file(work):
    w = work
    w.reset()
    run(["cp", w.p("r1.json"), w.p("copy.json")])
    assert w.counts() == {POST: 1}, w.counts()
    assert w.stored("copy") == dict(record(1), _id="copy")
    with open(w.p("copy.json"), "rb") as f:
        assert f.read() == pretty(dict(record(1), _id="copy"))


def test_cp_onto_an_existing_record_updates_it(work):
    w = work
    w.reset()
    run(["cp", w.p("r1.json"), w.p("r2.json")])
    assert w.counts() == {PUT: 1}, w.counts()
    assert w.stored("r2") == dict(record(1), _id="r2")


def test_cp_a_keeps_the_time_and_exits_0(work, tmp_path):
    w = work
    src = tmp_path / "in.json"
    src.write_bytes(b'{"name": "from cp -a"}\n')
    os.utime(src, ns=(1_600_000_000_123_456_789, 1_600_000_000_123_456_789))
    w.reset()
    run(["cp", "-a", str(src), w.p("cpa.json")])
    assert w.counts() == {POST: 1}, w.counts()
    assert w.stored("cpa") == {"_id": "cpa", "name": "from cp -a"}
    st = os.stat(w.p("cpa.json"))
    assert st.st_mtime_ns == 1_600_000_000_123_456_789
    # The time stays while the content does.
    w.reset()
    assert os.stat(w.p("cpa.json")).st_mtime_ns == 1_600_000_000_123_456_789
    assert w.counts() == {}


def test_install(work, tmp_path):
    need("install")
    w = work
    src = tmp_path / "in.json"
    src.write_bytes(b'{"name": "installed"}')
    w.reset()
    run(["install", "-m", "644", str(src), w.p("inst.json")])
    assert w.counts() == {POST: 1}, w.counts()
    assert w.stored("inst") == {"_id": "inst", "name": "installed"}
    # Over an existing record.
    w.reset()
    run(["install", "-m", "644", str(src), w.p("r3.json")])
    assert w.stored("r3") == {"_id": "r3", "name": "installed"}
    c = w.counts()
    assert c.get(PUT, 0) + c.get(POST, 0) == 1 and set(c) <= {PUT, POST, DELETE}, c


def test_tar_x_into_a_collection(work, tmp_path):
    need("tar")
    w = work
    src = tmp_path / "t"
    src.mkdir()
    for i in range(3):
        (src / f"t{i}.json").write_text(json.dumps({"name": f"from tar {i}"}))
    arch = tmp_path / "a.tar"
    with tarfile.open(arch, "w") as t:
        for i in range(3):
            t.add(src / f"t{i}.json", arcname=f"t{i}.json")
    w.reset()
    run(["tar", "-xf", str(arch), "-C", w.dir])
    assert w.counts() == {POST: 3}, w.counts()
    for i in range(3):
        assert w.stored(f"t{i}") == {"_id": f"t{i}", "name": f"from tar {i}"}
    # The archive's times are the files' times.
    assert int(os.stat(w.p("t0.json")).st_mtime) == int(os.stat(src / "t0.json").st_mtime)


# -- moves ----------------------------------------------------------------------------

def test_mv_within_a_collection(work):
    w = work
    w.reset()
    mtime = os.stat(w.p("r1.json")).st_mtime_ns
    run(["mv", w.p("r1.json"), w.p("moved.json")])
    assert w.counts() == {POST: 1, DELETE: 1}, w.counts()
    assert w.stored("r1") is None
    assert w.stored("moved") == dict(record(1), _id="moved")
    assert "r1.json" not in os.listdir(w.dir)
    assert os.stat(w.p("moved.json")).st_mtime_ns == mtime


def test_mv_across_collections(work):
    w = work
    other = w.slugs[1]
    w.reset()
    run(["mv", w.p("r3.json"), w.q(other, "new3.json")])
    assert w.counts() == {POST: 1, DELETE: 1}, w.counts()
    assert w.stored("new3", other) == dict(record(3), _id="new3")
    assert w.stored("r3") is None
    # r2 exists in the other collection too: replaced (an update there).
    w.reset()
    run(["mv", w.p("r2.json"), w.q(other, "r2.json")])
    assert w.counts() == {PUT: 1, DELETE: 1}, w.counts()
    assert w.stored("r2") is None
    assert w.stored("r2", other) == record(2)


def test_mv_onto_an_existing_record_replaces_it(work):
    w = work
    w.reset()
    os.rename(w.p("r1.json"), w.p("r2.json"))
    assert w.counts() == {PUT: 1, DELETE: 1}, w.counts()
    assert w.stored("r2") == dict(record(1), _id="r2")
    assert w.stored("r1") is None


def test_mv_failure_leaves_the_source(work):
    w = work
    w.emu.faults({"fail_every": 1, "fail_statuses": [503], "fail_routes": ["/api/item"]})
    try:
        w.reset()
        err = oserror(os.rename, w.p("r1.json"), w.p("gone.json"))
        assert err == errno.EIO
    finally:
        w.emu.faults({"fail_every": 0, "fail_routes": []})
    assert w.stored("r1") == record(1)
    assert w.stored("gone") is None
    assert os.path.exists(w.p("r1.json"))
    assert not os.path.exists(w.p("gone.json"))
    assert "not saved" in w.m.log() and "response_id" in w.m.log()


def test_directories_move_by_copying(work):
    w = work
    src = w.q(w.slugs[1])
    dst = w.m.p("apps", APP, "moved-coll")
    assert oserror(os.rename, src, dst) == errno.EXDEV
    run(["mv", src, dst])
    status, text = w.emu.api("GET", f"/api/collection/{APP}/moved-coll")
    assert status == 200, text
    assert w.ids("moved-coll") == [f"r{i}" for i in range(5)]
    status, _ = w.emu.api("GET", f"/api/collection/{APP}/{w.slugs[1]}")
    assert status == 404
    assert not os.path.exists(src)


# -- deletes and directories ------------------------------------------------------------

def test_rm_deletes_and_metadata_stays(work):
    w = work
    os.stat(w.m.p("version.json"))
    w.reset()
    os.unlink(w.p("r4.json"))
    assert w.counts() == {DELETE: 1}, w.counts()
    assert w.stored("r4") is None
    assert not os.path.exists(w.p("r4.json"))
    assert "r4.json" not in os.listdir(w.dir)
    assert oserror(os.unlink, w.p(".collection.json")) == errno.EPERM
    assert oserror(os.unlink, w.m.p("apps", APP, ".app.json")) == errno.EPERM
    assert oserror(os.unlink, w.m.p("version.json")) == errno.EPERM
    assert w.counts() == {DELETE: 1}, w.counts()


def test_mkdir_rmdir_and_rm_r(work):
    w = work
    w.reset()
    os.mkdir(w.m.p("apps", "newapp"))
    os.mkdir(w.m.p("apps", "newapp", "coll"))
    c = w.counts()
    assert c == {"POST /api/app": 1, "POST /api/collection/{app}": 1}, c
    assert sorted(os.listdir(w.m.p("apps", "newapp"))) == [".app.json", "coll"]
    assert os.listdir(w.m.p("apps", "newapp", "coll")) == [".collection.json"]
    with open(w.m.p("apps", "newapp", "coll", "a.json"), "w") as f:
        f.write('{"x": 1}')
    assert oserror(os.rmdir, w.m.p("apps", "newapp", "coll")) == errno.ENOTEMPTY
    assert oserror(os.rmdir, w.m.p("apps", "newapp")) == errno.ENOTEMPTY
    w.reset()
    run(["rm", "-r", w.m.p("apps", "newapp")])
    c = w.counts()
    assert c.get(DELETE) == 1 and c.get("DELETE /api/collection/{app}/{slug}") == 1 \
        and c.get("DELETE /api/app/{id}") == 1, c
    status, _ = w.emu.api("GET", "/api/app/newapp")
    assert status == 404
    assert "newapp" not in os.listdir(w.m.p("apps"))


def test_rm_r_of_a_collection(work):
    w = work
    w.reset()
    run(["rm", "-r", w.dir])
    c = w.counts()
    assert c.get(DELETE) == 5 and c.get("DELETE /api/collection/{app}/{slug}") == 1, c
    status, _ = w.emu.api("GET", f"/api/collection/{APP}/{w.slug}")
    assert status == 404


def test_rmdir_refuses_a_collection_with_records_the_cache_missed(work):
    w = work
    # A record made behind the mount's back, after it listed the (now empty) collection.
    for i in range(5):
        os.unlink(w.p(f"r{i}.json"))
    status, text = w.emu.api("POST", f"/api/item/{APP}/{w.slug}", {"data": {"_id": "late"}})
    assert status == 200, text
    assert oserror(os.rmdir, w.dir) == errno.ENOTEMPTY
    assert w.stored("late") == {"_id": "late"}


def test_names_where_nothing_can_be_made(work):
    w = work
    assert oserror(os.open, w.m.p("x.json"), os.O_WRONLY | os.O_CREAT, 0o644) == errno.EPERM
    assert oserror(os.open, w.m.p("apps", "x.json"), os.O_WRONLY | os.O_CREAT, 0o644) == errno.EPERM
    assert oserror(os.mkdir, w.p("sub")) == errno.EPERM
    assert oserror(os.mkdir, w.m.p("queries", "sub")) == errno.EPERM
    assert oserror(os.open, w.m.p("version.json"), os.O_WRONLY) == errno.EACCES


# -- local-only files -------------------------------------------------------------------

def test_local_files_never_reach_the_server(work, emu, mount):
    w = work
    names = ["4913", ".r1.json.swp", "r1.json~", ".#r1.json", "#r1.json#", ".goutputstream-X1",
             ".r1.json.AbC123", "notes.txt"]
    w.reset()
    for n in names:
        with open(w.p(n), "wb") as f:
            f.write(b"not json at all " + n.encode())
    os.chmod(w.p("notes.txt"), 0o600)
    listing = os.listdir(w.dir)
    for n in names:
        assert n in listing
        with open(w.p(n), "rb") as f:
            assert f.read() == b"not json at all " + n.encode()
    assert os.stat(w.p("notes.txt")).st_mode & 0o777 == 0o600
    os.rename(w.p("notes.txt"), w.p("notes2.txt"))
    os.unlink(w.p("4913"))
    # Local files in an app directory and in the lists too.
    with open(w.m.p("apps", APP, ".app.json.tmp"), "w") as f:
        f.write("x")
    with open(w.m.p("queries", ".q.json.swp"), "w") as f:
        f.write("x")
    assert w.counts() == {}, w.counts()
    assert oserror(os.rmdir, w.dir) == errno.ENOTEMPTY
    # Gone with the mount.
    m2 = mount(emu, "cache_ttl=300")
    assert sorted(os.listdir(m2.p("apps", APP, w.slug))) == \
        [".collection.json"] + [f"r{i}.json" for i in range(5)]


def test_renaming_a_record_to_a_local_name_keeps_it(work, emu, mount):
    w = work
    w.reset()
    os.rename(w.p("r1.json"), w.p("r1.bak"))
    assert w.counts() == {}, w.counts()
    assert not os.path.exists(w.p("r1.json"))
    with open(w.p("r1.bak"), "rb") as f:
        assert f.read() == pretty(record(1))
    assert w.stored("r1") == record(1)
    # Back again: nothing to send.
    os.rename(w.p("r1.bak"), w.p("r1.json"))
    assert w.counts() == {}, w.counts()
    with open(w.p("r1.json"), "rb") as f:
        assert f.read() == pretty(record(1))
    # mv to a local name, then rm: the record is gone, as on any file system.
    os.rename(w.p("r2.json"), w.p("r2.bak"))
    os.unlink(w.p("r2.bak"))
    assert w.counts() == {DELETE: 1}, w.counts()
    assert w.stored("r2") is None
    # mv to a local name, then on to another record name: a move.
    w.reset()
    os.rename(w.p("r3.json"), w.p("r3.bak"))
    os.rename(w.p("r3.bak"), w.p("r3b.json"))
    assert w.counts() == {POST: 1, DELETE: 1}, w.counts()
    assert w.stored("r3") is None
    assert w.stored("r3b") == dict(record(3), _id="r3b")


# -- the buffer's rules -----------------------------------------------------------------

BAD = {
    "syntax error": b'{\n  "a": 1\n  "b": 2\n}\n',
    "an array": b"[1, 2, 3]\n",
    "a bare number": b"42\n",
    "invalid UTF-8": b'{"a": "\xff\xfe"}\n',
    "a duplicate key": b'{"a": 1, "a": 2}\n',
    "empty": b"",
}


@pytest.mark.parametrize("what", list(BAD))
def test_invalid_content_is_refused_at_close(work, what):
    w = work
    w.reset()
    f = open(w.p("r1.json"), "wb")
    f.write(BAD[what])
    with pytest.raises(OSError) as e:
        f.close()
    assert e.value.errno == errno.EINVAL
    assert w.counts() == {}, w.counts()
    assert w.stored("r1") == record(1)
    with open(w.p("r1.json"), "rb") as f:
        assert f.read() == pretty(record(1))
    assert "r1.json: not saved: " in w.m.log()


def test_a_record_over_16_mib_is_refused(work):
    w = work
    big = b'{"pad": "' + b"x" * (16 << 20) + b'"}'
    w.reset()
    fd = os.open(w.p("r1.json"), os.O_WRONLY | os.O_TRUNC)
    os.write(fd, big)
    assert oserror(os.fsync, fd) == errno.EINVAL
    assert oserror(os.close, fd) == errno.EINVAL
    assert w.counts() == {}, w.counts()
    assert w.stored("r1") == record(1)
    assert "over the limit" in w.m.log()


def test_fsync_sends_once_and_close_sends_nothing_more(work):
    w = work
    w.reset()
    fd = os.open(w.p("r1.json"), os.O_RDWR)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, b'{"v": 1}', 0)
        os.fsync(fd)
        assert w.counts() == {PUT: 1}, w.counts()
        os.fsync(fd)
        assert w.counts() == {PUT: 1}, w.counts()
        # A refused buffer stays the handle's: fix it and fsync again.
        os.ftruncate(fd, 0)
        os.pwrite(fd, b'{"v": 2', 0)
        assert oserror(os.fsync, fd) == errno.EINVAL
        assert w.stored("r1") == {"_id": "r1", "v": 1}
        os.pwrite(fd, b"}", 7)
        os.fsync(fd)
        assert w.counts() == {PUT: 2}, w.counts()
        assert w.stored("r1") == {"_id": "r1", "v": 2}
    finally:
        os.close(fd)
    assert w.counts() == {PUT: 2}, w.counts()


def test_unchanged_content_and_second_flush_send_nothing(work):
    w = work
    with open(w.p("r2.json"), "rb") as f:
        same = f.read()
    w.reset()
    with open(w.p("r2.json"), "wb") as f:
        f.write(same)
    fd = os.open(w.p("r2.json"), os.O_RDWR)
    os.close(os.dup(fd))  # a flush without changes
    os.close(fd)
    assert w.counts() == {}, w.counts()


def test_two_descriptors_last_close_wins(work):
    w = work
    w.reset()
    a = os.open(w.p("r3.json"), os.O_RDWR | os.O_TRUNC)
    b = os.open(w.p("r3.json"), os.O_RDWR)
    os.write(a, b'{"by": "a"}')
    # Both see the same content: one file.
    assert os.pread(b, 100, 0) == b'{"by": "a"}'
    os.close(a)
    assert w.stored("r3") == {"_id": "r3", "by": "a"}
    os.pwrite(b, b'{"by": "b"}', 0)
    os.close(b)
    assert w.counts() == {PUT: 2}, w.counts()
    assert w.stored("r3") == {"_id": "r3", "by": "b"}
    with open(w.p("r3.json"), "rb") as f:
        assert f.read() == pretty({"_id": "r3", "by": "b"})


def test_a_server_failure_is_an_error_and_loses_nothing(work):
    w = work
    w.emu.faults({"fail_every": 1, "fail_statuses": [500], "fail_routes": ["/api/item"]})
    try:
        f = open(w.p("r1.json"), "w")
        f.write('{"x": 1}')
        with pytest.raises(OSError) as e:
            f.close()
        assert e.value.errno == errno.EIO
    finally:
        w.emu.faults({"fail_every": 0, "fail_routes": []})
    assert w.stored("r1") == record(1)
    log = w.m.log()
    assert "r1.json: not saved: PUT /api/item/" in log and "response_id" in log, log


def test_read_your_own_writes_at_once(work):
    w = work
    with open(w.p("r1.json"), "w") as f:
        f.write('{"z":[1,2],"_id":"zzz","a":{}}')
    want = b'{\n  "_id": "r1",\n  "z": [\n    1,\n    2\n  ],\n  "a": {}\n}\n'
    with open(w.p("r1.json"), "rb") as f:
        assert f.read() == want
    assert os.stat(w.p("r1.json")).st_size == len(want)


# -- metadata and the other resources ---------------------------------------------------

def test_metadata_writes_update_app_and_collection(work):
    w = work
    path = w.p(".collection.json")
    with open(path) as f:
        meta = json.load(f)
    meta["description"] = "changed through the mount"
    meta["slug"] = "ignored"
    w.reset()
    with open(path, "w") as f:
        json.dump(meta, f)
    assert w.counts() == {"PUT /api/collection/{app}/{slug}": 1}, w.counts()
    status, data = w.emu.api("GET", f"/api/collection/{APP}/{w.slug}?extended=0")
    assert data["data"]["description"] == "changed through the mount"
    assert data["data"]["slug"] == w.slug

    path = w.m.p("apps", APP, ".app.json")
    with open(path) as f:
        app = json.load(f)
    app["name"] = "Renamed app"
    w.reset()
    with open(path, "w") as f:
        json.dump(app, f)
    assert w.counts() == {"PUT /api/app/{id}": 1}, w.counts()
    status, data = w.emu.api("GET", f"/api/app/{APP}?extended=false")
    assert data["data"]["name"] == "Renamed app"
    with open(path) as f:
        assert json.load(f)["name"] == "Renamed app"


def test_queries_create_update_delete(work):
    w = work
    q = w.m.p("queries", "mine.json")
    os.listdir(w.m.p("queries"))
    w.reset()
    with open(q, "w") as f:
        json.dump({"app": APP, "collection": w.slug, "name": "Mine", "query": []}, f)
    assert w.counts() == {"POST /api/query": 1}, w.counts()
    status, data = w.emu.api("GET", "/api/query/mine")
    assert status == 200 and data["data"]["name"] == "Mine"
    run(["sed", "-i", "s/Mine/Yours/", q])
    status, data = w.emu.api("GET", "/api/query/mine")
    assert data["data"]["name"] == "Yours"
    os.unlink(q)
    status, _ = w.emu.api("GET", "/api/query/mine")
    assert status == 404
    assert "mine.json" not in os.listdir(w.m.p("queries"))


def test_users_create_and_deactivate(work):
    w = work
    u = w.m.p("users", "new.user@clappform.test.json")
    with open(u, "w") as f:
        json.dump({"first_name": "New", "password": "pw-1234"}, f)
    status, data = w.emu.api("GET", "/api/user/new.user@clappform.test?extended=false")
    assert status == 200 and data["data"]["first_name"] == "New"
    with open(u) as f:
        shown = json.load(f)
    assert shown["email"] == "new.user@clappform.test" and "password" not in shown
    w.reset()
    os.unlink(u)
    assert w.counts() == {"DELETE /api/user/{email}": 1}, w.counts()
    status, data = w.emu.api("GET", "/api/user/new.user@clappform.test?extended=false")
    assert data["data"]["is_active"] is False
    assert "new.user@clappform.test.json" not in os.listdir(w.m.p("users"))


def test_actionflow_keeps_the_name_it_was_created_under(work):
    w = work
    a = w.m.p("actionflows", "nightly.json")
    with open(a, "w") as f:
        json.dump({"name": "Nightly", "id": 999}, f)
    status, data = w.emu.api("GET", "/api/actionflows")
    made = [x for x in data["data"] if x["name"] == "Nightly"]
    assert len(made) == 1 and made[0]["id"] != 999
    assert "nightly.json" in os.listdir(w.m.p("actionflows"))
    assert f"{made[0]['id']}.json" not in os.listdir(w.m.p("actionflows"))
    with open(a) as f:
        assert json.load(f)["id"] == made[0]["id"]
    # Edits go to the server's id.
    w.reset()
    run(["sed", "-i", "s/Nightly/Hourly/", a])
    assert w.counts() == {"PUT /api/actionflow/{id}": 1}, w.counts()
    status, data = w.emu.api("GET", f"/api/actionflow/{made[0]['id']}")
    assert data["data"]["name"] == "Hourly"


def test_questionnaire_create_and_update(work):
    w = work
    q = w.m.p("questionnaires", "form.json")
    with open(q, "w") as f:
        json.dump({"name": "Form", "settings": {"a": 1}}, f)
    status, data = w.emu.api("GET", "/api/questionnaires?extended=false")
    made = [x for x in data["data"] if x["name"] == "Form"]
    assert len(made) == 1
    run(["sed", "-i", "s/\"Form\"/\"Form 2\"/", q])
    status, data = w.emu.api("GET", f"/api/questionnaire/{made[0]['id']}?extended=false")
    assert data["data"]["name"] == "Form 2"


def test_names_that_need_escaping(work):
    w = work
    w.reset()
    with open(w.p("a b%25c.json"), "w") as f:
        json.dump({"v": 1}, f)
    assert w.counts() == {POST: 1}, w.counts()
    assert w.stored("a b%c") == {"_id": "a b%c", "v": 1}
    assert "a b%25c.json" in os.listdir(w.dir)
    # A name no _id has (the mount never writes %41 for "A"): refused.
    assert oserror(os.open, w.p("%41.json"), os.O_WRONLY | os.O_CREAT, 0o644) == errno.EINVAL
    assert w.counts() == {POST: 1}, w.counts()


def test_truncate_by_path(work):
    w = work
    size = os.stat(w.p("r1.json")).st_size
    w.reset()
    # Cutting the final newline leaves the same object: one update.
    os.truncate(w.p("r1.json"), size - 1)
    assert w.counts() == {PUT: 1}, w.counts()
    assert w.stored("r1") == record(1)
    # Cutting it to nothing is refused; the server keeps its version.
    assert oserror(os.truncate, w.p("r2.json"), 0) == errno.EINVAL
    assert w.counts() == {PUT: 1}, w.counts()
    assert w.stored("r2") == record(2)
    with open(w.p("r2.json"), "rb") as f:
        assert f.read() == pretty(record(2))
    # The same size: nothing at all.
    os.truncate(w.p("r3.json"), os.stat(w.p("r3.json")).st_size)
    assert w.counts() == {PUT: 1}, w.counts()


def test_chmod_chown_utimens_succeed(work):
    w = work
    w.reset()
    os.chmod(w.p("r1.json"), 0o600)
    os.chown(w.p("r1.json"), os.getuid(), os.getgid())
    os.utime(w.p("r1.json"), (1000000000, 1000000000))
    assert os.stat(w.p("r1.json")).st_mtime == 1000000000
    os.utime(w.dir, (1000000001, 1000000001))
    assert os.stat(w.dir).st_mtime == 1000000001
    assert w.counts() == {}, w.counts()
    # Listings show the kept times too.
    run(["ls", "-l", w.dir])
    out = run(["ls", "-l", "--time-style=+%s", w.dir]).stdout.decode()
    assert any(line.endswith(" r1.json") and " 1000000000 " in line for line in out.splitlines()), out


def test_symlinks_are_local_only(work):
    """emacs locks a file with a symbolic link .#x.json: a local-only one here."""
    w = work
    w.reset()
    os.symlink("user@host.1234:1700000000", w.p(".#r1.json"))
    assert os.readlink(w.p(".#r1.json")) == "user@host.1234:1700000000"
    assert os.path.islink(w.p(".#r1.json"))
    assert ".#r1.json" in os.listdir(w.dir)
    assert oserror(os.symlink, "r1.json", w.p("link.json")) == errno.EPERM
    os.unlink(w.p(".#r1.json"))
    assert not os.path.lexists(w.p(".#r1.json"))
    assert w.counts() == {}, w.counts()
