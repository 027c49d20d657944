"""What tools cost in requests of the kernel to the daemon (the low-level API, counted in
.clappfs/stats "kernel"): one readdirplus fills the kernel's names and attributes, so
`ls -l` and a `cat` of every record ask no lookup and no getattr per file; inode numbers
are the same in readdir and stat, grow in the listing's order, and stay a name's for the
mount's life, after the kernel forgot the name too."""
import json
import os
import subprocess
import time

import pytest

APP = "uspresidents"
COLL, N = "gen", 1500
ND = "bulk"


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory("--demo", "--generate", f"{APP}/{COLL}:{N}",
                            "--generate", f"{APP}/{ND}:0")


@pytest.fixture(scope="module")
def mnt(emu, mount_factory):
    # The defaults: cache_ttl 30 s, revalidate 1 s.
    return mount_factory(emu)


def kernel(m):
    with open(m.p(".clappfs", "stats"), "rb") as f:
        return json.load(f)["kernel"]


def delta(before, after):
    return {k: after[k] - before[k] for k in after if k != "nodes"}


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r.stdout


def test_ls_l_and_cat_ask_nothing_per_file(mnt):
    d = mnt.p("apps", APP, COLL)
    os.stat(d)  # its parents looked up
    k0 = kernel(mnt)
    out = run(["ls", "-l", d])
    k1 = kernel(mnt)
    ls = delta(k0, k1)
    assert len(out.splitlines()) == N + 1, out[:200]
    assert ls["readdirplus"] >= 1, ls
    # The entries came with their attributes: no lookup, no getattr for each of N files.
    assert ls["lookup"] <= 2 and ls["getattr"] <= 2, ls
    assert k1["nodes"] >= N

    # Past `revalidate` (1 s): record attributes still held by the kernel (cache_ttl).
    time.sleep(1.3)
    k1 = kernel(mnt)
    out = run(["sh", "-c", f"find '{d}' -name '*.json' -print0 | xargs -0 cat | wc -l"])
    cat = delta(k1, kernel(mnt))
    assert int(out) > N
    # The records, .collection.json and .clappfs/stats read for these counts.
    assert cat["open"] == N + 2 and cat["release"] >= N + 1, cat
    # No lookup or getattr per file (attributes of records last cache_ttl, not revalidate),
    # no FLUSH (read-only opens: only the stats file's), no READ of a record (the open put
    # the bytes in the page cache; .collection.json and the stats file are read).
    assert cat["lookup"] <= 2 and cat["getattr"] <= 2, cat
    assert cat["flush"] <= 1 and cat["read"] <= 3, cat


def test_inode_numbers(mnt):
    d = mnt.p("apps", APP, COLL)
    entries = sorted((e for e in os.scandir(d) if e.name != ".collection.json"),
                     key=lambda e: e.name)
    by_name = {e.name: e.inode() for e in entries}
    assert len(set(by_name.values())) == N
    # readdir's d_ino is what stat shows.
    for e in entries[:50] + entries[-50:]:
        assert os.stat(e.path).st_ino == by_name[e.name]
    # Numbers grow in the listing's order (find and fts sort large directories by inode:
    # they then read the collection page by page).
    listed = [e.name for e in os.scandir(d) if e.name != ".collection.json"]
    inos = [by_name[n] for n in listed]
    assert inos == sorted(inos)

    # The kernel forgets the names (drop_caches needs root); they keep their numbers.
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("2\n")
    except OSError as e:
        pytest.skip(f"cannot make the kernel forget its names here: {e}")
    k = kernel(mnt)
    assert k["forget"] > 0, k
    for e in entries[:20]:
        assert os.stat(e.path).st_ino == by_name[e.name]


def test_a_removed_name_gets_a_new_number(mnt):
    d = mnt.p("apps", APP, COLL)
    p = os.path.join(d, "kernel-test.json")
    with open(p, "w") as f:
        f.write('{"n": 1}\n')
    first = os.stat(p).st_ino
    with open(p, "rb") as keep:
        os.unlink(p)
        # The open file answers fstat by its number, with no name.
        assert os.fstat(keep.fileno()).st_ino == first
        with open(p, "w") as f:
            f.write('{"n": 2}\n')
        assert os.stat(p).st_ino != first
        assert json.loads(keep.read())["n"] == 1
    os.unlink(p)


def test_large_writes_are_few_requests(mnt):
    """A write(2) of 2.4 MB to a dataframe file reaches the daemon in 1 MiB requests
    (max_write), not 128 KiB ones."""
    path = mnt.p("dataframes", APP, ND + ".ndjson")
    lines = b"".join(json.dumps({"_id": f"b{i:05d}", "text": "x" * 560}).encode() + b"\n"
                     for i in range(4000))
    assert len(lines) > 2_300_000
    k0 = kernel(mnt)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        assert os.write(fd, lines) == len(lines)
    finally:
        os.close(fd)
    writes = kernel(mnt)["write"] - k0["write"]
    assert 3 <= writes <= 4, writes
    with open(path, "rb") as f:
        assert f.read().count(b"\n") == 4000
