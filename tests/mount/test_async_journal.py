"""-o async_uploads: the journal on disk. A SIGKILL during uploads and a remount finish
them; a final failure (4xx) is fsync's errno, in .clappfs/errors, and stays in the journal
across mounts until the file is written or removed; one mount per journal; private files."""
import errno
import glob
import json
import os
import stat
import subprocess

from async_helpers import (FAST, errors, journal_dirs, journal_env, kill_mount, read, stats,
                           stored, stored_ids, unmount_drained, wait_settled, wait_until, write)
from mount_helpers import CLAPPFS, run_clappfs


def test_async_kill_during_uploads_then_remount_finishes(emulator, mount, tmp_path):
    emu = emulator("--generate", "kl/base:1")
    env = journal_env(tmp_path)
    n = 60
    src = tmp_path / "src"
    src.mkdir()
    for i in range(n):
        (src / f"k{i:03d}.json").write_text(json.dumps({"k": i}))
    m = mount(emu, *FAST, "workers=2", env=env)
    os.mkdir(m.p("apps", "kl", "imp"))
    emu.faults({"latency_ms": 300, "fail_routes": ["/api/item", "/api/dataframe"]})
    r = subprocess.run(f"cp {src}/*.json {m.p('apps', 'kl', 'imp')}", shell=True,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert stats(m)["journal"]["pending"] > 10
    kill_mount(m)
    done_before = len(stored_ids(emu, "kl", "imp"))
    assert done_before < n
    (jdir,) = journal_dirs(env)
    assert glob.glob(os.path.join(jdir, "seg-*.log"))
    # The next mount of the same URL and user takes the journal up again: everything is
    # visible at once, and sent.
    m2 = mount(emu, *FAST, "workers=2", env=env)
    d = m2.p("apps", "kl", "imp")
    names = sorted(x for x in os.listdir(d) if not x.startswith("."))
    assert names == sorted(os.listdir(src))
    for name in names:
        got = json.loads(read(os.path.join(d, name)))
        got.pop("_id", None)
        assert got == json.loads((src / name).read_text()), name
    log = unmount_drained(m2)
    assert "resuming" in log and "pending uploads from the journal" in log
    assert "pending changes..." in log  # the drain's progress
    ids = stored_ids(emu, "kl", "imp")
    assert sorted(ids) == [x[:-5] for x in names]  # each once
    recs = stored(emu, "kl", "imp")
    for name in names:
        assert recs[name[:-5]] == json.loads((src / name).read_text())
    assert journal_dirs(env) == []


def test_async_torn_tail_is_ignored(emulator, mount, tmp_path):
    emu = emulator("--generate", "tt/coll:1")
    env = journal_env(tmp_path)
    m = mount(emu, *FAST, "workers=1", env=env)
    d = m.p("apps", "tt", "coll")
    emu.faults({"latency_ms": 2000, "fail_routes": ["/api/item", "/api/dataframe"]})
    write(os.path.join(d, "a.json"), b'{"a": 1}')
    write(os.path.join(d, "b.json"), b'{"b": 2}')
    kill_mount(m)
    emu.faults({"latency_ms": 0})
    (jdir,) = journal_dirs(env)
    (seg,) = glob.glob(os.path.join(jdir, "seg-*.log"))
    with open(seg, "rb") as f:
        data = f.read()
    # A third record cut short, as a crash during its write leaves it.
    last = data.rfind(b"CFJ1")
    with open(seg, "ab") as f:
        f.write(data[last:last + 60].replace(b"b.json", b"c.json"))
    m2 = mount(emu, *FAST, env=env)
    assert not os.path.exists(m2.p("apps", "tt", "coll", "c.json"))
    log = unmount_drained(m2)
    assert "ignored" in log
    recs = stored(emu, "tt", "coll")
    assert recs["a"] == {"a": 1} and recs["b"] == {"b": 2} and "c" not in recs


def test_async_fsync_returns_final_failure_and_journal_keeps_it(emulator, mount, tmp_path):
    emu = emulator("--generate", "ff/base:1")
    env = journal_env(tmp_path)
    m = mount(emu, *FAST, env=env)
    d = m.p("apps", "ff", "doomed")
    os.mkdir(d)
    # The collection goes on the server; the mount still shows it (inside the TTL).
    status, _ = emu.api("DELETE", "/api/collection/ff/doomed")
    assert status == 200
    p = os.path.join(d, "x.json")
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b'{"x": 1}')
    try:
        os.fsync(fd)
        raise AssertionError("fsync of a record in a deleted collection succeeded")
    except OSError as e:
        assert e.errno == errno.ENOENT, e
    finally:
        os.close(fd)
    errs = [e for e in errors(m) if e["path"] == "/apps/ff/doomed/x.json"]
    assert errs and errs[-1]["status"] == 404 and "not found" in errs[-1]["message"]
    j = stats(m)["journal"]
    assert j["failed"] == 1 and j["pending"] == 0
    assert read(p) == b'{"x": 1}'  # what was refused stays visible
    log = unmount_drained(m)
    assert "not uploaded" in log and "kept in the upload journal" in log
    (jdir,) = journal_dirs(env)  # kept
    # The next mount tries it again: still failing, still kept, still listed.
    m2 = mount(emu, *FAST, env=env)
    wait_until(lambda: stats(m2)["journal"]["failed"] == 1, 30, "the retried entry to fail")
    assert any(e["path"] == "/apps/ff/doomed/x.json" for e in errors(m2))
    assert journal_dirs(env) == [jdir]
    # The collection made again: the file shows there; removing it clears the entry.
    d = m2.p("apps", "ff", "doomed")
    p = os.path.join(d, "x.json")
    os.mkdir(d)
    assert read(p) == b'{"x": 1}'
    os.unlink(p)
    j = wait_settled(m2)
    assert j["failed"] == 0
    os.rmdir(d)
    unmount_drained(m2)
    assert journal_dirs(env) == []


def test_async_rewriting_a_failed_file_replaces_its_entry(emulator, mount, tmp_path):
    emu = emulator("--generate", "rw/base:1")
    env = journal_env(tmp_path)
    m = mount(emu, *FAST, env=env)
    d = m.p("apps", "rw", "c2")
    os.mkdir(d)
    emu.api("DELETE", "/api/collection/rw/c2")
    p = os.path.join(d, "y.json")
    write(p, b'{"y": 1}')
    wait_until(lambda: stats(m)["journal"]["failed"] == 1, 30, "the create to fail")
    # The collection is made again on the server; the file written again goes there.
    status, _ = emu.api("POST", "/api/collection/rw", {"slug": "c2", "name": "c2"})
    assert status in (200, 201), status
    write(p, b'{"y": 2}', fsync=True)
    assert stats(m)["journal"]["failed"] == 0
    assert stored(emu, "rw", "c2")["y"] == {"y": 2}
    unmount_drained(m)
    assert journal_dirs(env) == []


def test_async_one_mount_per_journal_and_private_files(emulator, mount, tmp_path):
    emu = emulator("--generate", "lk/coll:1")
    env = journal_env(tmp_path)
    m = mount(emu, *FAST, env=env)
    (jdir,) = journal_dirs(env)
    assert stat.S_IMODE(os.stat(jdir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.dirname(jdir)).st_mode) == 0o700
    for f in os.listdir(jdir):
        assert stat.S_IMODE(os.stat(os.path.join(jdir, f)).st_mode) == 0o600, f
    about = open(os.path.join(jdir, "about")).read()
    assert emu.url in about and emu.user in about and emu.password not in about
    assert emu.password not in jdir and emu.user not in jdir
    # A second mount of the same URL and user with the option is refused; another
    # username would have its own journal.
    r = run_clappfs(["-f", "-o", f"username={emu.user},async_uploads", emu.url, "{mnt}"],
                    env=env, password=emu.password, workdir=str(tmp_path))
    assert not r.mounted and r.returncode != 0, r
    assert "in use by another clappfs mount" in r.output
    # Without the option the same URL mounts as usual.
    m2 = mount(emu, env=env)
    assert os.listdir(m2.p("apps", "lk", "coll"))
    m2.unmount()
    unmount_drained(m)


def test_async_ignored_read_only(emulator, tmp_path):
    emu = emulator("--generate", "ro/coll:1")
    env = journal_env(tmp_path)
    r = run_clappfs(["-f", "-o", f"username={emu.user},async_uploads,ro", emu.url, "{mnt}"],
                    env=env, password=emu.password, workdir=str(tmp_path), timeout=10)
    assert r.mounted, r
    assert "ignored on a read-only mount" in r.output
    assert journal_dirs(env) == []
    assert os.access(CLAPPFS, os.X_OK)
