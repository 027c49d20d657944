"""Bad input: the server's answers. The emulator's bad_body fault spoils the successful
answers of one route (an HTML page, truncated JSON, `data` of the wrong type, no `data`,
the identity members missing); the operation that needs that route fails with EIO at once
(a protocol error is not retried: no hang), the log has a line that names the problem, the
daemon stays up, and once the knob is cleared the same operations work again."""
import errno
import os
import time

import pytest

from fault_helpers import LogMark, alive, control_errors, make_collection, outcome, read, refresh

APP, COLL = "uspresidents", "presidents"
MODES = ["html", "truncated", "wrong_type", "missing_data", "missing_fields"]

# What each mode's log line says (the client's words for the answer).
SAYS = {
    "html": "answer is not a JSON envelope: expected a value, found '<' at line 1 column 1 "
            "(text/html",
    "truncated": "answer is not a JSON envelope: unexpected end of input",
    "wrong_type": "`data` is ",
    "missing_data": "answer without `data`",
}
# missing_fields: the identity members are gone from every entry: nothing can be named.
MISSING = {
    "/apps": 'no entry of the apps list has a usable "id"',
    "/collections": 'no entry of the collections list has a usable "slug"',
    "/dataframe/read_data": f'no record of {APP}/{COLL} has a string "_id"',
}


def ls(m, *parts):
    return os.listdir(m.p(*parts))


def cat(m, *parts):
    return read(m.p(*parts))


# (route picked, operation, its arguments); every row runs with each mode.
ROUTES = [
    ("/apps", "ls apps", lambda m: ls(m, "apps")),
    ("/apps", "ls apps/APP", lambda m: ls(m, "apps", APP)),
    ("/collections", "ls apps/APP/COLL", lambda m: ls(m, "apps", APP, COLL)),
    ("/collections", "cat dataframes/APP/COLL.ndjson",
     lambda m: cat(m, "dataframes", APP, COLL + ".ndjson")),
    ("/dataframe/read_data", "ls apps/APP/COLL", lambda m: ls(m, "apps", APP, COLL)),
    ("/dataframe/read_data", "cat dataframes/APP/COLL.ndjson",
     lambda m: cat(m, "dataframes", APP, COLL + ".ndjson")),
    ("/item", "cat a record never listed",
     lambda m, mode: cat(m, "apps", APP, f"item-{mode}", "r.json")),
]

# Where a mode leaves nothing wrong to notice: the answer is still good.
GOOD = {
    # An item's answer carries no identity member: nothing is missing.
    ("/item", "missing_fields"),
    # The .ndjson stream shows each record's text as the server sends it.
    ("/dataframe/read_data", "missing_fields", "cat dataframes/APP/COLL.ndjson"),
}

CASES = [(route, what, fn, mode) for route, what, fn in ROUTES for mode in MODES]


@pytest.fixture(scope="module")
def emu(emulator_factory):
    e = emulator_factory("--demo")
    for mode in MODES:  # one collection a mode: its record is fetched alone, never listed
        make_collection(e, APP, f"item-{mode}", [{"_id": "r", "v": 1}])
    return e


@pytest.fixture(scope="module")
def m(emu, mount_factory):
    # One try: a protocol error is final anyway; tries matter for the save case below.
    return mount_factory(emu, "cache_ttl=300", "tries=3", "backoff=0.01", "timeout=5")


@pytest.fixture(autouse=True)
def clear(emu):
    yield
    emu.faults({"bad_body": None, "bad_every": 0, "bad_routes": []})


@pytest.mark.parametrize("route,what,fn,mode", CASES,
                         ids=[f"{c[0]}-{c[3]}-{c[1]}" for c in CASES])
def test_bad_answer(emu, m, route, what, fn, mode):
    refresh(m)  # every cached list, listing and content forgotten
    emu.faults({"bad_body": mode, "bad_routes": [route]})
    mark = LogMark(m)
    call = (lambda mm: fn(mm, mode)) if route == "/item" else fn
    err, seconds, _ = outcome(call, m)
    good = (route, mode) in GOOD or (route, mode, what) in GOOD
    if good:
        assert err is None, mark.text()
    else:
        assert err == "EIO", (err, mark.text())
        assert seconds < 3, seconds  # not retried, no hang
        said = MISSING[route] if mode == "missing_fields" else SAYS[mode]
        assert said in mark.text(), mark.text()
        assert any(x["errno"] == "EIO" for x in control_errors(m)[-3:])
    assert alive(m)
    # Cleared: the same operation works, from the server.
    emu.faults({"bad_body": None, "bad_routes": []})
    refresh(m)
    assert outcome(call, m)[0] is None


def test_a_save_whose_answer_is_spoiled(emu, m):
    """The request was handled (the server stored the record) but its answer is not good:
    close fails with EIO and says why; what the mount shows afterwards is the server's."""
    make_collection(emu, APP, "spoiled", [{"_id": "r", "v": 1}])
    refresh(m)
    path = m.p("apps", APP, "spoiled", "r.json")
    assert b'"v": 1' in read(path)
    f = open(path, "w")
    f.write('{"v": 2}')
    emu.faults({"bad_body": "truncated", "bad_routes": ["/item"]})
    mark = LogMark(m)
    with pytest.raises(OSError) as e:
        f.close()
    assert e.value.errno == errno.EIO
    assert "r.json: not saved: PUT /api/item/uspresidents/spoiled/r: protocol: " in mark.text()
    emu.faults({"bad_body": None, "bad_routes": []})
    refresh(m)
    assert b'"v": 2' in read(path)  # the server's record, as it took it
    assert alive(m)


def test_a_stored_record_nested_too_deep(emu, m):
    """A record another client stored, nested deeper than this mount reads (257): its
    collection's listing fails with EIO and names it; the record alone is EIO too; the
    others of the app are fine."""
    make_collection(emu, APP, "deep")
    deep = {"a": []}
    for _ in range(255):
        deep = {"a": [deep["a"]]}
    deep["_id"] = "deep"
    status, text = emu.api("POST", f"/api/item/{APP}/deep", {"data": deep})
    assert status == 200, text
    refresh(m)
    mark = LogMark(m)
    err, seconds, _ = outcome(ls, m, "apps", APP, "deep")
    assert err == "EIO" and seconds < 3
    assert "nesting deeper than" in mark.text(), mark.text()
    assert outcome(cat, m, "apps", APP, "deep", "deep.json")[0] == "EIO"
    assert outcome(ls, m, "apps", APP, COLL)[0] is None
    assert alive(m)


def test_every_other_answer_spoiled_with_retries_off_and_on(emu, m):
    """bad_every 2 on the listing: each listing either works or fails with EIO, never
    anything else; nothing hangs."""
    emu.faults({"bad_body": "truncated", "bad_every": 2, "bad_routes": ["/dataframe"]})
    seen = set()
    start = time.monotonic()
    for _ in range(6):
        refresh(m)
        seen.add(outcome(ls, m, "apps", APP, COLL)[0])
    assert seen <= {None, "EIO"} and "EIO" in seen, seen
    assert time.monotonic() - start < 10
    assert alive(m)
