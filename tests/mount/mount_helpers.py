"""Helpers of the mount tests: the emulator and clappfs processes, and runs of clappfs
that are expected to fail."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("CLAPPFS_SOURCE_ROOT") or os.path.dirname(os.path.dirname(HERE))
BUILD_ROOT = os.environ.get("CLAPPFS_BUILD_ROOT") or "/work/main/build"
CLAPPFS = os.path.join(BUILD_ROOT, "fs", "clappfs")
EMULATOR = os.path.join(SOURCE_ROOT, "scripts", "emulator")
PYTHON = os.environ.get("CLAPPFS_PYTHON") or "/usr/bin/python3"

USER = "mount-tests@clappform.test"
PASSWORD = "Mount-Tests-Secret-7f3a"
DEMO_USER = "demo@clappform.test"
DEMO_PASSWORD = "demo"


def free_port():
    """A port nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Emulator:
    """One emulator process: scripts/emulator --port 0 --user USER:PASSWORD ARGS."""

    def __init__(self, args, workdir, user=USER, password=PASSWORD):
        self.user, self.password = user, password
        self.stderr_path = os.path.join(workdir, "emulator.stderr")
        self._stderr = open(self.stderr_path, "wb")
        cmd = [EMULATOR, "--port", "0", "--user", f"{user}:{password}"] + list(args)
        env = dict(os.environ, CLAPPFS_PYTHON=PYTHON)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr,
                                     stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        first = []
        reader = threading.Thread(target=lambda: first.append(self.proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(60)
        line = first[0].decode("utf-8", "replace").strip() if first else ""
        prefix = "listening on "
        if not line.startswith(prefix):
            self.stop()
            pytest.fail(f"emulator {cmd} did not start (first line {line!r}):\n{self.log()}")
        self.url = line[len(prefix):].strip().rstrip("/")
        # Keep draining stdout so that the emulator never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        self._token = None

    def _drain(self):
        try:
            for _ in self.proc.stdout:
                pass
        except (OSError, ValueError):
            pass

    def log(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def raw(self, method, path, body=None, token=None, timeout=30):
        """(status, text) of one request; body is JSON-encoded when not None."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    def login(self):
        status, text = self.raw("POST", "/api/auth",
                                {"username": self.user, "password": self.password})
        assert status == 200, f"emulator login failed: {status} {text}"
        self._token = json.loads(text)["data"]["access_token"]
        return self._token

    def api_text(self, method, path, body=None):
        """(status, text) of an authenticated /api request (logs in when needed)."""
        if self._token is None:
            self.login()
        status, text = self.raw(method, path, body, token=self._token)
        if status == 401:
            self.login()
            status, text = self.raw(method, path, body, token=self._token)
        return status, text

    def api(self, method, path, body=None):
        """(status, parsed JSON answer) of an authenticated /api request."""
        status, text = self.api_text(method, path, body)
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def stats(self):
        status, text = self.raw("GET", "/_emulator/stats")
        assert status == 200, text
        return json.loads(text)

    def reset(self):
        status, text = self.raw("POST", "/_emulator/reset")
        assert status in (200, 204), text

    def faults(self, spec):
        status, text = self.raw("POST", "/_emulator/faults", spec)
        assert status in (200, 204), text

    def records_text(self, app, slug):
        """The exact text of the stored records of a collection (a JSON array)."""
        from urllib.parse import quote
        status, text = self.raw("GET", f"/_emulator/records/{quote(app, safe='')}/"
                                       f"{quote(slug, safe='')}")
        assert status == 200, f"records of {app}/{slug}: {status} {text}"
        return text

    def records(self, app, slug):
        """The stored records as parsed tuple values (see mount_jsontext)."""
        import mount_jsontext as jt
        value = jt.parse(self.records_text(app, slug))
        assert value[0] == "arr", value
        return value[1]

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._stderr.close()


# A report of AddressSanitizer, LeakSanitizer or UndefinedBehaviorSanitizer (clappfs built
# with -Db_sanitize=address,undefined, as scripts/test's sanitizer stage does).
SANITIZER_REPORT = re.compile(r"ERROR: (?:Address|Leak)Sanitizer|runtime error:")


def sanitizer_report(text):
    """The start of a sanitizer's report in text, or "" when there is none."""
    m = SANITIZER_REPORT.search(text)
    return text[max(0, m.start() - 300):m.start() + 4000] if m else ""


def route_count(stats, route):
    return stats.get("routes", {}).get(route, 0)


def routes(stats):
    """The routes of the emulator's stats that were called, with their counts."""
    return {k: v for k, v in stats.get("routes", {}).items() if v}


def need(tool):
    """Skips the test when tool is not installed."""
    if not shutil.which(tool):
        pytest.skip(f"{tool} is not installed")


class Mount:
    """One clappfs process (-f) mounted at .path."""

    def __init__(self, emulator, workdir, options=(), user=None, password=None, env=None,
                 stdin_data=None, name="mnt"):
        """user/password: None means the emulator's, False means none given (the test
        passes them another way: env, password_file, password_stdin)."""
        self.emulator = emulator
        self.path = tempfile.mkdtemp(prefix=name + "-", dir=workdir)
        self.log_path = os.path.join(workdir, os.path.basename(self.path) + ".stderr")
        self._log = open(self.log_path, "wb")
        user = emulator.user if user is None else user
        password = emulator.password if password is None else password
        opts = ([f"username={user}"] if user else []) + list(options)
        cmd = [CLAPPFS, "-f"] + (["-o", ",".join(opts)] if opts else []) + \
            [emulator.url, self.path]
        self.cmd = cmd
        environment = dict(os.environ)
        environment.pop("CLAPPFORM_USERNAME", None)
        environment.pop("CLAPPFORM_PASSWORD", None)
        if password:
            environment["CLAPPFORM_PASSWORD"] = password
        environment.update(env or {})
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL if stdin_data is None
                                     else subprocess.PIPE, env=environment)
        if stdin_data is not None:
            try:
                self.proc.stdin.write(stdin_data)
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        deadline = time.monotonic() + 15
        while not os.path.ismount(self.path):
            if self.proc.poll() is not None:
                self._log.close()
                pytest.fail(f"clappfs exited with {self.proc.returncode} before mounting "
                            f"({' '.join(cmd)}):\n{self.log()}")
            if time.monotonic() > deadline:
                self.unmount()
                pytest.fail(f"clappfs did not mount within 15 s ({' '.join(cmd)}):\n"
                            f"{self.log()}")
            time.sleep(0.05)

    @property
    def pid(self):
        return self.proc.pid

    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-6000:]
        except OSError:
            return ""

    def sanitizer_report(self):
        """A sanitizer's report anywhere in the log ("" when none); leaks are reported when
        the process exits, so ask after unmount."""
        try:
            with open(self.log_path, "rb") as f:
                return sanitizer_report(f.read().decode("utf-8", "replace"))
        except OSError:
            return ""

    def mounted(self):
        """Whether the mount table lists .path (no stat of a possibly hung mount)."""
        return is_mounted(self.path)

    def unmount(self):
        if self.mounted():
            r = subprocess.run(["fusermount3", "-u", self.path], capture_output=True)
            if r.returncode != 0:
                subprocess.run(["fusermount3", "-u", "-z", self.path], capture_output=True)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        if self.mounted():  # the process died without unmounting
            subprocess.run(["fusermount3", "-u", "-z", self.path], capture_output=True)
        if not self._log.closed:
            self._log.close()
        try:
            os.rmdir(self.path)
        except OSError:
            pass
        return self.proc.returncode


def is_mounted(path):
    """Whether /proc/self/mountinfo lists path as a mount point."""
    target = os.path.realpath(path)
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 4:
                point = fields[4].encode().decode("unicode_escape")
                if point == target:
                    return True
    return False


class Run:
    """The outcome of a clappfs run that is expected to end on its own."""

    def __init__(self, returncode, output, elapsed, mounted):
        self.returncode, self.output, self.elapsed, self.mounted = \
            returncode, output, elapsed, mounted

    def __repr__(self):
        return (f"Run(rc={self.returncode}, {self.elapsed:.1f} s, mounted={self.mounted}, "
                f"output={self.output[-1500:]!r})")


def run_clappfs(args, env=None, password=PASSWORD, stdin_data=None, timeout=30, workdir=None):
    """Runs `clappfs ARGS` (a mountpoint, when needed, is args' "{mnt}"), waits until it
    exits (or mounts, or times out), unmounts whatever it mounted; returns a Run."""
    mnt = tempfile.mkdtemp(prefix="fail-", dir=workdir)
    cmd = [CLAPPFS] + [a.replace("{mnt}", mnt) for a in args]
    environment = dict(os.environ)
    environment.pop("CLAPPFORM_USERNAME", None)
    environment.pop("CLAPPFORM_PASSWORD", None)
    if password:
        environment["CLAPPFORM_PASSWORD"] = password
    environment.update(env or {})
    out = tempfile.TemporaryFile()
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=environment,
                            stdin=subprocess.DEVNULL if stdin_data is None else subprocess.PIPE)
    if stdin_data is not None:
        try:
            proc.stdin.write(stdin_data)
            proc.stdin.close()
        except BrokenPipeError:
            pass
    mounted = False
    while proc.poll() is None and time.monotonic() - start < timeout:
        if os.path.ismount(mnt):
            mounted = True
            break
        time.sleep(0.05)
    elapsed = time.monotonic() - start
    mounted = mounted or is_mounted(mnt)
    if mounted:
        subprocess.run(["fusermount3", "-u", "-z", mnt], capture_output=True)
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)
    out.seek(0)
    text = out.read().decode("utf-8", "replace")
    out.close()
    report = sanitizer_report(text)
    if report:
        pytest.fail(f"sanitizer report from {' '.join(cmd)}:\n{report}")
    try:
        os.rmdir(mnt)
    except OSError:
        pass
    return Run(proc.returncode if not mounted and elapsed < timeout else None, text, elapsed,
               mounted)
