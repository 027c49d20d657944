"""Fault injection (latency, stalls, 5xx failures) and the request counters behind /_emulator/stats."""
import random
import threading

from .badbody import MODES as BAD_BODY_MODES


class SettingsError(ValueError):
    """A fault setting of the wrong type or range; the message names it."""


def _int(name, value, minimum=0):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SettingsError("%s must be an integer >= %d" % (name, minimum))
    return value


def _statuses(value):
    if isinstance(value, str):
        try:
            value = [int(v) for v in value.split(",") if v.strip()]
        except ValueError:
            raise SettingsError("fail_statuses must be a list of HTTP statuses") from None
    if (not isinstance(value, list) or not value
            or any(isinstance(v, bool) or not isinstance(v, int) or not 100 <= v <= 599
                   for v in value)):
        raise SettingsError("fail_statuses must be a non-empty list of HTTP statuses")
    return value


def _routes(value, name="fail_routes"):
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
        raise SettingsError("%s must be a path prefix or a list of them" % name)
    out = []
    for item in value:
        out.extend(p.strip() for p in item.split(",") if p.strip())
    return out


def _bad_body(value):
    if value in (None, "", "off"):
        return None
    if value not in BAD_BODY_MODES:
        raise SettingsError("bad_body must be one of %s (or null)" % ", ".join(BAD_BODY_MODES))
    return value


class Faults:
    """The fault settings and their counters.

    Contract:
      - fail_routes (path prefixes, with or without the leading /api) restricts every
        fault to matching requests; empty means all API requests.
      - latency_ms: every matching request sleeps that long first.
      - stall_every N / stall_ms: every Nth matching request sleeps stall_ms more.
      - fail_every N: every Nth matching request fails (deterministic);
        otherwise fail_rate is the chance that one fails.  A failure answers a
        status drawn from fail_statuses with the usual envelope.
      - bad_body (badbody.MODES) spoils the body of a successful answer after the
        request was handled; bad_every N spoils every Nth matching answer (0 or 1: all),
        bad_routes (prefixes, like fail_routes, but on their own) picks the requests
        (empty: all API requests).
    update() replaces the named settings and restarts the Nth-request counters.
    """

    FIELDS = ("latency_ms", "fail_rate", "fail_statuses", "fail_every", "stall_ms",
              "stall_every", "fail_routes", "bad_body", "bad_every", "bad_routes")

    def __init__(self):
        self._lock = threading.Lock()
        self._rng = random.Random()
        self.latency_ms = 0
        self.fail_rate = 0.0
        self.fail_statuses = [502, 503, 504]
        self.fail_every = 0
        self.stall_ms = 0
        self.stall_every = 0
        self.fail_routes = []
        self.bad_body = None
        self.bad_every = 0
        self.bad_routes = []
        self._fail_count = 0
        self._stall_count = 0
        self._bad_count = 0

    def settings(self):
        return {name: getattr(self, name) for name in self.FIELDS}

    def update(self, values):
        """Validate then apply a dict of settings (all or nothing)."""
        new = {}
        for name, value in values.items():
            if name in ("latency_ms", "fail_every", "stall_ms", "stall_every", "bad_every"):
                new[name] = _int(name, value)
            elif name == "fail_rate":
                if isinstance(value, bool) or not isinstance(value, (int, float)) \
                        or not 0 <= value <= 1:
                    raise SettingsError("fail_rate must be a number from 0 to 1")
                new[name] = float(value)
            elif name == "fail_statuses":
                new[name] = _statuses(value)
            elif name == "fail_routes":
                new[name] = _routes(value)
            elif name == "bad_routes":
                new[name] = _routes(value, name)
            elif name == "bad_body":
                new[name] = _bad_body(value)
            else:
                raise SettingsError("unknown fault setting %r" % name)
        with self._lock:
            for name, value in new.items():
                setattr(self, name, value)
            self._fail_count = 0
            self._stall_count = 0
            self._bad_count = 0

    def reset_counters(self):
        with self._lock:
            self._fail_count = 0
            self._stall_count = 0
            self._bad_count = 0

    def decide_bad(self, path):
        """For one successful API answer: the bad_body mode to spoil it with, or None."""
        with self._lock:
            if not self.bad_body:
                return None
            if self.bad_routes and not any(path.startswith(p) or path.startswith("/api" + p)
                                           for p in self.bad_routes):
                return None
            self._bad_count += 1
            if self.bad_every > 1 and self._bad_count % self.bad_every != 0:
                return None
            return self.bad_body

    def _matches(self, path):
        if not self.fail_routes:
            return True
        for prefix in self.fail_routes:
            if path.startswith(prefix) or path.startswith("/api" + prefix):
                return True
        return False

    def decide(self, path):
        """For one API request: (sleep seconds, failure status or None)."""
        with self._lock:
            if not self._matches(path):
                return 0.0, None
            delay = self.latency_ms / 1000.0
            if self.stall_every and self.stall_ms:
                self._stall_count += 1
                if self._stall_count % self.stall_every == 0:
                    delay += self.stall_ms / 1000.0
            status = None
            if self.fail_every:
                self._fail_count += 1
                if self._fail_count % self.fail_every == 0:
                    status = self._rng.choice(self.fail_statuses)
            if status is None and self.fail_rate > 0 and self._rng.random() < self.fail_rate:
                status = self._rng.choice(self.fail_statuses)
            return delay, status


class Stats:
    """Counters of API requests since the last reset.

    routes is keyed by "METHOD /api/route/{template}", statuses by the answered
    status as a string; max_concurrency is the peak of API requests in flight, and
    route_max_concurrency the peak of each route's own (keyed as routes).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.in_flight = 0
        self.route_in_flight = {}
        self.reset()

    def reset(self):
        with self._lock:
            self.total = 0
            self.routes = {}
            self.statuses = {}
            self.max_concurrency = self.in_flight
            self.route_max = {k: v for k, v in self.route_in_flight.items() if v}

    def begin(self, key):
        with self._lock:
            self.total += 1
            self.routes[key] = self.routes.get(key, 0) + 1
            self.in_flight += 1
            if self.in_flight > self.max_concurrency:
                self.max_concurrency = self.in_flight
            n = self.route_in_flight.get(key, 0) + 1
            self.route_in_flight[key] = n
            if n > self.route_max.get(key, 0):
                self.route_max[key] = n

    def end(self, status, key=None):
        with self._lock:
            self.in_flight -= 1
            if key is not None:
                self.route_in_flight[key] -= 1
            key = str(status)
            self.statuses[key] = self.statuses.get(key, 0) + 1

    def snapshot(self):
        with self._lock:
            return {"total": self.total, "routes": dict(self.routes),
                    "statuses": dict(self.statuses), "max_concurrency": self.max_concurrency,
                    "route_max_concurrency": dict(self.route_max),
                    "in_flight": self.in_flight}
