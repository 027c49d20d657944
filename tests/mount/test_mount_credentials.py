"""Credentials, the command line, and read-only mounts."""
import errno
import json
import os
import re
import stat

import pytest

from mount_helpers import PASSWORD, SOURCE_ROOT, USER, free_port, run_clappfs

APP, COLL = "uspresidents", "presidents"
UNREACHABLE = re.compile(r"connect|refused|unreachable|127\.0\.0\.1", re.I)
FAILURE = re.compile(r"401|password|credential|auth|log ?in|unauthori[sz]ed|denied|invalid", re.I)


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory("--demo")


def opts(*o):
    return ["-f", "-o", ",".join(o)]


def failed(run):
    return run.returncode not in (0, None) and not run.mounted


def test_wrong_password_is_refused_before_mounting(emu, tmp_path):
    r = run_clappfs(opts(f"username={USER}") + [emu.url, "{mnt}"], password="not-the-password",
                    workdir=tmp_path)
    assert failed(r), r
    assert FAILURE.search(r.output), r


def test_wrong_password_surfaces_the_servers_message(emu, tmp_path):
    status, text = emu.raw("POST", "/api/auth", {"username": USER, "password": "wrong"})
    assert status == 401
    message = json.loads(text)["message"]
    r = run_clappfs(opts(f"username={USER}") + [emu.url, "{mnt}"], password="wrong",
                    workdir=tmp_path)
    assert failed(r), r
    assert message in r.output, (message, r)


def test_unknown_user_is_refused(emu, tmp_path):
    r = run_clappfs(opts("username=nobody@clappform.test") + [emu.url, "{mnt}"],
                    workdir=tmp_path)
    assert failed(r), r
    assert FAILURE.search(r.output), r


def test_password_in_argv_is_refused(emu, tmp_path):
    r = run_clappfs(opts(f"username={USER}", f"password={PASSWORD}") + [emu.url, "{mnt}"],
                    workdir=tmp_path)
    assert failed(r), r
    assert "password" in r.output.lower(), r
    assert PASSWORD not in r.output, r


def test_password_file_readable_by_others_is_refused(emu, tmp_path):
    pw = tmp_path / "pw-open"
    pw.write_text(PASSWORD + "\n")
    os.chmod(pw, 0o644)
    r = run_clappfs(opts(f"username={USER}", f"password_file={pw}") + [emu.url, "{mnt}"],
                    password=None, workdir=tmp_path)
    assert failed(r), r
    assert str(pw) in r.output or "password_file" in r.output, r


def test_password_file_0640_is_refused(emu, tmp_path):
    pw = tmp_path / "pw-group"
    pw.write_text(PASSWORD + "\n")
    os.chmod(pw, 0o640)
    r = run_clappfs(opts(f"username={USER}", f"password_file={pw}") + [emu.url, "{mnt}"],
                    password=None, workdir=tmp_path)
    assert failed(r), r


def test_password_file_0600_is_accepted(emu, mount_factory, tmp_path):
    pw = tmp_path / "pw-private"
    pw.write_text(PASSWORD + "\n")
    os.chmod(pw, 0o600)
    m = mount_factory(emu, f"password_file={pw}", password=False)
    assert "apps" in os.listdir(m.path)
    assert APP in os.listdir(m.p("apps"))


def test_password_stdin_and_username_from_env(emu, mount_factory):
    m = mount_factory(emu, "password_stdin", user=False, password=False,
                      env={"CLAPPFORM_USERNAME": USER}, stdin_data=(PASSWORD + "\n").encode())
    assert APP in os.listdir(m.p("apps"))


def test_no_password_in_cmdline_or_environ(emu, mount_factory):
    m = mount_factory(emu)
    assert COLL in os.listdir(m.p("apps", APP))
    for what in ("cmdline", "environ"):
        with open(f"/proc/{m.pid}/{what}", "rb") as f:
            data = f.read()
        assert PASSWORD.encode() not in data, f"/proc/PID/{what} holds the password"
    with open(f"/proc/{m.pid}/environ", "rb") as f:
        names = [e.split(b"=", 1)[0] for e in f.read().split(b"\0")]
    assert b"CLAPPFORM_PASSWORD" not in names


def test_unreachable_server_fails_quickly(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    r = run_clappfs(opts(f"username={USER}", "tries=1", "timeout=2") + [url, "{mnt}"],
                    timeout=20, workdir=tmp_path)
    assert failed(r), r
    assert r.elapsed < 5, r
    assert UNREACHABLE.search(r.output), r


@pytest.mark.slow
def test_unreachable_server_fails_with_default_retries(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    r = run_clappfs(opts(f"username={USER}") + [url, "{mnt}"], timeout=40, workdir=tmp_path)
    assert failed(r), r
    assert r.elapsed < 30, r
    assert UNREACHABLE.search(r.output), r


def test_help_lists_the_options(tmp_path):
    r = run_clappfs(["--help"], timeout=10, workdir=tmp_path)
    assert r.returncode == 0, r
    for option in ("cache_ttl", "page_size", "workers", "cache_size", "password_file",
                   "password_stdin", "username", "timeout", "tries", "backoff", "cafile",
                   "insecure", "ro"):
        assert option in r.output, (option, r)


def test_version_prints_the_version(tmp_path):
    with open(os.path.join(SOURCE_ROOT, "meson.build")) as f:
        version = re.search(r"version:\s*'([^']+)'", f.read()).group(1)
    r = run_clappfs(["--version"], timeout=10, workdir=tmp_path)
    assert r.returncode == 0, r
    assert version in r.output, (version, r)


@pytest.fixture(scope="module")
def ro_mount(emu, mount_factory):
    return mount_factory(emu, "ro")


def erofs(fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    assert e.value.errno == errno.EROFS, f"{fn.__name__}{args}: {e.value}"


def test_ro_mount_refuses_every_write(emu, ro_mount):
    coll = ro_mount.p("apps", APP, COLL)
    record = sorted(n for n in os.listdir(coll) if n != ".collection.json")[0]
    path = os.path.join(coll, record)
    with open(path, "rb") as f:
        assert f.read().startswith(b"{\n")
    erofs(os.open, path, os.O_WRONLY)
    erofs(os.open, path, os.O_RDWR)
    erofs(os.open, path, os.O_WRONLY | os.O_TRUNC)
    erofs(os.open, os.path.join(coll, "new-record.json"), os.O_WRONLY | os.O_CREAT, 0o644)
    erofs(os.mkdir, ro_mount.p("apps", "new-app"))
    erofs(os.mkdir, os.path.join(coll, "sub"))
    erofs(os.unlink, path)
    erofs(os.rmdir, coll)
    erofs(os.rename, path, os.path.join(coll, "renamed.json"))
    erofs(os.truncate, path, 0)
    erofs(os.chmod, path, 0o600)
    erofs(os.open, ro_mount.p(".app-new"), os.O_WRONLY | os.O_CREAT, 0o644)
    assert stat.S_ISREG(os.stat(path).st_mode)
    assert record in os.listdir(coll)
