"""Starting actionflows through actionflows/<id>.start: the run read back from the same
handle and from <id>.last-run.json, what the emulator recorded, refusals with their errno
and the server's message in .clappfs/errors."""
import errno
import json
import os
import stat
import subprocess

import pytest

from fault_helpers import control_errors
from mount_helpers import route_count
from release_helpers import fails

START = "POST /api/actionflow/start"
ME = "GET /api/user/me"


def runs(emu):
    status, text = emu.raw("GET", "/_emulator/runs")
    assert status == 200, text
    return json.loads(text)


def user_id(emu):
    status, text = emu.raw("GET", "/_emulator/users")
    return [u["id"] for u in json.loads(text) if u["email"] == emu.user][0]


def write_close(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def test_start_reads_the_run_on_the_same_handle(emulator, mount):
    emu = emulator("--demo")
    m = mount(emu, "cache_ttl=300", "revalidate=300")
    path = m.p("actionflows", "1.start")
    st = os.stat(path)
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == 0
    assert not os.path.exists(m.p("actionflows", "1.last-run.json"))
    # Commands, not resources: not listed.
    assert sorted(os.listdir(m.p("actionflows"))) == ["1.json"]
    emu.reset()
    payload = b'{"month": "2024-05", "big": 123456789012345678901234, "dry": true}'
    with open(path, "r+b", buffering=0) as f:
        f.write(payload)
        os.fsync(f.fileno())  # starts it
        f.seek(0)
        shown = f.read()
    counts = emu.stats()
    assert route_count(counts, START) == 1 and route_count(counts, ME) == 1, counts["routes"]
    assert counts["total"] == 2, counts["routes"]  # the close after fsync sent nothing more
    doc = json.loads(shown)
    assert doc["ok"] is True and doc["status"] == 200 and doc["actionflow"] == "1"
    assert doc["message"] == "Started action flow 1."
    assert len(doc["response_id"]) == 24
    assert b"123456789012345678901234" in shown  # the settings as written, exactly
    assert doc["settings"]["month"] == "2024-05"
    recorded = runs(emu)[-1]
    assert recorded["run"] == doc["run"]["run"] and recorded["actionflow"] == 1
    assert recorded["user"] == user_id(emu)
    assert recorded["settings"] == {"month": "2024-05", "big": 123456789012345678901234,
                                    "dry": True}
    # The same document in last-run.json, read-only.
    last = m.p("actionflows", "1.last-run.json")
    with open(last, "rb") as f:
        assert f.read() == shown
    st = os.stat(last)
    assert stat.S_IMODE(st.st_mode) == 0o444 and st.st_size == len(shown)
    assert fails(open, last, "wb") == errno.EACCES

    # A shell redirection: one more start (the user's id is known by now).
    emu.reset()
    r = subprocess.run(["sh", "-c", "echo '{\"again\": 1}' > \"$0\"", path], capture_output=True)
    assert r.returncode == 0, r.stderr
    assert emu.stats()["routes"].get(START) == 1 and emu.stats()["total"] == 1
    assert runs(emu)[-1]["settings"] == {"again": 1}
    with open(last, "rb") as f:
        assert json.loads(f.read())["settings"] == {"again": 1}
    # An open and close that write nothing start nothing.
    emu.reset()
    write_close(path, b"")
    assert emu.stats()["total"] == 0


@pytest.mark.parametrize("payload", [b'{"a": 1', b"[1, 2]", b'"text"', b'{"a": 1, "a": 2}',
                                     b"\xff{}", b"   "])
def test_a_bad_payload_is_einval_and_sends_nothing(emulator, mount, payload):
    emu = emulator("--demo")
    m = mount(emu, "cache_ttl=300", "revalidate=300")
    path = m.p("actionflows", "1.start")
    os.stat(path)
    emu.reset()
    assert fails(write_close, path, payload) == errno.EINVAL
    assert emu.stats()["total"] == 0
    assert runs(emu) == []
    last = control_errors(m)[-1]
    assert last["op"] == "start" and last["errno"] == "EINVAL" and last["message"]
    assert last["path"] == "/actionflows/1.start"
    assert not os.path.exists(m.p("actionflows", "1.last-run.json"))


def test_a_refused_start_gives_the_errno_and_the_servers_message(emulator, mount):
    emu = emulator("--demo")
    status, made = emu.api("POST", "/api/actionflow", {"name": "Nightly", "settings": {}})
    assert status == 200, made
    fid = made["data"]["id"]
    m = mount(emu, "cache_ttl=300", "revalidate=300")
    # No such actionflow: no file, nothing sent.
    assert fails(os.stat, m.p("actionflows", "999.start")) == errno.ENOENT
    assert fails(open, m.p("actionflows", "999.start"), "wb") == errno.ENOENT
    assert runs(emu) == []

    # Deleted on the server while the mount still lists it: the server's 404.
    path = m.p("actionflows", f"{fid}.start")
    os.stat(path)
    assert emu.api("DELETE", f"/api/actionflow/{fid}")[0] == 200
    assert fails(write_close, path, b"{}") == errno.ENOENT
    last = control_errors(m)[-1]
    assert last["op"] == "start" and last["errno"] == "ENOENT" and last["status"] == 404
    assert last["message"] == f"Actionflow {fid} not found" and len(last["response_id"]) == 24
    with open(m.p("actionflows", f"{fid}.last-run.json"), "rb") as f:
        doc = json.loads(f.read())
    assert doc["ok"] is False and doc["status"] == 404 and doc["run"] is None
    assert doc["response_id"] == last["response_id"]

    # A 4xx the server answers for its own reasons (injected: 422) is EINVAL.
    emu.faults({"fail_rate": 1.0, "fail_statuses": [422], "fail_routes": ["/actionflow/start"]})
    assert fails(write_close, m.p("actionflows", "1.start"), b'{"x": 1}') == errno.EINVAL
    last = control_errors(m)[-1]
    assert last["status"] == 422 and last["errno"] == "EINVAL" and last["message"]
    assert runs(emu) == []


def test_read_only_mount_refuses_starts_and_imports(emulator, mount):
    emu = emulator("--demo")
    m = mount(emu, "ro")
    assert fails(open, m.p("actionflows", "1.start"), "wb") in (errno.EROFS, errno.EACCES)
    assert runs(emu) == []
    assert stat.S_IMODE(os.stat(m.p("exports", "uspresidents.json")).st_mode) == 0o444
    emu.reset()
    assert fails(open, m.p("exports", "uspresidents.json"), "wb") in (errno.EROFS, errno.EACCES)
    assert fails(open, m.p("exports", "new.json"), "wb") in (errno.EROFS, errno.EACCES)
    assert route_count(emu.stats(), "POST /api/transfer/app") == 0
    with open(m.p("exports", "uspresidents.json"), "rb") as f:
        assert json.loads(f.read())["apps"][0]["id"] == "uspresidents"
