"""Emulator tests (slow): a million generated records, paged through over one keep-alive connection."""
import json
import time

import pytest

N = 1_000_000


@pytest.mark.slow
def test_million_records_generate_and_page(start_emu):
    start = time.time()
    emu = start_emu("--user", "m@x.test:pw", "--generate", "uspresidents/big:%d" % N)
    generated = time.time() - start
    assert generated < 45
    token = emu.login("m@x.test", "pw")
    conn = emu.new_conn(timeout=60)
    path = "/api/dataframe/read_data?extended=true&next_page=%d"
    body = {"limit": 500, "app": "uspresidents", "collection": "big"}

    def read(offset, limit=500):
        status, raw, _ = emu.raw("POST", path % offset, dict(body, limit=limit), token, conn=conn)
        assert status == 200, raw[:200]
        return json.loads(raw)

    # Page through everything: the cost of a page must not grow with its offset.
    start = time.time()
    offset, count, slowest = 0, 0, 0.0
    first_ids = {}
    while True:
        t0 = time.time()
        answer = read(offset)
        slowest = max(slowest, time.time() - t0)
        data = answer["data"]
        assert data[0]["seq"] == offset and answer["total"] == N
        if offset in (0, 300000):
            first_ids[offset] = [r["_id"] for r in data[:6]]
        count += len(data)
        if "next_page" not in answer:
            break
        offset = answer["next_page"]
    paged = time.time() - start
    assert count == N
    print("generate %d: %.1fs (incl. start); page through with limit 500: %.1fs; slowest page "
          "%.3fs" % (N, generated, paged, slowest))
    assert paged < 40 and slowest < 2.0

    # Deleting early records shifts deep pages by exactly the number deleted.
    status, _ = emu.call("DELETE", "/api/item/uspresidents/big",
                         {"oids": [first_ids[0][5], first_ids[300000][0]]}, token)
    assert status == 200
    answer = read(600000, 3)
    assert [r["seq"] for r in answer["data"]] == [600002, 600003, 600004]
    assert answer["total"] == N - 2
    # Appends land at the end.
    emu.call("POST", "/api/item/uspresidents/big", {"data": {"seq": "appended"}}, token)
    answer = read(N - 4, 10)  # N - 2 generated records remain, then the new one
    assert [r["seq"] for r in answer["data"]] == [N - 2, N - 1, "appended"]
    assert "next_page" not in answer
