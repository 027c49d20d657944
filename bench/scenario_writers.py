#!/usr/bin/python3
"""scenario_writers.py: scenario 7, parallel writers: 8 writers saving different records
against one writer saving one, with the emulator's latency."""
import json
import os
import threading
import time

from harness import APP, Failed, fmt_s, log, median

WRITERS = 8
SAVES = 40                 # saves per writer
COLL = "writers"
DEFAULT_LATENCY_MS = 5     # unless --latency-ms: a server a few milliseconds away
MAX_RATIO = 1.5


def _faults(emu, spec):
    status, text = emu.raw("POST", "/_emulator/faults", spec)
    if status != 200:
        raise Failed("emulator faults %s: %s %s" % (spec, status, text[:200]))


def _prepare(emu):
    """The collection and its records w0..w7 (made once)."""
    status, answer = emu.api("POST", "/api/collection/%s" % APP, {"slug": COLL, "name": COLL})
    if status not in (200, 409):
        raise Failed("creating %s/%s: %s %s" % (APP, COLL, status, answer))
    for i in range(WRITERS):
        status, answer = emu.api("POST", "/api/item/%s/%s" % (APP, COLL),
                                 {"data": {"_id": "w%d" % i, "k": -1}})
        if status not in (200, 409):
            raise Failed("creating record w%d: %s %s" % (i, status, answer))


def _saves(d, writers):
    """writers threads, each saving its own record SAVES times (open O_TRUNC, write, close);
    the wall time of them all."""
    errors = []
    start = threading.Barrier(writers + 1)

    def writer(i):
        path = os.path.join(d, "w%d.json" % i)
        try:
            start.wait()
            for k in range(SAVES):
                fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
                try:
                    os.write(fd, json.dumps({"w": i, "k": k, "pad": "x" * 200}).encode())
                finally:
                    os.close(fd)
        except Exception as e:  # reported below
            errors.append("writer %d: %s" % (i, e))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.monotonic()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    if errors:
        raise Failed("; ".join(errors[:3]))
    return elapsed


def scenario_writers(bench):
    """7. 8 parallel writers to different records vs one writer, the same saves each."""
    emu = bench.emu
    latency = bench.args.latency_ms or DEFAULT_LATENCY_MS
    _prepare(emu)
    runs, base = [], []
    err = None
    for i in range(bench.args.runs):
        m = bench.mount()
        try:
            d = m.p("apps", APP, COLL)
            os.listdir(d)          # records known before the clock: saves only
            if not bench.args.latency_ms:
                _faults(emu, {"latency_ms": latency})
            try:
                result = {}
                for n, into in ((1, base), (WRITERS, runs)):
                    emu.reset()
                    t = _saves(d, n)
                    st = bench.counted()
                    puts = (st["routes"] or {}).get("PUT /api/item/{app}/{slug}/{id}", 0)
                    if puts != n * SAVES:
                        raise Failed("%d writer(s) x %d saves: expected %d PUTs, got %d (%s)"
                                     % (n, SAVES, n * SAVES, puts, st["routes"]))
                    into.append({"time": t, **st,
                                 "max_concurrency": emu.stats().get("max_concurrency")})
                    result[n] = t
            finally:
                if not bench.args.latency_ms:
                    _faults(emu, {"latency_ms": 0})
            log("  run %d/%d: 1 writer %s, %d writers %s (%.2fx), max concurrency %s"
                % (i + 1, bench.args.runs, fmt_s(result[1]), WRITERS, fmt_s(result[WRITERS]),
                   result[WRITERS] / result[1], runs[-1]["max_concurrency"]))
        except Failed as exc:
            bench.note_failure("writers", str(exc))
            err = str(exc)
        finally:
            m.unmount(wait=bench.timeout)
    bench.add_row("7. %d writers, different records" % WRITERS, WRITERS * SAVES, runs, base,
                  max_ratio=MAX_RATIO, error=err if not runs else None,
                  extra={"baseline": "one writer, %d saves of one record (%d ms a request); "
                                     "the row: %d writers, %d saves each"
                                     % (SAVES, latency, WRITERS, SAVES),
                         "latency_ms": latency,
                         "baseline_median_s": median(b["time"] for b in base)})
