"""How many requests a mount sends, counted by the emulator (counters reset before each
step, with the parents of what is listed already cached). The mounts revalidate no
sooner than their TTL (revalidate=300): these are the counts of the cache alone; what
close-to-open revalidation adds (-o revalidate, 1 s by default: a GET per open past it, a
listing again after as many as the listing has pages) is counted in
test_consistency_revalidate.py and printed by scripts/bench."""
import math
import os
import subprocess

import pytest

from mount_helpers import route_count
import mount_jsontext as jt

APP = "uspresidents"
BIG, BIG_N = "big", 20000
MID, MID_N = "mid", 1234

READ = "POST /api/dataframe/read_data"
ITEM = "GET /api/item/{app}/{slug}/{id}"
AUTH = "POST /api/auth"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def emu(emulator_factory):
    return emulator_factory("--demo", "--generate", f"{APP}/{BIG}:{BIG_N}",
                            "--generate", f"{APP}/{MID}:{MID_N}")


class Counter:
    """Counts requests step by step, and logins over the whole module."""

    def __init__(self, emu):
        self.emu = emu
        self.logins = 0

    def reset(self):
        self.logins += route_count(self.emu.stats(), AUTH)
        self.emu.reset()

    def step(self, cmd, cwd=None):
        self.reset()
        r = subprocess.run(cmd, capture_output=True, timeout=300, cwd=cwd)
        assert r.returncode == 0, f"{cmd}: {r.stderr.decode(errors='replace')}"
        s = self.emu.stats()
        self.logins += route_count(s, AUTH)
        return s, r.stdout


def describe(stats):
    return {k: v for k, v in stats.get("routes", {}).items() if v}


@pytest.fixture(scope="module")
def counted(emu, mount_factory):
    m = mount_factory(emu, "cache_ttl=300", "revalidate=300")
    return m, Counter(emu)


def test_listing_counts(counted, emu):
    m, c = counted
    s, _ = c.step(["ls", m.p("apps")])
    assert s["total"] == 1 and route_count(s, "GET /api/apps") == 1, describe(s)

    s, _ = c.step(["ls", m.p("apps", APP)])
    assert s["total"] == 1 and route_count(s, "GET /api/collections") == 1, describe(s)

    s, out = c.step(["ls", "-l", m.p("apps", APP, BIG)])
    pages = math.ceil(BIG_N / 500)
    assert route_count(s, READ) == pages, describe(s)
    assert s["total"] == pages, describe(s)
    assert len(out.splitlines()) == BIG_N + 1  # "total N", then the records

    # Every record's bytes come from the listing: no request at all.
    names = [n for n in os.listdir(m.p("apps", APP, BIG)) if n != ".collection.json"]
    c.reset()
    r = subprocess.run(["xargs", "-0", "cat"], input="\0".join(names).encode(),
                       capture_output=True, cwd=m.p("apps", APP, BIG), timeout=300)
    assert r.returncode == 0, r.stderr
    s = emu.stats()
    assert s["total"] == 0, describe(s)
    expected = b"".join(jt.render_record(rec) for rec in _ordered(emu, names))
    assert r.stdout == expected

    s, _ = c.step(["ls", "-l", m.p("apps", APP, BIG)])
    assert s["total"] == 0, f"second ls -l within the TTL: {describe(s)}"


def _ordered(emu, names):
    by_name = {jt.escape_name(jt.plain(jt.get(rec, "_id"))) + ".json": rec
               for rec in emu.records(APP, BIG)}
    return [by_name[n] for n in names]


def test_cat_of_a_record_never_listed_is_one_item_get(counted, emu):
    m, c = counted
    c.step(["ls", m.p("apps")])
    c.step(["ls", m.p("apps", APP)])
    rec = emu.records(APP, "presidents")[7]
    rid = jt.plain(jt.get(rec, "_id"))
    s, out = c.step(["cat", m.p("apps", APP, "presidents", jt.escape_name(rid) + ".json")])
    assert route_count(s, ITEM) == 1 and route_count(s, READ) == 0, describe(s)
    assert s["total"] == 1, describe(s)
    assert out == jt.render_record(rec)


def test_one_login_per_token_lifetime(counted, emu):
    m, c = counted
    c.reset()
    # The mount logged in once before mounting; all the steps above (and the reads below)
    # reuse that token.
    for _ in range(3):
        subprocess.run(["ls", "-R", m.p("queries"), m.p("users")], capture_output=True, timeout=60)
    c.reset()
    assert c.logins == 1, f"{c.logins} logins"


def test_invalidated_token_means_one_new_login(counted, emu):
    m, c = counted
    status, text = emu.raw("POST", "/_emulator/expire-tokens")
    assert status == 200, text
    rec = emu.records(APP, "presidents")[9]
    rid = jt.plain(jt.get(rec, "_id"))
    s, out = c.step(["cat", m.p("apps", APP, "presidents", jt.escape_name(rid) + ".json")])
    assert out == jt.render_record(rec)
    assert route_count(s, AUTH) == 1, describe(s)
    assert route_count(s, ITEM) <= 2 and route_count(s, READ) == 0, describe(s)
    s, out = c.step(["cat", m.p("apps", APP, "presidents",
                                jt.escape_name(jt.plain(jt.get(emu.records(APP, "presidents")[10],
                                                                "_id"))) + ".json")])
    assert route_count(s, AUTH) == 0 and route_count(s, ITEM) == 1, describe(s)


def test_page_size_option(emu, mount_factory):
    m = mount_factory(emu, "cache_ttl=300", "revalidate=300", "page_size=100")
    c = Counter(emu)
    c.step(["ls", m.p("apps")])
    c.step(["ls", m.p("apps", APP)])
    s, out = c.step(["ls", "-l", m.p("apps", APP, MID)])
    assert route_count(s, READ) == math.ceil(MID_N / 100), describe(s)
    assert s["total"] == route_count(s, READ), describe(s)
    assert len(out.splitlines()) == MID_N + 1
