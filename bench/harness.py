#!/usr/bin/python3
"""harness.py: the benchmark's processes: the emulator, mounts, curl baselines, timing."""
import errno
import json
import os
import shlex
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EMULATOR = os.path.join(ROOT, "scripts", "emulator")
PYTHON = "/usr/bin/python3"

USER = "bench@clappform.test"
PASSWORD = "Bench-Secret-4c1e"
APP = "bench"
IMPORT_COLL = "import"
DEFAULT_WORKERS = 8
DEFAULT_PAGE_SIZE = 500
DEFAULT_CACHE_MIB = 256
MEMORY_SLACK_MIB = 64

# strerror texts that mean "this filesystem does not write (yet)" in cp's messages.
NOT_IMPLEMENTED_ERRNOS = (errno.ENOSYS, errno.EROFS, errno.EPERM)
NOT_IMPLEMENTED_TEXTS = tuple(os.strerror(e) for e in NOT_IMPLEMENTED_ERRNOS)


class Interrupted(Exception):
    pass


class NotAvailable(Exception):
    """The scenario cannot run on this build (a feature not implemented yet)."""


class Failed(Exception):
    """The scenario ran and something went wrong (a clappfs failure to report)."""


def log(msg=""):
    print(msg, flush=True)


def fmt_s(x):
    return "-" if x is None else ("%.2f s" % x)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def tail(text, n=1500):
    text = text if isinstance(text, str) else text.decode("utf-8", "replace")
    return text[-n:]


# -- processes -------------------------------------------------------------------------

def run_timed(cmd, timeout, stdout_path=None, env=None):
    """Runs bash -c CMD in its own session; returns (seconds, rc, stderr text).

    A run that exceeds timeout is killed (the whole process group) and raises Failed.
    """
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    try:
        t0 = time.monotonic()
        p = subprocess.Popen(["bash", "-c", cmd], stdout=out, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, start_new_session=True, env=env)
        try:
            _, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            raise Failed("command timed out after %d s: %s" % (timeout, cmd))
        except BaseException:
            # Interrupted: the command runs in its own session, so end it here.
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            raise
        return time.monotonic() - t0, p.returncode, err.decode("utf-8", "replace")
    finally:
        if stdout_path:
            out.close()


def capture(argv, timeout=60):
    try:
        r = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return (r.stdout + r.stderr).decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "(%s)" % exc


def count_json_lines(path):
    n = 0
    with open(path, "rb") as f:
        for line in f:
            if line.rstrip(b"\n").endswith(b".json"):
                n += 1
    return n


def count_json_files(path):
    n = size = 0
    for root, _, files in os.walk(path):
        for name in files:
            if name.endswith(".json") and not name.startswith("."):
                n += 1
                size += os.lstat(os.path.join(root, name)).st_size
    return n, size


# -- the emulator -----------------------------------------------------------------------

class Emulator:
    def __init__(self, generate, workdir, latency_ms=0, timeout=600):
        self.err_path = os.path.join(workdir, "emulator.stderr")
        self._err = open(self.err_path, "wb")
        cmd = [EMULATOR, "--port", "0", "--host", "127.0.0.1", "--quiet",
               "--token-ttl", "86400", "--user", "%s:%s" % (USER, PASSWORD)]
        for spec in generate:
            cmd += ["--generate", spec]
        if latency_ms:
            cmd += ["--latency-ms", str(latency_ms)]
        env = dict(os.environ, CLAPPFS_PYTHON=PYTHON)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._err,
                                     stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        first = []
        reader = threading.Thread(target=lambda: first.append(self.proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(timeout)
        line = first[0].decode("utf-8", "replace").strip() if first else ""
        if not line.startswith("listening on http://127.0.0.1:"):
            self.stop()
            raise SystemExit("bench: the emulator did not start (first line %r):\n%s"
                             % (line, self.log()))
        self.url = line[len("listening on "):].rstrip("/")
        threading.Thread(target=self._drain, daemon=True).start()
        self.token = None

    def _drain(self):
        try:
            for _ in self.proc.stdout:
                pass
        except (OSError, ValueError):
            pass

    def log(self):
        try:
            with open(self.err_path, "rb") as f:
                return tail(f.read(), 3000)
        except OSError:
            return ""

    def raw(self, method, path, body=None, token=None, timeout=120):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def login(self):
        status, text = self.raw("POST", "/api/auth", {"username": USER, "password": PASSWORD})
        if status != 200:
            raise SystemExit("bench: emulator login failed: %s %s" % (status, text[:300]))
        self.token = json.loads(text)["data"]["access_token"]
        return self.token

    def api(self, method, path, body=None):
        if self.token is None:
            self.login()
        status, text = self.raw(method, path, body, self.token)
        if status == 401:
            self.login()
            status, text = self.raw(method, path, body, self.token)
        return status, (json.loads(text) if text else None)

    def stats(self):
        status, text = self.raw("GET", "/_emulator/stats")
        if status != 200:
            raise Failed("emulator stats: %s" % status)
        return json.loads(text)

    def reset(self):
        status, _ = self.raw("POST", "/_emulator/reset")
        if status not in (200, 204):
            raise Failed("emulator reset: %s" % status)

    def count(self, coll):
        status, answer = self.api("POST", "/api/dataframe/read_data?extended=true",
                                  {"limit": 1, "app": APP, "collection": coll})
        if status != 200:
            raise Failed("read_data %s/%s: %s %s" % (APP, coll, status, answer))
        return int(answer.get("total") or 0)

    def empty(self, coll):
        status, answer = self.api("DELETE", "/api/dataframe/%s/%s" % (APP, coll))
        if status not in (200, 204):
            raise Failed("emptying %s/%s: %s %s" % (APP, coll, status, answer))

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(15)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._err.close()


# -- clappfs mounts ---------------------------------------------------------------------

class Mount:
    live = []          # every mount not yet unmounted: cleaned up on exit

    def __init__(self, binary, emulator, workdir, options=(), timeout=30):
        self.path = tempfile.mkdtemp(prefix="mnt-", dir=workdir)
        self.log_path = self.path + ".log"
        self._log = open(self.log_path, "wb")
        opts = ["username=" + USER] + list(options)
        self.cmd = [binary, "-f", "-o", ",".join(opts), emulator.url, self.path]
        env = dict(os.environ)
        env.pop("CLAPPFORM_USERNAME", None)
        env["CLAPPFORM_PASSWORD"] = PASSWORD
        self.proc = subprocess.Popen(self.cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        Mount.live.append(self)
        deadline = time.monotonic() + timeout
        while not os.path.ismount(self.path):
            if self.proc.poll() is not None:
                self.unmount()
                raise Failed("clappfs exited with %s before mounting (%s): %s"
                             % (self.proc.returncode, " ".join(self.cmd), self.log()))
            if time.monotonic() > deadline:
                self.unmount()
                raise Failed("clappfs did not mount within %d s (%s): %s"
                             % (timeout, " ".join(self.cmd), self.log()))
            time.sleep(0.02)

    @property
    def pid(self):
        return self.proc.pid

    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return tail(f.read(), 2000)
        except OSError:
            return ""

    def status_kib(self, key):
        """VmHWM / VmRSS of the daemon in KiB (None once it is gone)."""
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def cpu_seconds(self):
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    def unmount(self, wait=60):
        """Unmounts and waits (bounded) for the daemon to exit; returns the seconds taken."""
        t0 = time.monotonic()
        if self in Mount.live:
            Mount.live.remove(self)
        for _ in range(20):
            if not os.path.ismount(self.path):
                break
            r = subprocess.run(["fusermount3", "-u", self.path], capture_output=True,
                               timeout=60)
            if r.returncode == 0:
                break
            time.sleep(0.25)          # EBUSY: something still has it open; try again
        try:
            self.proc.wait(wait)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(15)
        if os.path.ismount(self.path):
            subprocess.run(["fusermount3", "-u", "-z", self.path], capture_output=True,
                           timeout=60)
        elapsed = time.monotonic() - t0
        if not self._log.closed:
            self._log.close()
        try:
            os.rmdir(self.path)
        except OSError:
            pass
        return elapsed


# -- baselines: curl against the emulator ---------------------------------------------

class Curl:
    """Fetches a collection's pages or creates records with curl, as clappfs would."""

    def __init__(self, emulator, workers, page_size, mode, timeout):
        self.emu, self.workers, self.page_size = emulator, workers, page_size
        self.mode, self.timeout = mode, timeout

    def _headers(self):
        return ["Authorization: Bearer " + self.emu.token, "Content-Type: application/json"]

    def _config_entry(self, url, data, output):
        lines = ['url = "%s"' % url, 'request = "POST"']
        lines += ['header = "%s"' % h for h in self._headers()]
        lines += ['data-binary = "%s"' % data, 'output = "%s"' % output,
                  'write-out = "%{http_code}\\n"']
        return "\n".join(lines) + "\n"

    @staticmethod
    def _write_config(path, entries):
        """Entries separated by `next` (one after the last would be a transfer with no URL)."""
        with open(path, "w") as f:
            f.write("next\n".join(entries))

    def _check_codes(self, text, expect, what):
        codes = text.split()
        bad = [c for c in codes if c != "200"]
        if len(codes) != expect or bad:
            raise Failed("curl %s: %d answers, %d not 200 (%s)"
                         % (what, len(codes), len(bad), " ".join(sorted(set(bad)))[:200]))

    def fetch_pages(self, coll, outdir):
        """Page 0 first (it tells the total), then every other page, `workers` at once.

        Returns the number of pages."""
        os.makedirs(outdir, exist_ok=True)
        base = self.emu.url + "/api/dataframe/read_data?extended=true"
        body = json.dumps({"limit": self.page_size, "app": APP, "collection": coll})
        body_path = os.path.join(outdir, "body")
        with open(body_path, "w") as f:
            f.write(body)
        first = os.path.join(outdir, "page-0.json")
        cmd = ["curl", "-sS", "-X", "POST", "-o", first, "-w", "%{http_code}"]
        for h in self._headers():
            cmd += ["-H", h]
        cmd += ["--data-binary", "@" + body_path, base]
        r = subprocess.run(cmd, capture_output=True, timeout=self.timeout)
        self._check_codes(r.stdout.decode(), 1, "first page")
        with open(first, "rb") as f:
            total = int(json.load(f).get("total") or 0)
        offsets = list(range(self.page_size, total, self.page_size))
        if not offsets:
            return 1
        if self.mode == "xargs":
            hdr = " ".join("-H %s" % shlex.quote(h) for h in self._headers())
            script = ("xargs -P %d -I{} curl -sS -X POST -o %s/page-{}.json -w '%%{http_code}\\n' "
                      "%s --data-binary @%s '%s&next_page={}'"
                      % (self.workers, shlex.quote(outdir), hdr, shlex.quote(body_path), base))
            r = subprocess.run(["bash", "-c", script], input="\n".join(map(str, offsets)).encode(),
                               capture_output=True, timeout=self.timeout)
        else:
            cfg = os.path.join(outdir, "curl.cfg")
            self._write_config(cfg, [self._config_entry("%s&next_page=%d" % (base, off),
                                                        "@" + body_path,
                                                        os.path.join(outdir, "page-%d.json" % off))
                                     for off in offsets])
            r = subprocess.run(["curl", "-sS", "--parallel", "--parallel-immediate",
                                "--parallel-max", str(self.workers), "-K", cfg],
                               capture_output=True, timeout=self.timeout)
        self._check_codes(r.stdout.decode(), len(offsets), "pages")
        return 1 + len(offsets)

    def create_config(self, coll, bodies_dir, cfg):
        """A curl config that POSTs every body file of bodies_dir to /api/item/APP/COLL."""
        url = "%s/api/item/%s/%s" % (self.emu.url, APP, coll)
        names = sorted(os.listdir(bodies_dir))
        self._write_config(cfg, [self._config_entry(url, "@" + os.path.join(bodies_dir, name),
                                                    "/dev/null") for name in names])
        return len(names)

    def create(self, cfg, count, parallel):
        cmd = ["curl", "-sS"]
        if parallel:
            cmd += ["--parallel", "--parallel-immediate", "--parallel-max", str(self.workers)]
        cmd += ["-K", cfg]
        r = subprocess.run(cmd, capture_output=True, timeout=self.timeout)
        self._check_codes(r.stdout.decode(), count, "creates")


def split_pages(pagedir, dest):
    """The backup script: one pretty-printed <_id>.json file per record of every page."""
    os.makedirs(dest, exist_ok=True)
    n = 0
    for name in os.listdir(pagedir):
        if not (name.startswith("page-") and name.endswith(".json")):
            continue
        with open(os.path.join(pagedir, name), "rb") as f:
            page = json.load(f)
        for rec in page.get("data") or []:
            with open(os.path.join(dest, "%s.json" % rec["_id"]), "w", encoding="utf-8") as out:
                out.write(json.dumps(rec, indent=2, ensure_ascii=False))
                out.write("\n")
            n += 1
    return n


# -- the benchmark ------------------------------------------------------------------------

def routes_note(run):
    """', of which N GET item' when a run fetched records one by one."""
    n = (run.get("routes") or {}).get("GET /api/item/{app}/{slug}/{id}", 0)
    return (", of which %d GET item" % n) if n else ""


def stats_delta(a, b):
    return None if a is None or b is None else round(a - b, 3)


# -- output ---------------------------------------------------------------------------------
