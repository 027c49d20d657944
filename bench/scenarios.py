#!/usr/bin/python3
"""scenarios.py: the benchmark's scenarios, each timed against its baseline."""
import json
import os
import shlex
import shutil
import tempfile
import threading
import time

from harness import (  # noqa: F401 (the scenarios use most of them)
    stats_delta,
    routes_note,
    PYTHON,
    APP,
    IMPORT_COLL,
    DEFAULT_WORKERS,
    DEFAULT_PAGE_SIZE,
    DEFAULT_CACHE_MIB,
    MEMORY_SLACK_MIB,
    NOT_IMPLEMENTED_TEXTS,
    NotAvailable,
    Failed,
    log,
    fmt_s,
    median,
    tail,
    run_timed,
    capture,
    count_json_lines,
    count_json_files,
    Emulator,
    Mount,
    Curl,
    split_pages,
    HERE,
)
from scenario_writers import scenario_writers


class Bench:
    def __init__(self, args, binary, workdir):
        self.args, self.binary, self.workdir = args, binary, workdir
        scale = 10 if args.quick else 1
        self.n_big = 100000 // scale
        self.n_import = 10000 // scale
        self.n_million = 1000000 // scale
        self.n_new = 1000 // scale
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
        # The big collection and its local copy serve scenarios 1 to 5 only.
        big = any(self.wants(k) for k in ("list", "backup", "import", "grep"))
        gen = ["%s/%s:0" % (APP, IMPORT_COLL)]
        if big:
            gen.insert(0, "%s/%s:%d" % (APP, self.coll_big, self.n_big))
        if self.wants("memory") and not self.args.skip_million:
            gen.append("%s/%s:%d" % (APP, self.coll_million, self.n_million))
        log("starting the emulator (%s) ..." % ", ".join(gen))
        t0 = time.monotonic()
        self.emu = Emulator(gen, self.workdir, self.args.latency_ms)
        self.emu.login()
        log("emulator at %s (ready in %.1f s)" % (self.emu.url, time.monotonic() - t0))
        self.curl = Curl(self.emu, self.args.workers, self.args.page_size, self.args.curl_mode,
                         self.timeout)
        if not big:
            return
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
                           "daemon_cpu_s": stats_delta(m.cpu_seconds(), cpu0)}
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
                           "daemon_cpu_s": stats_delta(m.cpu_seconds(), cpu0)}
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
            # For reference (not the baseline): ls -l's own work, over the local copy.
            t, rc, err = run_timed("ls -l %s > /dev/null" % shlex.quote(self.local), self.timeout)
            b1["ls_local_s"] = t if rc == 0 else None
            base1.append(b1)
            base2.append(b2)
            log("  run %d/%d: ls -l %s (%s req), baseline %s (ls -l of the local copy %s) | "
                "cat %s (%s req), local %s"
                % (i + 1, self.args.runs, fmt_s(r1.get("time")), r1.get("requests", "-"),
                   fmt_s(b1["time"]), fmt_s(b1["ls_local_s"]), fmt_s(r2.get("time")),
                   r2.get("requests", "-"), fmt_s(b2["time"])))
        self.add_row("1. cold ls -l", self.n_big, runs1, base1, max_ratio=1.3, error=err1,
                     extra={"baseline": "curl, %d pages of %d, %d in parallel (%s)"
                            % (base1[0]["pages"], self.args.page_size, self.args.workers,
                               self.args.curl_mode),
                            "reference": "ls -l of the local copy alone (no fetch) takes %s"
                            % fmt_s(median(b.get("ls_local_s") for b in base1))})
        self.add_row("2. cat every record (after listing)", self.n_big, runs2, base2,
                     max_ratio=2.0, error=err2 if not runs2 else None,
                     extra={"baseline": "same command over a local copy (page cache)",
                            "bytes_clappfs": fs_bytes, "bytes_local": self.local_bytes})

    def scenario_backup(self):
        """3. cp -r of the big collection to local disk, cold."""
        coll = self.coll_big
        runs, base = [], []
        err = None
        # Every copy is kept until the scenario ends: ext4 makes a file over the inodes of
        # files deleted moments ago slowly (its recently_deleted scan), which would charge
        # one run for the deletions of the run before.
        copies = []
        for i in range(self.args.runs):
            r = {}
            dest = os.path.join(self.backup_root, "backup-%d" % i)
            copies.append(dest)
            try:
                m = self.mount()
                try:
                    d = m.p("apps", APP, coll)
                    self.emu.reset()
                    cpu0 = m.cpu_seconds()
                    t, rc, e = run_timed("cp -r %s %s" % (shlex.quote(d), shlex.quote(dest)),
                                         self.timeout)
                    r = {"time": t, **self.counted(),
                         "daemon_cpu_s": stats_delta(m.cpu_seconds(), cpu0)}
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
            if r:
                runs.append(r)
            # baseline: curl the pages, then a script writes one file per record
            pages = self.path("bl-pages")
            bdest = os.path.join(self.backup_root, "bl-backup-%d" % i)
            ldest = os.path.join(self.backup_root, "local-cp-%d" % i)
            copies += [bdest, ldest]
            self.emu.reset()
            t0 = time.monotonic()
            self.curl.fetch_pages(coll, pages)
            t_fetch = time.monotonic() - t0
            t2, rc, e = run_timed("%s %s split %s %s" % (PYTHON, shlex.quote(os.path.join(HERE, "bench.py")),
                                                          shlex.quote(pages), shlex.quote(bdest)),
                                  self.timeout)
            if rc != 0:
                raise SystemExit("bench: the baseline's split script failed: %s" % e)
            b = {"time": time.monotonic() - t0, "fetch_s": t_fetch, "split_s": t2,
                 "requests": self.requests()}
            base.append(b)
            shutil.rmtree(pages, ignore_errors=True)
            # For reference (not the baseline): cp -r's own work, from the local copy.
            t3, rc, e = run_timed("cp -r %s %s" % (shlex.quote(self.local), shlex.quote(ldest)),
                                  self.timeout)
            b["cp_local_s"] = t3 if rc == 0 else None
            log("  run %d/%d: cp -r %s (%s req%s), baseline %s (fetch %s + write %s); "
                "cp -r of the local copy %s"
                % (i + 1, self.args.runs, fmt_s(r.get("time")), r.get("requests", "-"),
                   routes_note(r), fmt_s(b["time"]), fmt_s(t_fetch), fmt_s(t2),
                   fmt_s(b["cp_local_s"])))
        for c in copies:
            shutil.rmtree(c, ignore_errors=True)
        self.add_row("3. backup: cp -r, cold", self.n_big, runs, base, max_ratio=1.3,
                     error=err if not runs else None,
                     extra={"baseline": "curl pages in parallel + python writing one "
                                        "pretty-printed file per record (into %s)"
                                        % self.backup_root,
                            "reference": "cp -r of the local copy alone (no fetch) takes %s"
                            % fmt_s(median(b.get("cp_local_s") for b in base))})

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
                 "daemon_cpu_s": stats_delta(cpu1, cpu0)}
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

    def scenario_new_files(self):
        """9. cp of new files into a collection not listed before: requests counted."""
        n = self.n_new
        src, bodies = self.path("new-src"), self.path("new-bodies")
        os.makedirs(src)
        os.makedirs(bodies)
        for name in sorted(os.listdir(self.import_src))[:n]:
            shutil.copyfile(os.path.join(self.import_src, name), os.path.join(src, name))
            shutil.copyfile(os.path.join(self.import_bodies, name), os.path.join(bodies, name))
        cfg = self.path("new.cfg")
        count = self.curl.create_config(IMPORT_COLL, bodies, cfg)
        pages = 1  # the collection is empty before each run: its listing is one page
        limit = n + pages
        runs, base = [], []
        err = None
        for i in range(self.args.runs):
            r = {}
            if self.emu.count(IMPORT_COLL):
                self.emu.empty(IMPORT_COLL)
            try:
                m = self.mount()
                try:
                    d = m.p("apps", APP, IMPORT_COLL)
                    os.stat(d)  # the directory is known before the clock; its records are not
                    self.emu.reset()
                    cpu0 = m.cpu_seconds()
                    t, rc, e = run_timed("find %s -maxdepth 1 -name '*.json' -print0 | "
                                         "xargs -0 cp -t %s" % (shlex.quote(src), shlex.quote(d)),
                                         self.timeout)
                    r = {"time": t, **self.counted(),
                         "daemon_cpu_s": stats_delta(m.cpu_seconds(), cpu0)}
                    if rc != 0:
                        if any(x in e for x in NOT_IMPLEMENTED_TEXTS):
                            raise NotAvailable("n/a (writes not implemented)")
                        raise Failed("`cp -t %s` of %d new files: expected exit 0, got %d; "
                                     "stderr: %s" % (d, n, rc, tail(e, 400)))
                    stored = self.emu.count(IMPORT_COLL)
                    if stored != n:
                        raise Failed("`cp -t %s` of %d new files: expected %d records, got %d"
                                     % (d, n, n, stored))
                finally:
                    m.unmount()
            except NotAvailable as exc:
                err = str(exc)
                break
            except Failed as exc:
                self.note_failure("new files", str(exc))
                err = str(exc)
                r = {}
            if r:
                runs.append(r)
            self.emu.empty(IMPORT_COLL)
            self.emu.reset()
            t0 = time.monotonic()
            self.curl.create(cfg, count, False)
            base.append({"time": time.monotonic() - t0, "requests": self.requests()})
            self.emu.empty(IMPORT_COLL)
            log("  run %d/%d: cp of %d new files %s (%s req: %s), curl sequential %s"
                % (i + 1, self.args.runs, n, fmt_s(r.get("time")), r.get("requests", "-"),
                   ", ".join("%s %d" % (k, v) for k, v in sorted((r.get("routes") or {}).items())
                             if v) or "-", fmt_s(base[-1]["time"])))
        row = self.add_row("9. cp of new files, unlisted coll.", n, runs, base,
                           error=err if not runs else None,
                           extra={"baseline": "curl, one create per file, sequential"})
        row["target"] = "<= %d requests" % limit
        if row["requests"] is not None:
            row["result"] = "PASS" if row["requests"] <= limit else "MISS"
            row["target_detail"] = "%d requests" % row["requests"]

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
                         "daemon_cpu_s": stats_delta(m.cpu_seconds(), cpu0)}
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
                   routes_note(r), fmt_s(t)))
        self.add_row("5. grep -r, warm", self.n_big, runs, base, max_ratio=2.0, error=err if not runs else None,
                     extra={"baseline": "same grep over a local copy", "needle": needle})

    def scenario_revalidate(self):
        """8. what close-to-open revalidation costs: on a listed collection, `ls -l` and a cat
        of every record once `revalidate` (1 s, the default) has run out, against the same
        with revalidate=300 (the TTL alone decides, no request)."""
        coll = self.coll_big
        steps = [("ls -l", "ls -l %s > /dev/null"),
                 ("cat", "find %s -name '*.json' -print0 | xargs -0 cat > /dev/null")]
        got = {(w, name): [] for w in ("default", "ttl") for name, _ in steps}
        err = None
        for i in range(self.args.runs):
            for which, opts in (("default", []), ("ttl", ["revalidate=300"])):
                try:
                    m = self.mount(opts)
                    try:
                        d = m.p("apps", APP, coll)
                        t, rc, e = run_timed("ls -l %s > /dev/null" % shlex.quote(d),
                                             self.timeout)
                        if rc != 0:
                            raise Failed("`ls -l %s`: exit %d: %s" % (d, rc, tail(e, 400)))
                        for name, cmd in steps:
                            time.sleep(1.3)  # past the default interval
                            self.emu.reset()
                            t, rc, e = run_timed(cmd % shlex.quote(d), self.timeout)
                            if rc != 0:
                                raise Failed("`%s` (%s): exit %d: %s"
                                             % (cmd % d, which, rc, tail(e, 400)))
                            got[(which, name)].append({"time": t, **self.counted()})
                    finally:
                        m.unmount()
                except Failed as exc:
                    self.note_failure("revalidate", str(exc))
                    err = str(exc)
            log("  run %d/%d: %s" % (i + 1, self.args.runs, ", ".join(
                "%s %s %s (%s req%s)" % (w, n, fmt_s(r[-1]["time"]) if r else "-",
                                         r[-1].get("requests", "-") if r else "-",
                                         routes_note(r[-1]) if r else "")
                for (w, n), r in got.items())))
        for (name, _), label in zip(steps, ("8a", "8b")):
            runs, base = got[("default", name)], got[("ttl", name)]
            self.add_row("%s. %s past revalidate" % (label, name), self.n_big, runs, base,
                         error=err if not runs else None,
                         extra={"baseline": "the same with -o revalidate=300 (%s requests)"
                                % median(r.get("requests") for r in base),
                                "extra_requests": (median(r.get("requests") for r in runs) or 0)
                                - (median(r.get("requests") for r in base) or 0)})

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
                         "daemon_cpu_s": stats_delta(m.cpu_seconds(), cpu0),
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
                ("memory", "6. peak memory of a million-record listing", self.scenario_memory),
                ("writers", "7. parallel writers to different records",
                 lambda: scenario_writers(self)),
                ("revalidate", "8. close-to-open revalidation: extra requests",
                 self.scenario_revalidate),
                ("new", "9. cp of new files into a collection not listed before",
                 self.scenario_new_files)]
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
