#!/usr/bin/python3
"""bench.py: the clappfs benchmark; scripts/bench runs it. See bench/README.md.

Starts the emulator (127.0.0.1 only) with generated collections, mounts clappfs afresh
for every run, times each scenario and a baseline that does the same work without the
filesystem, alternately, and prints a table of medians (also written as JSON).

Standard library only; Debian's /usr/bin/python3.
"""
import argparse
import errno
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
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

class Bench:
    def __init__(self, args, binary, workdir):
        self.args, self.binary, self.workdir = args, binary, workdir
        scale = 10 if args.quick else 1
        self.n_big = 100000 // scale
        self.n_import = 10000 // scale
        self.n_million = 1000000 // scale
        self.coll_big = "c%d" % self.n_big
        self.coll_million = "c%d" % self.n_million
        self.timeout = args.timeout
        self.failures = []        # (scenario, text) seen during the runs
        self.rows = []
        self.emu = None
        self.curl = None
        self.help_text = capture([binary, "--help"])
        # Where backups are written: the scratch directory (local disk) unless --backup-dir.
        self.backup_root = workdir
        if args.backup_dir:
            os.makedirs(args.backup_dir, exist_ok=True)
            self.backup_root = tempfile.mkdtemp(prefix="clappfs-bench-backup-",
                                                dir=args.backup_dir)
        self.fs_opts = []
        if args.workers != DEFAULT_WORKERS:
            self.fs_opts.append("workers=%d" % args.workers)
        if args.page_size != DEFAULT_PAGE_SIZE:
            self.fs_opts.append("page_size=%d" % args.page_size)

    # helpers

    def path(self, *parts):
        return os.path.join(self.workdir, *parts)

    def mount(self, extra=()):
        return Mount(self.binary, self.emu, self.workdir, self.fs_opts + list(extra))

    def requests(self):
        return self.emu.stats().get("total")

    def counted(self):
        """The requests since the last reset: their total and their count by route."""
        st = self.emu.stats()
        return {"requests": st.get("total"), "routes": st.get("routes")}

    def note_failure(self, scenario, text):
        text = text.strip()
        log("  !! %s: %s" % (scenario, text))
        self.failures.append({"scenario": scenario, "failure": text})

    def wants(self, name):
        return not self.args.only or name in self.args.only

    # setup

    def start(self):
        gen = ["%s/%s:%d" % (APP, self.coll_big, self.n_big), "%s/%s:0" % (APP, IMPORT_COLL)]
        if self.wants("memory") and not self.args.skip_million:
            gen.append("%s/%s:%d" % (APP, self.coll_million, self.n_million))
        log("starting the emulator (%s) ..." % ", ".join(gen))
        t0 = time.monotonic()
        self.emu = Emulator(gen, self.workdir, self.args.latency_ms)
        self.emu.login()
        log("emulator at %s (ready in %.1f s)" % (self.emu.url, time.monotonic() - t0))
        self.curl = Curl(self.emu, self.args.workers, self.args.page_size, self.args.curl_mode,
                         self.timeout)
        # A local copy of the big collection: the baseline of reading and grep, the source
        # of the import.
        t0 = time.monotonic()
        pages = self.path("setup-pages")
        self.curl.fetch_pages(self.coll_big, pages)
        self.local = self.path("local-copy")
        n = split_pages(pages, self.local)
        shutil.rmtree(pages)
        if n != self.n_big:
            raise SystemExit("bench: local copy holds %d records, expected %d" % (n, self.n_big))
        names = sorted(os.listdir(self.local))[:self.n_import]
        self.import_src = self.path("import-src")
        self.import_bodies = self.path("import-bodies")
        os.makedirs(self.import_src)
        os.makedirs(self.import_bodies)
        for name in names:
            shutil.copyfile(os.path.join(self.local, name), os.path.join(self.import_src, name))
            with open(os.path.join(self.local, name), "rb") as f:
                rec = json.load(f)
            with open(os.path.join(self.import_bodies, name), "w") as f:
                json.dump({"data": rec}, f)
        _, self.local_bytes = count_json_files(self.local)
        log("local copy: %d files, %d bytes (%.1f s)"
            % (n, self.local_bytes, time.monotonic() - t0))

    def stop(self):
        if self.emu:
            self.emu.stop()
        if self.backup_root != self.workdir:
            shutil.rmtree(self.backup_root, ignore_errors=True)

    # scenarios --------------------------------------------------------------------------

    def scenario_list_and_read(self):
        """1. cold ls -l of the big collection; 2. reading every record after it."""
        coll = self.coll_big
        runs1, runs2 = [], []
        base1, base2 = [], []
        err1 = err2 = None
        fs_bytes = None
        for i in range(self.args.runs):
            r1, r2 = {}, {}
            try:
                m = self.mount()
                try:
                    d = m.p("apps", APP, coll)
                    out = self.path("ls.out")
                    self.emu.reset()
                    cpu0 = m.cpu_seconds()
                    t, rc, err = run_timed("ls -l %s > %s" % (shlex.quote(d), shlex.quote(out)),
                                           self.timeout)
                    got = {"time": t, **self.counted(),
                           "daemon_cpu_s": _delta(m.cpu_seconds(), cpu0)}
                    listed = count_json_lines(out)
                    if rc != 0 or listed != self.n_big:
                        raise Failed("`ls -l %s`: expected exit 0 and %d entries, got exit %d "
                                     "and %d entries; stderr: %s"
                                     % (d, self.n_big, rc, listed, tail(err, 400)))
                    r1 = got
                    self.emu.reset()
                    cpu0 = m.cpu_seconds()
                    t, rc, err = run_timed(
                        "find %s -name '*.json' -print0 | xargs -0 cat > /dev/null"
                        % shlex.quote(d), self.timeout)
                    got = {"time": t, **self.counted(),
                           "daemon_cpu_s": _delta(m.cpu_seconds(), cpu0)}
                    if rc != 0:
                        raise Failed("`find %s -name '*.json' -print0 | xargs -0 cat`: expected "
                                     "exit 0, got %d; stderr: %s" % (d, rc, tail(err, 400)))
                    r2 = got
                    if fs_bytes is None:
                        _, fs_bytes = count_json_files(d)
                finally:
                    m.unmount()
            except Failed as exc:
                self.note_failure("list/read", str(exc))
                if not r1:
                    err1 = str(exc)
                err2 = str(exc)
            if r1:
                runs1.append(r1)
            if r2:
                runs2.append(r2)
            # baselines
            pages = self.path("bl-pages")
            self.emu.reset()
            t0 = time.monotonic()
            npages = self.curl.fetch_pages(coll, pages)
            b1 = {"time": time.monotonic() - t0, "requests": self.requests(), "pages": npages}
            shutil.rmtree(pages)
            t, rc, err = run_timed("find %s -name '*.json' -print0 | xargs -0 cat > /dev/null"
                                   % shlex.quote(self.local), self.timeout)
            b2 = {"time": t}
            base1.append(b1)
            base2.append(b2)
            log("  run %d/%d: ls -l %s (%s req), baseline %s | cat %s (%s req), local %s"
                % (i + 1, self.args.runs, fmt_s(r1.get("time")), r1.get("requests", "-"),
                   fmt_s(b1["time"]), fmt_s(r2.get("time")), r2.get("requests", "-"),
                   fmt_s(b2["time"])))
        self.add_row("1. cold ls -l", self.n_big, runs1, base1, max_ratio=1.3, error=err1,
                     extra={"baseline": "curl, %d pages of %d, %d in parallel (%s)"
                            % (base1[0]["pages"], self.args.page_size, self.args.workers,
                               self.args.curl_mode)})
        self.add_row("2. cat every record (after listing)", self.n_big, runs2, base2,
                     max_ratio=3.0, error=err2 if not runs2 else None,
                     extra={"baseline": "same command over a local copy (page cache)",
                            "bytes_clappfs": fs_bytes, "bytes_local": self.local_bytes})

    def scenario_backup(self):
        """3. cp -r of the big collection to local disk, cold."""
        coll = self.coll_big
        runs, base = [], []
        err = None
        for i in range(self.args.runs):
            r = {}
            dest = os.path.join(self.backup_root, "backup")
            try:
                m = self.mount()
                try:
                    d = m.p("apps", APP, coll)
                    self.emu.reset()
                    cpu0 = m.cpu_seconds()
                    t, rc, e = run_timed("cp -r %s %s" % (shlex.quote(d), shlex.quote(dest)),
                                         self.timeout)
                    r = {"time": t, **self.counted(),
                         "daemon_cpu_s": _delta(m.cpu_seconds(), cpu0)}
                    n, size = count_json_files(dest)
                    r["bytes"] = size
                    if rc != 0 or n != self.n_big:
                        raise Failed("`cp -r %s DEST`: expected exit 0 and %d files, got exit %d "
                                     "and %d files; stderr: %s"
                                     % (d, self.n_big, rc, n, tail(e, 400)))
                finally:
                    m.unmount()
            except Failed as exc:
                self.note_failure("backup", str(exc))
                err = str(exc)
                r = {}
            finally:
                shutil.rmtree(dest, ignore_errors=True)
            if r:
                runs.append(r)
            # baseline: curl the pages, then a script writes one file per record
            pages = self.path("bl-pages")
            bdest = os.path.join(self.backup_root, "bl-backup")
            self.emu.reset()
            t0 = time.monotonic()
            self.curl.fetch_pages(coll, pages)
            t_fetch = time.monotonic() - t0
            t2, rc, e = run_timed("%s %s split %s %s" % (PYTHON, shlex.quote(__file__),
                                                          shlex.quote(pages), shlex.quote(bdest)),
                                  self.timeout)
            if rc != 0:
                raise SystemExit("bench: the baseline's split script failed: %s" % e)
            b = {"time": time.monotonic() - t0, "fetch_s": t_fetch, "split_s": t2,
                 "requests": self.requests()}
            base.append(b)
            shutil.rmtree(pages, ignore_errors=True)
            shutil.rmtree(bdest, ignore_errors=True)
            log("  run %d/%d: cp -r %s (%s req%s), baseline %s (fetch %s + write %s)"
                % (i + 1, self.args.runs, fmt_s(r.get("time")), r.get("requests", "-"),
                   _routes_note(r), fmt_s(b["time"]), fmt_s(t_fetch), fmt_s(t2)))
        self.add_row("3. backup: cp -r, cold", self.n_big, runs, base, max_ratio=1.3,
                     error=err if not runs else None,
                     extra={"baseline": "curl pages in parallel + python writing one "
                                        "pretty-printed file per record (into %s)"
                                        % self.backup_root})

    def _import_once(self, async_uploads):
        """One cp of the import files into the empty collection; returns the run's dict."""
        if self.emu.count(IMPORT_COLL):
            self.emu.empty(IMPORT_COLL)
        m = self.mount(["async_uploads"] if async_uploads else [])
        unmounted = False
        try:
            d = m.p("apps", APP, IMPORT_COLL)
            os.listdir(d)          # the collection is there (and listed) before the clock
            self.emu.reset()
            cpu0 = m.cpu_seconds()
            t, rc, e = run_timed("find %s -maxdepth 1 -name '*.json' -print0 | xargs -0 cp -t %s"
                                 % (shlex.quote(self.import_src), shlex.quote(d)), self.timeout)
            cpu1 = m.cpu_seconds()
            t_unmount = m.unmount(wait=self.timeout)
            unmounted = True
            r = {"time": t, "until_unmounted_s": t + t_unmount, **self.counted(),
                 "daemon_cpu_s": _delta(cpu1, cpu0)}
            if rc != 0:
                if any(s in e for s in NOT_IMPLEMENTED_TEXTS):
                    raise NotAvailable("n/a (writes not implemented)")
                raise Failed("`cp -t %s` of %d files: expected exit 0, got %d; stderr: %s"
                             % (d, self.n_import, rc, tail(e, 400)))
            stored = self.emu.count(IMPORT_COLL)
            r["stored"] = stored
            if stored != self.n_import:
                raise Failed("`cp -t %s` of %d files%s: expected %d records in the collection "
                             "after unmounting, got %d"
                             % (d, self.n_import, " (async_uploads)" if async_uploads else "",
                                self.n_import, stored))
            return r
        finally:
            if not unmounted:
                m.unmount(wait=self.timeout)
            self.emu.empty(IMPORT_COLL)

    def scenario_import(self):
        """4. cp of the import files into an empty collection, sync and async uploads."""
        has_async = "async_uploads" in self.help_text
        cfg = self.path("import.cfg")
        count = self.curl.create_config(IMPORT_COLL, self.import_bodies, cfg)
        sync_runs, async_runs, seq, par = [], [], [], []
        sync_err = async_err = None
        if not has_async:
            async_err = "n/a (not implemented)"
        for i in range(self.args.runs):
            line = []
            for mode in ("sync", "async"):
                if mode == "sync" and sync_err and sync_err.startswith("n/a"):
                    continue
                if mode == "async" and async_err and (async_err.startswith("n/a")
                                                       or not has_async):
                    continue
                try:
                    r = self._import_once(mode == "async")
                    (sync_runs if mode == "sync" else async_runs).append(r)
                    line.append("%s %s (%s req, %s until unmounted)"
                                % (mode, fmt_s(r["time"]), r["requests"],
                                   fmt_s(r["until_unmounted_s"])))
                except NotAvailable as exc:
                    if mode == "sync":
                        sync_err = str(exc)
                        if has_async:
                            async_err = str(exc)
                    else:
                        async_err = str(exc)
                    line.append("%s %s" % (mode, exc))
                except Failed as exc:
                    self.note_failure("import (%s)" % mode, str(exc))
                    if mode == "sync":
                        sync_err = str(exc)
                    else:
                        async_err = str(exc)
                    line.append("%s FAILED" % mode)
            for parallel, into in ((False, seq), (True, par)):
                if self.emu.count(IMPORT_COLL):
                    self.emu.empty(IMPORT_COLL)
                self.emu.reset()
                t0 = time.monotonic()
                self.curl.create(cfg, count, parallel)
                b = {"time": time.monotonic() - t0, "requests": self.requests()}
                stored = self.emu.count(IMPORT_COLL)
                if stored != count:
                    raise SystemExit("bench: curl baseline stored %d of %d records"
                                     % (stored, count))
                self.emu.empty(IMPORT_COLL)
                into.append(b)
            log("  run %d/%d: %s | curl sequential %s, %d in parallel %s"
                % (i + 1, self.args.runs, ", ".join(line) or "-", fmt_s(seq[-1]["time"]),
                   self.args.workers, fmt_s(par[-1]["time"])))
        par_note = "curl, one request per record, sequential (%d in parallel: %s)" % (
            self.args.workers, fmt_s(median(b["time"] for b in par)))
        self.add_row("4a. import: cp, sync uploads", self.n_import, sync_runs, seq,
                     error=sync_err if not sync_runs else None,
                     extra={"baseline": par_note,
                            "baseline_parallel_s": median(b["time"] for b in par),
                            "baseline_parallel_runs": par})
        row = self.add_row("4b. import: cp, async uploads", self.n_import, async_runs, seq,
                           error=async_err if not async_runs else None,
                           extra={"baseline": par_note,
                                  "baseline_parallel_s": median(b["time"] for b in par)})
        # Target: async at least 4x faster than sync (cp's wall time).
        t_sync = median(r["time"] for r in sync_runs)
        t_async = median(r["time"] for r in async_runs)
        if t_sync and t_async:
            speedup = t_sync / t_async
            row["target"] = ">=4x faster than sync"
            row["speedup_vs_sync"] = speedup
            row["result"] = "PASS" if speedup >= 4 else "MISS"
            row["target_detail"] = "%.1fx faster" % speedup
        else:
            row["target"] = ">=4x faster than sync"

    def scenario_grep(self):
        """5. grep -r for one record's value, warm (after a listing)."""
        coll = self.coll_big
        k = self.n_big * 7 // 9
        needle = '"record %d"' % k
        runs, base = [], []
        err = None
        for i in range(self.args.runs):
            r = {}
            try:
                m = self.mount()
                try:
                    d = m.p("apps", APP, coll)
                    t, rc, e = run_timed("ls -l %s > /dev/null" % shlex.quote(d), self.timeout)
                    if rc != 0:
                        raise Failed("`ls -l %s`: exit %d: %s" % (d, rc, tail(e, 400)))
                    self.emu.reset()
                    out = self.path("grep.out")
                    cpu0 = m.cpu_seconds()
                    t, rc, e = run_timed("grep -r -F %s %s > %s" % (
                        shlex.quote(needle), shlex.quote(d), shlex.quote(out)), self.timeout)
                    r = {"time": t, **self.counted(),
                         "daemon_cpu_s": _delta(m.cpu_seconds(), cpu0)}
                    with open(out, "rb") as f:
                        hits = f.read().count(b"\n")
                    if rc != 0 or hits != 1:
                        raise Failed("`grep -r -F '%s' %s`: expected exit 0 and 1 line, got "
                                     "exit %d and %d lines; stderr: %s"
                                     % (needle, d, rc, hits, tail(e, 400)))
                finally:
                    m.unmount()
            except Failed as exc:
                self.note_failure("grep", str(exc))
                err = str(exc)
                r = {}
            if r:
                runs.append(r)
            t, rc, e = run_timed("grep -r -F %s %s > /dev/null" % (
                shlex.quote(needle), shlex.quote(self.local)), self.timeout)
            if rc != 0:
                raise SystemExit("bench: grep baseline failed (%d): %s" % (rc, e))
            base.append({"time": t})
            log("  run %d/%d: grep -r %s (%s req%s), local %s"
                % (i + 1, self.args.runs, fmt_s(r.get("time")), r.get("requests", "-"),
                   _routes_note(r), fmt_s(t)))
        self.add_row("5. grep -r, warm", self.n_big, runs, base, error=err if not runs else None,
                     extra={"baseline": "same grep over a local copy", "needle": needle})

    def scenario_memory(self):
        """6. peak memory of the daemon listing the million-record collection."""
        coll = self.coll_million
        limit_mib = DEFAULT_CACHE_MIB + MEMORY_SLACK_MIB
        runs = []
        err = None
        for i in range(self.args.runs):
            r = {}
            try:
                m = self.mount()
                peak = [0]
                done = threading.Event()

                def sample():
                    while not done.is_set():
                        v = m.status_kib("VmRSS")
                        if v:
                            peak[0] = max(peak[0], v)
                        done.wait(0.05)

                sampler = threading.Thread(target=sample, daemon=True)
                try:
                    d = m.p("apps", APP, coll)
                    out = self.path("ls-million.out")
                    rss0 = m.status_kib("VmRSS")
                    self.emu.reset()
                    sampler.start()
                    cpu0 = m.cpu_seconds()
                    t, rc, e = run_timed("ls -l %s > %s" % (shlex.quote(d), shlex.quote(out)),
                                         self.timeout)
                    done.set()
                    sampler.join(5)
                    hwm = m.status_kib("VmHWM") or 0
                    r = {"time": t, **self.counted(),
                         "daemon_cpu_s": _delta(m.cpu_seconds(), cpu0),
                         "vmhwm_kib": hwm, "vmrss_peak_sampled_kib": peak[0],
                         "vmrss_before_kib": rss0,
                         "peak_mib": max(hwm, peak[0]) / 1024.0}
                    listed = count_json_lines(out)
                    os.unlink(out)
                    if rc != 0 or listed != self.n_million:
                        raise Failed("`ls -l %s`: expected exit 0 and %d entries, got exit %d "
                                     "and %d entries; stderr: %s"
                                     % (d, self.n_million, rc, listed, tail(e, 400)))
                finally:
                    done.set()
                    m.unmount()
            except Failed as exc:
                self.note_failure("memory", str(exc))
                err = str(exc)
                r = {}
            if r:
                runs.append(r)
            log("  run %d/%d: ls -l %s (%s req), daemon peak %s MiB (limit %d MiB)"
                % (i + 1, self.args.runs, fmt_s(r.get("time")), r.get("requests", "-"),
                   "%.0f" % r["peak_mib"] if "peak_mib" in r else "-", limit_mib))
        peak = median(r["peak_mib"] for r in runs)
        row = {"scenario": "6. daemon peak memory, ls -l", "records": self.n_million,
               "requests": median(r["requests"] for r in runs),
               "time": None,
               "value": peak, "baseline_value": limit_mib, "unit": "MiB",
               "ratio": (peak / limit_mib) if peak else None,
               "target": "<= cache_size+64 MiB",
               "result": ("PASS" if peak <= limit_mib else "MISS") if peak else
               ("FAILED" if err else "n/a"),
               "listing_time_s": median(r["time"] for r in runs),
               "error": err if not runs else None, "runs": runs,
               "baseline": "cache_size (%d MiB, the default) + %d MiB"
                           % (DEFAULT_CACHE_MIB, MEMORY_SLACK_MIB)}
        self.rows.append(row)

    def add_row(self, name, records, runs, base, max_ratio=None, error=None, extra=None):
        t = median(r["time"] for r in runs)
        b = median(r["time"] for r in base)
        ratio = (t / b) if (t is not None and b) else None
        if ratio is None:
            result = "n/a" if (error or "").startswith("n/a") else ("FAILED" if error else "n/a")
        elif max_ratio is None:
            result = "-"
        else:
            result = "PASS" if ratio <= max_ratio else "MISS"
        row = {"scenario": name, "records": records,
               "requests": median(r.get("requests") for r in runs), "time": t, "baseline_time": b,
               "ratio": ratio, "target": ("<= %gx baseline" % max_ratio) if max_ratio else "-",
               "result": result, "error": error, "runs": runs, "baseline_runs": base}
        row.update(extra or {})
        self.rows.append(row)
        return row

    def run(self):
        plan = [("list", "1+2. cold ls -l, then cat of every record", self.scenario_list_and_read),
                ("backup", "3. backup (cp -r)", self.scenario_backup),
                ("import", "4. import (cp into an empty collection)", self.scenario_import),
                ("grep", "5. grep -r, warm", self.scenario_grep),
                ("memory", "6. peak memory of a million-record listing", self.scenario_memory)]
        for key, title, fn in plan:
            if not self.wants(key):
                continue
            if key == "memory" and self.args.skip_million:
                continue
            log("")
            log("== %s" % title)
            t0 = time.monotonic()
            fn()
            log("   (%.0f s)" % (time.monotonic() - t0))


def _routes_note(run):
    """', of which N GET item' when a run fetched records one by one."""
    n = (run.get("routes") or {}).get("GET /api/item/{app}/{slug}/{id}", 0)
    return (", of which %d GET item" % n) if n else ""


def _delta(a, b):
    return None if a is None or b is None else round(a - b, 3)


# -- output ---------------------------------------------------------------------------------

def machine_info(binary):
    info = {}
    info["nproc"] = len(os.sched_getaffinity(0))
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info["cpu"] = model
    try:
        with open("/proc/meminfo") as f:
            info["memory"] = "%d MiB" % (int(f.readline().split()[1]) // 1024)
    except (OSError, ValueError, IndexError):
        pass
    info["kernel"] = platform.release()
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    info["os"] = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    info["loadavg"] = "%.2f %.2f %.2f" % os.getloadavg()
    info["clappfs"] = capture([binary, "--version"]).strip().splitlines()[0:1]
    info["clappfs"] = info["clappfs"][0] if info["clappfs"] else "?"
    info["clappfs_binary"] = binary
    info["libfuse"] = capture(["fusermount3", "--version"]).strip()
    info["curl"] = capture(["curl", "--version"]).splitlines()[0]
    info["python"] = platform.python_version() + " (" + sys.executable + ")"
    info["compiler"] = (capture(["cc", "--version"]).splitlines() or ["?"])[0]
    rev = capture(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).strip()
    info["commit"] = rev if re.fullmatch(r"[0-9a-f]{4,40}", rev) else "?"
    return info


def render_table(rows):
    head = ["scenario", "records", "requests", "time", "baseline", "ratio", "target", "result"]
    lines = []
    for r in rows:
        if r.get("unit") == "MiB":
            t = "%.0f MiB" % r["value"] if r.get("value") else "-"
            b = "%d MiB" % r["baseline_value"]
        else:
            t, b = fmt_s(r.get("time")), fmt_s(r.get("baseline_time"))
        ratio = "%.2fx" % r["ratio"] if r.get("ratio") is not None else "-"
        result = r["result"]
        if r.get("error") and r["error"].startswith("n/a"):
            result = r["error"]
        elif r.get("target_detail"):
            result = "%s (%s)" % (result, r["target_detail"])
        req = "-" if r.get("requests") is None else "%d" % r["requests"]
        lines.append([r["scenario"], "{:,}".format(r["records"]), req, t, b, ratio, r["target"],
                      result])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
    out = []
    fmt = lambda cells: "  ".join(str(c).ljust(w) if i in (0, 6, 7) else str(c).rjust(w)
                                  for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    out.append(fmt(head))
    out.append("  ".join("-" * w for w in widths))
    for line in lines:
        out.append(fmt(line))
    return "\n".join(out)


# -- build and main ---------------------------------------------------------------------------

def build(args):
    if args.clappfs:
        if not os.access(args.clappfs, os.X_OK):
            raise SystemExit("bench: %s is not an executable" % args.clappfs)
        return os.path.abspath(args.clappfs)
    bdir = args.build if os.path.isabs(args.build) else os.path.join(ROOT, args.build)
    binary = os.path.join(bdir, "fs", "clappfs")
    if args.no_build:
        if not os.access(binary, os.X_OK):
            raise SystemExit("bench: --no-build, and %s is missing" % binary)
        return binary
    if not os.path.exists(os.path.join(bdir, "build.ninja")):
        log("meson setup %s --buildtype=release" % bdir)
        r = subprocess.run(["meson", "setup", bdir, "--buildtype=release"], cwd=ROOT,
                           capture_output=True, timeout=600)
        if r.returncode != 0:
            raise SystemExit("bench: meson setup failed:\n%s" % tail(r.stdout + r.stderr, 4000))
    log("meson compile -C %s clappfs" % bdir)
    r = subprocess.run(["meson", "compile", "-C", bdir, "clappfs"], cwd=ROOT,
                       capture_output=True, timeout=1800)
    if r.returncode != 0:
        raise SystemExit("bench: the build failed:\n%s" % tail(r.stdout + r.stderr, 4000))
    if not os.access(binary, os.X_OK):
        raise SystemExit("bench: the build made no %s" % binary)
    return binary


def preflight():
    problems = []
    if not os.path.exists("/dev/fuse"):
        problems.append("/dev/fuse is missing")
    for tool in ("fusermount3", "curl", "meson", "find", "xargs", "grep", "cp"):
        if not shutil.which(tool):
            problems.append("%s is not installed" % tool)
    if problems:
        raise SystemExit("bench: cannot run: " + "; ".join(problems))


def parse_args(argv):
    p = argparse.ArgumentParser(prog="scripts/bench",
                                description="Benchmarks clappfs against the emulator "
                                            "(see bench/README.md).")
    p.add_argument("--runs", type=int, default=3, help="runs of each scenario and baseline (3)")
    p.add_argument("--quick", action="store_true",
                   help="every record count divided by 10 (10,000 / 1,000 / 100,000)")
    p.add_argument("--skip-million", action="store_true",
                   help="leave out scenario 6 (the million-record listing)")
    p.add_argument("--only", action="append", choices=["list", "backup", "import", "grep",
                                                       "memory"],
                   help="run only this scenario (repeatable; list covers 1 and 2)")
    p.add_argument("--build", default="build-bench",
                   help="build directory (default build-bench, release)")
    p.add_argument("--no-build", action="store_true", help="use the build directory's binary "
                                                           "as it is")
    p.add_argument("--clappfs", metavar="PATH", help="benchmark this binary (no build)")
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                   help="parallel requests, of clappfs and of the baselines (8)")
    p.add_argument("--page-size", type=int, default=DEFAULT_PAGE_SIZE,
                   help="records a page, of clappfs and of the baselines (500)")
    p.add_argument("--curl-mode", choices=["parallel", "xargs"], default="parallel",
                   help="baseline fetch: one `curl --parallel` process (connections reused) "
                        "or `xargs -P workers curl` (a process a page); default parallel")
    p.add_argument("--latency-ms", type=int, default=0, help="emulator latency per request")
    p.add_argument("--timeout", type=int, default=1800,
                   help="limit in seconds of every timed command (1800)")
    p.add_argument("--json", metavar="PATH",
                   help="where to write the results (default <build>/bench-results.json)")
    p.add_argument("--workdir", metavar="DIR", help="scratch directory on local disk "
                                                    "(default: a new one under /tmp)")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory")
    p.add_argument("--backup-dir", metavar="DIR",
                   help="where scenario 3 (and its baseline) write their copies (default: "
                        "the scratch directory); e.g. /dev/shm to leave the disk out")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    return args


def _on_signal(signum, frame):
    raise Interrupted("signal %d" % signum)


def main(argv):
    if argv[:1] == ["split"]:          # the backup baseline's writer
        if len(argv) != 3:
            raise SystemExit("usage: bench.py split PAGEDIR DEST")
        split_pages(argv[1], argv[2])
        return 0
    args = parse_args(argv)
    preflight()
    signal.signal(signal.SIGINT, signal.default_int_handler)   # even if started ignoring it
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)
    binary = build(args)
    info = machine_info(binary)
    log("clappfs benchmark%s" % (" (--quick)" if args.quick else ""))
    for k in ("cpu", "nproc", "memory", "os", "kernel", "loadavg", "clappfs", "clappfs_binary",
              "libfuse", "curl", "python", "compiler", "commit"):
        if k in info:
            log("  %-15s %s" % (k, info[k]))
    log("  %-15s %d runs each; workers=%d page_size=%d; baseline fetch: curl %s"
        % ("settings", args.runs, args.workers, args.page_size, args.curl_mode))
    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
        workdir = tempfile.mkdtemp(prefix="clappfs-bench-", dir=args.workdir)
    else:
        workdir = tempfile.mkdtemp(prefix="clappfs-bench-")
    bench = Bench(args, binary, workdir)
    status = 0
    started = time.time()
    try:
        bench.start()
        bench.run()
    except (KeyboardInterrupt, Interrupted) as exc:
        log("\nbench: interrupted (%s); cleaning up" % (str(exc) or "ctrl-c"))
        status = 130
    finally:
        for m in list(Mount.live):
            try:
                m.unmount(wait=20)
            except Exception as exc:           # keep cleaning up
                log("bench: unmounting %s: %s" % (m.path, exc))
        bench.stop()
        if args.keep:
            log("scratch directory kept: %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if not bench.rows:
        return status or 1
    log("")
    log(render_table(bench.rows))
    log("")
    log("time and baseline are medians of %d runs; ratio = time / baseline (lower is better)."
        % args.runs)
    for r in bench.rows:
        if r.get("baseline") and isinstance(r["baseline"], str):
            log("  %s: baseline = %s" % (r["scenario"].split(".")[0], r["baseline"]))
        if r.get("unit") == "MiB":
            log("  %s: time = the daemon's peak resident memory (VmHWM); the listing itself "
                "took %s" % (r["scenario"].split(".")[0], fmt_s(r.get("listing_time_s"))))
    log("load average at the end: %.2f %.2f %.2f (at the start: %s)"
        % (os.getloadavg() + (info["loadavg"],)))
    if bench.failures:
        log("")
        log("failures:")
        for f in bench.failures:
            log("  [%s] %s" % (f["scenario"], f["failure"]))
        status = status or 1
    out = args.json or os.path.join(
        args.build if os.path.isabs(args.build) else os.path.join(ROOT, args.build),
        "bench-results.json")
    try:
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            json.dump({"machine": info, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z",
                                                                  time.localtime(started)),
                       "duration_s": round(time.time() - started, 1),
                       "settings": {"runs": args.runs, "quick": args.quick,
                                    "skip_million": args.skip_million,
                                    "workers": args.workers, "page_size": args.page_size,
                                    "curl_mode": args.curl_mode, "latency_ms": args.latency_ms},
                       "rows": bench.rows, "failures": bench.failures}, f, indent=2)
        log("results written to %s" % out)
    except OSError as exc:
        log("bench: could not write %s: %s" % (out, exc))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
