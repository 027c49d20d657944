"""Helpers of the copy and consistency tests (test_mount_copy.py, test_write_rsync.py,
test_consistency_*.py): a tool run to success, whole trees compared, stored ids, the
revalidate interval run out."""
import filecmp
import json
import subprocess
import time


def run(cmd):
    """Runs cmd, which must succeed; its output."""
    r = subprocess.run(cmd, capture_output=True, timeout=300)
    assert r.returncode == 0, f"{cmd} exited {r.returncode}: {r.stderr.decode(errors='replace')}"
    return r.stdout.decode("utf-8", "replace")


def same_tree(a, b):
    """Every file of a is in b with the same bytes, and nothing more; returns the count."""
    pending = [filecmp.dircmp(a, b, ignore=[])]
    files = 0
    while pending:
        c = pending.pop()
        assert not c.left_only and not c.right_only and not c.funny_files, \
            (c.left, c.left_only, c.right_only, c.funny_files)
        match, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        assert not mismatch and not errors, (c.left, mismatch, errors)
        files += len(match)
        pending.extend(c.subdirs.values())
    return files


def stored_ids(emu, app, slug):
    """The stored _ids of a collection, sorted."""
    return sorted(r["_id"] for r in json.loads(emu.records_text(app, slug)))


def past_revalidate(seconds=1.0):
    """Lets the revalidate interval run out (a wait for a state, not a timing check)."""
    time.sleep(seconds + 0.3)
