"""Logging: one line per event with levels; -o debug adds a line per HTTP request (method,
path, status, time, bytes); a mount in the background logs to syslog (LOG_DAEMON, ident
"clappfs")."""
import os
import re
import socket
import subprocess
import time

import pytest

from mount_helpers import CLAPPFS, PASSWORD, is_mounted

APP, COLL = "uspresidents", "presidents"
TRACE = re.compile(r"^clappfs: debug: HTTP (GET|POST|PUT|DELETE) (/api/\S*) (\d{3}), try (\d+), "
                   r"(\d+\.\d{3}) s, (\d+) bytes sent, (\d+) received \(log\.c:\d+\)$", re.M)


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory("--demo")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def test_debug_logs_every_request(emu, mount):
    emu.reset()
    m = mount(emu, "debug")
    names = [n for n in os.listdir(m.p("apps", APP, COLL)) if n.endswith(".json")]
    for n in names[:3]:
        read(m.p("apps", APP, COLL, n))
    read(m.p("version.json"))
    log = m.log()
    traces = TRACE.findall(log)
    seen = {(method, path.split("?")[0], status) for method, path, status, *_ in traces}
    assert ("POST", "/api/auth", "200") in seen, log
    assert ("GET", "/api/apps", "200") in seen, log
    assert ("GET", "/api/collections", "200") in seen, log
    assert ("POST", "/api/dataframe/read_data", "200") in seen, log
    assert ("GET", "/api/version", "200") in seen, log
    # One line per request: as many as the emulator counted.
    assert len(traces) == emu.stats()["total"], log
    for method, path, status, attempt, seconds, sent, received in traces:
        assert int(received) > 0 and float(seconds) >= 0
    # Other events are lines with their level too.
    assert re.search(r"^clappfs: mounted \S+ on \S+ \(\w+\.c:\d+\)$", log, re.M), log


def test_without_debug_no_request_lines(emu, mount):
    m = mount(emu)
    os.listdir(m.p("apps", APP, COLL))
    read(m.p("version.json"))
    log = m.log()
    assert "HTTP GET" not in log and "debug:" not in log, log
    assert re.search(r"^clappfs: mounted \S+ on \S+$", log, re.M), log


def test_warnings_and_errors_are_one_line_with_their_level(emulator, mount):
    emu = emulator("--demo")
    m = mount(emu, "tries=1", "cache_ttl=0")
    name = sorted(os.listdir(m.p("apps", APP, COLL)))[1]
    emu.faults({"fail_rate": 1.0, "fail_statuses": [502], "fail_routes": ["/api/item"]})
    with pytest.raises(OSError):
        read(m.p("apps", APP, COLL, name))
    emu.faults({"fail_rate": 0.0})
    lines = [line for line in m.log().splitlines() if "502" in line]
    assert lines, m.log()
    for line in lines:
        assert line.startswith("clappfs: "), line
    # The failure names the operation, the path, the request and the server's words.
    assert any(f"/apps/{APP}/{COLL}/{name}" in line and "GET /api/item/" in line and
               "HTTP 502" in line and "response_id" in line for line in lines), lines


class SyslogCatcher:
    """A datagram socket at /dev/log (made only when none exists) that keeps what arrives."""

    PATH = "/dev/log"

    def __init__(self):
        if os.path.exists(self.PATH):
            pytest.skip("/dev/log exists (a system logger runs): its messages cannot be caught")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self.sock.bind(self.PATH)
        except OSError as e:
            self.sock.close()
            pytest.skip(f"cannot bind {self.PATH}: {e}")
        self.sock.settimeout(0.2)
        self.messages = []

    def drain(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.messages.append(self.sock.recv(65536).decode("utf-8", "replace"))
            except socket.timeout:
                pass

    def close(self):
        self.sock.close()
        try:
            os.unlink(self.PATH)
        except OSError:
            pass


def test_background_mount_logs_to_syslog(emu, tmp_path):
    catcher = SyslogCatcher()
    mnt = tmp_path / "bg"
    mnt.mkdir()
    env = dict(os.environ, CLAPPFORM_PASSWORD=PASSWORD)
    try:
        r = subprocess.run([CLAPPFS, "-o", f"username={emu.user},insecure", emu.url, str(mnt)],
                           env=env, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r
        assert is_mounted(str(mnt))
        os.listdir(mnt / "apps")
        catcher.drain(1.0)
        subprocess.run(["fusermount3", "-u", str(mnt)], check=True)
        catcher.drain(1.0)
    finally:
        if is_mounted(str(mnt)):
            subprocess.run(["fusermount3", "-u", "-z", str(mnt)])
        catcher.close()
    ours = [m for m in catcher.messages if re.match(r"<\d+>.*clappfs\[\d+\]: ", m)]
    assert ours, catcher.messages
    for msg in ours:
        pri = int(re.match(r"<(\d+)>", msg).group(1))
        assert pri >> 3 == 3, msg  # LOG_DAEMON
    text = "\n".join(ours)
    # mounted: info (6); the insecure warning again, at warning (4); unmounted.
    assert re.search(r"<30>.*clappfs\[\d+\]: mounted " + re.escape(emu.url), text), text
    assert re.search(r"<28>.*clappfs\[\d+\]: warning: .*insecure", text), text
    assert re.search(r"clappfs\[\d+\]: unmounted ", text), text
    # One event a message: no newline inside.
    assert all("\n" not in m.rstrip("\n") for m in ours)
    # Before detaching, stderr said what mattered (the insecure warning).
    assert "insecure" in r.stderr
