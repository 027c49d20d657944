"""HS256 JSON Web Tokens: issue and verify access/refresh tokens with a server secret."""
import base64
import hashlib
import hmac
import json
import math
import os
import threading
import time

_HEADER = {"alg": "HS256", "typ": "JWT"}


def b64url(data):
    """base64url without padding, as JWT requires."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    """Inverse of b64url; accepts missing padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenError(Exception):
    """A token that does not verify; the message says why (shown in the 401 answer)."""


class Tokens:
    """Issues and checks tokens.

    Contract: a token is valid while its signature matches the current secret and
    now < exp.  rotate() replaces the secret, which invalidates every token issued
    so far (the /_emulator/expire-tokens control route).
    """

    REFRESH_TTL = 30 * 24 * 3600

    def __init__(self, secret=None, ttl=3600):
        self._lock = threading.Lock()
        self.secret = secret or os.urandom(32)
        self.ttl = ttl
        self._jti = 0

    def rotate(self):
        with self._lock:
            self.secret = os.urandom(32)
        return self.secret

    def _sign(self, payload):
        head = b64url(json.dumps(_HEADER, separators=(",", ":")).encode())
        body = b64url(json.dumps(payload, separators=(",", ":")).encode())
        signing_input = (head + "." + body).encode("ascii")
        sig = hmac.new(self.secret, signing_input, hashlib.sha256).digest()
        return head + "." + body + "." + b64url(sig)

    def issue(self, identity, user_id):
        """Return (access_token, refresh_token, refresh_expiration) for a user.

        exp is rounded up so that a token lives at least ttl seconds (a ttl of 1 must
        not produce a token that is already expired a few milliseconds later).
        """
        now = time.time()
        with self._lock:
            self._jti += 1
            jti = "%s-%d" % (os.urandom(6).hex(), self._jti)
        ttl = self.ttl
        common = {"sub": identity, "identity": identity, "user_id": user_id,
                  "iat": int(now), "jti": jti}
        access = dict(common, type="access", fresh=True, exp=int(math.ceil(now + ttl)))
        refresh_exp = int(now) + self.REFRESH_TTL
        refresh = dict(common, type="refresh", exp=refresh_exp)
        return self._sign(access), self._sign(refresh), refresh_exp

    def verify(self, token, kind="access"):
        """Return the payload of a valid token of the given kind, else raise TokenError."""
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("Token is malformed")
        signing_input = (parts[0] + "." + parts[1]).encode("ascii", "replace")
        expected = hmac.new(self.secret, signing_input, hashlib.sha256).digest()
        try:
            given = b64url_decode(parts[2])
            payload = json.loads(b64url_decode(parts[1]))
        except (ValueError, UnicodeDecodeError):
            raise TokenError("Token is malformed") from None
        if not hmac.compare_digest(expected, given):
            raise TokenError("Token signature is invalid")
        if not isinstance(payload, dict) or payload.get("type") != kind:
            raise TokenError("Token is not an %s token" % kind)
        exp = payload.get("exp")
        if not isinstance(exp, (int, float)) or time.time() >= exp:
            raise TokenError("Token has expired")
        return payload
