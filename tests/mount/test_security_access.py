"""Who can reach the mount (only the mounting user without allow_other), and names from
the server that look like paths (they are escaped, never followed)."""
import json
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

import mount_jsontext as jt
from mount_helpers import Mount

APP, COLL = "uspresidents", "presidents"
NOBODY = 65534


def as_nobody(*cmd):
    """Runs cmd as uid/gid 65534 with no supplementary groups."""
    if os.getuid() != 0:
        pytest.skip("changing user needs root")
    if shutil.which("setpriv"):
        wrap = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    elif shutil.which("runuser"):
        wrap = ["runuser", "-u", "nobody", "--"]
    else:
        pytest.skip("neither setpriv nor runuser is installed (Debian package: util-linux)")
    return subprocess.run(wrap + list(cmd), capture_output=True, text=True, timeout=30)


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory("--demo")


@pytest.fixture
def open_dir():
    """A directory everyone may enter (pytest's own temporary directories are 0700, which
    would refuse another user before FUSE is even asked)."""
    d = tempfile.mkdtemp(prefix="clappfs-access-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def mount_in(emu, workdir, *options):
    # The mount point under it is 0700, but once mounted its mode is the mount's root's.
    return Mount(emu, workdir, options)


def test_only_the_mounting_user_reaches_the_files(emu, open_dir):
    plain = os.path.join(open_dir, "plain")
    os.mkdir(plain, 0o755)
    # The path itself is open to another user: the control case.
    r = as_nobody("stat", plain)
    assert r.returncode == 0, r
    m = mount_in(emu, open_dir)
    try:
        assert "apps" in os.listdir(m.path)
        assert os.stat(m.path).st_mode & 0o005  # the bits would let others in...
        for cmd in (["stat", m.path], ["ls", m.p("apps")],
                    ["cat", m.p("version.json")], ["stat", m.p(".clappfs", "stats")]):
            r = as_nobody(*cmd)
            # ... FUSE refuses them all the same (no allow_other).
            assert r.returncode != 0, (cmd, r)
            assert "Permission denied" in r.stderr, (cmd, r)
    finally:
        m.unmount()
    assert not m.sanitizer_report(), m.sanitizer_report()


def test_allow_other_lets_another_user_in(emu, open_dir):
    """The positive control: the refusal above is FUSE's default, not the path's modes."""
    m = mount_in(emu, open_dir, "allow_other")
    try:
        r = as_nobody("ls", m.p("apps"))
        assert r.returncode == 0 and APP in r.stdout.split(), r
    finally:
        m.unmount()
    assert not m.sanitizer_report(), m.sanitizer_report()


def test_path_like_record_ids_are_escaped_and_never_followed(emu, mount, tmp_path):
    tag = uuid.uuid4().hex[:12]
    ids = [f"../../../tmp/x-{tag}", f"..%2F..%2Ftmp%2Fy-{tag}", f"/tmp/z-{tag}",
           f"..\\..\\w-{tag}", f"a/../../v-{tag}"]
    for rid in ids:
        status, body = emu.api("POST", f"/api/item/{APP}/{COLL}", {"data": {"_id": rid, "t": tag}})
        assert status == 200, body
    m = mount(emu)
    names = set(os.listdir(m.p("apps", APP, COLL)))
    for rid in ids:
        name = jt.escape_name(rid) + ".json"
        assert "/" not in name and not name.startswith(".")
        assert name in names, (rid, name)
        data = json.loads(open(m.p("apps", APP, COLL, name), "rb").read())
        assert data["_id"] == rid and data["t"] == tag
    # No name in the directory climbs out of it.
    assert all(n not in (".", "..") and "/" not in n for n in names)
    # Nothing was made outside: not where the ids point, not near the mount, not in the
    # daemon's working directory.
    places = ["/tmp", os.path.dirname(m.path), str(tmp_path), os.readlink(f"/proc/{m.pid}/cwd"),
              "/"]
    for place in places:
        for entry in os.listdir(place):
            assert tag not in entry, (place, entry)
    # A record reachable only under its escaped name: the raw id is no path in the mount.
    assert not os.path.exists(m.p("apps", APP, COLL, ids[0] + ".json"))
    assert not os.path.exists(os.path.join(m.p("apps", APP, COLL), "..", "..", "..", "tmp",
                                           f"x-{tag}.json"))
