"""Emulator tests: items, exact numbers, dataframe writes, paged reads, query and aggregate reads."""
import json
import re
import time

import pytest

from emutest import check_envelope, q

EXACT = ('{"big":12345678901234567890123,"negzero":-0,"tenth":0.1,"exp":1.0e5,'
         '"huge":1E400,"neg":-1.50E-3,"text":"caf\u00e9 \u2603","nested":{"z":1,"a":[1.10,2]}}')


@pytest.fixture(scope="module")
def coll(emu, token):
    """A fresh app/collection for this module's writes: (app, slug, item path prefix)."""
    emu.call("POST", "/api/app", {"id": "rec"}, token)
    emu.call("POST", "/api/collection/rec", {"slug": "things"}, token)
    return "rec", "things", "/api/item/rec/things"


def page(emu, token, body, offset=None):
    path = "/api/dataframe/read_data?extended=true"
    if offset is not None:
        path += "&next_page=%d" % offset
    status, answer = emu.call("POST", path, body, token)
    assert status == 200, answer
    check_envelope(answer, 200)
    return answer


def test_item_id_kept_assigned_and_absent_from_answers(emu, token, coll):
    _, _, items = coll
    status, answer = emu.call("POST", items, {"data": {"_id": "my id/1", "name": "kept"}}, token)
    assert status == 200 and answer["data"] == {"_id": "my id/1", "name": "kept"}
    status, answer = emu.call("POST", items, {"data": {"_id": "my id/1", "name": "x"}}, token)
    assert status == 409
    check_envelope(answer, 409)

    before = int(time.time())
    status, answer = emu.call("POST", items, {"data": {"name": "fresh", "n": 1}}, token)
    assert status == 200
    oid = answer["data"]["_id"]
    assert re.fullmatch(r"[0-9a-f]{24}", oid)
    assert before - 2 <= int(oid[:8], 16) <= time.time() + 2
    assert list(answer["data"]) == ["_id", "name", "n"]

    status, answer = emu.call("GET", "%s/%s" % (items, oid), token=token)
    assert status == 200 and answer["data"] == {"name": "fresh", "n": 1}
    status, answer = emu.call("GET", "%s/%s" % (items, q("my id/1")), token=token)
    assert status == 200 and answer["data"] == {"name": "kept"}

    status, answer = emu.call("PUT", "%s/%s" % (items, oid), {"data": {"name": "changed"}}, token)
    assert status == 200 and answer["data"] == {"name": "changed"}
    assert emu.call("GET", "%s/%s" % (items, oid), token=token)[1]["data"] == {"name": "changed"}
    # Updating keeps the record's place in the collection's order.
    stored = emu.control("GET", "records/rec/things")
    assert [r["_id"] for r in stored][:2] == ["my id/1", oid]


def test_item_errors(emu, token, coll):
    _, _, items = coll
    cases = [
        ("POST", items, {"data": [1]}, 400, "data"),
        ("POST", items, {"record": {}}, 400, "data"),
        ("POST", items, {"data": {"_id": 5}}, 400, "_id"),
        ("POST", items, b"{not json", 400, "json"),
        ("POST", "/api/item/rec/nope", {"data": {}}, 404, "nope"),
        ("POST", "/api/item/nope/things", {"data": {}}, 404, "nope"),
        ("GET", items + "/000000000000000000000000", None, 404, "not found"),
        ("PUT", items + "/000000000000000000000000", {"data": {}}, 404, "not found"),
        ("PUT", items + "/" + q("my id/1"), {"data": "x"}, 400, "data"),
        ("PUT", items + "/" + q("my id/1"), {"data": {"_id": "other"}}, 400, "_id"),
        ("DELETE", items, {"oids": "abc"}, 400, "oids"),
        ("DELETE", items, {"oids": [1, 2]}, 400, "oids"),
        ("DELETE", items, {}, 400, "oids"),
    ]
    for method, path, body, code, words in cases:
        status, answer = emu.call(method, path, body, token)
        assert status == code, (method, path, body, answer)
        check_envelope(answer, code)
        assert words in answer["message"].lower(), answer


def test_delete_items(emu, token, coll):
    _, _, items = coll
    ids = [emu.call("POST", items, {"data": {"del": i}}, token)[1]["data"]["_id"] for i in range(3)]
    status, answer = emu.call("DELETE", items, {"oids": ids[:2] + ["missing"]}, token)
    assert status == 200 and "data" not in answer
    check_envelope(answer, 200)
    assert emu.call("GET", "%s/%s" % (items, ids[0]), token=token)[0] == 404
    assert emu.call("GET", "%s/%s" % (items, ids[2]), token=token)[0] == 200


def test_exact_numbers_round_trip(emu, token, coll):
    _, _, items = coll
    body = ('{"data":' + EXACT + '}').encode()
    status, raw, _ = emu.raw("POST", items, body, token)
    assert status == 200
    created = raw.decode()
    oid = json.loads(created)["data"]["_id"]
    assert ('"data":{"_id":"%s",' % oid + EXACT[1:]) in created
    status, raw, _ = emu.raw("GET", "%s/%s" % (items, oid), token=token)
    assert ('"data":' + EXACT + "}") in raw.decode()
    status, raw, _ = emu.raw("PUT", "%s/%s" % (items, oid), body, token)
    assert ('"data":' + EXACT + "}") in raw.decode()
    stored = emu.raw("GET", "/_emulator/records/rec/things")[1].decode()
    assert ('{"_id":"%s",' % oid + EXACT[1:]) in stored
    # Through the dataframe routes too.
    emu.call("POST", "/api/app", {"id": "exact"}, token)
    emu.call("POST", "/api/collection/exact", {"slug": "n"}, token)
    status, _, _ = emu.raw("POST", "/api/dataframe/exact/n", ("[" + EXACT + "]").encode(), token)
    assert status == 200
    status, raw, _ = emu.raw("POST", "/api/dataframe/read_data?extended=true",
                             {"limit": 10, "app": "exact", "collection": "n"}, token)
    assert EXACT[1:] in raw.decode()
    # NaN/Infinity are not JSON.
    assert emu.call("POST", items, b'{"data":{"x":NaN}}', token)[0] == 400


def _fill(emu, token, app, slug, n):
    emu.call("POST", "/api/app", {"id": app}, token)
    emu.call("POST", "/api/collection/%s" % app, {"slug": slug}, token)
    if n:
        status, answer = emu.call("POST", "/api/dataframe/%s/%s" % (app, slug),
                                  [{"i": i, "even": i % 2 == 0} for i in range(n)], token)
        assert status == 200, answer


def test_pagination_edges(emu, token):
    _fill(emu, token, "pages", "empty", 0)
    answer = page(emu, token, {"limit": 100, "app": "pages", "collection": "empty"})
    assert answer["total"] == 0 and answer["data"] == [] and "next_page" not in answer

    _fill(emu, token, "pages", "exact", 200)  # an exact multiple of the page size
    seen = []
    offset = None
    while True:
        answer = page(emu, token, {"limit": 100, "app": "pages", "collection": "exact"}, offset)
        assert answer["total"] == 200
        seen += [r["i"] for r in answer["data"]]
        if "next_page" not in answer:
            break
        offset = answer["next_page"]
    assert seen == list(range(200))
    assert all(re.fullmatch(r"[0-9a-f]{24}", r["_id"]) for r in answer["data"])

    _fill(emu, token, "pages", "many", 1203)
    answer = page(emu, token, {"limit": 1000, "app": "pages", "collection": "many"})
    assert len(answer["data"]) == 500 and answer["next_page"] == 500  # capped
    answer = page(emu, token, {"limit": 500, "app": "pages", "collection": "many"}, 1000)
    assert [r["i"] for r in answer["data"]] == list(range(1000, 1203))
    assert "next_page" not in answer
    answer = page(emu, token, {"limit": 10, "app": "pages", "collection": "many"}, 5000)
    assert answer["data"] == [] and answer["total"] == 1203
    answer = page(emu, token, {"limit": 1, "app": "pages", "collection": "many"}, 7)
    assert [r["i"] for r in answer["data"]] == [7] and answer["next_page"] == 8


def test_read_data_errors(emu, token):
    path = "/api/dataframe/read_data?extended=true"
    base = {"app": "uspresidents", "collection": "presidents"}
    for body, code in [
        (dict(base, limit=0), 400), (dict(base, limit=-5), 400), (dict(base, limit="10"), 400),
        (dict(base, limit=1.5), 400), (dict(base, limit=True), 400), (base, 400),
        ({"limit": 10, "app": "uspresidents"}, 400), ({"limit": 10, "app": 1, "collection": "x"}, 400),
        ({"limit": 10, "app": "uspresidents", "collection": "nope"}, 404),
        ({"limit": 10, "app": "nope", "collection": "presidents"}, 404),
        ({"limit": 10, "query": "no-such-query"}, 404), ({"limit": 10, "query": 5}, 400),
        (dict(base, limit=5, type="table"), 400), (dict(base, limit=501, type="table"), 400),
        (b"[1,", 400), ([1], 400),
    ]:
        status, answer = emu.call("POST", path, body, token)
        assert status == code, (body, answer)
        check_envelope(answer, code)
    status, answer = emu.call("POST", path + "&next_page=abc", dict(base, limit=5), token)
    assert status == 400


def test_query_reads(emu, token):
    answer = page(emu, token, {"limit": 100, "query": "all-presidents"})
    assert answer["total"] == 47 and answer["data"][0]["name"] == "George Washington"
    answer = page(emu, token, {"limit": 5, "query": "republican-presidents"})
    assert answer["total"] == 20 and answer["next_page"] == 5
    assert all(r["party"] == "Republican" for r in answer["data"])
    nums = [r["number"] for r in answer["data"]]
    assert nums == sorted(nums)
    rest = page(emu, token, {"limit": 100, "query": "republican-presidents"}, 5)
    assert len(rest["data"]) == 15 and "next_page" not in rest
    c = emu.call
    c("POST", "/api/query", {"app": "uspresidents", "collection": "presidents",
                             "slug": "ohio-late", "query": [
                                 {"$match": {"state": "Ohio", "born": {"$gte": 1840}}},
                                 {"$sort": {"born": -1, "name": 1}}, {"$skip": 1},
                                 {"$limit": 2}]}, token)
    answer = page(emu, token, {"limit": 100, "query": "ohio-late"})
    assert [r["name"] for r in answer["data"]] == ["William Howard Taft", "William McKinley"]
    c("POST", "/api/query", {"app": "uspresidents", "collection": "presidents",
                             "slug": "bad-stage", "query": [{"$group": {"_id": "$party"}}]}, token)
    status, answer = c("POST", "/api/dataframe/read_data?extended=true",
                       {"limit": 10, "query": "bad-stage"}, token)
    assert status == 400 and "$group" in answer["message"]


def test_aggregate_form(emu, token):
    body = {"app": "uspresidents", "collection": "presidents", "type": "table", "limit": 10,
            "sorting": {"DESC": ["born"], "ASC": ["name"]}, "search": {"input": "new york"},
            "item_id": None, "deep_dive": {}}
    answer = page(emu, token, body)
    assert answer["total"] == 6
    assert [r["name"] for r in answer["data"]][:3] == ["Donald Trump", "Donald Trump",
                                                       "Franklin D. Roosevelt"]
    body.update(search={"input": ""}, deep_dive={"party": "Whig"}, sorting={"ASC": ["number"]})
    assert [r["number"] for r in page(emu, token, body)["data"]] == [9, 10, 12, 13]
    first = page(emu, token, dict(body, deep_dive={}))["data"][0]
    answer = page(emu, token, dict(body, deep_dive={}, item_id=first["_id"]))
    assert answer["total"] == 1 and answer["data"][0]["_id"] == first["_id"]


def test_dataframe_append_replace_empty(emu, token):
    _fill(emu, token, "frames", "df", 0)
    path = "/api/dataframe/frames/df"
    status, answer = emu.call("POST", path, [{"a": 1}, {"_id": "fixed", "a": 2}], token)
    assert status == 200 and answer["data"] == {"inserted": 2}
    status, answer = emu.call("POST", path, [{"_id": "fixed"}], token)
    assert status == 409
    status, answer = emu.call("POST", path, [{"_id": "d"}, {"_id": "d"}], token)
    assert status == 409
    assert len(emu.control("GET", "records/frames/df")) == 2  # failed writes changed nothing
    assert emu.call("POST", path, {"a": 1}, token)[0] == 400
    assert emu.call("POST", path, [1, 2], token)[0] == 400
    assert emu.call("POST", "/api/dataframe/frames/none", [], token)[0] == 404
    status, answer = emu.call("PUT", path, [{"_id": "fixed", "b": 1}, {"b": 2}, {"b": 3}], token)
    assert status == 200 and answer["data"] == {"inserted": 3}
    stored = emu.control("GET", "records/frames/df")
    assert [r.get("b") for r in stored] == [1, 2, 3] and stored[0]["_id"] == "fixed"
    status, answer = emu.call("DELETE", path, token=token)
    assert status == 200 and "data" not in answer
    assert emu.control("GET", "records/frames/df") == []
    answer = page(emu, token, {"limit": 10, "app": "frames", "collection": "df"})
    assert answer["total"] == 0
