"""When the server cannot be reached: content inside its TTL is served as always; past the
TTL it is an error, unless -o stale_on_error, which serves what was fetched before (with a
warning) for network failures, timeouts and 5xx, never for 404 or 401."""
import errno
import json
import os
import re
import time

import pytest

APP, COLL = "uspresidents", "presidents"


def read(path):
    with open(path, "rb") as f:
        return f.read()


def first_record(m):
    return sorted(n for n in os.listdir(m.p("apps", APP, COLL)) if n != ".collection.json")[0]


def warm(emulator, mount, *options, timeout="2"):
    """An emulator and a mount (cache_ttl=0.5, one try) that listed the collection and read a
    record: (emu, mount, record name, its content)."""
    emu = emulator("--demo")
    m = mount(emu, "cache_ttl=0.5", "tries=1", f"timeout={timeout}", *options)
    name = first_record(m)
    return emu, m, name, read(m.p("apps", APP, COLL, name))


def wait_past_ttl():
    time.sleep(0.8)


def test_within_the_ttl_the_cache_serves_a_down_server(emulator, mount):
    emu = emulator("--demo")
    m = mount(emu, "tries=1", "timeout=2")  # the default TTL, 30 s
    name = first_record(m)
    before = read(m.p("apps", APP, COLL, name))
    emu.stop()
    assert read(m.p("apps", APP, COLL, name)) == before
    assert name in os.listdir(m.p("apps", APP, COLL))


@pytest.mark.parametrize("how", ["503", "stopped"])
def test_past_the_ttl_without_the_option_it_is_an_error(emulator, mount, how):
    emu, m, name, _ = warm(emulator, mount)
    if how == "503":
        emu.faults({"fail_rate": 1.0, "fail_statuses": [503]})
    else:
        emu.stop()
    wait_past_ttl()
    with pytest.raises(OSError) as e:
        read(m.p("apps", APP, COLL, name))
    assert e.value.errno == errno.EIO
    assert "serving stale" not in m.log()


@pytest.mark.parametrize("how", ["503", "502", "stopped", "timeout"])
def test_stale_on_error_serves_the_old_content(emulator, mount, how):
    emu, m, name, before = warm(emulator, mount, "stale_on_error",
                                timeout="0.3" if how == "timeout" else "2")
    if how in ("503", "502"):
        emu.faults({"fail_rate": 1.0, "fail_statuses": [int(how)]})
    elif how == "timeout":
        emu.faults({"stall_ms": 1500, "stall_every": 1})
    else:
        emu.stop()
    wait_past_ttl()
    assert read(m.p("apps", APP, COLL, name)) == before
    assert name in os.listdir(m.p("apps", APP, COLL))
    log = m.log()
    line = re.search(rf"^clappfs: warning: serving stale apps/{APP}/{COLL}/{re.escape(name)} "
                     r"\(age (\d+) s\): cannot reach server: (.*)$", log, re.M)
    assert line, log
    assert 0 <= int(line.group(1)) <= 30
    reason = {"503": "HTTP 503", "502": "HTTP 502", "stopped": "network",
              "timeout": "timeout"}[how]
    assert reason in line.group(2), line.group(0)
    s = json.loads(read(m.p(".clappfs", "stats")))
    assert s["cache"]["stale_served"] >= 1
    assert s["mount"]["stale_on_error"] is True
    errors = [json.loads(x) for x in read(m.p(".clappfs", "errors")).decode().splitlines()]
    assert any(x["op"] == "stale" and x["path"] == f"apps/{APP}/{COLL}/{name}" for x in errors)
    if how != "stopped":
        # Once the server answers again, fresh content replaces the stale one.
        emu.faults({"fail_rate": 0.0, "stall_ms": 0, "stall_every": 0})
        assert read(m.p("apps", APP, COLL, name)) == before


def test_stale_on_error_never_hides_a_404(emulator, mount):
    emu, m, name, _ = warm(emulator, mount, "stale_on_error")
    rid = name[:-len(".json")]
    status, body = emu.api("DELETE", f"/api/item/{APP}/{COLL}", {"oids": [rid]})
    assert status == 200, body
    wait_past_ttl()
    with pytest.raises(OSError) as e:
        read(m.p("apps", APP, COLL, name))
    assert e.value.errno == errno.ENOENT
    assert "serving stale" not in m.log()


def test_stale_on_error_never_hides_a_401(emulator, mount):
    emu, m, name, _ = warm(emulator, mount, "stale_on_error")
    # Every request, the login included, is refused: the credentials are no longer good.
    emu.faults({"fail_rate": 1.0, "fail_statuses": [401]})
    wait_past_ttl()
    with pytest.raises(OSError) as e:
        read(m.p("apps", APP, COLL, name))
    assert e.value.errno == errno.EACCES
    assert "serving stale" not in m.log()


def test_stale_on_error_is_in_help_and_off_by_default(emulator, mount, tmp_path):
    from mount_helpers import run_clappfs
    r = run_clappfs(["--help"], timeout=10, workdir=tmp_path)
    assert "stale_on_error" in r.output
    emu = emulator("--demo")
    m = mount(emu)
    assert json.loads(read(m.p(".clappfs", "stats")))["mount"]["stale_on_error"] is False
