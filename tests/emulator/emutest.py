"""Helpers of the emulator tests: run an emulator process and talk HTTP to it."""
import http.client
import json
import os
import selectors
import ssl
import subprocess
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(HERE, "emulator.py")
PYTHON = os.environ.get("CLAPPFS_PYTHON", "/usr/bin/python3")
START_TIMEOUT = 60  # seconds to wait for "listening on" (--generate of 1M rows takes a few)

USER = "tester@clappform.test"
PASSWORD = "t3st-pw"


class Emu:
    """A running emulator process and a small HTTP client for it.

    Contract: start() returns once the process printed its "listening on" line;
    stop() terminates it and waits.  request() uses a keep-alive connection of
    the calling test (not shared across threads; threads use new_conn()).
    """

    def __init__(self, args, tls_ca=None):
        self.args = list(args)
        self.tls_ca = tls_ca
        self.proc = None
        self.url = None
        self._conn = None
        self._err = tempfile.TemporaryFile()

    def start(self):
        cmd = [PYTHON, EMULATOR, "--port", "0"] + self.args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._err)
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.time() + START_TIMEOUT
        line = b""
        while not line.endswith(b"\n"):
            if time.time() > deadline or not sel.select(timeout=max(0.0, deadline - time.time())):
                self.stop()
                raise RuntimeError("emulator did not start: %s" % self.stderr())
            chunk = os.read(self.proc.stdout.fileno(), 1)
            if not chunk:
                self.proc.wait()
                raise RuntimeError("emulator exited %s: %s" % (self.proc.returncode, self.stderr()))
            line += chunk
        sel.close()
        text = line.decode().strip()
        assert text.startswith("listening on "), text
        self.url = text[len("listening on "):]
        parts = urllib.parse.urlsplit(self.url)
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        return self

    def stderr(self):
        self._err.seek(0)
        return self._err.read().decode(errors="replace")

    def stop(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.proc.stdout.close()

    def new_conn(self, timeout=30):
        if self.scheme == "https":
            ctx = ssl.create_default_context(cafile=self.tls_ca)
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=ctx)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def raw(self, method, path, body=None, token=None, headers=None, conn=None):
        """(status, body bytes, response headers); body may be bytes, str or a JSON value."""
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        hdrs = {"Content-Type": "application/json"}
        if token:
            hdrs["Authorization"] = "Bearer " + token
        hdrs.update(headers or {})
        own = conn is None
        if own:
            if self._conn is None:
                self._conn = self.new_conn()
            conn = self._conn
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
        except (http.client.HTTPException, OSError):
            conn.close()
            if own:
                self._conn = None
            raise
        return resp.status, data, resp

    def call(self, method, path, body=None, token=None, **kw):
        """(status, parsed JSON answer)."""
        status, data, _ = self.raw(method, path, body, token, **kw)
        return status, json.loads(data)

    def login(self, user=USER, password=PASSWORD):
        status, answer = self.call("POST", "/api/auth", {"username": user, "password": password})
        assert status == 200, answer
        return answer["data"]["access_token"]

    def control(self, method, path, body=None):
        status, data, _ = self.raw(method, "/_emulator/" + path, body)
        assert status == 200, data
        return json.loads(data)


def check_envelope(answer, code):
    """Assert the envelope of an answer: code, a message string and a 24-hex response_id."""
    assert answer["code"] == code, answer
    assert isinstance(answer["message"], str) and answer["message"], answer
    rid = answer["response_id"]
    assert isinstance(rid, str) and len(rid) == 24 and int(rid, 16) >= 0, answer


def ok(pair, code=200):
    """The data of a (status, answer) pair that must carry code, its envelope checked."""
    status, answer = pair
    assert status == code, answer
    check_envelope(answer, code)
    return answer.get("data")


def err(pair, code, words=""):
    """The message of a (status, answer) error pair that must carry code, its envelope
    checked, no data, words (any case) in its message."""
    status, answer = pair
    assert status == code, answer
    check_envelope(answer, code)
    assert "data" not in answer
    assert words.lower() in answer["message"].lower(), answer
    return answer["message"]


# The field names the official client's dataclasses accept (clappform 4.2): an answer
# on a resource route holding any other name would make that client fail.
CLIENT_FIELDS = {
    "app": {"collections", "default_page", "description", "groups", "id", "name", "settings"},
    "collection": {"app", "slug", "database", "name", "description", "is_encrypted",
                   "is_locked", "is_logged", "queries", "sources", "id"},
    "query": {"app", "collection", "data_source", "export", "id", "name", "query", "slug",
              "source_query", "modules", "primary", "settings"},
    "actionflow": {"id", "name", "slug", "category", "fast", "multiple", "settings",
                   "start_keys", "extra_information", "cronjobs", "tasks"},
    "questionnaire": {"name", "id", "created_at", "active", "created_by", "latest_version",
                      "versions", "settings"},
    "user": {"email", "extra_information", "first_name", "last_name", "is_active", "id",
             "phone", "messages", "last_online", "permissions", "roles"},
    "auth": {"access_token", "refresh_expiration", "refresh_token"},
    "version": {"api", "web_application", "web_server"},
}


def q(segment):
    """Percent-encode one path segment (an id, slug or e-mail), as clients must."""
    return urllib.parse.quote(segment, safe="")
