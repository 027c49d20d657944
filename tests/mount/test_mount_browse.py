"""Browsing the demo fixture (plus a generated collection of 1200 records) through a mount:
names, modes, sizes, times and bytes, compared with what the emulator stores."""
import json
import os
import stat
import subprocess

import pytest

import mount_expect
import mount_jsontext as jt

APP = "uspresidents"
COLL = "presidents"


@pytest.fixture(scope="module")
def tree(demo_emulator, demo_mount):
    return mount_expect.expected_tree(demo_emulator)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, timeout=120, **kw)
    assert r.returncode == 0, f"{cmd} exited {r.returncode}: {r.stderr.decode(errors='replace')}"
    return r.stdout


def test_root_layout(demo_mount):
    assert sorted(os.listdir(demo_mount.path)) == \
        [".clappfs", "actionflows", "apps", "dataframes", "exports", "queries",
         "query-results", "questionnaires", "users", "version.json"]


def test_find_lists_every_path(demo_mount, tree):
    # .clappfs (the control directory) is not the server's: test_obs_control.py checks it.
    out = run(["find", demo_mount.path, "-path", demo_mount.p(".clappfs"), "-prune", "-o",
               "-print0"]).decode("utf-8").split("\0")
    found = {os.path.relpath(p, demo_mount.path) for p in out if p}
    found = {"" if p == "." else p for p in found}
    expected = set(tree)
    assert found - expected == set(), "paths the mount shows that the emulator does not hold"
    assert expected - found == set(), "paths the emulator holds that the mount does not show"


def test_os_walk_matches_tree(demo_mount, tree):
    seen_dirs, seen_files = set(), set()
    for dirpath, dirs, files in os.walk(demo_mount.path):
        rel = os.path.relpath(dirpath, demo_mount.path)
        rel = "" if rel == "." else rel
        if rel == "":
            dirs.remove(".clappfs")  # the control directory: test_obs_control.py
        seen_dirs.add(rel)
        seen_files.update(os.path.join(rel, f) for f in files)
    assert seen_dirs == {p for p, e in tree.items() if e.kind == "dir"}
    assert seen_files == {p for p, e in tree.items() if e.kind == "file"}


def test_every_file_has_the_servers_bytes(demo_mount, tree):
    wrong = []
    for path, entry in tree.items():
        if entry.kind != "file":
            continue
        with open(demo_mount.p(path), "rb") as f:
            content = f.read()
        if content not in entry.candidates:
            wrong.append((path, content[:400], entry.candidates[0][:400]))
    assert not wrong, f"{len(wrong)} files differ; first: {wrong[0]}"


def test_every_kind_has_its_mode_owner_and_size(demo_mount, tree):
    uid, gid = os.getuid(), os.getgid()
    for path, entry in tree.items():
        st = os.lstat(demo_mount.p(path))
        assert st.st_uid == uid and st.st_gid == gid, path
        if entry.kind == "dir":
            assert stat.S_ISDIR(st.st_mode), path
            assert stat.S_IMODE(st.st_mode) == 0o755, (path, oct(st.st_mode))
        else:
            assert stat.S_ISREG(st.st_mode), path
            assert stat.S_IMODE(st.st_mode) == entry.mode, (path, oct(st.st_mode))
            with open(demo_mount.p(path), "rb") as f:
                # A stream's size is not known before it is read: 0, as /proc files show.
                assert st.st_size == (0 if entry.stream else len(f.read())), path


def test_version_json_is_read_only(demo_mount):
    st = os.stat(demo_mount.p("version.json"))
    assert stat.S_IMODE(st.st_mode) == 0o444
    assert json.loads(open(demo_mount.p("version.json"), "rb").read())


def test_ls_la_of_a_collection(demo_mount, demo_emulator):
    base = demo_mount.p("apps", APP, COLL)
    out = run(["ls", "-la", "--time-style=+%s", base]).decode("utf-8").splitlines()
    rows = {}
    for line in out[1:]:  # "total N" first
        fields = line.split(None, 6)
        rows[fields[6]] = (fields[0], int(fields[4]), int(fields[5]))
    records = mount_expect.record_files(demo_emulator, APP, COLL)
    assert set(rows) == set(records) | {".", "..", ".collection.json"}
    assert rows["."][0] == "drwxr-xr-x"
    assert rows[".collection.json"][0] == "-rw-r--r--"
    for name, (content, mtime, _) in records.items():
        mode, size, when = rows[name]
        assert mode == "-rw-r--r--", name
        assert size == len(content), name
        if mtime is not None:
            assert when == mtime, name


def test_record_mtime_comes_from_the_objectid(demo_mount, tree):
    checked = 0
    for path, entry in tree.items():
        if entry.kind == "file" and entry.mtime is not None:
            assert int(os.stat(demo_mount.p(path)).st_mtime) == entry.mtime, path
            checked += 1
    assert checked > 100, "the demo fixture should have ObjectId records"


def test_wc_c_equals_st_size_for_every_file(demo_mount, tree):
    files = sorted(p for p, e in tree.items() if e.kind == "file" and not e.stream)
    out = run(["wc", "-c", "--files0-from=-"], cwd=demo_mount.path,
              input="\0".join(files).encode("utf-8"))
    sizes = {}
    for line in out.decode("utf-8").splitlines():
        n, name = line.strip().split(" ", 1)
        sizes[name] = int(n)
    for p in files:
        assert sizes[p] == os.stat(demo_mount.p(p)).st_size, p


def test_du_counts_the_apparent_sizes(demo_mount):
    base = demo_mount.p("apps", APP)
    total = 0
    for dirpath, dirs, files in os.walk(base):
        total += os.lstat(dirpath).st_size
        total += sum(os.lstat(os.path.join(dirpath, f)).st_size for f in files)
    out = run(["du", "-s", "--apparent-size", "--block-size=1", base]).decode()
    assert int(out.split()[0]) == total
    out = run(["du", "-s", base]).decode()
    assert out.split()[0].isdigit()


def test_grep_r_finds_a_president(demo_mount, demo_emulator):
    records = mount_expect.record_files(demo_emulator, APP, COLL)
    needle = "Lincoln"
    expected = sorted(n for n, (content, _, _) in records.items() if needle.encode() in content)
    assert expected, "the demo fixture should hold Lincoln"
    out = run(["grep", "-rl", needle, "."], cwd=demo_mount.p("apps", APP, COLL)).decode()
    assert sorted(os.path.basename(p) for p in out.splitlines()) == expected


def test_grep_r_over_the_whole_mount(demo_mount, tree):
    needle = b"Lincoln"
    out = run(["grep", "-rl", needle.decode(), "."], cwd=demo_mount.path).decode("utf-8")
    found = {os.path.normpath(p) for p in out.splitlines()}
    must = {p for p, e in tree.items() if e.kind == "file"
            and all(needle in c for c in e.candidates)}
    may = {p for p, e in tree.items() if e.kind == "file"
           and any(needle in c for c in e.candidates)}
    assert must and must <= found <= may


def test_jq_reads_a_record(demo_mount, demo_emulator):
    rec = demo_emulator.records(APP, COLL)[0]
    rid = jt.plain(jt.get(rec, "_id"))
    path = demo_mount.p("apps", APP, COLL, jt.escape_name(rid) + ".json")
    assert run(["jq", "-r", "._id", path]).decode() == rid + "\n"
    assert run(["jq", "-r", "keys_unsorted[0]", path]).decode() == "_id\n"
    assert json.loads(run(["jq", "-c", ".", path])) == json.loads(jt.render_record(rec))


def test_generated_collection_spans_pages(demo_mount, demo_emulator):
    names = [n for n in os.listdir(demo_mount.p("apps", APP, "generated")) if n != ".collection.json"]
    assert len(names) == len(demo_emulator.records(APP, "generated")) == 1200
