"""Emulator tests: HTTP plumbing, persistence, seeds, generation, concurrency and HTTPS."""
import json
import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

from emutest import EMULATOR, PYTHON, check_envelope, q

USER = ("--user", "s@x.test:pw")


def test_keep_alive_and_content_length(emu, token):
    conn = emu.new_conn()
    for _ in range(5):
        status, body, resp = emu.raw("GET", "/api/version", token=token, conn=conn)
        assert status == 200
        assert int(resp.getheader("Content-Length")) == len(body)
        assert resp.getheader("Content-Type") == "application/json"
        assert resp.version == 11 and not resp.will_close
    # Errors keep the connection usable too.
    status, body, resp = emu.raw("GET", "/api/app/none", token=token, conn=conn)
    assert status == 404 and not resp.will_close
    assert emu.raw("GET", "/api/version", token=token, conn=conn)[0] == 200
    conn.close()


def test_chunked_body_and_expect_continue(emu, token):
    """Bodies framed as libcurl may send them: chunked, or after Expect: 100-continue."""
    payload = json.dumps({"data": {"via": "chunks", "pad": "x" * 3000}}).encode()
    with socket.create_connection((emu.host, emu.port)) as sock:
        head = ("POST /api/item/uspresidents/presidents HTTP/1.1\r\nHost: x\r\n"
                "Authorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n"
                "Content-Type: application/json\r\n\r\n" % token).encode()
        body = b"".join(b"%x\r\n%s\r\n" % (len(payload[i:i + 1000]), payload[i:i + 1000])
                        for i in range(0, len(payload), 1000)) + b"0\r\n\r\n"
        sock.sendall(head + body)
        answer = sock.recv(65536)
        while b'"via"' not in answer:
            answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200")
        head = ("POST /api/auth/verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                "Content-Length: 2\r\nExpect: 100-continue\r\n\r\n" % token).encode()
        sock.sendall(head)
        interim = sock.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100")
        sock.sendall(b"{}")
        rest = interim.split(b"\r\n\r\n", 1)[1]
        while b"Token is valid" not in rest:
            rest += sock.recv(65536)
        assert b"HTTP/1.1 200" in rest


def test_percent_encoded_segments(emu, token):
    emu.call("POST", "/api/app", {"id": "odd/app id+1"}, token)
    status, answer = emu.call("POST", "/api/collection/" + q("odd/app id+1"),
                              {"slug": "a b/c"}, token)
    assert status == 200, answer
    status, answer = emu.call("GET", "/api/collection/%s/%s" % (q("odd/app id+1"), q("a b/c")),
                              token=token)
    assert status == 200 and answer["data"]["app"] == "odd/app id+1"
    # '+' is a literal plus in a path, not a space.
    assert emu.call("GET", "/api/app/odd%2Fapp%20id+1", token=token)[0] == 200
    assert emu.call("GET", "/api/app/odd%2Fapp+id+1", token=token)[0] == 404


def test_db_persists_across_restart(start_emu, tmp_path):
    db = str(tmp_path / "emu.sqlite")
    first = start_emu(*USER, "--db", db)
    token = first.login("s@x.test", "pw")
    first.call("POST", "/api/app", {"id": "kept", "name": "Kept"}, token)
    first.call("POST", "/api/collection/kept", {"slug": "c"}, token)
    first.raw("POST", "/api/dataframe/kept/c", b'[{"_id":"r1","v":1.0e5},{"v":-0}]', token)
    first.call("POST", "/api/user", {"email": "new@x.test", "password": "np"}, token)
    before = first.raw("GET", "/_emulator/records/kept/c")[1]
    first.stop()
    second = start_emu("--db", db, *USER)  # --user again: already there, left alone
    assert second.call("GET", "/api/app/kept", token=token)[0] == 200  # tokens survive too
    assert second.raw("GET", "/_emulator/records/kept/c")[1] == before
    assert b'"v":1.0e5' in before and b'"v":-0' in before
    assert second.login("new@x.test", "np")
    status, answer = second.call("POST", "/api/app", {"id": "kept"}, token)
    assert status == 409
    # New numeric ids do not reuse old ones.
    status, answer = second.call("POST", "/api/collection/kept", {"slug": "d"}, token)
    assert answer["data"]["id"] == 2


def test_seed_file_and_bad_options(start_emu, tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({
        "apps": [{"id": "s", "name": "Seeded"}],
        "collections": [{"app": "s", "slug": "c", "database": "DATALAKE"}],
        "records": {"s/c": [{"_id": "a", "x": 1}, {"x": 2}]},
        "queries": [{"app": "s", "collection": "c", "slug": "sq", "query": []}],
        "actionflows": [{"id": 40, "name": "Forty"}],
        "questionnaires": [{"name": "Seeded form", "settings": {}}],
        "users": [{"email": "seed@x.test", "password": "sp", "first_name": "Seed"}]}))
    emu = start_emu("--seed", str(seed))
    token = emu.login("seed@x.test", "sp")
    assert emu.call("GET", "/api/collection/s/c", token=token)[1]["data"]["database"] == "DATALAKE"
    assert [r["x"] for r in emu.control("GET", "records/s/c")] == [1, 2]
    assert emu.call("GET", "/api/actionflow/40", token=token)[0] == 200
    status, answer = emu.call("POST", "/api/actionflow", {"name": "next"}, token)
    assert answer["data"]["id"] == 41
    bad = tmp_path / "bad.json"
    bad.write_text('{"apps": [{"name": "no id"}]}')
    for args in (["--seed", str(bad)], ["--user", "nocolon"], ["--generate", "x:y"],
                 ["--tls-cert", "/nonexistent", "--tls-key", "/nonexistent"]):
        proc = subprocess.run([PYTHON, EMULATOR, "--port", "0"] + args, capture_output=True,
                              timeout=30)
        assert proc.returncode == 2, args
        assert proc.stderr and not proc.stdout


def test_generate_100000_reads_back_in_pages(start_emu):
    start = time.time()
    emu = start_emu(*USER, "--generate", "gen/big:100000")
    started = time.time() - start
    token = emu.login("s@x.test", "pw")
    conn = emu.new_conn()
    start = time.time()
    offset, count, last_seq = 0, 0, -1
    while True:
        path = "/api/dataframe/read_data?extended=true&next_page=%d" % offset
        status, body, _ = emu.raw("POST", path, {"limit": 500, "app": "gen",
                                                 "collection": "big"}, token, conn=conn)
        assert status == 200
        answer = json.loads(body)
        assert answer["total"] == 100000
        for record in answer["data"]:
            assert record["seq"] == last_seq + 1
            last_seq = record["seq"]
        count += len(answer["data"])
        if "next_page" not in answer:
            break
        offset = answer["next_page"]
    elapsed = time.time() - start
    assert count == 100000
    print("generate 100000: %.2fs (incl. start); paging with limit 500: %.2fs"
          % (started, elapsed))
    assert elapsed < 20
    rec = emu.control("GET", "records/gen/big")[12345]
    assert set(rec) == {"_id", "seq", "name", "value", "active", "tags", "group"}
    assert rec["seq"] == 12345 and rec["name"] == "record 12345"
    assert len(rec["_id"]) == 24 and int(rec["_id"], 16)
    # The same --generate is deterministic: another emulator makes identical records.
    other = start_emu("--generate", "gen/big:20000")
    assert other.control("GET", "records/gen/big")[12345] == rec


def test_fifty_threads_reading_and_creating(start_emu):
    emu = start_emu(*USER, "--demo", "--generate", "uspresidents/load:5000")
    token = emu.login("s@x.test", "pw")
    errors = []
    created = []
    lock = threading.Lock()

    def worker(n):
        conn = emu.new_conn()
        try:
            for i in range(20):
                if i % 2:
                    status, body, _ = emu.raw(
                        "POST", "/api/dataframe/read_data?extended=true&next_page=%d"
                        % ((n * 97 + i * 13) % 5000), {"limit": 50, "app": "uspresidents",
                                                       "collection": "load"}, token, conn=conn)
                else:
                    status, body, _ = emu.raw("POST", "/api/item/uspresidents/load",
                                              {"data": {"worker": n, "i": i}}, token, conn=conn)
                    if status == 200:
                        with lock:
                            created.append(json.loads(body)["data"]["_id"])
                if status != 200:
                    errors.append((status, body[:200]))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]
    assert len(created) == 500 and len(set(created)) == 500
    stats = emu.control("GET", "stats")
    assert stats["statuses"] == {"200": 1001}
    assert stats["max_concurrency"] > 1
    status, answer = emu.call("POST", "/api/dataframe/read_data?extended=true",
                              {"limit": 1, "app": "uspresidents", "collection": "load"}, token)
    assert answer["total"] == 5500


@pytest.fixture
def self_signed(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", key, "-out", cert, "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_https(start_emu, self_signed):
    cert, key = self_signed
    emu = start_emu(*USER, "--tls-cert", cert, "--tls-key", key, tls_ca=cert)
    assert emu.url.startswith("https://127.0.0.1:")
    token = emu.login("s@x.test", "pw")
    status, answer = emu.call("GET", "/api/version", token=token)
    assert status == 200
    check_envelope(answer, 200)
    # A plain-HTTP or untrusting client fails without taking the server down.
    with socket.create_connection((emu.host, emu.port), timeout=5) as sock:
        sock.sendall(b"GET /api/version HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            sock.recv(100)
        except OSError:
            pass
    assert emu.call("GET", "/api/version", token=token)[0] == 200


def test_stops_on_sigterm(start_emu, tmp_path):
    emu = start_emu("--db", str(tmp_path / "x.sqlite"))
    emu.proc.terminate()
    assert emu.proc.wait(10) == 0
    assert os.path.exists(str(tmp_path / "x.sqlite"))
