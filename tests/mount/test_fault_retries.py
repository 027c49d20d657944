"""Faults the client retries: 502/503/504 on a fraction of the requests, and what happens
when every request fails (503s, timeouts, a stopped server): the error, how long it takes,
and that nothing is half-written. (That a cached file is served inside its TTL while the
server cannot be reached is test_stale_on_error.py's first test.)"""
import json
import os
import shutil
import subprocess
import time

import pytest

from fault_helpers import (LogMark, alive, make_collection, outcome, read, refresh,
                           restartable, stored, write)  # noqa: F401 (restartable: a fixture)

APP = "uspresidents"
TRIES = {0.1: 8, 0.5: 20}  # a request fails for good with chance rate ** tries


def injected(emu):
    statuses = emu.stats()["statuses"]
    return sum(statuses.get(s, 0) for s in ("502", "503", "504"))


@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_5xx_on_a_fraction_of_the_requests(emulator, mount, tmp_path, rate):
    """cp in, list, read, edit (Python, sed -i), mv, rm through the mount while each API
    request fails with 502/503/504 at the given rate: every operation succeeds (tries with
    a short backoff) and the server ends up with exactly what was written."""
    emu = emulator("--demo")
    slug = f"frac{int(rate * 100)}"
    make_collection(emu, APP, slug)
    m = mount(emu, f"tries={TRIES[rate]}", "backoff=0.01", "timeout=2", "cache_ttl=0.5")
    d = m.p("apps", APP, slug)
    src = tmp_path / "src"
    src.mkdir()
    model = {}
    for i in range(60 if rate < 0.5 else 20):  # enough requests to meet the faults
        model[f"r{i}"] = {"i": i, "name": f"record {i}", "big": 10 ** 20 + i}
        (src / f"r{i}.json").write_text(json.dumps(model[f"r{i}"]))
    os.listdir(d)
    emu.faults({"fail_rate": rate, "fail_statuses": [502, 503, 504]})
    emu.reset()
    start = time.monotonic()
    r = subprocess.run(["cp", "-r", f"{src}/.", d], capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    time.sleep(0.6)  # past the TTL: the listing and reads go to the server
    assert sorted(os.listdir(d)) == sorted([".collection.json"] + [f"{k}.json" for k in model])
    for k, v in model.items():
        assert json.loads(read(os.path.join(d, f"{k}.json"))) == dict(v, _id=k)
    for k in ("r1", "r2"):  # Python rewrites
        model[k]["edited"] = True
        write(os.path.join(d, f"{k}.json"), json.dumps(model[k]))
    r = subprocess.run(["sed", "-i", "s/record 3/third record/", os.path.join(d, "r3.json")],
                       capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    model["r3"]["name"] = "third record"
    os.rename(os.path.join(d, "r4.json"), os.path.join(d, "moved.json"))
    model["moved"] = model.pop("r4")
    for k in ("r5", "r6"):
        os.unlink(os.path.join(d, f"{k}.json"))
        del model[k]
    elapsed = time.monotonic() - start
    failed = injected(emu)
    emu.faults({"fail_rate": 0.0})
    assert stored(emu, APP, slug) == {k: dict(v, _id=k) for k, v in model.items()}
    time.sleep(0.6)
    assert sorted(os.listdir(d)) == sorted([".collection.json"] + [f"{k}.json" for k in model])
    total = emu.stats()["total"]
    print(f"rate {rate}: {total} requests, {failed} injected 5xx, {elapsed:.1f} s")
    assert failed >= 1 and (rate < 0.5 or failed >= 0.3 * total)  # the faults were there
    with open(m.p(".clappfs", "stats")) as f:
        assert json.load(f)["requests"]["retries"] >= failed
    assert alive(m)


# When every request fails: the error each operation ends with, and within what time.
TRIES_ALL, TIMEOUT, BACKOFF = 3, 1.0, 0.05
# tries x timeout + the pauses between tries (0.05, 0.1) + slack for a busy machine
BOUND = TRIES_ALL * TIMEOUT + BACKOFF * (2 ** (TRIES_ALL - 1) - 1) + 1.5
ERRNO = {"503": "EIO", "stopped": "EIO", "timeout": "ETIMEDOUT"}


@pytest.mark.parametrize("how", ["503", "timeout", "stopped"])
def test_every_request_failing(restartable, mount, how):
    """Operations end with EIO (ETIMEDOUT for timeouts, as fs/base/errmap.h says) within
    tries x timeout (+ backoff); nothing is half-written: once the server is back it holds
    what it held, the mount shows it, and the file being saved still reads the old content.
    A timed-out request may still be carried out by the server after the client gave up
    (the emulator does, as a real server may): then the mount shows what the server did."""
    emu = restartable("--demo")
    make_collection(emu, APP, "down", [{"_id": "a", "v": 1}, {"_id": "c", "v": 1}])
    m = mount(emu, f"tries={TRIES_ALL}", f"backoff={BACKOFF}", f"timeout={TIMEOUT}",
              "cache_ttl=300")
    d = m.p("apps", APP, "down")
    os.listdir(d)
    old_a = read(os.path.join(d, "a.json"))
    before = stored(emu, APP, "down")
    fa = open(os.path.join(d, "a.json"), "w")   # opened while the server answers
    fb = open(os.path.join(d, "b.json"), "w")
    fa.write('{"v": 2}')
    fb.write('{"v": 3}')
    if how == "503":
        emu.faults({"fail_rate": 1.0, "fail_statuses": [503]})
    elif how == "timeout":
        emu.faults({"stall_ms": int(TIMEOUT * 1000) + 1500, "stall_every": 1})
    else:
        emu.stop()
    mark = LogMark(m)
    ops = [("update (close)", fa.close), ("create (close)", fb.close),
           ("rm", lambda: os.unlink(os.path.join(d, "c.json"))),
           ("mkdir", lambda: os.mkdir(m.p("apps", APP, "newcoll"))),
           ("refresh", lambda: refresh(m)),
           ("ls", lambda: os.listdir(d)),
           ("cat", lambda: read(os.path.join(d, "a.json")))]
    results = {}
    for name, fn in ops:
        err, seconds, _ = outcome(fn)
        results[name] = (err, round(seconds, 2))
    print(how, results)
    for name, (err, seconds) in results.items():
        if name == "refresh":
            assert err is None
            continue
        assert err == ERRNO[how], (name, results)
        assert seconds <= BOUND, (name, results)
    log = mark.text()
    assert "a.json: not saved: PUT /api/item/uspresidents/down/a: " in log
    assert "c.json: not deleted: DELETE /api/item/uspresidents/down: " in log
    assert {"503": "HTTP 503", "timeout": "timeout: ", "stopped": "network: "}[how] in log
    assert alive(m)

    # The server comes back.
    if how == "stopped":
        emu.start()
    emu.faults({"fail_rate": 0.0, "stall_ms": 0, "stall_every": 0})
    if how == "timeout":
        time.sleep(2.0)  # the stalled requests end (and may be carried out)
    refresh(m)
    now = stored(emu, APP, "down")
    if how != "timeout":
        assert now == before
        assert read(os.path.join(d, "a.json")) == old_a
        assert "c.json" in os.listdir(d)
    names = sorted(os.listdir(d))
    # b.json was never stored when its create failed: the mount keeps it, locally, to save
    # again (a new file keeps its content when a save fails), so nothing written is lost.
    assert names == sorted({".collection.json", "b.json"} | {f"{k}.json" for k in now})

    def plain(rec):
        return {k: v for k, v in rec.items() if k != "_id"}

    for k, rec in now.items():
        assert plain(json.loads(read(os.path.join(d, f"{k}.json")))) == plain(rec)
    if "b" not in now:
        assert read(os.path.join(d, "b.json")) == b'{"v": 3}'
        write(os.path.join(d, "b.json"), '{"v": 3}')  # saved once the server answers
        assert stored(emu, APP, "down")["b"] == {"_id": "b", "v": 3}
    assert alive(m)


def test_tries_x_timeout_bounds_a_read_of_an_unreachable_server(restartable, mount):
    """A cat of a record past its TTL with the server stalling: ETIMEDOUT after tries x
    timeout. The kernel asks twice: its entry for the name is past the TTL too, so it
    revalidates it (a lookup: the record's GET, tried `tries` times) and, that failing,
    drops it and looks the name up afresh at once; the second question gets the first's
    failure (a failed fetch answers for CACHE_FAIL_MEMO, 0.25 s) instead of waiting as
    long again. With the server stopped: EIO (a refused connection is instant). Measured
    and printed."""
    emu = restartable("--demo")
    make_collection(emu, APP, "bound", [{"_id": "x", "v": 1}])
    m = mount(emu, "tries=2", "backoff=0.05", "timeout=1.5", "cache_ttl=0.5")
    path = m.p("apps", APP, "bound", "x.json")
    read(path)
    emu.faults({"stall_ms": 4000, "stall_every": 1, "fail_routes": ["/item", "/dataframe"]})
    time.sleep(0.6)
    emu.reset()
    err, seconds, _ = outcome(read, path)
    print(f"stalled: {err} after {seconds:.2f} s, {emu.stats()['routes']}")
    assert err == "ETIMEDOUT"
    assert emu.stats()["routes"].get("GET /api/item/{app}/{slug}/{id}") == 2
    assert 2 * 1.5 <= seconds <= 2 * 1.5 + 0.05 + 1.0
    emu.faults({"stall_ms": 0, "stall_every": 0, "fail_routes": []})
    emu.stop()
    time.sleep(0.6)
    err, seconds, _ = outcome(read, path)
    print(f"stopped: {err} after {seconds:.2f} s")
    assert err == "EIO" and seconds < 2
    emu.start()
    time.sleep(0.6)
    assert json.loads(read(path)) == {"_id": "x", "v": 1}


def test_the_copy_of_a_tree_under_faults_is_byte_identical(emulator, mount, tmp_path):
    """cp -r of a whole collection out of the mount at 30% 5xx: the files equal those of
    a copy made without faults. The copy takes few requests (a listing of 7 pages), none
    of which might draw a 30% failure (8% of runs did): every 5th fails as well."""
    emu = emulator("--demo", "--generate", f"{APP}/gen:600")
    m = mount(emu, "tries=12", "backoff=0.01", "timeout=2", "cache_ttl=0.2", "page_size=100")
    clean = tmp_path / "clean"
    shutil.copytree(m.p("apps", APP, "gen"), clean)
    time.sleep(0.3)
    emu.faults({"fail_rate": 0.3, "fail_every": 5, "fail_statuses": [502, 503, 504]})
    faulty = tmp_path / "faulty"
    r = subprocess.run(["cp", "-r", m.p("apps", APP, "gen"), str(faulty)], capture_output=True,
                       timeout=300)
    emu.faults({"fail_rate": 0.0, "fail_every": 0})
    assert r.returncode == 0, r.stderr
    names = sorted(os.listdir(clean))
    assert sorted(os.listdir(faulty)) == names and len(names) == 601
    for n in names:
        assert (clean / n).read_bytes() == (faulty / n).read_bytes(), n
    assert injected(emu) > 0
