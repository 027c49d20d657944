"""Options that shape the traffic: tries (retries of 502/503/504) and workers (pages
fetched in parallel), checked with the emulator's fault injection and counters."""
import math
import os

import pytest

from mount_helpers import route_count
import mount_jsontext as jt

APP, COLL = "uspresidents", "presidents"
ITEM = "GET /api/item/{app}/{slug}/{id}"
READ = "POST /api/dataframe/read_data"


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory("--demo", "--generate", f"{APP}/pages:3000")


@pytest.fixture(autouse=True)
def no_faults(emu):
    yield
    emu.faults({"fail_every": 0, "fail_rate": 0, "latency_ms": 0, "fail_routes": [],
                "fail_statuses": [502, 503, 504]})


def record_path(m, emu, index):
    rec = emu.records(APP, COLL)[index]
    return m.p("apps", APP, COLL, jt.escape_name(jt.plain(jt.get(rec, "_id"))) + ".json"), rec


def test_a_503_is_tried_again(emu, mount_factory):
    m = mount_factory(emu, "cache_ttl=300", "tries=4", "backoff=0.05")
    os.listdir(m.p("apps", APP))
    emu.faults({"fail_every": 2, "fail_statuses": [503], "fail_routes": ["/item"]})
    emu.reset()
    for i in range(4):
        path, rec = record_path(m, emu, 20 + i)
        with open(path, "rb") as f:
            assert f.read() == jt.render_record(rec)
    s = emu.stats()
    assert s["statuses"].get("503", 0) >= 3, s
    assert route_count(s, ITEM) == 4 + s["statuses"]["503"], s


def test_tries_1_gives_up_with_an_error(emu, mount_factory):
    m = mount_factory(emu, "cache_ttl=300", "tries=1")
    os.listdir(m.p("apps", APP))
    emu.faults({"fail_every": 1, "fail_statuses": [503], "fail_routes": ["/item"]})
    emu.reset()
    path, _ = record_path(m, emu, 30)
    with pytest.raises(OSError):
        with open(path, "rb") as f:
            f.read()
    s = emu.stats()
    assert 1 <= route_count(s, ITEM) <= 3, s  # one try per lookup the kernel makes


def test_workers_bound_the_parallel_page_fetches(emu, mount_factory):
    m = mount_factory(emu, "cache_ttl=300", "workers=3", "page_size=100")
    os.listdir(m.p("apps", APP))
    emu.faults({"latency_ms": 30, "fail_routes": ["/dataframe/read_data"]})
    emu.reset()
    names = os.listdir(m.p("apps", APP, "pages"))
    assert len(names) == 3001
    s = emu.stats()
    assert route_count(s, READ) == math.ceil(3000 / 100), s
    assert 2 <= s["max_concurrency"] <= 3, s
