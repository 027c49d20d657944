"""Saving records with real editors and tools, each checked against the emulator's stored
record and its request counters: vim (Ex mode: the default rename-and-recreate save,
backupcopy=yes and =no), nano driven through tmux, sed -i, perl -pi, a VS Code-style save,
a gedit-style save, Python open('w') and tempfile + os.replace, shell > and >>.

Each test gets a collection of its own (made through the API before the mount starts)
and a mount with a long TTL, so the counters show the save's requests and nothing else.
The mounts revalidate no sooner than the TTL: with the default (1 s), an open of a record
read more than a second before adds a GET, and so does the save of it (the conflict
check); test_consistency_*.py count those.
"""
import itertools
import json
import os
import subprocess
import tempfile
import time

import pytest

from mount_helpers import need, routes

APP = "uspresidents"
PUT = "PUT /api/item/{app}/{slug}/{id}"
POST = "POST /api/item/{app}/{slug}"
DELETE = "DELETE /api/item/{app}/{slug}"
GET = "GET /api/item/{app}/{slug}/{id}"


def pretty(rec):
    """The file a record shows (the mount's rendering of simple records)."""
    return (json.dumps(rec, indent=2, ensure_ascii=False) + "\n").encode()


class Work:
    """A collection of records r0..r4 made through the API, and a mount made after it."""

    def __init__(self, emu, m, slug):
        self.emu, self.m, self.slug = emu, m, slug
        self.dir = m.p("apps", APP, slug)

    def p(self, name):
        return os.path.join(self.dir, name)

    def stored(self, rid):
        for rec in json.loads(self.emu.records_text(APP, self.slug)):
            if rec["_id"] == rid:
                return rec
        return None

    def ids(self):
        return [rec["_id"] for rec in json.loads(self.emu.records_text(APP, self.slug))]

    def reset(self):
        self.emu.reset()

    def counts(self):
        return routes(self.emu.stats())

    def names(self):
        return sorted(os.listdir(self.dir))


def record(i):
    return {"_id": f"r{i}", "name": f"record {i}", "n": i, "tags": ["a", "b"], "ok": True}


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory("--demo")


SERIAL = itertools.count()


@pytest.fixture
def work(emu, mount, request):
    slug = f"w{next(SERIAL)}-" + request.node.name.replace("test_", "").replace("_", "-")[:36]
    status, text = emu.api("POST", f"/api/collection/{APP}", {"slug": slug})
    assert status == 200, text
    for i in range(5):
        status, text = emu.api("POST", f"/api/item/{APP}/{slug}", {"data": record(i)})
        assert status == 200, text
    m = mount(emu, "cache_ttl=300", "revalidate=300")
    w = Work(emu, m, slug)
    # Warm the cache: the collection listed and every record's content known.
    for name in w.names():
        with open(w.p(name), "rb") as f:
            f.read()
    return w


def run(cmd, timeout=60, ok=True, **kw):
    r = subprocess.run(cmd, capture_output=True, timeout=timeout, **kw)
    if ok:
        assert r.returncode == 0, f"{cmd} exited {r.returncode}: {r.stderr.decode(errors='replace')}"
    return r


def assert_saved(w, rid, expected):
    """The server holds exactly expected (with its _id) and the file shows it."""
    assert w.stored(rid) == expected
    with open(w.p(rid + ".json"), "rb") as f:
        assert f.read() == pretty(expected)


def assert_clean(w):
    """Only the records and the metadata are left: no backup, swap or temporary file."""
    names = w.names()
    assert all(n == ".collection.json" or (n.endswith(".json") and not n.startswith("."))
               for n in names), names


# -- vim ------------------------------------------------------------------------------

# Ex mode, no vimrc, no viminfo. 'backupskip' is emptied: its default skips backups under
# /tmp (where the test mounts live), and a user's files elsewhere get the default save.
VIM = ["vim", "-Es", "-u", "DEFAULTS", "-i", "NONE", "-N", "-c", "set backupskip="]


def vim(w, name, *commands, ok=True):
    need("vim")
    args = list(VIM)
    for c in commands:
        args += ["-c", c]
    return run(args + ["-c", "wq", w.p(name)], ok=ok)


@pytest.mark.parametrize("backupcopy", ["auto", "yes", "no"])
def test_vim_edit_makes_one_update(work, backupcopy):
    w = work
    w.reset()
    vim(w, "r1.json", f"set backupcopy={backupcopy}", "%s/record 1/edited by vim/")
    assert w.counts() == {PUT: 1}, w.counts()
    assert_saved(w, "r1", dict(record(1), name="edited by vim"))
    assert_clean(w)


@pytest.mark.parametrize("backupcopy", ["auto", "yes", "no"])
def test_vim_unchanged_save_sends_nothing(work, backupcopy):
    w = work
    before = w.stored("r2")
    w.reset()
    vim(w, "r2.json", f"set backupcopy={backupcopy}")
    assert w.counts() == {}, w.counts()
    assert w.stored("r2") == before
    assert_clean(w)


@pytest.mark.parametrize("backupcopy", ["auto", "yes", "no"])
def test_vim_invalid_save_loses_nothing(work, backupcopy, tmp_path):
    w = work
    msgs = tmp_path / "messages"
    with open(w.p("r3.json"), "rb") as f:
        old = f.read()
    w.reset()
    # A missing comma: vim is told (fsync or close fails with EINVAL) and puts its backup
    # back; silent Ex mode prints nothing, so its messages go to a file.
    r = vim(w, "r3.json", f"redir! > {msgs}", f"set backupcopy={backupcopy}",
            '%s/"n": 3,/"n": 3/', ok=False)
    assert r.returncode != 0, r
    out = msgs.read_text(errors="replace")
    assert "E667" in out or "E512" in out or "E212" in out, out
    assert w.counts() == {}, w.counts()
    assert w.stored("r3") == record(3)
    with open(w.p("r3.json"), "rb") as f:
        assert f.read() == old
    if backupcopy == "yes":
        # vim keeps its backup copy after a failed write (a local file, gone at unmount).
        with open(w.p("r3.json~"), "rb") as f:
            assert f.read() == old
        os.unlink(w.p("r3.json~"))
        assert w.counts() == {}, w.counts()
    assert_clean(w)
    assert "r3.json: not saved: line 5, column 3: expected" in w.m.log(), w.m.log()


def test_vim_creates_a_record(work):
    w = work
    w.reset()
    vim(w, "new.json", 'call setline(1, [\'{"name": "made in vim", "n": 10}\'])')
    assert w.counts() == {POST: 1}, w.counts()
    assert_saved(w, "new", {"_id": "new", "name": "made in vim", "n": 10})
    assert_clean(w)


def test_touch_then_vim(work):
    w = work
    w.reset()
    run(["touch", w.p("t.json")])
    assert os.stat(w.p("t.json")).st_size == 0
    assert "t.json" in w.names()
    assert w.counts() == {}, w.counts()
    assert w.stored("t") is None
    vim(w, "t.json", 'call setline(1, [\'{"a": 1}\'])')
    assert w.counts() == {POST: 1}, w.counts()
    assert_saved(w, "t", {"_id": "t", "a": 1})
    assert_clean(w)


# -- nano -----------------------------------------------------------------------------

def test_nano_through_tmux(work, tmp_path):
    need("nano")
    need("tmux")
    w = work
    sock = str(tmp_path / "tmux.sock")
    tmux = ["tmux", "-S", sock]

    def keys(*k):
        run(tmux + ["send-keys", "-t", "ed"] + list(k))
        time.sleep(0.3)

    def screen():
        return run(tmux + ["capture-pane", "-p", "-t", "ed"]).stdout.decode(errors="replace")

    w.reset()
    run(tmux + ["new-session", "-d", "-s", "ed", "-x", "100", "-y", "30",
                f"nano -I {w.p('r4.json')}"])
    try:
        deadline = time.monotonic() + 10
        while "record 4" not in screen():
            assert time.monotonic() < deadline, screen()
            time.sleep(0.2)
        keys("M-r")                  # replace
        keys("record 4", "Enter")    # search for
        keys("edited by nano", "Enter")
        keys("a")                    # all
        keys("C-o")                  # write out
        keys("Enter")                # under the same name
        deadline = time.monotonic() + 10
        while "Wrote" not in screen():
            assert time.monotonic() < deadline, screen()
            time.sleep(0.2)
        keys("C-x")
    finally:
        subprocess.run(tmux + ["kill-server"], capture_output=True)
    assert w.counts() == {PUT: 1}, w.counts()
    assert_saved(w, "r4", dict(record(4), name="edited by nano"))
    assert_clean(w)


# -- stream editors -------------------------------------------------------------------

def test_sed_i(work):
    need("sed")
    w = work
    w.reset()
    run(["sed", "-i", "s/record 1/edited by sed/", w.p("r1.json")])
    assert w.counts() == {PUT: 1}, w.counts()
    assert_saved(w, "r1", dict(record(1), name="edited by sed"))
    assert_clean(w)


def test_sed_i_invalid_keeps_the_record(work):
    need("sed")
    w = work
    w.reset()
    r = run(["sed", "-i", "s/\"n\": 1,/\"n\": 1/", w.p("r1.json")], ok=False)
    assert r.returncode != 0
    assert w.counts() == {}, w.counts()
    assert w.stored("r1") == record(1)
    with open(w.p("r1.json"), "rb") as f:
        assert f.read() == pretty(record(1))


def test_perl_pi(work):
    need("perl")
    w = work
    w.reset()
    run(["perl", "-pi", "-e", "s/record 2/edited by perl/", w.p("r2.json")])
    assert w.counts() == {PUT: 1}, w.counts()
    assert_saved(w, "r2", dict(record(2), name="edited by perl"))
    assert_clean(w)


# -- editors' save patterns -----------------------------------------------------------

def test_vscode_style_save(work):
    """open r+, ftruncate 0, pwrite, close."""
    w = work
    data = pretty(dict(record(1), name="edited like vscode"))
    w.reset()
    fd = os.open(w.p("r1.json"), os.O_RDWR)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
    finally:
        os.close(fd)
    assert w.counts() == {PUT: 1}, w.counts()
    assert_saved(w, "r1", dict(record(1), name="edited like vscode"))


def test_gedit_style_save(work):
    """A temporary file in the same directory, written, then renamed over the file."""
    w = work
    tmp = w.p(".goutputstream-ABC123")
    w.reset()
    with open(tmp, "wb") as f:
        f.write(pretty(dict(record(2), name="edited like gedit")))
    assert w.counts() == {}, w.counts()
    os.rename(tmp, w.p("r2.json"))
    assert w.counts() == {PUT: 1}, w.counts()
    assert_saved(w, "r2", dict(record(2), name="edited like gedit"))
    assert_clean(w)


def test_python_open_w(work):
    w = work
    w.reset()
    with open(w.p("r3.json"), "w") as f:
        # Several writes, one request at close.
        f.write('{"_id": "ignored",')
        f.flush()
        f.write(' "name": "edited by python",')
        f.flush()
        f.write(' "n": 1.50e3}')
    assert w.counts() == {PUT: 1}, w.counts()
    # The name wins over the _id inside; the number is sent as written.
    text = [t for t in json.loads(w.emu.records_text(APP, w.slug), parse_float=str)
            if t["_id"] == "r3"]
    assert text == [{"_id": "r3", "name": "edited by python", "n": "1.50e3"}]
    raw = w.emu.records_text(APP, w.slug)
    assert '"n":1.50e3' in raw.replace(" ", "")
    # Read your own writes at once (TTL 300): the server's rendering.
    with open(w.p("r3.json"), "rb") as f:
        assert f.read() == b'{\n  "_id": "r3",\n  "name": "edited by python",\n  "n": 1.50e3\n}\n'


def test_python_tempfile_and_replace(work):
    w = work
    w.reset()
    with tempfile.NamedTemporaryFile("w", dir=w.dir, delete=False) as f:
        json.dump({"name": "replaced", "n": 4}, f)
        tmp = f.name
    assert w.counts() == {}, w.counts()
    os.replace(tmp, w.p("r4.json"))
    assert w.counts() == {PUT: 1}, w.counts()
    assert_saved(w, "r4", {"_id": "r4", "name": "replaced", "n": 4})
    assert_clean(w)


def test_python_tempfile_replace_while_open(work):
    """Renamed before it is closed: the handle follows the file, the close sends nothing
    more, a later write through it updates the record."""
    w = work
    f = tempfile.NamedTemporaryFile("w", dir=w.dir, delete=False)
    try:
        json.dump({"name": "first"}, f)
        f.flush()
        w.reset()
        os.replace(f.name, w.p("r0.json"))
        assert w.counts() == {PUT: 1}, w.counts()
        f.seek(0)
        f.truncate()
        json.dump({"name": "second"}, f)
    finally:
        f.close()
    assert w.counts() == {PUT: 2}, w.counts()
    assert_saved(w, "r0", {"_id": "r0", "name": "second"})


def test_shell_redirections(work):
    w = work
    w.reset()
    run(["bash", "-c", f"echo '{{\"name\": \"by shell\"}}' > {w.p('r1.json')}"])
    assert w.counts() == {PUT: 1}, w.counts()
    assert_saved(w, "r1", {"_id": "r1", "name": "by shell"})

    # A new file written in two steps: the first half is refused and kept here; the
    # second completes it and creates the record.
    w.reset()
    run(["bash", "-c", f"printf '{{\"half\": ' > {w.p('two.json')}"])
    assert w.counts() == {}, w.counts()
    assert w.stored("two") is None
    with open(w.p("two.json"), "rb") as f:
        assert f.read() == b'{"half": '
    run(["bash", "-c", f"printf '1}}' >> {w.p('two.json')}"])
    assert w.counts() == {POST: 1}, w.counts()
    assert_saved(w, "two", {"_id": "two", "half": 1})

    # >> of white space: a change of bytes, the same object.
    w.reset()
    run(["bash", "-c", f"echo >> {w.p('r2.json')}"])
    assert w.counts() == {PUT: 1}, w.counts()
    assert_saved(w, "r2", record(2))

    # >> that breaks the object: refused, nothing sent.
    w.reset()
    r = run(["bash", "-c", f"echo '{{}}' >> {w.p('r2.json')}"], ok=False)
    assert w.counts() == {}, w.counts()
    assert w.stored("r2") == record(2)


def test_vim_edits_metadata_and_a_query(work):
    w = work
    meta = os.path.join(w.dir, ".collection.json")
    w.reset()
    vim(w, ".collection.json", f"%s/\"name\": \"{w.slug}\"/\"name\": \"Named in vim\"/")
    assert w.counts() == {"PUT /api/collection/{app}/{slug}": 1}, w.counts()
    status, data = w.emu.api("GET", f"/api/collection/{APP}/{w.slug}?extended=1")
    assert data["data"]["name"] == "Named in vim"
    with open(meta) as f:
        assert json.load(f)["name"] == "Named in vim"
    assert_clean(w)

    need("vim")
    q = w.m.p("queries", "all-presidents.json")
    os.listdir(w.m.p("queries"))
    w.reset()
    run(VIM + ["-c", "%s/\"primary\": false/\"primary\": true/", "-c", "wq", q])
    assert w.counts() == {"PUT /api/query/{slug}": 1}, w.counts()
    status, data = w.emu.api("GET", "/api/query/all-presidents")
    assert data["data"]["primary"] is True
    assert sorted(os.listdir(w.m.p("queries"))) == ["all-presidents.json",
                                                    "republican-presidents.json"]


def test_vim_with_its_defaults_as_they_are(work):
    """No 'backupskip' change: under /tmp (where the test mounts live) vim makes no backup
    and writes in place; still one update, and none for an unchanged save."""
    need("vim")
    w = work
    plain = ["vim", "-Es", "-u", "DEFAULTS", "-i", "NONE", "-N"]
    w.reset()
    run(plain + ["-c", "%s/record 1/plain vim/", "-c", "wq", w.p("r1.json")])
    assert w.counts() == {PUT: 1}, w.counts()
    assert_saved(w, "r1", dict(record(1), name="plain vim"))
    w.reset()
    run(plain + ["-c", "wq", w.p("r1.json")])
    assert w.counts() == {}, w.counts()
    assert_clean(w)


@pytest.mark.parametrize("backupcopy", ["auto", "yes"])
def test_vim_save_failing_on_the_server_loses_nothing(work, backupcopy, tmp_path):
    """The server answers 500 to the update: vim is told, the record and the file keep the
    old content, and no other request was made (no delete, no create)."""
    w = work
    msgs = tmp_path / "messages"
    with open(w.p("r2.json"), "rb") as f:
        old = f.read()
    w.emu.faults({"fail_every": 1, "fail_statuses": [500], "fail_routes": ["/api/item"]})
    try:
        w.reset()
        r = vim(w, "r2.json", f"redir! > {msgs}", f"set backupcopy={backupcopy}",
                "%s/record 2/never stored/", ok=False)
    finally:
        w.emu.faults({"fail_every": 0, "fail_routes": []})
    assert r.returncode != 0
    c = w.counts()
    # A 5xx may hide a stored update, so the mount reads the record back (item GETs);
    # what must never happen is a create or a delete.
    assert c.get(PUT, 0) >= 1 and set(c) <= {PUT, GET}, c
    assert w.stored("r2") == record(2)
    with open(w.p("r2.json"), "rb") as f:
        assert f.read() == old
    assert "r2.json: not saved: PUT /api/item/" in w.m.log()
    assert "response_id" in w.m.log()
