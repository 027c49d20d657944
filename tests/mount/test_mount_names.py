"""Unsafe server names become escaped file names; numbers and unicode come through byte
for byte. The data is a seed fixture written by the test (the emulator's --seed format)."""
import json
import os
import subprocess

import pytest

import mount_expect
import mount_jsontext as jt

APP = "names"
ODD_APP = ".odd app 50%"
ODD_SLUG = "sl/ash .x%y"

# Record _ids and the file names they must get.
ODD_IDS = {
    "a/b": "a%2Fb.json",
    ".hidden": "%2Ehidden.json",
    "..": "%2E..json",
    "100%": "100%25.json",
    "%2F": "%252F.json",
    "with  two spaces ": "with  two spaces .json",
    "unicode-é-ü-日本-🙂": "unicode-é-ü-日本-🙂.json",
    "tab\there": "tab%09here.json",
    "new\nline": "new%0Aline.json",
    "mid.dot.": "mid.dot..json",
    "plus+sign@x": "plus+sign@x.json",
}

# Written verbatim into the seed: the emulator keeps number texts as they are.
NUMBERS = ('{"_id": "numbers", "big": 123456789012345678901234567890, "negzero": -0, '
           '"tenth": 0.1, "exp": 1.0e5, "huge": 1E400, "small": -1.5E-7, "zero_frac": 0.0, '
           '"neg_big": -98765432109876543210, "list": [-0, 1.0e5, 1E400, 0.1], '
           '"nested": {"deep": {"x": 1.50}}, "empty_obj": {}, "empty_arr": [], '
           '"t": true, "f": false, "n": null}')
UNICODE = ('{"_id": "unicode", "plain": "caf\\u00e9 na\\u00efve", "raw": "日本語 ☃ 🙂", '
           '"quote": "say \\"hi\\"", "backslash": "a\\\\b", "slash": "a/b", '
           '"ctrl": "tab\\tnl\\nbell\\u0007", "ls": "\\u2028", "key \\u00e9": "k", '
           '"emoji_escaped": "\\ud83d\\ude42"}')

NUMBER_TOKENS = ["123456789012345678901234567890", "-0", "0.1", "1.0e5", "1E400", "-1.5E-7",
                 "0.0", "-98765432109876543210", "1.50"]

PLUS_USER = "first+tag@clappform.test"


def seed_text():
    odd = ",\n".join(json.dumps({"_id": rid, "kind": "odd", "n": i})
                     for i, rid in enumerate(ODD_IDS))
    return ('{\n"users": [\n'
            f'  {{"email": "{PLUS_USER}", "password": "pw", "first_name": "Plus"}},\n'
            '  {"email": "gone@clappform.test", "password": "pw", "is_active": false}\n'
            '],\n"apps": [{"id": "names", "name": "Odd names"}, '
            f'{{"id": {json.dumps(ODD_APP)}, "name": "An unsafe app id"}}],\n'
            '"collections": [{"app": "names", "slug": "odd"}, {"app": "names", "slug": "values"},\n'
            f'  {{"app": {json.dumps(ODD_APP)}, "slug": {json.dumps(ODD_SLUG)}}}],\n'
            '"queries": [{"app": "names", "collection": "odd", "slug": "q%20/x", "query": []}],\n'
            '"records": {\n'
            f'  "names/odd": [\n{odd}\n  ],\n'
            f'  "names/values": [{NUMBERS}, {UNICODE}],\n'
            f'  {json.dumps(ODD_APP + "/" + ODD_SLUG)}: [{{"_id": "only", "v": 1}}]\n'
            '}\n}\n')


@pytest.fixture(scope="module")
def emu(emulator_factory, tmp_path_factory):
    path = tmp_path_factory.mktemp("seed") / "names.json"
    path.write_text(seed_text(), encoding="utf-8")
    return emulator_factory("--seed", str(path))


@pytest.fixture(scope="module")
def mnt(emu, mount_factory):
    return mount_factory(emu)


CONTROL_IDS = {"tab\there", "new\nline"}


def test_record_ids_are_escaped(mnt, emu):
    names = set(os.listdir(mnt.p("apps", APP, "odd")))
    assert names == set(ODD_IDS.values()) | {".collection.json"}
    assert set(mount_expect.record_files(emu, APP, "odd")) == set(ODD_IDS.values())


def test_records_with_escaped_names_have_the_servers_bytes(mnt, emu):
    for name, (content, _, rid) in mount_expect.record_files(emu, APP, "odd").items():
        if rid in CONTROL_IDS:
            continue
        with open(mnt.p("apps", APP, "odd", name), "rb") as f:
            assert f.read() == content, (rid, name)


def test_control_characters_in_an_id_keep_the_servers_escapes(mnt, emu):
    """The server sent "tab\\there": the file shows that string token as it was sent."""
    for name, (content, _, rid) in mount_expect.record_files(emu, APP, "odd").items():
        if rid not in CONTROL_IDS:
            continue
        with open(mnt.p("apps", APP, "odd", name), "rb") as f:
            got = f.read()
        assert json.loads(got)["_id"] == rid
        assert got == content, (rid, name)


def test_unsafe_app_id_and_slug_are_escaped(mnt, emu):
    app_dir = jt.escape_name(ODD_APP)
    assert app_dir == "%2Eodd app 50%25"
    assert app_dir in os.listdir(mnt.p("apps"))
    coll_dir = jt.escape_name(ODD_SLUG)
    assert sorted(os.listdir(mnt.p("apps", app_dir))) == [".app.json", coll_dir]
    assert \
        sorted(os.listdir(mnt.p("apps", app_dir, coll_dir))) == [".collection.json", "only.json"]
    with open(mnt.p("apps", app_dir, coll_dir, "only.json"), "rb") as f:
        assert f.read() == jt.render_record(emu.records(ODD_APP, ODD_SLUG)[0])
    meta = json.loads(open(mnt.p("apps", app_dir, coll_dir, ".collection.json"), "rb").read())
    assert meta["app"] == ODD_APP and meta["slug"] == ODD_SLUG


def test_whole_tree_matches(mnt, emu):
    tree = mount_expect.expected_tree(emu)
    found = set()
    for dirpath, dirs, files in os.walk(mnt.path):
        rel = os.path.relpath(dirpath, mnt.path)
        rel = "" if rel == "." else rel
        if rel == "":
            dirs.remove(".clappfs")  # the control directory: test_obs_control.py
        found.add(rel)
        found.update(os.path.join(rel, f) for f in files)
    assert found == set(tree)
    for path, entry in tree.items():
        # The records of names/odd are compared by the tests above.
        if entry.kind == "file" and not path.startswith("apps/names/odd/"):
            with open(mnt.p(path), "rb") as f:
                assert f.read() in entry.candidates, path


def test_user_with_plus_and_only_active_users(mnt):
    users = set(os.listdir(mnt.p("users")))
    assert PLUS_USER + ".json" in users
    assert "gone@clappform.test.json" not in users
    data = json.loads(open(mnt.p("users", PLUS_USER + ".json"), "rb").read())
    assert data["email"] == PLUS_USER


def test_query_slug_is_escaped(mnt):
    assert "q%2520%2Fx.json" in os.listdir(mnt.p("queries"))


def test_numbers_are_kept_byte_for_byte(mnt, emu):
    path = mnt.p("apps", APP, "values", "numbers.json")
    with open(path, "rb") as f:
        content = f.read()
    rec = [r for r in emu.records(APP, "values") if jt.plain(jt.get(r, "_id")) == "numbers"][0]
    assert content == jt.render_record(rec)
    text = content.decode("utf-8")
    for token in NUMBER_TOKENS:
        assert f": {token},\n" in text or f": {token}\n" in text or f"  {token},\n" in text \
            or f"  {token}\n" in text, token
    assert '"empty_obj": {},\n' in text and '"empty_arr": [],\n' in text
    assert os.stat(path).st_size == len(content)


def test_unicode_is_kept_byte_for_byte(mnt, emu):
    path = mnt.p("apps", APP, "values", "unicode.json")
    with open(path, "rb") as f:
        content = f.read()
    rec = [r for r in emu.records(APP, "values") if jt.plain(jt.get(r, "_id")) == "unicode"][0]
    assert content == jt.render_record(rec)
    assert json.loads(content)["raw"] == "日本語 ☃ 🙂"
    assert os.stat(path).st_size == len(content)


def test_jq_reads_escaped_files(mnt):
    path = mnt.p("apps", APP, "odd", "a%2Fb.json")
    r = subprocess.run(["jq", "-r", "._id", path], capture_output=True, timeout=30)
    assert r.returncode == 0 and r.stdout == b"a/b\n", r


def test_escaped_names_are_found_without_a_listing(emu, mount_factory):
    m = mount_factory(emu, "cache_ttl=0")
    os.listdir(m.p("apps"))
    os.listdir(m.p("apps", APP))
    for rid, name in ODD_IDS.items():
        if rid == "..":
            continue  # see the next test
        with open(m.p("apps", APP, "odd", name), "rb") as f:
            content = f.read()
        rec = [r for r in emu.records(APP, "odd") if jt.plain(jt.get(r, "_id")) == rid][0]
        expected = jt.render_record(rec)
        # Fetched alone, the _id is re-encoded by clappfs: same string, any valid escaping.
        got_lines, want_lines = content.split(b"\n"), expected.split(b"\n")
        assert got_lines[0] == want_lines[0] and got_lines[2:] == want_lines[2:], rid
        assert json.loads(content)["_id"] == rid
    assert not os.path.exists(m.p("apps", APP, "odd", "a/b.json"))
    assert not os.path.exists(m.p("apps", APP, "odd", "missing.json"))


def test_dot_dot_id_is_found_without_a_listing(emu, mount_factory):
    """The _id ".." is a dot-segment in a URL: it must still reach the server (as %2E%2E)."""
    m = mount_factory(emu, "cache_ttl=0")
    os.listdir(m.p("apps"))
    os.listdir(m.p("apps", APP))
    with open(m.p("apps", APP, "odd", "%2E..json"), "rb") as f:
        assert json.loads(f.read())["_id"] == ".."
