"""Helpers of the -o async_uploads tests (test_async_*.py): a private journal place per
test, unmounting that waits for the journal to drain, the mount's own counters."""
import glob
import json
import os
import subprocess
import time

# Journal retries come quickly in the tests (the first pause, doubling up to a minute).
FAST = ("async_uploads", "backoff=0.02")


def journal_env(tmp_path):
    """The environment of a mount whose journal lives under tmp_path/cache (the same
    place for a remount of the same URL and user)."""
    cache = os.path.join(str(tmp_path), "cache")
    os.makedirs(cache, exist_ok=True)
    return {"XDG_CACHE_HOME": cache}


def journal_dirs(env):
    """The journal directories under a journal_env."""
    return sorted(glob.glob(os.path.join(env["XDG_CACHE_HOME"], "clappfs", "*")))


def unmount_drained(m, timeout=120):
    """fusermount3 -u, then waits for clappfs to exit (the destroy callback sends what the
    journal holds first). Returns the mount's log."""
    r = subprocess.run(["fusermount3", "-u", m.path], capture_output=True)
    assert r.returncode == 0, r.stderr
    m.proc.wait(timeout)
    m.unmount()
    return m.log()


def kill_mount(m):
    """SIGKILL, as a crash: nothing is drained; the mount point is lazily detached."""
    m.proc.kill()
    m.proc.wait(10)
    subprocess.run(["fusermount3", "-u", "-z", m.path], capture_output=True)
    m.unmount()


def stats(m):
    with open(m.p(".clappfs", "stats"), "rb") as f:
        return json.loads(f.read())


def errors(m):
    with open(m.p(".clappfs", "errors"), "rb") as f:
        return [json.loads(line) for line in f.read().decode().splitlines() if line]


def wait_until(cond, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def wait_settled(m, timeout=60):
    """Until the journal has nothing pending (failed entries may stay)."""
    return wait_until(lambda: stats(m)["journal"]["pending"] == 0 and stats(m)["journal"],
                      timeout, "the journal to settle")


def stored(emu, app, slug):
    """{_id: record without _id} of what the emulator stores."""
    out = {}
    for text in json.loads(emu.records_text(app, slug)):
        rid = text.pop("_id")
        assert rid not in out, f"record {rid} stored twice"
        out[rid] = text
    return out


def stored_ids(emu, app, slug):
    """Every stored _id, repeats included."""
    return [r["_id"] for r in json.loads(emu.records_text(app, slug))]


def write(path, data, fsync=False):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


def read(path):
    with open(path, "rb") as f:
        return f.read()
