"""Helpers of the fault, bad-input, consistency and soak tests (test_fault_*.py,
test_badinput_*.py, test_write_consistency.py, test_soak.py): whole logs, .clappfs/errors,
stored records, timing, threads, an emulator that can be stopped and started again on the
same port with the same data."""
import contextlib
import errno
import json
import os
import threading
import time

import pytest

from mount_helpers import Emulator, free_port


def full_log(m):
    """The whole clappfs log (Mount.log() keeps only its end)."""
    with open(m.log_path, "rb") as f:
        return f.read().decode("utf-8", "replace")


class LogMark:
    """What a mount logged since the mark was made."""

    def __init__(self, m):
        self.m = m
        self.start = os.path.getsize(m.log_path)

    def text(self):
        with open(self.m.log_path, "rb") as f:
            f.seek(self.start)
            return f.read().decode("utf-8", "replace")


def control_errors(m):
    """The entries of .clappfs/errors, parsed."""
    with open(m.p(".clappfs", "errors"), "rb") as f:
        return [json.loads(line) for line in f.read().decode().splitlines()]


def stored(emu, app, slug):
    """{_id: record} of what the emulator stores in a collection."""
    return {rec["_id"]: rec for rec in json.loads(emu.records_text(app, slug))}


def stored_texts(emu, app, slug):
    """{_id: exact stored text} of a collection (the emulator keeps _id first)."""
    import mount_jsontext as jt
    out = {}
    for value in jt.parse(emu.records_text(app, slug))[1]:
        out[jt.plain(jt.get(value, "_id"))] = jt.compact(value)
    return out


def outcome(fn, *args):
    """(errno name or None, seconds, result) of a call."""
    start = time.monotonic()
    try:
        result = fn(*args)
        return None, time.monotonic() - start, result
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno)), time.monotonic() - start, None


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    """open(O_WRONLY|O_CREAT|O_TRUNC), one write, close: the save's error is close's."""
    if isinstance(data, str):
        data = data.encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    except OSError:
        os.close(fd)
        raise
    os.close(fd)


def versions_of(bodies, rid):
    """The texts a reader may see of a record: the written bytes or the server's rendering."""
    seen = set()
    for b in bodies:
        seen.add(json.dumps(b).encode())
        rendered = {"_id": rid}
        rendered.update(b)
        seen.add((json.dumps(rendered, indent=2) + "\n").encode())
    return seen


def run_threads(target, args_list):
    """Runs target once per argument tuple in threads; the (args, exception) of those that
    raised. A thread still running after 2 minutes fails the test (it hangs)."""
    errors = []

    def wrap(*args):
        try:
            target(*args)
        except Exception as e:  # reported by the test
            errors.append((args, e))

    threads = [threading.Thread(target=wrap, args=a) for a in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a thread hangs"
    return errors


@contextlib.contextmanager
def looping(step, n):
    """Calls step() again and again in n threads while the with-block runs; yields the list
    that gets the exception a thread stopped on (the test checks it after the block)."""
    stop = threading.Event()
    failures = []

    def loop():
        try:
            while not stop.is_set():
                step()
        except Exception as e:  # reported by the test
            failures.append(e)

    threads = [threading.Thread(target=loop) for _ in range(n)]
    for t in threads:
        t.start()
    try:
        yield failures
    finally:
        stop.set()
        for t in threads:
            t.join(30)


def make_collection(emu, app, slug, records=()):
    status, text = emu.api("POST", f"/api/collection/{app}", {"slug": slug, "name": slug})
    assert status == 200, text
    for rec in records:
        status, text = emu.api("POST", f"/api/item/{app}/{slug}", {"data": rec})
        assert status == 200, text


def refresh(m):
    with open(m.p(".clappfs", "refresh"), "w") as f:
        f.write("1")


def alive(m):
    """The daemon runs and the mount answers."""
    return m.proc.poll() is None and m.mounted() and os.path.isdir(m.p("apps"))


def vmrss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Restartable:
    """An emulator on a fixed port with a --db file: stop() and start() again keep the URL,
    the data and the tokens (a mount over it goes on once it is back)."""

    def __init__(self, workdir, *args):
        self.workdir = workdir
        self.port = free_port()
        self.db = os.path.join(workdir, f"emu-{self.port}.sqlite")
        self.args = ["--port", str(self.port), "--db", self.db] + list(args)
        self.emu = None
        self.start()

    def start(self):
        # The seed options (--demo, --generate) are harmless again: what exists is kept.
        self.emu = Emulator(self.args, self.workdir)
        return self.emu

    def stop(self):
        if self.emu:
            self.emu.stop()

    def __getattr__(self, name):
        return getattr(self.emu, name)


@pytest.fixture
def restartable(tmp_path):
    made = []

    def start(*args):
        r = Restartable(str(tmp_path), *args)
        made.append(r)
        return r

    yield start
    for r in made:
        r.stop()
