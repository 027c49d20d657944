"""Bad input: names. One table of (case, operation, path, errno or None, what is stored or
logged). Covered elsewhere and not repeated: ids the server holds with `/`, `%`, control
characters, a leading dot or `..` (test_mount_names.py: escaped names, read byte for byte,
found without a listing; test_security_access.py: `../../../tmp/x` makes no file outside);
`a b%25c.json` and `%41.json` (test_write_files.py::test_names_that_need_escaping); metadata
that cannot be removed and files at the root or in apps/ (test_write_files.py). This table
has every name case in one place, those included, plus the long names, the `%` forms no id
has, the local-only names and the places where nothing can be made."""
import errno
import json
import os

import pytest

from fault_helpers import LogMark, alive, make_collection, read, stored

APP, COLL = "uspresidents", "names"
OBJ = b'{"v": 1}'
LONG = 255  # NAME_MAX


def create(path):
    with open(path, "wb") as f:
        f.write(OBJ)


# (case, operation, path below the mount, errno or None, the _id stored (a str), "local"
#  (nothing sent, the file lives in the mount), or a log substring)
C = f"apps/{APP}/{COLL}"
A = f"apps/{APP}"
TABLE = [
    # lengths: the kernel passes names up to 1024 bytes to FUSE; longer than 255 is refused
    ("255-byte name", "create", f"{C}/{'x' * (LONG - 5)}.json", None, "x" * (LONG - 5)),
    ("256-byte name", "create", f"{C}/{'x' * (LONG - 4)}.json", errno.ENAMETOOLONG, None),
    ("256-byte local name", "create", f"{C}/{'x' * (LONG + 1)}", errno.ENAMETOOLONG, None),
    ("1000-byte name: stat", "stat", f"{C}/{'x' * 995}.json", errno.ENAMETOOLONG, None),
    ("256-byte app: stat", "stat", f"apps/{'x' * 256}", errno.ENAMETOOLONG, None),
    ("256-byte app: mkdir", "mkdir", f"apps/{'y' * 256}", errno.ENAMETOOLONG, None),
    ("256-byte collection: mkdir", "mkdir", f"{A}/{'y' * 256}", errno.ENAMETOOLONG, None),
    ("256-byte name: unlink", "unlink", f"{C}/{'x' * (LONG - 4)}.json", errno.ENAMETOOLONG,
     None),
    ("256-byte query", "create", f"queries/{'q' * (LONG - 4)}.json", errno.ENAMETOOLONG, None),
    ("rename to 256 bytes", "rename", f"{C}/{'z' * (LONG - 4)}.json", errno.ENAMETOOLONG, None),
    # characters
    ("unicode", "create", f"{C}/é日本🙂.json", None, "é日本🙂"),
    ("spaces", "create", f"{C}/ a  b .json", None, " a  b "),
    ("plus and at", "create", f"{C}/a+b@c.json", None, "a+b@c"),
    ("%25 is a percent sign", "create", f"{C}/100%25.json", None, "100%"),
    ("%2F is a slash", "create", f"{C}/a%2Fb.json", None, "a/b"),
    ("%2E is a leading dot", "create", f"{C}/%2Ehidden.json", None, ".hidden"),
    ("%2E.. is ..", "create", f"{C}/%2E..json", None, ".."),
    ("%2Ecollection: not the metadata", "create", f"{C}/%2Ecollection.json", None, ".collection"),
    ("%41: not the mount's form of A", "create", f"{C}/%41.json", errno.EINVAL,
     "no record _id has this file name"),
    ("a lone %", "create", f"{C}/50%.json", errno.EINVAL, "no record _id has this file name"),
    ("%zz", "create", f"{C}/%zz.json", errno.EINVAL, "no record _id has this file name"),
    ("%2f (lower case)", "create", f"{C}/a%2fb.json", errno.EINVAL,
     "no record _id has this file name"),
    ("the shortened-name mark %~", "create", f"{C}/a%~0123456789abcdef.json", errno.EINVAL,
     "no record _id has this file name"),
    # local-only names: kept in the mount, never sent
    ("leading dot", "create", f"{C}/.x.json", None, "local"),
    ("no .json suffix", "create", f"{C}/notes.txt", None, "local"),
    (".json alone", "create", f"{C}/.json", None, "local"),
    (".app.json in a collection", "create", f"{C}/.app.json", None, "local"),
    (".collection.json in an app", "create", f"{A}/.collection.json", None, "local"),
    ("x.json in an app", "create", f"{A}/x.json", None, "local"),
    # places where nothing can be made
    ("a file in apps/", "create", "apps/x.json", errno.EPERM, None),
    ("a file at the root", "create", "x.json", errno.EPERM, None),
    ("a local file at the root", "create", "notes.txt", errno.EPERM, None),
    ("version.json", "create", "version.json", errno.EACCES, None),
    ("a .json file in dataframes/<app>", "create", f"dataframes/{APP}/x.json", errno.ENOENT,
     None),
    ("a new .ndjson (no such collection)", "create", f"dataframes/{APP}/nope.ndjson",
     errno.EPERM, None),
    ("a file in query-results/", "create", "query-results/x.ndjson", errno.EPERM, None),
    ("mkdir in a collection", "mkdir", f"{C}/sub", errno.EPERM, None),
    ("mkdir at the root", "mkdir", "top", errno.EPERM, None),
    ("mkdir in queries/", "mkdir", "queries/sub", errno.EPERM, None),
    ("mkdir in dataframes/", "mkdir", "dataframes/sub", errno.EPERM, None),
    ("mkdir of a dot app", "mkdir", "apps/.hidden", errno.EPERM, None),
    ("mkdir in .clappfs", "mkdir", ".clappfs/sub", errno.EACCES, None),
    ("rm .collection.json", "unlink", f"{C}/.collection.json", errno.EPERM, None),
]


@pytest.fixture(scope="module")
def emu(emulator_factory):
    e = emulator_factory("--demo")
    make_collection(e, APP, COLL, [{"_id": "seed", "v": 0}])
    return e


@pytest.fixture(scope="module")
def m(emu, mount_factory):
    mm = mount_factory(emu, "cache_ttl=300")
    os.listdir(mm.p(C))
    return mm


def run(m, op, path):
    p = m.p(path)
    if op == "create":
        create(p)
    elif op == "stat":
        os.stat(p)
    elif op == "mkdir":
        os.mkdir(p)
    elif op == "unlink":
        os.unlink(p)
    elif op == "rename":
        os.rename(m.p(C, "seed.json"), p)
    else:
        raise AssertionError(op)


@pytest.mark.parametrize("case,op,path,err,what", TABLE, ids=[t[0] for t in TABLE])
def test_name(emu, m, case, op, path, err, what):
    before = stored(emu, APP, COLL)
    apps_before = emu.api("GET", "/api/apps?extended=false")[1]["data"]
    mark = LogMark(m)
    if err is not None:
        with pytest.raises(OSError) as e:
            run(m, op, path)
        assert e.value.errno == err, (case, e.value)
        assert stored(emu, APP, COLL) == before
        assert emu.api("GET", "/api/apps?extended=false")[1]["data"] == apps_before
        if what:
            assert what in mark.text(), mark.text()
    else:
        run(m, op, path)
        name = os.path.basename(path)
        assert name in os.listdir(m.p(os.path.dirname(path)))
        assert read(m.p(path)) in (OBJ, (json.dumps({"_id": what, "v": 1}, indent=2,
                                                      ensure_ascii=False) + "\n").encode())
        if what == "local":
            assert stored(emu, APP, COLL) == before
        else:
            after = stored(emu, APP, COLL)
            assert after[what] == {"_id": what, "v": 1}
            assert set(after) - set(before) == {what}
            os.unlink(m.p(path))
            assert what not in stored(emu, APP, COLL)
    assert alive(m)


def test_metadata_is_still_there(m):
    assert json.loads(read(m.p(C, ".collection.json")))["slug"] == COLL
    assert json.loads(read(m.p(A, ".app.json")))["id"] == APP
