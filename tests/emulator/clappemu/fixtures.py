"""Start-up data: JSON seed fixtures (e.g. the demo), --user accounts and --generate'd record sets."""
import zlib

from . import jsontext
from . import misc
from . import resources as res
from .api import ApiError
from .data import assign_ids

GENERATED_EPOCH = 0x64000000   # 2023-03-05: the time part of generated ids starts here
GENERATE_BATCH = 20000


class FixtureError(Exception):
    """A seed or option that cannot be loaded; the message says what and why."""


def _fail(what, exc):
    message = exc.message if isinstance(exc, ApiError) else str(exc)
    raise FixtureError("%s: %s" % (what, message)) from None


def _list(seed, name):
    value = seed.get(name, [])
    if not isinstance(value, list) or any(not isinstance(v, dict) for v in value):
        raise FixtureError("seed field '%s' must be an array of objects" % name)
    return value


def load_seed_file(store, path):
    try:
        with open(path, "rb") as f:
            seed = jsontext.loads(f.read())
    except OSError as exc:
        raise FixtureError("cannot read seed %s: %s" % (path, exc)) from None
    except jsontext.JSONError as exc:
        raise FixtureError("seed %s is not valid JSON: %s" % (path, exc)) from None
    if not isinstance(seed, dict):
        raise FixtureError("seed %s must be a JSON object" % path)
    load_seed(store, seed, path)


def load_seed(store, seed, name="seed"):
    """Create what the seed holds, skipping what already exists (so a --db can be re-seeded).

    Records with an _id already present are skipped; records without one are
    always added.  Actionflow and questionnaire ids given in the seed are kept.
    """
    try:
        # Users first: questionnaires name their creator.
        for user in _list(seed, "users"):
            if not (isinstance(user.get("email"), str) and store.get("user", user["email"])):
                res.user_create(store, user)
        for app in _list(seed, "apps"):
            if not (isinstance(app.get("id"), str) and store.get("app", app["id"])):
                res.app_create(store, app)
        for coll in _list(seed, "collections"):
            app_id, slug = coll.get("app"), coll.get("slug")
            if not isinstance(app_id, str):
                raise FixtureError("%s: every collection needs an 'app'" % name)
            if not (isinstance(slug, str) and store.get("collection", app_id, slug)):
                res.collection_create(store, app_id, coll)
        records = seed.get("records", {})
        if not isinstance(records, dict):
            raise FixtureError("%s: 'records' must map \"app/slug\" to arrays" % name)
        for key, items in records.items():
            app_id, _, slug = key.partition("/")
            if not isinstance(items, list):
                raise FixtureError("%s: records of %s must be an array" % (name, key))
            cid = int(res.get_collection(store, app_id, slug)["id"])
            fresh = [r for r in items
                     if not (isinstance(r, dict) and isinstance(r.get("_id"), str)
                             and store.record_exists(cid, r["_id"]))]
            store.record_insert(cid, assign_ids(store, cid, fresh))
        for query in _list(seed, "queries"):
            if not (isinstance(query.get("slug"), str) and store.get("query", query["slug"])):
                res.query_create(store, query)
        for flow in _list(seed, "actionflows"):
            if not (flow.get("id") is not None and store.get("actionflow", str(flow["id"]))):
                res.actionflow_create(store, flow, keep_id=True)
        for form in _list(seed, "questionnaires"):
            q_id = form.get("id")
            q_id = q_id.as_int() if isinstance(q_id, jsontext.Num) else None
            if not (q_id and store.get("questionnaire", str(q_id))):
                creator = form.get("created_by", {}).get("email") \
                    if isinstance(form.get("created_by"), dict) else None
                res.questionnaire_create(store, form, creator, keep_id=q_id)
        known = {(d.get("collection"), d.get("name")) for d in store.list("import")}
        for entry in _list(seed, "imports"):
            if (entry.get("collection"), entry.get("name", entry.get("collection"))) not in known:
                misc.import_create(store, entry)
    except ApiError as exc:
        _fail(name, exc)


def ensure_user(store, spec):
    """--user EMAIL:PASSWORD: create the user when absent (an existing one is left alone)."""
    email, sep, password = spec.partition(":")
    if not sep or not email or not password:
        raise FixtureError("--user wants EMAIL:PASSWORD, got %r" % spec)
    if store.get("user", email) is None:
        try:
            res.user_create(store, {"email": email, "password": password,
                                    "first_name": email.split("@")[0]})
        except ApiError as exc:
            _fail("--user %s" % email, exc)


def generated_record(i, salt):
    """(oid, stored text) of generated record i; deterministic for a given collection salt.

    _id: 8 hex of a time (GENERATED_EPOCH + i // 1000) then 16 hex of counter
    (8 hex of the collection's crc32, 8 hex of i).
    """
    oid = "%08x%08x%08x" % (GENERATED_EPOCH + i // 1000, salt, i)
    text = ('{"_id":"%s","seq":%d,"name":"record %d","value":%s,"active":%s,'
            '"tags":["t%d","g%d"],"group":"group-%02d"}'
            % (oid, i, i, (i * 7919) % 100000 / 100, "true" if i % 3 else "false",
               i % 7, i % 13, i % 100))
    return oid, text.encode()


def generate(store, spec):
    """--generate APP/COLLECTION:N: make sure the collection holds generated records 0..N-1.

    The app and collection are created when missing; records already present
    (same deterministic _id) are not duplicated.
    """
    target, sep, count = spec.rpartition(":")
    app_id, _, slug = target.partition("/")
    if not sep or not app_id or not slug or not count.isdigit():
        raise FixtureError("--generate wants APP/COLLECTION:N, got %r" % spec)
    n = int(count)
    try:
        if store.get("app", app_id) is None:
            res.app_create(store, {"id": app_id, "name": app_id})
        if store.get("collection", app_id, slug) is None:
            res.collection_create(store, app_id, {"slug": slug, "name": slug,
                                                  "description": "Generated records"})
    except ApiError as exc:
        _fail("--generate %s" % spec, exc)
    cid = int(store.get("collection", app_id, slug)["id"])
    salt = zlib.crc32(("%s/%s" % (app_id, slug)).encode())
    start = 0
    # A persisted database already holding the set: skip the work.
    if store.record_count(cid) >= n and (n == 0 or store.record_exists(
            cid, generated_record(n - 1, salt)[0])):
        return

    def batches():
        for lo in range(start, n, GENERATE_BATCH):
            yield [generated_record(i, salt) for i in range(lo, min(n, lo + GENERATE_BATCH))]

    store.record_bulk(cid, batches())
