"""Emulator tests: the bad_body fault (an answer's body spoiled after the request was handled):
its five modes, bad_every, bad_routes, the command-line options and the settings checks."""
import json

import pytest

from emutest import check_envelope

USER = ("--user", "b@x.test:pw")
ITEM = "/api/item/uspresidents/presidents/6465e7a5c1a9f0e2d4000001"
READ = "/api/dataframe/read_data?extended=true"
PAGE = {"limit": 3, "app": "uspresidents", "collection": "presidents"}


@pytest.fixture
def emu(start_emu):
    return start_emu(*USER, "--demo")


@pytest.fixture
def token(emu):
    return emu.login("b@x.test", "pw")


def spoiled(emu, token, spec, method="GET", path=ITEM, body=None):
    emu.control("POST", "faults", spec)
    try:
        return emu.raw(method, path, body, token)
    finally:
        emu.control("POST", "faults", {"bad_body": None, "bad_every": 0, "bad_routes": []})


def test_html(emu, token):
    status, body, resp = spoiled(emu, token, {"bad_body": "html"})
    assert status == 200
    assert resp.getheader("Content-Type").startswith("text/html")
    assert body.startswith(b"<!DOCTYPE html>")
    assert int(resp.getheader("Content-Length")) == len(body)


def test_truncated(emu, token):
    good = emu.raw("GET", ITEM, token=token)[1]
    status, body, resp = spoiled(emu, token, {"bad_body": "truncated"})
    assert status == 200 and resp.getheader("Content-Type") == "application/json"
    assert len(body) == len(good) // 2 and body[:30] == good[:30]  # response ids differ
    assert int(resp.getheader("Content-Length")) == len(body)
    with pytest.raises(ValueError):
        json.loads(body)


def test_wrong_type(emu, token):
    status, body, _ = spoiled(emu, token, {"bad_body": "wrong_type"})
    answer = json.loads(body)
    check_envelope(answer, 200)
    assert answer["data"] == []  # an object became an array
    status, body, _ = spoiled(emu, token, {"bad_body": "wrong_type"}, "POST", READ, PAGE)
    answer = json.loads(body)
    assert answer["data"] == {} and answer["total"] == 47  # an array became an object


def test_missing_data(emu, token):
    status, body, _ = spoiled(emu, token, {"bad_body": "missing_data"}, "POST", READ, PAGE)
    answer = json.loads(body)
    check_envelope(answer, 200)
    assert "data" not in answer and answer["total"] == 47


def test_missing_fields(emu, token):
    status, body, _ = spoiled(emu, token, {"bad_body": "missing_fields"}, "POST", READ, PAGE)
    answer = json.loads(body)
    check_envelope(answer, 200)
    assert len(answer["data"]) == 3
    assert all("_id" not in rec and "name" in rec for rec in answer["data"])
    status, body, _ = spoiled(emu, token, {"bad_body": "missing_fields"}, "GET",
                              "/api/apps?extended=false")
    apps = json.loads(body)["data"]
    assert apps and all("id" not in app and "name" in app for app in apps)


def test_numbers_survive_the_spoiling(emu, token):
    status, answer = emu.call("POST", "/api/item/uspresidents/presidents",
                              {"data": {"_id": "num", "big": 1, "x": 2}}, token)
    assert status == 200
    raw = b'{"data": {"big": 123456789012345678901234567890, "e": 1E400, "z": -0}}'
    assert emu.raw("PUT", "/api/item/uspresidents/presidents/num", raw, token)[0] == 200
    _, body, _ = spoiled(emu, token, {"bad_body": "missing_fields"}, "GET",
                         "/api/item/uspresidents/presidents/num")
    assert b'"big":123456789012345678901234567890,"e":1E400,"z":-0' in body


def test_the_request_is_handled_before_its_answer_is_spoiled(emu, token):
    status, body, _ = spoiled(emu, token, {"bad_body": "truncated"}, "POST",
                              "/api/item/uspresidents/presidents",
                              {"data": {"_id": "stored-anyway", "v": 1}})
    assert status == 200
    stored = json.loads(emu.raw("GET", "/_emulator/records/uspresidents/presidents")[1])
    assert {"_id": "stored-anyway", "v": 1} in stored


def test_errors_are_never_spoiled(emu, token):
    status, body, _ = spoiled(emu, token, {"bad_body": "html"}, "GET",
                              "/api/item/uspresidents/presidents/nope")
    assert status == 404
    check_envelope(json.loads(body), 404)


def test_bad_every_and_bad_routes(emu, token):
    emu.control("POST", "faults", {"bad_body": "html", "bad_every": 3, "bad_routes": ["/item"]})
    kinds = []
    for _ in range(6):
        assert emu.call("GET", "/api/apps", token=token)[0] == 200  # not picked
        kinds.append(emu.raw("GET", ITEM, token=token)[1][:1])
    assert kinds == [b"{", b"{", b"<", b"{", b"{", b"<"]
    settings = emu.control("GET", "faults")
    assert settings["bad_body"] == "html" and settings["bad_every"] == 3
    assert settings["bad_routes"] == ["/item"]
    # Changing any setting restarts the count.
    emu.control("POST", "faults", {"bad_every": 2})
    assert [emu.raw("GET", ITEM, token=token)[1][:1] for _ in range(2)] == [b"{", b"<"]
    emu.control("POST", "faults", {"bad_body": None})
    assert emu.raw("GET", ITEM, token=token)[1][:1] == b"{"
    assert emu.control("GET", "faults")["bad_body"] is None


def test_control_routes_are_never_spoiled(emu, token):
    emu.control("POST", "faults", {"bad_body": "html"})
    stats = emu.control("GET", "stats")
    assert "routes" in stats
    emu.control("POST", "faults", {"bad_body": None})


def test_bad_settings_are_refused(emu):
    for bad in ({"bad_body": "xml"}, {"bad_body": 1}, {"bad_every": -1}, {"bad_every": "2"},
                {"bad_routes": 5}):
        status, body, _ = emu.raw("POST", "/_emulator/faults", bad)
        assert status == 400, (bad, body)
        assert "bad_" in json.loads(body)["error"]


def test_command_line_options(start_emu):
    emu = start_emu(*USER, "--demo", "--bad-body", "missing_data", "--bad-every", "2",
                    "--bad-routes", "/dataframe")
    settings = emu.control("GET", "faults")
    assert (settings["bad_body"], settings["bad_every"], settings["bad_routes"]) == \
        ("missing_data", 2, ["/dataframe"])
    token = emu.login("b@x.test", "pw")  # auth is not picked
    answers = [json.loads(emu.raw("POST", READ, PAGE, token)[1]) for _ in range(2)]
    assert "data" in answers[0] and "data" not in answers[1]


def test_a_bad_mode_on_the_command_line_is_an_error(start_emu):
    with pytest.raises(RuntimeError) as e:
        start_emu(*USER, "--bad-body", "nonsense")
    assert "bad_body must be one of" in str(e.value)
