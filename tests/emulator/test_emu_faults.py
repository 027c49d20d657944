"""Emulator tests: fault knobs (fail rate/every, stall, latency, route filter), runtime changes, stats."""
import socket
import threading
import time

import pytest

from emutest import check_envelope

USER = ("--user", "f@x.test:pw")


def test_fail_rate_one_fails_everything_with_the_envelope(start_emu):
    emu = start_emu(*USER, "--fail-rate", "1.0", "--fail-statuses", "502,504")
    seen = set()
    for _ in range(12):
        status, answer = emu.call("POST", "/api/auth", {"username": "f@x.test", "password": "pw"})
        assert status in (502, 504)
        check_envelope(answer, status)
        seen.add(status)
        status, answer = emu.call("GET", "/api/apps?extended=false")
        assert status in (502, 504)
    assert seen == {502, 504}
    stats = emu.control("GET", "stats")  # control routes are never faulted
    assert stats["total"] == 24
    assert sum(stats["statuses"].values()) == 24
    assert set(stats["statuses"]) <= {"502", "504"}


def test_fail_every_is_exact(start_emu):
    emu = start_emu(*USER, "--fail-every", "3")
    statuses = []
    for _ in range(9):
        statuses.append(emu.call("POST", "/api/auth", {"username": "f@x.test", "password": "pw"})[0])
    assert all(s in (502, 503, 504) for s in statuses[2::3])
    assert all(s == 200 for i, s in enumerate(statuses) if i % 3 != 2)


def test_stall_exceeds_a_client_timeout(start_emu):
    emu = start_emu(*USER, "--stall-ms", "1500", "--stall-every", "2")
    token = emu.login("f@x.test", "pw")  # request 1
    conn = emu.new_conn(timeout=0.5)
    start = time.time()
    with pytest.raises((socket.timeout, TimeoutError)):
        emu.raw("GET", "/api/apps", token=token, conn=conn)  # request 2 stalls
    assert time.time() - start < 1.4
    conn.close()
    start = time.time()
    assert emu.call("GET", "/api/apps", token=token)[0] == 200  # request 3 does not
    assert time.time() - start < 1.0  # a stall would take 1.5 s


def test_latency_applies_to_every_request(start_emu):
    emu = start_emu(*USER, "--latency-ms", "150")
    start = time.time()
    token = emu.login("f@x.test", "pw")
    emu.call("GET", "/api/apps", token=token)
    assert time.time() - start >= 0.3
    start = time.time()
    emu.control("GET", "stats")
    assert time.time() - start < 0.14  # not the control routes (latency is 0.15 s)


def test_runtime_fault_changes_and_route_filter(start_emu):
    emu = start_emu(*USER, "--demo")
    token = emu.login("f@x.test", "pw")
    settings = emu.control("GET", "faults")
    assert settings["fail_rate"] == 0 and settings["fail_statuses"] == [502, 503, 504]
    assert settings["token_ttl"] == 3600
    out = emu.control("POST", "faults", {"fail_every": 2, "fail_statuses": [503],
                                         "fail_routes": "/dataframe"})
    assert out["fail_every"] == 2 and out["fail_routes"] == ["/dataframe"]
    body = {"limit": 5, "app": "uspresidents", "collection": "presidents"}
    path = "/api/dataframe/read_data?extended=true"
    results = []
    for _ in range(4):
        assert emu.call("GET", "/api/apps", token=token)[0] == 200  # not filtered in
        results.append(emu.call("POST", path, body, token)[0])
    assert results == [200, 503, 200, 503]
    # Changing settings restarts the counter.
    emu.control("POST", "faults", {"fail_every": 3})
    results = [emu.call("POST", path, body, token)[0] for _ in range(3)]
    assert results == [200, 200, 503]
    emu.control("POST", "faults", {"fail_every": 0, "fail_rate": 1.0, "fail_routes": []})
    status, answer = emu.call("GET", "/api/version", token=token)
    assert status == 503
    check_envelope(answer, 503)
    emu.control("POST", "faults", {"fail_rate": 0})
    assert emu.call("GET", "/api/version", token=token)[0] == 200
    for bad in ({"fail_rate": 2}, {"fail_every": -1}, {"fail_statuses": []},
                {"latency_ms": "x"}, {"nonsense": 1}, {"token_ttl": 0}):
        status, _, _ = emu.raw("POST", "/_emulator/faults", bad)
        assert status == 400, bad


def test_stats_counters_and_reset(start_emu):
    emu = start_emu(*USER, "--demo")
    token = emu.login("f@x.test", "pw")
    emu.call("GET", "/api/apps?extended=false", token=token)
    emu.call("GET", "/api/app/uspresidents", token=token)
    emu.call("GET", "/api/item/uspresidents/presidents/6465e7a5c1a9f0e2d4000001", token=token)
    emu.call("GET", "/api/item/uspresidents/presidents/nope", token=token)
    emu.call("POST", "/api/dataframe/read_data", {"limit": 1, "query": "all-presidents"}, token)
    emu.call("GET", "/api/user/" + "demo%40clappform.test", token=token)
    emu.call("GET", "/api/apps")
    emu.call("GET", "/api/no/such/route", token=token)
    stats = emu.control("GET", "stats")
    assert stats["total"] == 9
    assert stats["routes"] == {
        "POST /api/auth": 1, "GET /api/apps": 2, "GET /api/app/{id}": 1,
        "GET /api/item/{app}/{slug}/{id}": 2, "POST /api/dataframe/read_data": 1,
        "GET /api/user/{email}": 1, "GET /api/(unknown)": 1}
    assert stats["statuses"] == {"200": 6, "404": 2, "401": 1}
    assert stats["max_concurrency"] == 1
    assert stats["route_max_concurrency"] == {k: 1 for k in stats["routes"]}
    assert emu.control("POST", "reset") == {"ok": True}
    stats = emu.control("GET", "stats")
    assert stats["total"] == 0 and stats["routes"] == {} and stats["statuses"] == {}
    assert stats["max_concurrency"] == 0 and stats["route_max_concurrency"] == {}
    assert emu.call("GET", "/api/apps", token=token)[0] == 200  # data and tokens stay
    assert emu.control("GET", "stats")["routes"] == {"GET /api/apps": 1}


def test_max_concurrency_sees_parallel_requests(start_emu):
    emu = start_emu(*USER, "--demo", "--latency-ms", "300")
    token = emu.login("f@x.test", "pw")
    emu.control("POST", "reset")
    barrier = threading.Barrier(8)
    errors = []

    def fetch(offset):
        try:
            conn = emu.new_conn()
            barrier.wait()
            status, _, _ = emu.raw("POST", "/api/dataframe/read_data?extended=true&next_page=%d"
                                   % offset, {"limit": 5, "query": "all-presidents"}, token,
                                   conn=conn)
            conn.close()
            assert status == 200
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=fetch, args=(i * 5,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    stats = emu.control("GET", "stats")
    assert stats["routes"] == {"POST /api/dataframe/read_data": 8}
    assert stats["max_concurrency"] >= 6
    assert stats["route_max_concurrency"]["POST /api/dataframe/read_data"] >= 6
