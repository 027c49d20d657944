"""Emulator tests: login, JWT shape, token checks (missing, bad, expired, revoked) and the current user."""
import base64
import json
import time
import urllib.parse

from emutest import PASSWORD, USER, check_envelope


def _b64(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_login_answers_exactly_three_fields_and_a_jwt(emu):
    status, answer = emu.call("POST", "/api/auth", {"username": USER, "password": PASSWORD})
    assert status == 200
    check_envelope(answer, 200)
    data = answer["data"]
    assert set(data) == {"access_token", "refresh_expiration", "refresh_token"}
    assert isinstance(data["refresh_expiration"], int) and data["refresh_expiration"] > time.time()
    parts = data["access_token"].split(".")
    assert len(parts) == 3 and all(parts)
    assert not any("=" in p for p in parts), "JWT parts must be unpadded base64url"
    assert _b64(parts[0]) == {"alg": "HS256", "typ": "JWT"}
    payload = _b64(parts[1])
    assert payload["sub"] == USER
    assert 3590 <= payload["exp"] - time.time() <= 3602
    assert isinstance(data["refresh_token"], str) and data["refresh_token"]


def test_login_errors(emu):
    status, answer = emu.call("POST", "/api/auth", {"username": USER, "password": "wrong"})
    assert status == 401
    check_envelope(answer, 401)
    status, answer = emu.call("POST", "/api/auth", {"username": "nobody@x.test", "password": "x"})
    assert status == 401
    status, answer = emu.call("POST", "/api/auth", {"username": USER})
    assert status == 400 and "password" in answer["message"]
    status, answer = emu.call("POST", "/api/auth", {"username": USER, "password": 5})
    assert status == 400
    status, answer = emu.call("POST", "/api/auth", b'{"username": ')
    assert status == 400 and "JSON" in answer["message"]
    check_envelope(answer, 400)
    status, answer = emu.call("POST", "/api/auth", b"")
    assert status == 400


def test_missing_and_bad_tokens_are_401_on_every_route(emu, token):
    for method, path in [("GET", "/api/apps?extended=false"), ("GET", "/api/version"),
                         ("POST", "/api/auth/verify"), ("GET", "/api/user/me"),
                         ("POST", "/api/dataframe/read_data?extended=true"),
                         ("GET", "/api/item/uspresidents/presidents/x")]:
        status, answer = emu.call(method, path, {"limit": 1})
        assert status == 401, (path, answer)
        check_envelope(answer, 401)
        status, answer = emu.call(method, path, {"limit": 1}, token="not.a.token")
        assert status == 401, path
        status, answer = emu.call(method, path, headers={"Authorization": "Basic abc"})
        assert status == 401, path
    # A token whose payload was changed no longer verifies.
    head, body, sig = token.split(".")
    payload = _b64(body)
    payload["sub"] = "g.washington@clappform.test"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    status, answer = emu.call("GET", "/api/apps", token="%s.%s.%s" % (head, forged, sig))
    assert status == 401 and "signature" in answer["message"]


def test_verify_and_current_user(emu, token):
    status, answer = emu.call("POST", "/api/auth/verify", token=token)
    assert status == 200
    check_envelope(answer, 200)
    status, answer = emu.call("GET", "/api/user/me?extended=false", token=token)
    assert status == 200
    assert answer["data"]["email"] == USER
    assert "password" not in answer["data"]
    status, answer = emu.call("GET", "/api/user/me?extended=true", token=token)
    assert {"messages", "last_online", "permissions", "roles"} <= set(answer["data"])
    assert isinstance(answer["data"]["last_online"], int)


def test_token_expires_after_ttl(start_emu):
    emu = start_emu("--user", "a@b.test:pw", "--token-ttl", "1")
    token = emu.login("a@b.test", "pw")
    status, _ = emu.call("GET", "/api/apps", token=token)
    assert status == 200
    exp = _b64(token.split(".")[1])["exp"]
    time.sleep(max(0.0, exp - time.time()) + 0.05)
    status, answer = emu.call("GET", "/api/apps", token=token)
    assert status == 401 and "expired" in answer["message"]
    check_envelope(answer, 401)
    # Logging in again gives a fresh token, as the official client does.
    assert emu.call("GET", "/api/apps", token=emu.login("a@b.test", "pw"))[0] == 200


def test_expire_tokens_and_runtime_ttl(start_emu):
    emu = start_emu("--user", "a@b.test:pw")
    token = emu.login("a@b.test", "pw")
    assert emu.call("GET", "/api/apps", token=token)[0] == 200
    emu.control("POST", "expire-tokens")
    assert emu.call("GET", "/api/apps", token=token)[0] == 401
    out = emu.control("POST", "faults", {"token_ttl": 7})
    assert out["token_ttl"] == 7
    token = emu.login("a@b.test", "pw")
    assert _b64(token.split(".")[1])["exp"] - time.time() <= 8
    assert emu.call("GET", "/api/apps", token=token)[0] == 200


def test_deactivated_user_is_refused(start_emu):
    emu = start_emu("--user", "admin@b.test:pw", "--user", "bye+x@b.test:pw2")
    admin = emu.login("admin@b.test", "pw")
    other = emu.login("bye+x@b.test", "pw2")
    path = "/api/user/" + urllib.parse.quote("bye+x@b.test", safe="")
    status, answer = emu.call("DELETE", path, token=admin)
    assert status == 200 and "deactivated" in answer["message"]
    assert emu.call("GET", "/api/apps", token=other)[0] == 401
    status, answer = emu.call("POST", "/api/auth", {"username": "bye+x@b.test", "password": "pw2"})
    assert status == 401
    users = {u["email"]: u for u in emu.control("GET", "users")}
    assert users["bye+x@b.test"]["is_active"] is False
    assert users["admin@b.test"]["is_active"] is True
    assert isinstance(users["admin@b.test"]["id"], int)
