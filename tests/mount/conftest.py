"""Fixtures for the tests that really mount clappfs over the emulator.

Everything here skips (never passes) when a mount cannot be made on this machine:
no usable /dev/fuse, no fusermount3, or no clappfs binary under the build root
(CLAPPFS_BUILD_ROOT, default /work/main/build; the binary is <build>/fs/clappfs).
"""
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mount_helpers import CLAPPFS, EMULATOR, PASSWORD, USER, Emulator, Mount  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds (big collections, retries)")
    config.addinivalue_line("markers", "long: a minutes-long repeat of a shorter test; scripts/test "
                            "runs it in its plain stage only, not under the sanitizers")


def _why_no_mount():
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing"
    try:
        fd = os.open("/dev/fuse", os.O_RDWR)
        os.close(fd)
    except OSError as e:
        return f"/dev/fuse is not usable: {e}"
    if not shutil.which("fusermount3"):
        return "fusermount3 is not installed"
    if not os.access(CLAPPFS, os.X_OK):
        return f"clappfs binary not found at {CLAPPFS} (set CLAPPFS_BUILD_ROOT)"
    if not os.access(EMULATOR, os.X_OK):
        return f"emulator script not found at {EMULATOR}"
    return None


@pytest.fixture(scope="session")
def clappfs_binary():
    why = _why_no_mount()
    if why:
        pytest.skip(why)
    return CLAPPFS


@pytest.fixture(autouse=True)
def _needs_a_mount(clappfs_binary):
    """Every test here needs clappfs and FUSE: skip, never pass, without them."""


def _emulators(workdir):
    started = []

    def start(*args, user=USER, password=PASSWORD):
        emu = Emulator(args, workdir, user=user, password=password)
        started.append(emu)
        return emu

    return start, started


def _check_sanitizers(mounts):
    """Fails (at teardown) when a mount's log holds a sanitizer's report."""
    bad = [f"{' '.join(m.cmd)}:\n{m.sanitizer_report()}" for m in mounts if m.sanitizer_report()]
    if bad:
        pytest.fail("sanitizer report in a clappfs log:\n" + "\n".join(bad), pytrace=False)


def _mounts(workdir):
    mounts = []

    def mount(emulator, *options, **kw):
        m = Mount(emulator, workdir, options, **kw)
        mounts.append(m)
        return m

    return mount, mounts


@pytest.fixture(scope="module")
def emulator_factory(tmp_path_factory, clappfs_binary):
    """Starts emulators (args: the emulator's options) shared by a module's tests;
    every one is stopped at the module's end."""
    start, started = _emulators(str(tmp_path_factory.mktemp("emu")))
    yield start
    for emu in started:
        emu.stop()


@pytest.fixture(scope="module")
def mount_factory(tmp_path_factory, clappfs_binary):
    """Mounts clappfs (mount(emulator, *options, user=, password=, env=, stdin_data=))
    for a module's tests; every mount is unmounted at the module's end."""
    mount, mounts = _mounts(str(tmp_path_factory.mktemp("mnt")))
    yield mount
    for m in reversed(mounts):
        m.unmount()
    _check_sanitizers(mounts)


@pytest.fixture
def emulator(tmp_path_factory, clappfs_binary):
    """Like emulator_factory, for one test."""
    start, started = _emulators(str(tmp_path_factory.mktemp("emu")))
    yield start
    for emu in started:
        emu.stop()


@pytest.fixture
def mount(tmp_path_factory, clappfs_binary):
    """Like mount_factory, for one test."""
    mount, mounts = _mounts(str(tmp_path_factory.mktemp("mnt")))
    yield mount
    for m in reversed(mounts):
        m.unmount()
    _check_sanitizers(mounts)


@pytest.fixture(scope="module")
def demo_emulator(emulator_factory):
    """The demo fixture plus a generated collection of three pages."""
    return emulator_factory("--demo", "--generate", "uspresidents/generated:1200")


@pytest.fixture(scope="module")
def demo_mount(mount_factory, demo_emulator):
    return mount_factory(demo_emulator)


