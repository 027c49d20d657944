"""dataframes/<app>/<collection>.ndjson and query-results/<query>.ndjson, read: every record
one line, exact text, server order, with the usual tools; request counts, early cancel,
bounded memory, modes and names."""
import errno
import math
import os
import stat
import subprocess
import time

import pytest

import mount_expect
from mount_helpers import CLAPPFS, route_count

APP = "uspresidents"
GEN, GEN_N = "generated", 1200
BIG, BIG_N = "big", 50000
READ = "POST /api/dataframe/read_data"


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory("--demo", "--generate", f"{APP}/{GEN}:{GEN_N}",
                            "--generate", f"{APP}/{BIG}:{BIG_N}")


@pytest.fixture(scope="module")
def m(emu, mount_factory):
    return mount_factory(emu, "cache_ttl=300")


def df(m, coll, app=APP):
    return m.p("dataframes", app, coll + ".ndjson")


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, timeout=120, **kw)
    assert r.returncode == 0, f"{cmd} exited {r.returncode}: {r.stderr.decode(errors='replace')}"
    return r.stdout


def expected(emu, coll):
    return mount_expect.ndjson(emu.records(APP, coll))


def settled(emu):
    """The emulator's counters once no request is in flight (a release is asynchronous)."""
    deadline = time.monotonic() + 5
    s = emu.stats()
    while s.get("in_flight") and time.monotonic() < deadline:
        time.sleep(0.05)
        s = emu.stats()
    time.sleep(0.2)
    return emu.stats()


def sanitized():
    """Whether clappfs is an AddressSanitizer build (its memory says nothing then)."""
    with open(CLAPPFS, "rb") as f:
        return b"__asan_init" in f.read()


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_layout_names_modes_and_times(m, emu):
    root = os.stat(m.path)
    assert sorted(os.listdir(m.p("dataframes"))) == [APP]
    colls = [c for c in os.listdir(m.p("apps", APP)) if c != ".app.json"]
    assert sorted(os.listdir(m.p("dataframes", APP))) == sorted(c + ".ndjson" for c in colls)
    queries = sorted(q[:-len(".json")] + ".ndjson" for q in os.listdir(m.p("queries")))
    assert sorted(os.listdir(m.p("query-results"))) == queries
    for d in ("dataframes", f"dataframes/{APP}", "query-results"):
        st = os.stat(m.p(d))
        assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o755, d
        assert st.st_mtime == root.st_mtime, d
    for path, mode in ((df(m, "presidents"), 0o644),
                       (m.p("query-results", "all-presidents.ndjson"), 0o444)):
        st = os.stat(path)
        assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == mode, path
        assert st.st_size == 0 and st.st_mtime == root.st_mtime, path
        assert st.st_uid == os.getuid() and st.st_gid == os.getgid(), path


def test_missing_names(m):
    for rel in (f"dataframes/{APP}/nope.ndjson", "dataframes/nope", "dataframes/nope/x.ndjson",
                f"dataframes/{APP}/presidents.json", f"dataframes/{APP}/presidents",
                "query-results/nope.ndjson", "query-results/all-presidents.json"):
        with pytest.raises(FileNotFoundError):
            os.stat(m.p(rel))
    with pytest.raises(NotADirectoryError):
        os.stat(os.path.join(df(m, "presidents"), "x"))


def test_cat_gives_the_stored_records_line_by_line(m, emu):
    for coll in ("presidents", GEN):
        assert run(["cat", df(m, coll)]) == expected(emu, coll), coll


def test_head_wc_jq_python_cp(m, emu, tmp_path):
    want = expected(emu, GEN)
    lines = want.splitlines(keepends=True)
    assert run(["head", "-n", "3", df(m, GEN)]) == b"".join(lines[:3])
    assert run(["wc", "-l", df(m, GEN)]).split()[0] == str(GEN_N).encode()
    assert run(["jq", "-c", ".", df(m, GEN)]) == run(["jq", "-c", "."], input=want)
    with open(df(m, GEN), "rb") as f:
        assert f.read() == want
    with open(df(m, GEN), encoding="utf-8") as f:
        assert f.read().encode("utf-8") == want
    run(["cp", df(m, GEN), str(tmp_path / "copy")])
    assert (tmp_path / "copy").read_bytes() == want
    assert run(["tail", "-n", "2", df(m, GEN)]) == b"".join(lines[-2:])


def test_rsync_trusts_the_size_and_copies_nothing(m, tmp_path):
    # Documented: st_size is 0, and rsync copies st_size bytes. Use cp or cat.
    run(["rsync", df(m, GEN), str(tmp_path / "r")])
    assert (tmp_path / "r").read_bytes() == b""


def test_offsets_skip_forward_and_zero_starts_again(m, emu):
    want = expected(emu, GEN)
    fd = os.open(df(m, GEN), os.O_RDONLY)
    try:
        assert os.read(fd, 1000) == want[:1000]
        assert os.pread(fd, 100, 0) == want[:100]          # back to 0: a new pass
        assert os.pread(fd, 50, 70000) == want[70000:70050]  # forward: skipped
        assert os.pread(fd, 50, 1000) == want[1000:1050]     # behind: again, then forward
        assert os.pread(fd, 10, len(want) + 5) == b""
    finally:
        os.close(fd)


def test_reading_makes_one_request_a_page(m, emu):
    os.listdir(m.p("dataframes", APP))
    emu.reset()
    run(["wc", "-l", df(m, GEN)])
    s = settled(emu)
    assert route_count(s, READ) == math.ceil(GEN_N / 500) == s["total"], s
    emu.reset()
    run(["wc", "-l", df(m, BIG)])
    s = settled(emu)
    assert route_count(s, READ) == math.ceil(BIG_N / 500) == s["total"], s
    assert s["max_concurrency"] > 1, s  # pages are fetched in parallel


def test_head_of_a_big_collection_cancels_the_rest(m, emu):
    os.listdir(m.p("dataframes", APP))
    for _ in range(3):
        emu.reset()
        out = run(["head", "-n", "3", df(m, BIG)])
        assert len(out.splitlines()) == 3
        s = settled(emu)
        assert 1 <= route_count(s, READ) <= 20, s  # of 100 pages
    assert "error" not in m.log().lower(), m.log()


def test_memory_stays_bounded(emu, mount_factory):
    if sanitized():
        pytest.skip("AddressSanitizer keeps freed memory in quarantine")
    fresh = mount_factory(emu)
    os.listdir(fresh.p("dataframes", APP))
    before = vm_hwm_kib(fresh.pid)
    assert run(["wc", "-l", df(fresh, BIG)]).split()[0] == str(BIG_N).encode()
    grown = vm_hwm_kib(fresh.pid) - before
    # 50,000 records are ~6.6 MB of lines and far more as parsed trees: a stream holds a
    # few pages (workers + queue), not the collection.
    assert grown < 32 * 1024, f"VmHWM grew {grown} KiB"


def test_query_results(m, emu):
    for slug in ("all-presidents", "republican-presidents"):
        got = run(["cat", m.p("query-results", slug + ".ndjson")])
        assert got == mount_expect.ndjson(mount_expect.query_results(emu, slug)), slug
    rep = run(["jq", "-r", ".party", m.p("query-results", "republican-presidents.ndjson")])
    assert set(rep.split()) == {b"Republican"}
    numbers = [int(n) for n in run(["jq", "-r", ".number",
                                    m.p("query-results", "republican-presidents.ndjson")]).split()]
    assert numbers == sorted(numbers) and len(numbers) > 10
    assert run(["wc", "-l", m.p("query-results", "all-presidents.ndjson")]).split()[0] == \
        str(len(emu.records(APP, "presidents"))).encode()


def test_query_results_are_read_only(m):
    path = m.p("query-results", "all-presidents.ndjson")
    for flags in (os.O_WRONLY | os.O_APPEND, os.O_WRONLY | os.O_TRUNC):
        with pytest.raises(PermissionError):
            os.open(path, flags)
    with pytest.raises(PermissionError):
        os.truncate(path, 0)


def test_the_trees_refuse_structural_changes(m):
    with pytest.raises(OSError) as e:
        os.mkdir(m.p("dataframes", "newapp"))
    assert e.value.errno in (errno.EPERM, errno.ENOSYS)
    with pytest.raises(OSError) as e:
        os.unlink(df(m, "presidents"))
    assert e.value.errno in (errno.EPERM, errno.ENOSYS)
    with pytest.raises(OSError) as e:
        open(df(m, "no-such-collection"), "a").close()
    assert e.value.errno in (errno.EPERM, errno.ENOSYS, errno.EACCES)
    with pytest.raises(OSError) as e:
        os.open(df(m, "presidents"), os.O_RDWR)
    assert e.value.errno == errno.EINVAL
