"""The HTTP(S) server: keep-alive request handling, envelopes, auth, faults and the /_emulator control routes."""
import json
import os
import socket
import ssl
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote

from . import routes
from .api import MISSING, ApiError, Request
from .badbody import spoil
from .faults import SettingsError
from .jsontext import RawJSON, dumpb
from .jwt_util import TokenError

MAX_BODY = 1 << 30


class Emulator:
    """Everything a request handler needs: store, tokens, faults, stats, logging switch."""

    def __init__(self, store, tokens, faults, stats, verbose=False):
        self.store = store
        self.tokens = tokens
        self.faults = faults
        self.stats = stats
        self.verbose = verbose

    def expire_tokens(self):
        secret = self.tokens.rotate()
        if self.store.path != ":memory:":
            self.store.meta_set("jwt_secret", secret.hex())


def envelope(status, message, data=MISSING, before=(), after=()):
    """The JSON body every API answer has: code, message, response_id, then data (+ extras)."""
    parts = [b'{"code":', str(status).encode(), b',"message":', dumpb(message),
             b',"response_id":"', os.urandom(12).hex().encode(), b'"']
    for key, value in before:
        parts += [b",", dumpb(key), b":", dumpb(value)]
    if data is not MISSING:
        parts.append(b',"data":')
        parts.append(data.data if isinstance(data, RawJSON) else dumpb(data))
    for key, value in after:
        parts += [b",", dumpb(key), b":", dumpb(value)]
    parts.append(b"}")
    return b"".join(parts)


class BodyError(Exception):
    """The request body could not be read as HTTP framing says; the connection is closed."""


class Handler(BaseHTTPRequestHandler):
    """One connection: HTTP/1.1 keep-alive, every answer with a Content-Length."""

    protocol_version = "HTTP/1.1"
    server_version = "clappform-emulator/1.0"
    sys_version = ""
    timeout = 600  # idle keep-alive connections are dropped after this many seconds

    def setup(self):
        super().setup()
        try:
            # Headers and body go out in two writes: without NODELAY, Nagle plus the
            # peer's delayed ACK would add ~40 ms to every keep-alive answer.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    @property
    def emu(self):
        return self.server.emu

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if self.emu.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    # -- plumbing ---------------------------------------------------------------

    def read_body(self):
        """The whole request body (Content-Length or chunked), so keep-alive stays in sync."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise BodyError("bad chunk size") from None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise BodyError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise BodyError("bad Content-Length") from None
        if n < 0 or n > MAX_BODY:
            raise BodyError("bad Content-Length")
        body = self.rfile.read(n)
        if len(body) != n:
            raise BodyError("body shorter than Content-Length")
        return body

    def send(self, status, body, headers=(), content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    def dispatch(self):
        raw_path, _, query = self.path.partition("?")
        try:
            body = self.read_body()
        except BodyError as exc:
            self.close_connection = True
            self.send(400, envelope(400, "Unreadable request body: %s" % exc))
            return
        if raw_path.startswith("/_emulator/"):
            self.control(raw_path, query, body)
        elif raw_path == "/api" or raw_path.startswith("/api/"):
            self.api(raw_path, query, body)
        else:
            self.send(404, envelope(404, "No such route: %s %s" % (self.command, raw_path)))

    # -- the API --------------------------------------------------------------------

    def api(self, raw_path, query, body):
        segments = [unquote(s) for s in raw_path.split("/")[1:]]
        if len(segments) > 1 and segments[-1] == "":
            segments.pop()  # tolerate one trailing slash
        found = routes.match(self.command, segments)
        emu = self.emu
        route = "%s %s" % (self.command, found.template)
        emu.stats.begin(route)
        # The request is counted as finished before its answer is written: a client
        # that reads /_emulator/stats right after its answer must see it counted.
        status, payload, headers = 500, b"", ()
        ctype = "application/json"
        try:
            delay, fail = emu.faults.decide("/" + "/".join(segments))
            if delay:
                time.sleep(delay)
            if fail:
                status = fail
                payload = envelope(fail, "Injected fault: the emulator answers %d" % fail)
            else:
                status, payload, headers = self.answer(found, query, body)
                # bad_body: a handled request's good answer spoiled (badbody.py).
                bad = emu.faults.decide_bad("/" + "/".join(segments)) \
                    if 200 <= status < 300 else None
                if bad:
                    payload, ctype = spoil(bad, payload)
        finally:
            emu.stats.end(status, route)
        self.send(status, payload, headers, ctype)

    def answer(self, found, query, body):
        """(status, body, extra headers) for a matched API request."""
        headers = ()
        try:
            if found.error is not None:
                if found.allow:
                    headers = (("Allow", ", ".join(found.allow)),)
                raise found.error
            params = dict(parse_qsl(query, keep_blank_values=True))
            req = Request(self.emu, self.command, found.template, found.params, params, body)
            if found.template not in routes.PUBLIC:
                req.user = self.authenticate()
            reply = found.handler(req)
            return reply.status, envelope(reply.status, reply.message, reply.data,
                                          reply.before, reply.after), headers
        except ApiError as exc:
            return exc.status, envelope(exc.status, exc.message), headers
        except RecursionError:
            return 400, envelope(400, "JSON nested too deeply"), headers
        except Exception as exc:  # a bug in the emulator: say so, keep serving
            traceback.print_exc()
            return 500, envelope(500, "Internal emulator error: %s" % exc), headers

    def authenticate(self):
        """The e-mail of the bearer token's active user, else a 401."""
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            raise ApiError(401, "Missing Authorization header")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Authorization header must be 'Bearer <token>'")
        try:
            payload = self.emu.tokens.verify(token.strip())
        except TokenError as exc:
            raise ApiError(401, str(exc)) from None
        email = payload.get("sub")
        user = self.emu.store.get("user", email) if isinstance(email, str) else None
        if user is None or not user.get("is_active", True):
            raise ApiError(401, "The token's user does not exist or is deactivated")
        return email

    # -- control routes (never counted, never faulted) ---------------------------------

    def control(self, raw_path, query, body):
        segments = [unquote(s) for s in raw_path.split("/")[2:]]
        method = self.command
        emu = self.emu
        try:
            if segments == ["stats"] and method == "GET":
                out = emu.stats.snapshot()
            elif segments == ["reset"] and method == "POST":
                emu.stats.reset()
                emu.faults.reset_counters()
                out = {"ok": True}
            elif segments == ["faults"] and method == "GET":
                out = dict(emu.faults.settings(), token_ttl=emu.tokens.ttl)
            elif segments == ["faults"] and method == "POST":
                out = self.set_faults(body)
            elif segments == ["expire-tokens"] and method == "POST":
                emu.expire_tokens()
                out = {"ok": True}
            elif segments == ["users"] and method == "GET":
                out = [{k: u.get(k) for k in ("email", "id", "first_name", "last_name",
                                              "is_active", "last_online")}
                       for u in emu.store.list("user")]
            elif segments == ["runs"] and method == "GET":
                out = emu.store.list("actionflow_run")
            elif len(segments) == 3 and segments[0] == "records" and method == "GET":
                coll = emu.store.get("collection", segments[1], segments[2])
                if coll is None:
                    raise ApiError(404, "No collection %s/%s" % (segments[1], segments[2]))
                texts = emu.store.record_all(int(coll["id"]))
                self.send(200, b"[" + b",".join(texts) + b"]")
                return
            else:
                raise ApiError(404, "No such control route: %s %s" % (method, raw_path))
        except ApiError as exc:
            self.send(exc.status, json.dumps({"error": exc.message}).encode())
            return
        self.send(200, dumpb(out))

    def set_faults(self, body):
        try:
            values = json.loads(body or b"{}")
        except ValueError as exc:
            raise ApiError(400, "Malformed JSON: %s" % exc) from None
        if not isinstance(values, dict):
            raise ApiError(400, "Body must be a JSON object")
        ttl = values.pop("token_ttl", None)
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1):
            raise ApiError(400, "token_ttl must be an integer >= 1")
        try:
            self.emu.faults.update(values)
        except SettingsError as exc:
            raise ApiError(400, str(exc)) from None
        if ttl is not None:
            self.emu.tokens.ttl = ttl
        return dict(self.emu.faults.settings(), token_ttl=self.emu.tokens.ttl)


class Server(ThreadingHTTPServer):
    """Threaded server; with an ssl context the TLS handshake runs in the connection's thread."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512  # many clients connect at once (connection pools of 32+)

    def __init__(self, address, emu, ssl_context=None):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.emu = emu
        self.ssl_context = ssl_context
        super().__init__(address, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True,
                                                do_handshake_on_connect=False)
        return sock, addr

    def finish_request(self, request, client_address):
        if self.ssl_context is not None:
            try:
                request.settimeout(30)
                request.do_handshake()
            except (ssl.SSLError, OSError) as exc:
                if self.emu.verbose:
                    sys.stderr.write("TLS handshake with %s failed: %s\n" % (client_address, exc))
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError)) and not self.emu.verbose:
            return
        super().handle_error(request, client_address)
