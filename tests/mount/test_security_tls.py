"""TLS: the server's certificate is verified by default. The emulator serves HTTPS with a
certificate from a test CA made here with openssl."""
import os
import re
import shutil
import subprocess

import pytest

from mount_helpers import USER, run_clappfs

APP = "uspresidents"
CERT_PROBLEM = re.compile(r"certificate", re.I)


def openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"openssl {' '.join(args[:2])} failed: {r.stderr[-500:]}")


def server_cert(d, name, sans):
    """A key and a certificate for `sans` (subjectAltName entries) signed by the CA in d."""
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(f"subjectAltName={','.join(sans)}\n"
                "basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext",
            cwd=d)
    return os.path.join(d, f"{name}.pem"), os.path.join(d, f"{name}.key")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed (Debian package: openssl)")
    d = str(tmp_path_factory.mktemp("pki"))
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=clappfs test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    good = server_cert(d, "localhost", ["IP:127.0.0.1", "DNS:localhost"])
    other = server_cert(d, "otherhost", ["DNS:otherhost"])
    return {"ca": os.path.join(d, "ca.pem"), "good": good, "other": other}


@pytest.fixture(scope="module")
def https_emu(emulator_factory, pki):
    cert, key = pki["good"]
    emu = emulator_factory("--demo", "--tls-cert", cert, "--tls-key", key)
    assert emu.url.startswith("https://127.0.0.1:"), emu.url
    return emu


@pytest.fixture(scope="module")
def otherhost_emu(emulator_factory, pki):
    cert, key = pki["other"]
    return emulator_factory("--demo", "--tls-cert", cert, "--tls-key", key)


def opts(*o):
    return ["-f", "-o", ",".join((f"username={USER}", "tries=1") + o)]


def refused(r):
    return r.returncode not in (0, None) and not r.mounted


def test_cafile_mounts(https_emu, mount, pki):
    m = mount(https_emu, f"cafile={pki['ca']}")
    assert APP in os.listdir(m.p("apps"))
    assert "insecure" not in m.log()


def test_without_cafile_the_certificate_is_refused(https_emu, tmp_path):
    r = run_clappfs(opts() + [https_emu.url, "{mnt}"], workdir=tmp_path)
    assert refused(r), r
    assert CERT_PROBLEM.search(r.output), r
    assert "cafile" in r.output, r  # the message says what to do


def test_a_name_that_does_not_match_is_refused(otherhost_emu, tmp_path, pki):
    """Signed by the trusted CA, but for otherhost only, while the URL names 127.0.0.1."""
    r = run_clappfs(opts(f"cafile={pki['ca']}") + [otherhost_emu.url, "{mnt}"],
                    workdir=tmp_path)
    assert refused(r), r
    assert CERT_PROBLEM.search(r.output), r
    assert re.search(r"127\.0\.0\.1|name|match", r.output), r


def test_a_wrong_ca_is_refused(https_emu, tmp_path, pki):
    # The server's own certificate is no CA: a bundle holding only it verifies nothing.
    r = run_clappfs(opts(f"cafile={pki['other'][0]}") + [https_emu.url, "{mnt}"],
                    workdir=tmp_path)
    assert refused(r), r
    assert CERT_PROBLEM.search(r.output), r


def test_insecure_mounts_and_warns_at_every_mount(https_emu, otherhost_emu, mount):
    for emu in (https_emu, otherhost_emu, https_emu):
        m = mount(emu, "insecure")
        assert APP in os.listdir(m.p("apps"))
        assert re.search(r"warning: .*insecure", m.log()), m.log()
        m.unmount()
