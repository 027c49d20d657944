"""Passwords and tokens never reach the log (even with -o debug), error messages, the
.clappfs files, or the process's argv and environment."""
import os

import pytest

from mount_helpers import PASSWORD, USER, run_clappfs

APP, COLL = "uspresidents", "presidents"


def secrets_in(text, extra=()):
    """The secret-looking strings found in text."""
    found = [s for s in ("Bearer", "eyJ", "access_token", "refresh_token", "Authorization",
                         PASSWORD) + tuple(extra) if s in text]
    return found


def read(path):
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory("--demo")


def test_debug_log_holds_no_secret(emu, mount):
    # A token of our own, to show what one looks like: tokens differ per login, so the
    # mount's own cannot be known; none may appear in any form.
    token = emu.login()
    assert token.startswith("eyJ")
    m = mount(emu, "debug", "tries=2", "backoff=0", "cache_ttl=0")
    names = [n for n in os.listdir(m.p("apps", APP, COLL)) if n.endswith(".json")]
    read(m.p("apps", APP, COLL, names[0]))
    # A re-login (tokens invalidated) and failures with retries are logged too.
    emu.raw("POST", "/_emulator/expire-tokens")
    read(m.p("apps", APP, COLL, names[1]))
    emu.faults({"fail_rate": 1.0, "fail_statuses": [503], "fail_routes": ["/api/item"]})
    with pytest.raises(OSError):
        read(m.p("apps", APP, COLL, names[2]))
    emu.faults({"fail_rate": 0.0})
    stats = read(m.p(".clappfs", "stats")).decode()
    errors = read(m.p(".clappfs", "errors")).decode()
    log = m.log()
    assert "HTTP POST /api/auth 200" in log and log.count("HTTP POST /api/auth 200") >= 2, log
    assert "503" in log and "503" in errors
    for name, text in (("log", log), ("stats", stats), ("errors", errors)):
        assert secrets_in(text, (token,)) == [], (name, text[-3000:])


def test_error_messages_hold_no_secret(emu, tmp_path):
    wrong = "Wrong-Secret-Password-9c1d"
    r = run_clappfs(["-f", "-o", f"username={USER},debug", emu.url, "{mnt}"], password=wrong,
                    workdir=tmp_path)
    assert r.returncode not in (0, None) and not r.mounted, r
    assert "401" in r.output or "log in" in r.output, r
    assert secrets_in(r.output, (wrong,)) == [], r
    # The password given where it is refused (argv) is not echoed either.
    r = run_clappfs(["-f", "-o", f"username={USER},password={wrong}", emu.url, "{mnt}"],
                    workdir=tmp_path)
    assert r.returncode not in (0, None), r
    assert secrets_in(r.output, (wrong,)) == [], r
    # Nor is a password file's content when the file is refused or wrong.
    pw = tmp_path / "pw"
    pw.write_text(wrong + "\n")
    os.chmod(pw, 0o644)
    r = run_clappfs(["-f", "-o", f"username={USER},password_file={pw}", emu.url, "{mnt}"],
                    password=None, workdir=tmp_path)
    assert r.returncode not in (0, None), r
    assert secrets_in(r.output, (wrong,)) == [], r
    os.chmod(pw, 0o600)
    r = run_clappfs(["-f", "-o", f"username={USER},password_file={pw},debug", emu.url,
                     "{mnt}"], password=None, workdir=tmp_path)
    assert r.returncode not in (0, None), r
    assert secrets_in(r.output, (wrong,)) == [], r


def test_no_secret_in_proc_after_start(emu, mount):
    m = mount(emu, "debug")
    os.listdir(m.p("apps"))
    for what in ("cmdline", "environ"):
        data = read(f"/proc/{m.pid}/{what}").decode("utf-8", "replace")
        assert secrets_in(data) == [], what
