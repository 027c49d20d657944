"""The control directory .clappfs: stats (JSON), errors (JSON lines), refresh; hidden from
`ls`, shown by `ls -a`, read-only apart from refresh."""
import errno
import json
import os
import re
import stat
import subprocess
import time

import pytest

from mount_helpers import route_count

APP, COLL = "uspresidents", "presidents"
ITEM_GET = "GET /api/item/{app}/{slug}/{id}"
READ_DATA = "POST /api/dataframe/read_data"


def records(m):
    return sorted(n for n in os.listdir(m.p("apps", APP, COLL)) if n != ".collection.json")


def read(path):
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory("--demo")


@pytest.fixture(scope="module")
def m(mount_factory, emu):
    return mount_factory(emu)


def test_hidden_from_ls_shown_by_ls_a(m):
    plain = subprocess.run(["ls", m.path], capture_output=True, text=True, check=True).stdout
    assert ".clappfs" not in plain.split()
    assert "apps" in plain.split()
    every = subprocess.run(["ls", "-a", m.path], capture_output=True, text=True,
                           check=True).stdout
    assert ".clappfs" in every.split()
    listing = subprocess.run(["ls", "-a", m.p(".clappfs")], capture_output=True, text=True,
                             check=True).stdout.split()
    assert listing == [".", "..", "conflicts", "errors", "refresh", "stats"]


def test_modes_and_owner(m):
    st = os.stat(m.p(".clappfs"))
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o555
    assert st.st_uid == os.getuid()
    for name, mode in (("stats", 0o444), ("errors", 0o444), ("refresh", 0o600)):
        st = os.stat(m.p(".clappfs", name))
        assert stat.S_ISREG(st.st_mode), name
        assert stat.S_IMODE(st.st_mode) == mode, name
        assert st.st_uid == os.getuid() and st.st_gid == os.getgid(), name


def test_stats_is_json_with_every_part(m):
    read(m.p("apps", APP, COLL, records(m)[0]))
    s = json.loads(read(m.p(".clappfs", "stats")))
    for key in ("mount", "requests", "bytes", "routes", "cache", "uploads", "errors"):
        assert key in s, key
    assert s["mount"]["mountpoint"] == m.path
    assert s["requests"]["logins"] >= 1
    assert s["requests"]["total"] >= 4
    assert s["bytes"]["received"] > 0
    for key in ("hits", "misses", "list_fetches", "collection_reads", "record_gets",
                "stale_served", "refreshes", "content_bytes"):
        assert isinstance(s["cache"][key], int), key
    assert s["routes"][READ_DATA]["200"]["count"] >= 1


def test_stats_counts_match_the_servers(emulator, mount):
    """Every request the emulator saw is in stats under the same route key, and no other."""
    emu = emulator("--demo", "--generate", "uspresidents/generated:1200")
    mm = mount(emu, "page_size=500")
    names = sorted(os.listdir(mm.p("apps", APP, "generated")))
    for n in names[:5]:
        read(mm.p("apps", APP, "generated", n))
    os.listdir(mm.p("queries"))
    read(mm.p("version.json"))
    server = emu.stats()["routes"]
    mine = json.loads(read(mm.p(".clappfs", "stats")))
    ours = {route: sum(v["count"] for v in statuses.values())
            for route, statuses in mine["routes"].items()}
    assert ours == server
    assert ours[READ_DATA] == 3  # 1200 records, 500 a page
    assert mine["requests"]["total"] == sum(server.values())
    assert mine["requests"]["retries"] == 0
    # The listing brought every record: the reads were hits.
    assert mine["cache"]["collection_reads"] == 1
    assert mine["cache"]["record_gets"] == 0
    assert mine["cache"]["hits"] >= 5
    assert mine["cache"]["misses"] >= 3


def test_retries_and_statuses_are_counted(emulator, mount):
    emu = emulator("--demo")
    mm = mount(emu, "tries=3", "backoff=0", "cache_ttl=0")
    emu.faults({"fail_every": 2, "fail_statuses": [503], "fail_routes": ["/api/version"]})
    for _ in range(3):
        read(mm.p("version.json"))
    s = json.loads(read(mm.p(".clappfs", "stats")))
    version = s["routes"]["GET /api/version"]
    assert version["503"]["count"] >= 1
    assert version["200"]["count"] >= 1
    assert s["requests"]["retries"] >= 1
    assert version["200"]["retries"] >= 1
    assert s["requests"]["by_class"]["5xx"] == version["503"]["count"]


def test_stats_size_is_the_size_read(emulator, mount):
    """fstat of an open stats file gives the size of its snapshot, which reads serve to the
    end (direct_io: no page cache cuts it at an older size)."""
    emu = emulator("--demo")
    mm = mount(emu, "cache_ttl=0")
    os.listdir(mm.p("apps"))
    fd = os.open(mm.p(".clappfs", "stats"), os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        data = b""
        while True:
            chunk = os.read(fd, 7)  # small reads: the snapshot is served piece by piece
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    assert size == len(data) > 100
    json.loads(data)
    # stat reports a size rendered then; a later read is complete whatever the size now.
    assert os.stat(mm.p(".clappfs", "stats")).st_size > 100


def test_errors_lists_failures_with_the_servers_words(emulator, mount):
    emu = emulator("--demo")
    mm = mount(emu, "tries=1", "cache_ttl=0")
    name = records(mm)[0]
    assert read(mm.p(".clappfs", "errors")) == b""
    emu.faults({"fail_rate": 1.0, "fail_statuses": [503], "fail_routes": ["/api/item"]})
    with pytest.raises(OSError) as e:
        read(mm.p("apps", APP, COLL, name))
    assert e.value.errno == errno.EIO
    emu.faults({"fail_rate": 0.0})
    lines = read(mm.p(".clappfs", "errors")).decode().splitlines()
    assert lines, "no failure recorded"
    entries = [json.loads(line) for line in lines]
    failed = [x for x in entries if x["path"] == f"/apps/{APP}/{COLL}/{name}"]
    assert failed, entries
    x = failed[-1]
    assert x["op"] in ("getattr", "open")
    assert x["errno"] == "EIO"
    assert x["status"] == 503 and x["kind"] == "http"
    assert x["request"].startswith(f"GET /api/item/{APP}/{COLL}/")
    assert re.fullmatch(r"[0-9a-f]{24}", x["response_id"]), x
    assert x["message"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", x["time"])
    s = json.loads(read(mm.p(".clappfs", "stats")))
    assert s["errors"]["total"] == len(entries)
    assert s["routes"][ITEM_GET]["503"]["count"] >= 1


def test_read_only_apart_from_refresh(m):
    def refused(fn, *args):
        with pytest.raises(OSError) as e:
            fn(*args)
        assert e.value.errno in (errno.EACCES, errno.EPERM), (fn, args, e.value)

    refused(open, m.p(".clappfs", "stats"), "wb")
    refused(open, m.p(".clappfs", "errors"), "ab")
    refused(open, m.p(".clappfs", "new"), "wb")
    refused(os.mkdir, m.p(".clappfs", "d"))
    refused(os.unlink, m.p(".clappfs", "stats"))
    refused(os.rmdir, m.p(".clappfs"))
    refused(os.rename, m.p(".clappfs", "errors"), m.p(".clappfs", "e2"))
    refused(os.chmod, m.p(".clappfs", "stats"), 0o666)
    refused(os.truncate, m.p(".clappfs", "stats"), 0)
    refused(os.symlink, "stats", m.p(".clappfs", "link"))
    assert sorted(os.listdir(m.p(".clappfs"))) == ["conflicts", "errors", "refresh", "stats"]
    assert read(m.p(".clappfs", "refresh")) == b""


def test_refresh_shows_a_change_made_within_the_ttl(emulator, mount):
    emu = emulator("--demo")
    # cache_ttl 30 s, opens not revalidated sooner: without a refresh, nothing is asked again
    mm = mount(emu, "revalidate=60")
    name = records(mm)[1]
    rid = name[:-len(".json")]
    before = read(mm.p("apps", APP, COLL, name))
    status, _ = emu.api("PUT", f"/api/item/{APP}/{COLL}/{rid}",
                        {"data": {"name": "Changed within the TTL", "extra": [1, 2, 3]}})
    assert status == 200
    status, _ = emu.api("POST", f"/api/item/{APP}/{COLL}",
                        {"data": {"_id": "added-within-ttl", "name": "New"}})
    assert status == 200
    emu.reset()
    assert read(mm.p("apps", APP, COLL, name)) == before
    assert "added-within-ttl.json" not in os.listdir(mm.p("apps", APP, COLL))
    assert emu.stats()["total"] == 0

    subprocess.run(f"echo 1 > {mm.p('.clappfs', 'refresh')}", shell=True, check=True)
    after = read(mm.p("apps", APP, COLL, name))
    assert b"Changed within the TTL" in after and after != before
    assert os.stat(mm.p("apps", APP, COLL, name)).st_size == len(after)
    assert emu.stats()["total"] >= 1
    assert "added-within-ttl.json" in os.listdir(mm.p("apps", APP, COLL))
    s = json.loads(read(mm.p(".clappfs", "stats")))
    assert s["cache"]["refreshes"] == 1
    assert "refresh" in mm.log()
    # Once fetched again, the next read is served from memory.
    emu.reset()
    assert read(mm.p("apps", APP, COLL, name)) == after
    assert emu.stats()["total"] == 0


def test_stats_counts_uploads_and_refused_saves(emulator, mount):
    emu = emulator("--demo")
    mm = mount(emu)
    rec = records(mm)[0]
    path = mm.p("apps", APP, COLL, rec)
    before = json.loads(read(mm.p(".clappfs", "stats")))["uploads"]
    doc = json.loads(read(path))
    doc["note"] = "counted"
    with open(path, "w") as f:
        f.write(json.dumps(doc))
    with pytest.raises(OSError):
        with open(path, "w") as f:
            f.write("{not json")
    after = json.loads(read(mm.p(".clappfs", "stats")))["uploads"]
    assert after["count"] == before["count"] + 1, (before, after)
    assert after["bytes"] > before["bytes"]
    assert after["failed"] == before["failed"] + 1, (before, after)
