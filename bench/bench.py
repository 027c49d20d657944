#!/usr/bin/python3
"""bench.py: the clappfs benchmark; scripts/bench runs it. See bench/README.md.

Starts the emulator (127.0.0.1 only) with generated collections, mounts clappfs afresh
for every run, times each scenario and a baseline that does the same work without the
filesystem, alternately, and prints a table of medians (also written as JSON).

Standard library only; Debian's /usr/bin/python3.
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from harness import (  # noqa: F401 (the scenarios use most of them)
    ROOT,
    DEFAULT_WORKERS,
    DEFAULT_PAGE_SIZE,
    Interrupted,
    log,
    fmt_s,
    tail,
    capture,
    Mount,
    split_pages,
)
from scenarios import Bench
from chart import write_svg



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
                                                       "memory", "writers", "revalidate", "new"],
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


def chart_title(results):
    """The chart's title: when, which commit, the settings and the load of a run."""
    st, m = results.get("settings", {}), results.get("machine", {})
    runs = st.get("runs", 1)
    return "clappfs benchmark, %s, commit %s%s%s, %d run%s each, load %s" % (
        results.get("started", "?")[:10], m.get("commit", "?"),
        ", --quick" if st.get("quick") else "",
        ", latency %d ms" % st["latency_ms"] if st.get("latency_ms") else "",
        runs, "" if runs == 1 else "s", (m.get("loadavg") or "?").split()[0])


def _on_signal(signum, frame):
    raise Interrupted("signal %d" % signum)


def main(argv):
    if argv[:1] == ["split"]:          # the backup baseline's writer
        if len(argv) != 3:
            raise SystemExit("usage: bench.py split PAGEDIR DEST")
        split_pages(argv[1], argv[2])
        return 0
    if argv[:1] == ["chart"]:          # a chart again from a run's JSON
        if len(argv) != 3:
            raise SystemExit("usage: bench.py chart RESULTS.json OUT.svg")
        with open(argv[1]) as f:
            results = json.load(f)
        write_svg(results["rows"], argv[2], chart_title(results))
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
        if r.get("reference"):
            log("  %s: for reference, %s" % (r["scenario"].split(".")[0], r["reference"]))
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
        chart = os.path.splitext(out)[0] + ".svg"
        with open(out) as f:
            write_svg(bench.rows, chart, chart_title(json.load(f)))
        log("chart written to %s" % chart)
    except OSError as exc:
        log("bench: could not write %s: %s" % (out, exc))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
