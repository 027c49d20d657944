"""Outages the mount rides out: answers stalled past the timeout (retried), a server stopped
and started again (same port, same --db) during a long copy and between operations, access
tokens that expire every 2 s or are revoked again and again during a long copy."""
import json
import os
import subprocess
import threading
import time

from fault_helpers import (alive, make_collection, outcome, read, refresh, restartable,  # noqa: F401
                           stored, write)

APP = "uspresidents"
AUTH = "POST /api/auth"


def source_tree(tmp_path, n, name="src"):
    src = tmp_path / name
    src.mkdir()
    model = {}
    for i in range(n):
        model[f"s{i:03d}"] = {"i": i, "text": f"file {i}"}
        (src / f"s{i:03d}.json").write_text(json.dumps(model[f"s{i:03d}"]))
    return src, model


def as_stored(model):
    return {k: dict(v, _id=k) for k, v in model.items()}


def cp(src, dest, timeout=300):
    return subprocess.run(["cp", "-r", f"{src}/.", dest], capture_output=True, timeout=timeout)


def test_stalled_answers_are_tried_again(emulator, mount, tmp_path):
    """Every 3rd request stalls 1.5 s, past the 0.5 s timeout: each is tried again and every
    operation succeeds. (A stalled request is carried out late by the server, after the
    client gave up on it: a save made again in the meantime to the same record could be
    overwritten by it. Each record is written once here; the report has more.)"""
    emu = emulator("--demo")
    make_collection(emu, APP, "stall", [{"_id": "old", "v": 1}])
    m = mount(emu, "tries=4", "backoff=0.01", "timeout=0.5", "cache_ttl=1")
    d = m.p("apps", APP, "stall")
    os.listdir(d)
    src, model = source_tree(tmp_path, 12)
    emu.faults({"stall_ms": 1500, "stall_every": 3})
    emu.reset()
    start = time.monotonic()
    r = cp(src, d)
    assert r.returncode == 0, r.stderr
    os.unlink(os.path.join(d, "old.json"))
    time.sleep(1.1)
    assert sorted(os.listdir(d)) == sorted([".collection.json"] + [f"{k}.json" for k in model])
    for k, v in model.items():
        assert json.loads(read(os.path.join(d, f"{k}.json"))) == dict(v, _id=k)
    elapsed = time.monotonic() - start
    emu.faults({"stall_ms": 0, "stall_every": 0})
    time.sleep(1.6)  # the last stalled requests end
    assert stored(emu, APP, "stall") == as_stored(model)
    with open(m.p(".clappfs", "stats")) as f:
        retries = json.load(f)["requests"]["retries"]
    print(f"stalls: {emu.stats()['total']} requests, {retries} retried, {elapsed:.1f} s")
    assert retries >= 3
    assert alive(m)


def test_server_restarted_during_a_long_copy(restartable, mount, tmp_path):
    """cp of 150 files (10 ms a request); the server stops 1 s in and comes back 1.5 s
    later on the same port with the same data: cp succeeds (the requests of the outage are
    tried again with backoff until it is back) and everything is stored."""
    emu = restartable("--demo", "--latency-ms", "10")
    make_collection(emu, APP, "restart")
    m = mount(emu, "tries=8", "backoff=0.2", "timeout=2", "cache_ttl=300")
    d = m.p("apps", APP, "restart")
    os.listdir(d)
    src, model = source_tree(tmp_path, 150)
    result = {}

    def copy():
        start = time.monotonic()
        r = cp(src, d)
        result["cp"] = (r.returncode, r.stderr.decode(errors="replace"),
                        time.monotonic() - start)

    t = threading.Thread(target=copy)
    t.start()
    time.sleep(1.0)
    emu.stop()
    during = len(os.listdir(d))  # the cache answers while the server is away
    time.sleep(1.5)
    emu.start()
    t.join(300)
    rc, err, seconds = result["cp"]
    print(f"restart: {during} files before the stop, cp took {seconds:.1f} s")
    assert rc == 0, err
    assert 0 < during < 150 + 1
    assert stored(emu, APP, "restart") == as_stored(model)
    assert "Couldn't connect to server" in m.log() or "network" in m.log()
    assert alive(m)


def test_server_restarted_between_operations(restartable, mount, tmp_path):
    """With the server stopped: a mount with one try fails at once (EIO) for every
    operation that needs the server and serves what it has cached; a mount with tries and
    backoff rides over a short outage. Once it is back both go on, and the server holds
    exactly what the successful operations wrote."""
    emu = restartable("--demo")
    make_collection(emu, APP, "between", [{"_id": "a", "v": 1}, {"_id": "b", "v": 1}])
    quick = mount(emu, "tries=1", "timeout=2", "cache_ttl=300")
    patient = mount(emu, "tries=8", "backoff=0.2", "timeout=2", "cache_ttl=300")
    for mm in (quick, patient):
        os.listdir(mm.p("apps", APP, "between"))
    q = quick.p("apps", APP, "between")
    p = patient.p("apps", APP, "between")
    emu.stop()
    # The quick mount: cached reads work, changes fail at once.
    assert json.loads(read(os.path.join(q, "a.json")))["v"] == 1
    assert outcome(write, os.path.join(q, "a.json"), '{"v": 2}')[0] == "EIO"
    assert outcome(os.unlink, os.path.join(q, "b.json"))[0] == "EIO"
    # The patient mount: a save started in the outage ends after the restart.
    result = {}
    t = threading.Thread(target=lambda: result.update(
        save=outcome(write, os.path.join(p, "c.json"), '{"v": 3}')))
    t.start()
    time.sleep(1.0)
    emu.start()
    t.join(60)
    assert result["save"][0] is None, result
    # Both go on.
    write(os.path.join(q, "a.json"), '{"v": 4}')
    os.unlink(os.path.join(p, "b.json"))
    refresh(quick)
    refresh(patient)
    want = {"a": {"_id": "a", "v": 4}, "c": {"_id": "c", "v": 3}}
    assert stored(emu, APP, "between") == want
    for d in (q, p):
        assert sorted(os.listdir(d)) == [".collection.json", "a.json", "c.json"]
        assert json.loads(read(os.path.join(d, "a.json"))) == want["a"]
    assert alive(quick) and alive(patient)


def test_tokens_expiring_every_2_seconds_during_a_long_copy(emulator, mount, tmp_path):
    """--token-ttl 2 and 30 ms a request: a copy of 250 files lasts over 7 s and the mount
    logs in again as its tokens run out; nothing fails."""
    emu = emulator("--demo", "--token-ttl", "2", "--latency-ms", "30")
    make_collection(emu, APP, "ttl")
    m = mount(emu, "tries=4", "backoff=0.05", "timeout=5", "cache_ttl=300")
    d = m.p("apps", APP, "ttl")
    os.listdir(d)
    src, model = source_tree(tmp_path, 250)
    emu.reset()
    start = time.monotonic()
    r = cp(src, d)
    seconds = time.monotonic() - start
    s = emu.stats()
    print(f"token ttl 2 s: cp {seconds:.1f} s, {s['routes'].get(AUTH, 0)} logins, "
          f"statuses {s['statuses']}")
    assert r.returncode == 0, r.stderr
    assert seconds > 7
    assert s["routes"].get(AUTH, 0) >= 3
    assert stored(emu, APP, "ttl") == as_stored(model)
    assert alive(m)


def test_tokens_revoked_again_and_again_during_a_copy(emulator, mount, tmp_path):
    """POST /_emulator/expire-tokens every 0.3 s from a thread while 120 files are copied:
    requests answered 401 log in again once and are repeated; nothing fails."""
    emu = emulator("--demo", "--latency-ms", "15")
    make_collection(emu, APP, "revoked")
    m = mount(emu, "tries=4", "backoff=0.05", "timeout=5", "cache_ttl=300")
    d = m.p("apps", APP, "revoked")
    os.listdir(d)
    src, model = source_tree(tmp_path, 120)
    stop = threading.Event()
    revoked = []

    def revoke():
        while not stop.wait(0.3):
            emu.raw("POST", "/_emulator/expire-tokens")
            revoked.append(1)

    t = threading.Thread(target=revoke)
    emu.reset()
    t.start()
    try:
        r = cp(src, d)
    finally:
        stop.set()
        t.join(10)
    s = emu.stats()
    print(f"revoked {len(revoked)} times: {s['routes'].get(AUTH, 0)} logins, "
          f"statuses {s['statuses']}")
    assert r.returncode == 0, r.stderr
    assert s["statuses"].get("401", 0) >= 1
    assert s["routes"].get(AUTH, 0) >= s["statuses"].get("401", 0)
    assert stored(emu, APP, "revoked") == as_stored(model)
    assert alive(m)
