"""Records of a collection: the item routes and the dataframe routes (paged reads, bulk writes)."""
from . import pipeline
from .api import ApiError, Reply, bad, not_found
from .jsontext import Num, RawJSON, record_text, strip_id
from .resources import get_collection, get_query
from .store import Conflict

MAX_PAGE = 500          # read_data answers at most this many records a page
AGGREGATE_LIMITS = (10, 500)


def _cid(req):
    """The numeric id of the collection named by the path (404 if unknown)."""
    return int(get_collection(req.store, req.params["app"], req.params["slug"])["id"])


def assign_ids(store, cid, records, what="Record"):
    """(oid, stored text) rows for new records.

    A non-empty string _id is kept; a missing or null one gets a fresh ObjectId;
    any other _id is a 400.  The same _id twice in one request is a 409.
    """
    rows = []
    seen = set()
    for record in records:
        if not isinstance(record, dict):
            raise bad("%s must be a JSON object" % what)
        oid = record.get("_id")
        if oid is None:
            oid = store.oids.new()
            while store.record_exists(cid, oid):
                oid = store.oids.new()
        elif not isinstance(oid, str) or not oid:
            raise bad("%s field '_id' must be a non-empty string" % what)
        if oid in seen:
            raise ApiError(409, "Record with _id %s given twice" % oid)
        seen.add(oid)
        rows.append((oid, record_text(oid, record)))
    return rows


def _record_of(body):
    if "data" not in body:
        raise bad("Field 'data' is required (the record object)")
    if not isinstance(body["data"], dict):
        raise bad("Field 'data' must be a JSON object")
    return body["data"]


# -- items --------------------------------------------------------------------

def h_item_get(req):
    text = req.store.record_get(_cid(req), req.params["id"])
    if text is None:
        raise not_found("Item with _id %s not found" % req.params["id"])
    return Reply(RawJSON(strip_id(text)))


def h_item_create(req):
    cid = _cid(req)
    record = _record_of(req.json_object())
    rows = assign_ids(req.store, cid, [record])
    try:
        req.store.record_insert(cid, rows)
    except Conflict as exc:
        raise ApiError(409, str(exc)) from None
    return Reply(RawJSON(rows[0][1]), "Successfully created item with _id: %s" % rows[0][0], 200)


def h_item_update(req):
    cid = _cid(req)
    oid = req.params["id"]
    record = _record_of(req.json_object())
    if "_id" in record and record["_id"] is not None and record["_id"] != oid:
        raise bad("Record field '_id' does not match the path (%s)" % oid)
    text = record_text(oid, record)
    if not req.store.record_update(cid, oid, text):
        raise not_found("Item with _id %s not found" % oid)
    return Reply(RawJSON(strip_id(text)), "Successfully updated item with _id: %s" % oid)


def h_items_delete(req):
    cid = _cid(req)
    body = req.json_object()
    oids = body.get("oids")
    if not isinstance(oids, list) or any(not isinstance(o, str) for o in oids):
        raise bad("Field 'oids' must be an array of _id strings")
    n = req.store.record_delete(cid, oids)
    return Reply(message="Successfully deleted %d of %d items" % (n, len(oids)))


# -- dataframes -----------------------------------------------------------------

def _int_field(body, name):
    value = body.get(name)
    if not isinstance(value, Num) or not value.is_integer_literal():
        raise bad("Field '%s' must be an integer" % name)
    return value.as_int()


def _str_field(body, name):
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise bad("Field '%s' must be a non-empty string" % name)
    return value


def _offset(req):
    text = req.query.get("next_page")
    if text is None or text == "":
        return 0
    if not text.isdigit():
        raise bad("Query parameter next_page must be a non-negative integer offset")
    return int(text)


def h_read_data(req):
    """One page of a collection, a query's result, or an aggregate view.

    Answer: total (all matching records), data (this page, each record with its
    _id, built by concatenating stored texts) and next_page (the next offset)
    while records remain.  limit is capped at MAX_PAGE; the aggregate form (a
    body with `type`) demands 10..500.
    """
    body = req.json_object()
    offset = _offset(req)
    limit = _int_field(body, "limit")
    aggregate = "type" in body
    if aggregate:
        if not AGGREGATE_LIMITS[0] <= limit <= AGGREGATE_LIMITS[1]:
            raise bad("Field 'limit' must be from %d to %d for an aggregate" % AGGREGATE_LIMITS)
    elif limit < 1:
        raise bad("Field 'limit' must be at least 1")
    limit = min(limit, MAX_PAGE)

    stages = []
    if "query" in body and not aggregate:
        query = get_query(req.store, _str_field(body, "query"))
        coll = get_collection(req.store, query["app"], query["collection"])
        stages = query["query"]
    else:
        coll = get_collection(req.store, _str_field(body, "app"), _str_field(body, "collection"))
    cid = int(coll["id"])

    if not stages and not aggregate:
        total, texts = req.store.record_page(cid, offset, limit)
    else:
        rows = pipeline.parse_rows(req.store.record_all(cid))
        rows = pipeline.run(stages, rows)
        if aggregate:
            rows = pipeline.aggregate(body, rows)
        total = len(rows)
        texts = [text for text, _ in rows[offset:offset + limit]]
    after = ()
    if offset + len(texts) < total:
        after = (("next_page", offset + len(texts)),)
    data = RawJSON(b"[" + b",".join(texts) + b"]")
    return Reply(data, "Successfully retrieved %d of %d records" % (len(texts), total),
                 before=(("total", total),), after=after)


def _records_body(req):
    records = req.json()
    if not isinstance(records, list):
        raise bad("Request body must be a JSON array of record objects")
    return records


def h_df_append(req):
    cid = _cid(req)
    rows = assign_ids(req.store, cid, _records_body(req))
    try:
        req.store.record_insert(cid, rows)
    except Conflict as exc:
        raise ApiError(409, str(exc)) from None
    return Reply({"inserted": len(rows)}, "Successfully appended %d records" % len(rows))


def h_df_replace(req):
    cid = _cid(req)
    records = _records_body(req)
    # Ids are drawn against an empty collection: the old records are going away.
    rows = assign_ids(_NoRecords(req.store), cid, records)
    try:
        req.store.record_replace(cid, rows)
    except Conflict as exc:
        raise ApiError(409, str(exc)) from None
    return Reply({"inserted": len(rows)}, "Successfully replaced the records with %d records"
                 % len(rows))


def h_df_empty(req):
    n = req.store.record_clear(_cid(req))
    return Reply(message="Successfully emptied the collection (%d records deleted)" % n)


class _NoRecords:
    """A view of the store in which no record exists yet (for replace-all id assignment)."""

    def __init__(self, store):
        self.oids = store.oids

    @staticmethod
    def record_exists(cid, oid):
        return False
