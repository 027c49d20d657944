"""The /etc/fstab path: mount.fuse3 with type fuse.clappfs runs clappfs URL MOUNTPOINT -o ..."""
import os
import shutil
import subprocess
import time

import pytest

from mount_helpers import PASSWORD, USER, is_mounted


def test_mount_fuse3_with_type_fuse_clappfs(emulator_factory, clappfs_binary, tmp_path):
    helper = shutil.which("mount.fuse3") or "/sbin/mount.fuse3"
    if not os.path.exists(helper):
        pytest.skip("mount.fuse3 is not installed")
    emu = emulator_factory("--demo")
    pw = tmp_path / "password"
    pw.write_text(PASSWORD + "\n")
    pw.chmod(0o600)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    # mount(8) runs mount.fuse3 with a fixed PATH; run the helper directly with the build
    # directory first on PATH, as an installed clappfs would be found.
    env = dict(os.environ, PATH=os.path.dirname(clappfs_binary) + ":" + os.environ["PATH"])
    env.pop("CLAPPFORM_PASSWORD", None)
    r = subprocess.run([helper, "clappfs#" + emu.url, str(mnt), "-o",
                        f"username={USER},password_file={pw},cache_ttl=5"],
                       env=env, capture_output=True, text=True, timeout=60)
    try:
        assert r.returncode == 0, r.stderr
        assert is_mounted(str(mnt))
        with open("/proc/self/mounts", encoding="utf-8") as f:
            line = next(l for l in f if l.split()[1] == str(mnt))
        assert line.split()[2] == "fuse.clappfs", line
        assert sorted(os.listdir(mnt / "apps")) == ["uspresidents"]
        assert (mnt / "version.json").stat().st_mode & 0o777 == 0o444
    finally:
        subprocess.run(["fusermount3", "-u", str(mnt)], capture_output=True)
        for _ in range(50):
            if not is_mounted(str(mnt)):
                break
            time.sleep(0.1)
    assert not is_mounted(str(mnt))
