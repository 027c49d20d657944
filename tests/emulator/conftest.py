"""Pytest fixtures for the emulator's tests: emulator processes started per test or per module."""
import pytest

from emutest import PASSWORD, USER, Emu


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running emulator test (still run by default)")


@pytest.fixture
def start_emu():
    """Factory: start_emu(*args) starts an emulator with these options; all stop at teardown."""
    started = []

    def start(*args, tls_ca=None):
        emu = Emu(args, tls_ca=tls_ca)
        started.append(emu)
        return emu.start()

    yield start
    for emu in started:
        emu.stop()


@pytest.fixture(scope="module")
def emu():
    """A demo emulator shared by a test module (tests use their own names when they write)."""
    e = Emu(["--demo", "--user", "%s:%s" % (USER, PASSWORD)]).start()
    yield e
    e.stop()


@pytest.fixture(scope="module")
def token(emu):
    return emu.login()
