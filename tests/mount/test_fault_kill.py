"""The daemon killed with SIGKILL while files are being written: the writers get ENOTCONN
from their next write and close; the mount point is cleaned up (fusermount3 -u -z, or
umount -l) and mounted again on the same directory; what was closed before the kill is
stored, and only what was not yet closed is lost."""
import errno
import json
import os
import signal
import subprocess
import threading
import time

import pytest

from fault_helpers import make_collection, read, stored
from mount_helpers import CLAPPFS, is_mounted

APP = "uspresidents"


def remount(m, *options):
    """clappfs again on the same directory (-f, as the fixture's); returns the process."""
    env = dict(os.environ, CLAPPFORM_PASSWORD=m.emulator.password)
    env.pop("CLAPPFORM_USERNAME", None)
    opts = ",".join([f"username={m.emulator.user}"] + list(options))
    log = open(m.log_path + ".again", "wb")
    proc = subprocess.Popen([CLAPPFS, "-f", "-o", opts, m.emulator.url, m.path], stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 15
    while not os.path.ismount(m.path):
        assert proc.poll() is None, open(m.log_path + ".again").read()
        assert time.monotonic() < deadline, "no mount within 15 s"
        time.sleep(0.05)
    return proc


def unmount(path, proc):
    subprocess.run(["fusermount3", "-u", path], capture_output=True)
    proc.wait(15)


@pytest.mark.parametrize("cleanup", [["fusermount3", "-u", "-z"], ["umount", "-l"]])
def test_sigkill_during_writes(emulator, mount, cleanup):
    emu = emulator("--demo", "--latency-ms", "5")
    make_collection(emu, APP, "killed")
    m = mount(emu, "cache_ttl=300")
    d = m.p("apps", APP, "killed")
    os.listdir(d)
    # Closed before the kill: stored.
    for i in range(5):
        with open(os.path.join(d, f"closed{i}.json"), "w") as f:
            json.dump({"closed": i}, f)
    # Open, written, not closed.
    fds = []
    for i in range(3):
        fd = os.open(os.path.join(d, f"open{i}.json"), os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, json.dumps({"open": i}).encode())
        fds.append(fd)
    fd_existing = os.open(os.path.join(d, "closed0.json"), os.O_WRONLY | os.O_TRUNC)
    os.write(fd_existing, b'{"changed": true}')
    # Writers in a loop while the daemon dies.
    last_ok, errors = {}, {}
    stop = threading.Event()

    def writer(w):
        k = 0
        while not stop.is_set():
            path = os.path.join(d, f"loop{w}.json")
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.write(fd, json.dumps({"w": w, "k": k}).encode())
                os.close(fd)
                last_ok[w] = k
            except OSError as e:
                errors[w] = (k, errno.errorcode.get(e.errno, e.errno))
                return
            k += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    os.kill(m.pid, signal.SIGKILL)
    m.proc.wait(10)
    for t in threads:
        t.join(20)
    stop.set()
    assert not any(t.is_alive() for t in threads)
    # Every writer met the dead mount: ENOTCONN (or EIO while it was going down).
    assert set(errors) == set(range(4)), errors
    assert {e for _, e in errors.values()} <= {"ENOTCONN", "EIO", "ECONNABORTED"}, errors
    for fd in fds + [fd_existing]:
        with pytest.raises(OSError) as e:
            os.write(fd, b"}")
        assert e.value.errno in (errno.ENOTCONN, errno.EIO)
        with pytest.raises(OSError) as e:
            os.close(fd)  # the descriptor is gone all the same
        assert e.value.errno in (errno.ENOTCONN, errno.EIO)
    with pytest.raises(OSError) as e:
        os.listdir(d)
    assert e.value.errno == errno.ENOTCONN
    assert is_mounted(m.path)

    # Clean up and mount again on the same directory.
    r = subprocess.run(cleanup + [m.path], capture_output=True)
    assert r.returncode == 0, r.stderr
    assert not is_mounted(m.path)
    assert os.listdir(m.path) == []
    proc = remount(m, "cache_ttl=300")
    try:
        have = stored(emu, APP, "killed")
        for i in range(5):
            assert have[f"closed{i}"] == {"_id": f"closed{i}", "closed": i}
        for i in range(3):
            assert f"open{i}" not in have
        for w in range(4):
            # The last close that returned is stored, or the one the kill interrupted
            # (its request may have reached the server before the daemon died).
            k = last_ok.get(w, -1)
            rec = have.get(f"loop{w}")
            assert rec in ({"_id": f"loop{w}", "w": w, "k": k},
                           {"_id": f"loop{w}", "w": w, "k": k + 1}) or (k == -1 and rec is None)
        names = set(os.listdir(os.path.join(m.path, "apps", APP, "killed")))
        assert names == {".collection.json"} | {f"{k}.json" for k in have}
        assert json.loads(read(os.path.join(m.path, "apps", APP, "killed", "closed0.json"))) \
            == {"_id": "closed0", "closed": 0}
    finally:
        unmount(m.path, proc)
    assert not is_mounted(m.path)
