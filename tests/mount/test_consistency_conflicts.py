"""Conflicts on save: a record changed on the server since this mount read it is not
overwritten; the save fails with EBUSY, .clappfs/errors names both versions, the text is
kept under .clappfs/conflicts/<app>/<coll>/<file> (read, listed, removed by the user).
-o overwrite restores last-writer-wins; a record never read here (a create, a cp over it)
is saved without a check."""
import errno
import json
import os
import subprocess

import pytest

from consistency_helpers import past_revalidate
from mount_helpers import need, routes

APP = "uspresidents"
PUT = "PUT /api/item/{app}/{slug}/{id}"
POST = "POST /api/item/{app}/{slug}"
GET = "GET /api/item/{app}/{slug}/{id}"


def pretty(rec):
    return (json.dumps(rec, indent=2, ensure_ascii=False) + "\n").encode()


class Coll:
    """A collection of records r0..r3 made through the API before the mount."""

    def __init__(self, emu, mount, slug, *options):
        self.emu, self.slug = emu, slug
        status, text = emu.api("POST", f"/api/collection/{APP}", {"slug": slug})
        assert status == 200, text
        for i in range(4):
            status, text = emu.api("POST", f"/api/item/{APP}/{slug}",
                                   {"data": {"_id": f"r{i}", "name": f"record {i}", "n": i}})
            assert status == 200, text
        self.m = mount(emu, "cache_ttl=30", *options)
        self.dir = self.m.p("apps", APP, slug)
        os.listdir(self.dir)

    def p(self, name):
        return os.path.join(self.dir, name)

    def read(self, name):
        with open(self.p(name), "rb") as f:
            return f.read()

    def stored(self, rid):
        for rec in json.loads(self.emu.records_text(APP, self.slug)):
            if rec["_id"] == rid:
                return rec
        return None

    def edit_on_server(self, rid, **fields):
        rec = self.stored(rid)
        body = {k: v for k, v in rec.items() if k != "_id"}
        body.update(fields)
        status, text = self.emu.api("PUT", f"/api/item/{APP}/{self.slug}/{rid}", {"data": body})
        assert status == 200, text
        return {"_id": rid, **body}

    def conflict_path(self, name):
        return self.m.p(".clappfs", "conflicts", APP, self.slug, name)

    def errors(self):
        with open(self.m.p(".clappfs", "errors"), "rb") as f:
            return [json.loads(line) for line in f.read().splitlines() if line.strip()]


def save_with_python(path, data):
    """open('w'), write, close: the errno of the close, or 0."""
    try:
        with open(path, "wb") as f:
            f.write(data)
        return 0
    except OSError as e:
        return e.errno


@pytest.mark.parametrize("revalidate", [None, "0"])
def test_save_over_a_server_edit_is_refused(emulator, mount, revalidate):
    emu = emulator("--demo")
    c = Coll(emu, mount, "conf-py", *([f"revalidate={revalidate}"] if revalidate else []))
    assert c.read("r1.json") == pretty({"_id": "r1", "name": "record 1", "n": 1})
    theirs = c.edit_on_server("r1", name="changed by another client")
    if revalidate is None:
        past_revalidate()  # else the copy read is trusted (close-to-open): see the README

    emu.reset()
    mine = pretty({"_id": "r1", "name": "changed through the mount", "n": 1})
    assert save_with_python(c.p("r1.json"), mine) == errno.EBUSY
    # One GET (the check), nothing sent; the server keeps the other change.
    assert routes(emu.stats()) == {GET: 1}, routes(emu.stats())
    assert c.stored("r1") == theirs
    assert c.read("r1.json") == pretty(theirs)

    # The local text is kept, listed, readable.
    assert os.listdir(c.m.p(".clappfs", "conflicts")) == [APP]
    assert os.listdir(c.m.p(".clappfs", "conflicts", APP)) == [c.slug]
    assert os.listdir(c.m.p(".clappfs", "conflicts", APP, c.slug)) == ["r1.json"]
    with open(c.conflict_path("r1.json"), "rb") as f:
        assert f.read() == mine
    assert os.stat(c.conflict_path("r1.json")).st_size == len(mine)

    # .clappfs/errors names both versions.
    e = c.errors()[-1]
    assert e["op"] == "save" and e["errno"] == "EBUSY" and e["path"].endswith("/r1.json"), e
    assert "changed on the server since this mount read it" in e["message"], e
    assert "changed by another client" in e["message"], e
    assert "changed through the mount" in e["message"], e
    assert f".clappfs/conflicts/{APP}/{c.slug}/r1.json" in e["message"], e
    assert "not saved" in c.m.log()

    # Read again, the save goes through (the user merged): a GET at most, one PUT.
    assert c.read("r1.json") == pretty(theirs)
    emu.reset()
    merged = pretty(dict(theirs, n=11))
    assert save_with_python(c.p("r1.json"), merged) == 0
    assert set(routes(emu.stats())) <= {GET, PUT} and routes(emu.stats())[PUT] == 1
    assert c.stored("r1") == dict(theirs, n=11)

    # The user removes what was kept: rm, then the directories (rm -r works too).
    os.unlink(c.conflict_path("r1.json"))
    assert os.listdir(c.m.p(".clappfs", "conflicts", APP, c.slug)) == []
    subprocess.run(["rm", "-r", c.m.p(".clappfs", "conflicts", APP)], check=True, timeout=30)
    assert os.listdir(c.m.p(".clappfs", "conflicts")) == []
    with pytest.raises(OSError) as ex:
        os.rmdir(c.m.p(".clappfs", "conflicts"))
    assert ex.value.errno == errno.EACCES


VIM = ["vim", "-Es", "-u", "DEFAULTS", "-i", "NONE", "-N", "-c", "set backupskip="]


@pytest.mark.parametrize("backupcopy", ["yes", "auto"])
def test_vim_save_over_a_server_edit_is_refused(emulator, mount, backupcopy, tmp_path):
    need("vim")
    emu = emulator("--demo")
    c = Coll(emu, mount, "conf-vim-" + backupcopy)
    need("curl")
    # The editor session: read the file, then (meanwhile) another client changes the
    # record (vim runs it), then :wq.
    change = tmp_path / "change.sh"
    change.write_text(
        f"curl -sf -o /dev/null -X PUT -H 'Authorization: Bearer {emu.login()}' "
        f"-H 'Content-Type: application/json' "
        f"-d '{{\"data\": {{\"name\": \"changed by another client\", \"n\": 2}}}}' "
        f"{emu.url}/api/item/{APP}/{c.slug}/r2\n")
    script = tmp_path / "edit.vim"
    script.write_text("\n".join([
        f"set backupcopy={backupcopy}",
        "%s/record 2/edited in vim/",
        f"call system('sh {change}')",
        "sleep 1300m",
        f"redir! > {tmp_path / 'messages'}",
        "wq",
    ]) + "\n")
    emu.reset()
    r = subprocess.run(VIM + ["-S", str(script), c.p("r2.json")], capture_output=True,
                       timeout=60)
    assert r.returncode != 0, r
    assert c.stored("r2") == {"_id": "r2", "name": "changed by another client", "n": 2}
    counted = routes(emu.stats())
    # The other client's PUT, the check's GET; nothing from vim.
    assert counted == {PUT: 1, GET: 1}, counted
    assert "E667" in (tmp_path / "messages").read_text(errors="replace") or \
        "E512" in (tmp_path / "messages").read_text(errors="replace")
    with open(c.conflict_path("r2.json"), "rb") as f:
        assert b'"name": "edited in vim"' in f.read()
    # The file shows the server's version.
    assert c.read("r2.json") == pretty({"_id": "r2", "name": "changed by another client",
                                        "n": 2})


def test_overwrite_option_lets_the_last_writer_win(emulator, mount):
    emu = emulator("--demo")
    c = Coll(emu, mount, "conf-ow", "overwrite")
    c.read("r1.json")
    c.edit_on_server("r1", name="changed by another client")
    past_revalidate()
    emu.reset()
    mine = {"_id": "r1", "name": "the last writer", "n": 1}
    assert save_with_python(c.p("r1.json"), pretty(mine)) == 0
    assert routes(emu.stats()) == {PUT: 1}, routes(emu.stats())  # no check
    assert c.stored("r1") == mine
    assert os.listdir(c.m.p(".clappfs", "conflicts")) == []


def test_records_never_read_are_saved_without_a_check(emulator, mount, tmp_path):
    emu = emulator("--demo")
    c = Coll(emu, mount, "conf-blind", "revalidate=0")
    # Changed on the server, never opened here: cp over it is no conflict, no GET.
    c.edit_on_server("r3", name="changed by another client")
    src = tmp_path / "r3.json"
    src.write_bytes(pretty({"_id": "r3", "name": "copied over", "n": 3}))
    emu.reset()
    subprocess.run(["cp", str(src), c.p("r3.json")], check=True, timeout=30)
    assert routes(emu.stats()) == {PUT: 1}, routes(emu.stats())
    assert c.stored("r3") == {"_id": "r3", "name": "copied over", "n": 3}
    # A create: one POST.
    emu.reset()
    assert save_with_python(c.p("new.json"), b'{"name": "new"}') == 0
    assert routes(emu.stats()) == {POST: 1}, routes(emu.stats())
    # A record read, unchanged on the server: its check (revalidate=0: always) finds
    # nothing, one GET and one PUT.
    c.read("r0.json")
    emu.reset()
    assert save_with_python(c.p("r0.json"), pretty({"_id": "r0", "name": "x", "n": 0})) == 0
    assert routes(emu.stats()) == {GET: 1, PUT: 1}, routes(emu.stats())
    # Deleted on the server after it was read: nothing to overwrite, made again.
    c.read("r2.json")
    status, text = emu.api("DELETE", f"/api/item/{APP}/{c.slug}", {"oids": ["r2"]})
    assert status == 200, text
    emu.reset()
    assert save_with_python(c.p("r2.json"), pretty({"_id": "r2", "name": "back", "n": 2})) == 0
    assert c.stored("r2") == {"_id": "r2", "name": "back", "n": 2}
    assert routes(emu.stats()).get(POST) == 1, routes(emu.stats())
    assert os.listdir(c.m.p(".clappfs", "conflicts")) == []
