"""-o async_uploads: a bulk cp under injected failures stores every record once, uploads
run in parallel, reads see what is pending, and the order per record is kept."""
import errno
import json
import os
import subprocess

import pytest

from async_helpers import (FAST, journal_dirs, journal_env, read, stats, stored, stored_ids,
                           unmount_drained, wait_settled, wait_until, write)


def make_sources(tmp_path, n, prefix="r"):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(n):
        (src / f"{prefix}{i:05d}.json").write_text(
            json.dumps({"n": i, "name": f"{prefix}{i}", "tags": ["a", "b"]}) + "\n")
    return src


def test_async_bulk_cp_under_failures_stores_every_record_once(emulator, mount, tmp_path):
    emu = emulator("--generate", "bulk/base:2")
    env = journal_env(tmp_path)
    n = 2000
    src = make_sources(tmp_path, n)
    # tries=1: an upload that fails goes back to the journal (with more tries, the client's
    # own retries of a flaky server would hide the journal's). The failures hit the
    # batches (dataframe appends of the collection) only: cp's lookups of new names, which
    # may ask the server once an upload failed (the cache no longer trusts the collection's
    # listing then), would fail with their one try.
    m = mount(emu, *FAST, "tries=1", "workers=8", env=env)
    os.mkdir(m.p("apps", "bulk", "imp"))
    # fail_every too: when the workers gather big batches there are few appends, and a
    # 20% rate alone might spare them all.
    emu.faults({"fail_rate": 0.2, "fail_every": 7, "fail_statuses": [502, 503, 504],
                "fail_routes": ["/api/dataframe/bulk"]})
    names = sorted(os.listdir(src))
    r = subprocess.run(["cp", "-t", m.p("apps", "bulk", "imp")] + [str(src / x) for x in names],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    # Everything is visible at once, pending or not.
    assert sorted(x for x in os.listdir(m.p("apps", "bulk", "imp"))
                  if not x.startswith(".")) == names
    got = json.loads(read(m.p("apps", "bulk", "imp", names[-1])))  # pending or sent
    got.pop("_id", None)
    assert got == json.loads((src / names[-1]).read_text())
    journal = wait_settled(m, timeout=300)
    assert journal["failed"] == 0
    assert journal["uploaded"] == n
    assert journal["retries"] > 0, journal  # the journal's own retries were exercised
    s = stats(m)
    assert s["uploads"]["count"] == n
    log = unmount_drained(m, timeout=300)
    emu.faults({"fail_rate": 0, "fail_routes": []})
    ids = stored_ids(emu, "bulk", "imp")
    assert len(ids) == n and len(set(ids)) == n, (len(ids), len(set(ids)))
    recs = stored(emu, "bulk", "imp")
    for name in names:
        want = json.loads((src / name).read_text())
        assert recs[name[:-5]] == want, name
    assert "upload failed" in log  # retried entries are logged (warning)
    assert journal_dirs(env) == []  # drained: the journal is gone


def test_async_uploads_run_in_parallel(emulator, mount, tmp_path):
    emu = emulator("--generate", "par/base:1", "--latency-ms", "100")
    env = journal_env(tmp_path)
    src = make_sources(tmp_path, 100)
    m = mount(emu, *FAST, "workers=8", env=env)
    os.mkdir(m.p("apps", "par", "imp"))
    emu.reset()
    r = subprocess.run(f"cp {src}/*.json {m.p('apps', 'par', 'imp')}", shell=True,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    # cp is done long before the uploads (100 x 100 ms over 8 workers).
    assert stats(m)["journal"]["pending"] > 0
    unmount_drained(m)
    st = emu.stats()
    assert st["max_concurrency"] > 1, st
    assert st["max_concurrency"] <= 8 + 2, st
    assert len(stored(emu, "par", "imp")) == 100


def test_async_sync_mount_sends_one_at_a_time(emulator, mount, tmp_path):
    """The baseline: without the option a cp (one process, one file after the other) makes
    one request at a time."""
    emu = emulator("--generate", "seq/base:1", "--latency-ms", "20")
    src = make_sources(tmp_path, 20)
    m = mount(emu, env=journal_env(tmp_path))
    os.mkdir(m.p("apps", "seq", "imp"))
    emu.reset()
    subprocess.run(f"cp {src}/*.json {m.p('apps', 'seq', 'imp')}", shell=True, check=True)
    assert emu.stats()["max_concurrency"] == 1
    assert stats(m)["journal"]["enabled"] is False
    assert len(stored(emu, "seq", "imp")) == 20


def test_async_reads_see_pending_content(emulator, mount, tmp_path):
    emu = emulator("--generate", "rd/coll:3")
    env = journal_env(tmp_path)
    m = mount(emu, *FAST, env=env)
    d = m.p("apps", "rd", "coll")
    before = sorted(x for x in os.listdir(d) if not x.startswith("."))
    old = read(os.path.join(d, before[0]))
    # Uploads are slow from now on; the listing and reads of the mount are not.
    emu.faults({"latency_ms": 1500, "fail_routes": ["/api/item", "/api/dataframe"]})
    new = b'{"fresh": true, "n": 1}\n'
    write(os.path.join(d, "new1.json"), new)
    assert read(os.path.join(d, "new1.json")) == new
    assert os.stat(os.path.join(d, "new1.json")).st_size == len(new)
    assert "new1.json" in os.listdir(d)
    changed = b'{"changed": 2}'
    write(os.path.join(d, before[0]), changed)
    assert read(os.path.join(d, before[0])) == changed
    assert os.stat(os.path.join(d, before[0])).st_size == len(changed)
    os.unlink(os.path.join(d, before[1]))
    assert not os.path.exists(os.path.join(d, before[1]))
    assert before[1] not in os.listdir(d)
    # The server has none of it yet.
    recs = stored(emu, "rd", "coll")
    assert "new1" not in recs
    assert before[1][:-5] in recs
    assert stats(m)["journal"]["pending"] >= 1
    # fsync waits for the file's upload; then the file shows the server's answer.
    fd = os.open(os.path.join(d, "new1.json"), os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    assert stored(emu, "rd", "coll")["new1"] == {"fresh": True, "n": 1}
    assert json.loads(read(os.path.join(d, "new1.json"))) == {"_id": "new1", "fresh": True,
                                                               "n": 1}
    wait_settled(m)
    recs = stored(emu, "rd", "coll")
    assert recs[before[0][:-5]] == {"changed": 2}
    assert before[1][:-5] not in recs
    assert json.loads(read(os.path.join(d, before[0])))["changed"] == 2
    assert old != read(os.path.join(d, before[0]))
    unmount_drained(m)


def test_async_order_per_record(emulator, mount, tmp_path):
    emu = emulator("--generate", "ord/coll:2")
    env = journal_env(tmp_path)
    m = mount(emu, *FAST, env=env)
    d = m.p("apps", "ord", "coll")
    existing = sorted(x for x in os.listdir(d) if not x.startswith("."))
    emu.faults({"latency_ms": 400, "fail_routes": ["/api/item", "/api/dataframe"]})
    # Update then delete: ends deleted.
    write(os.path.join(d, existing[0]), b'{"updated": 1}')
    os.unlink(os.path.join(d, existing[0]))
    # Create then update: ends updated.
    write(os.path.join(d, "cu.json"), b'{"v": 1}')
    write(os.path.join(d, "cu.json"), b'{"v": 2}')
    # Create, update, delete, create again: the last content.
    write(os.path.join(d, "cd.json"), b'{"v": 1}')
    write(os.path.join(d, "cd.json"), b'{"v": 2}')
    os.unlink(os.path.join(d, "cd.json"))
    assert not os.path.exists(os.path.join(d, "cd.json"))
    write(os.path.join(d, "cd.json"), b'{"v": 3}')
    # Delete then create of an existing record.
    os.unlink(os.path.join(d, existing[1]))
    write(os.path.join(d, existing[1]), b'{"again": true}')
    # A synchronous change (a rename) waits for what is pending on its names.
    write(os.path.join(d, "mv1.json"), b'{"m": 1}')
    os.rename(os.path.join(d, "mv1.json"), os.path.join(d, "mv2.json"))
    # Pending or uploaded by now (the rename waited): the newest content either way.
    for name, want in (("cu.json", {"v": 2}), ("cd.json", {"v": 3}), ("mv2.json", {"m": 1})):
        got = json.loads(read(os.path.join(d, name)))
        got.pop("_id", None)
        assert got == want, name
    assert not os.path.exists(os.path.join(d, "mv1.json"))
    unmount_drained(m)
    recs = stored(emu, "ord", "coll")
    assert existing[0][:-5] not in recs
    assert recs["cu"] == {"v": 2}
    assert recs["cd"] == {"v": 3}
    assert recs[existing[1][:-5]] == {"again": True}
    assert "mv1" not in recs and recs["mv2"] == {"m": 1}
    assert sorted(stored_ids(emu, "ord", "coll")) == sorted(recs)


def test_async_touch_and_times_of_pending_files(emulator, mount, tmp_path):
    emu = emulator("--generate", "tm/coll:1")
    m = mount(emu, *FAST, env=journal_env(tmp_path))
    d = m.p("apps", "tm", "coll")
    emu.faults({"latency_ms": 500, "fail_routes": ["/api/item", "/api/dataframe"]})
    p = os.path.join(d, "t.json")
    write(p, b'{"t": 1}')
    os.utime(p, ns=(1_600_000_000_123_456_789, 1_600_000_000_123_456_789))
    assert os.stat(p).st_mtime_ns == 1_600_000_000_123_456_789
    wait_settled(m)
    assert os.stat(p).st_mtime_ns == 1_600_000_000_123_456_789  # kept after the upload
    unmount_drained(m)


def test_async_rmdir_waits_and_refuses_failed_creates(emulator, mount, tmp_path):
    emu = emulator("--generate", "rm/base:1")
    m = mount(emu, *FAST, env=journal_env(tmp_path))
    d = m.p("apps", "rm", "gone")
    os.mkdir(d)
    emu.faults({"latency_ms": 300, "fail_routes": ["/api/item", "/api/dataframe"]})
    write(os.path.join(d, "a.json"), b'{"a": 1}')
    os.unlink(os.path.join(d, "a.json"))
    os.rmdir(d)  # waits for the create and the delete, then the collection goes
    assert not os.path.exists(d)
    unmount_drained(m)
    status, text = emu.raw("GET", "/_emulator/records/rm/gone")
    assert status == 404 or json.loads(text) == [], (status, text)


@pytest.mark.parametrize("opt", ["async_uploads"])
def test_async_option_listed_in_help(opt):
    from mount_helpers import CLAPPFS
    out = subprocess.run([CLAPPFS, "--help"], capture_output=True, text=True).stdout
    assert opt in out


def test_async_backlog_of_new_records_goes_in_batches(emulator, mount, tmp_path):
    """New records piling up (slow server, few workers) are created many a request; one
    the server has already makes its batch go one by one; every record ends as written."""
    emu = emulator("--generate", "bt/base:1")
    env = journal_env(tmp_path)
    n = 120
    src = make_sources(tmp_path, n)
    m = mount(emu, *FAST, "workers=2", env=env)
    d = m.p("apps", "bt", "imp")
    os.mkdir(d)
    os.listdir(d)  # known empty: every name is a create
    # A record the mount does not know of yet: its batch is refused (409) as a whole.
    status, _ = emu.api("POST", "/api/item/bt/imp", {"data": {"_id": "r00007", "old": True}})
    assert status == 200, status
    emu.faults({"latency_ms": 200, "fail_routes": ["/api/item", "/api/dataframe"]})
    emu.reset()
    r = subprocess.run(f"cp {src}/*.json {d}", shell=True, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    wait_settled(m, timeout=120)
    st = emu.stats()
    batches = sum(v for k, v in st["routes"].items() if k.startswith("POST /api/dataframe/"))
    assert batches >= 1, st["routes"]
    assert st["total"] < n, st  # fewer requests than records
    # The files show what was written (as the server's answer would render it).
    for name in ("r00000.json", "r00007.json", f"r{n - 1:05d}.json"):
        got = json.loads(read(os.path.join(d, name)))
        assert got.pop("_id") == name[:-5]
        assert got == json.loads((src / name).read_text()), name
    log = unmount_drained(m)
    assert "refused as a whole" in log
    recs = stored(emu, "bt", "imp")
    assert len(recs) == n
    for name in sorted(os.listdir(src)):
        assert recs[name[:-5]] == json.loads((src / name).read_text()), name


def test_async_batches_are_pipelined(emulator, mount, tmp_path):
    """A backlog of new records drains at the server's rate: with a slow append route,
    several batches (dataframe appends) are in flight at once, up to `workers`."""
    emu = emulator("--generate", "pipe/base:1")
    env = journal_env(tmp_path)
    n = 600
    src = make_sources(tmp_path, n)
    m = mount(emu, *FAST, "workers=4", env=env)
    d = m.p("apps", "pipe", "imp")
    os.mkdir(d)
    os.listdir(d)  # known empty: every name is a create
    emu.faults({"latency_ms": 200, "fail_routes": ["/api/dataframe"]})
    emu.reset()
    r = subprocess.run(f"cp {src}/*.json {d}", shell=True, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    wait_settled(m, timeout=120)
    st = emu.stats()
    route = "POST /api/dataframe/{app}/{slug}"
    assert st["routes"].get(route, 0) >= 2, st["routes"]
    assert 1 < st["route_max_concurrency"][route] <= 4, st
    unmount_drained(m)
    assert len(stored(emu, "pipe", "imp")) == n
