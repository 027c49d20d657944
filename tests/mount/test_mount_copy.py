"""Copying a whole app out of a mount with cp -r and rsync -a."""
import os

import mount_expect
from consistency_helpers import run, same_tree

APP = "uspresidents"


def expected_app_files(emu):
    tree = mount_expect.expected_tree(emu, apps_only={APP})
    prefix = f"apps/{APP}/"
    return {p[len(prefix):]: e for p, e in tree.items() if p.startswith(prefix) and e.kind == "file"}


def test_cp_r_copies_the_app_byte_for_byte(demo_mount, demo_emulator, tmp_path):
    dst = tmp_path / "cp"
    run(["cp", "-r", demo_mount.p("apps", APP), str(dst)])
    n = same_tree(demo_mount.p("apps", APP), str(dst))
    expected = expected_app_files(demo_emulator)
    assert n == len(expected)
    for rel, entry in expected.items():
        assert (dst / rel).read_bytes() in entry.candidates, rel


def test_rsync_a_copies_the_app_and_a_second_run_transfers_nothing(demo_mount, demo_emulator,
                                                                    tmp_path):
    src = demo_mount.p("apps", APP) + "/"
    dst = str(tmp_path / "rsync") + "/"
    run(["rsync", "-a", src, dst])
    n = same_tree(src, dst)
    assert n == len(expected_app_files(demo_emulator))
    for dirpath, dirs, files in os.walk(dst):
        for f in files:
            p = os.path.join(dirpath, f)
            rel = os.path.relpath(p, dst)
            assert int(os.stat(p).st_mtime) == int(os.stat(os.path.join(src, rel)).st_mtime), rel
    out = run(["rsync", "-a", "--itemize-changes", src, dst])
    assert out == "", f"second rsync transferred:\n{out[:2000]}"
