"""A minimal aggregation pipeline ($match, $sort, $skip, $limit) and the aggregate filters of read_data."""
import re

from . import jsontext
from .api import bad
from .jsontext import Num

_ABSENT = object()


def get_path(doc, path):
    """The value at a dotted field path, or _ABSENT."""
    value = doc
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _ABSENT
    return value


def _same(a, b):
    """Equality as MongoDB sees it: numbers by value, booleans never equal numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def _equals(value, wanted):
    # {field: null} also matches a missing field; an array field matches when
    # one of its elements equals a non-array value.
    if wanted is None:
        return value is _ABSENT or value is None
    if value is _ABSENT:
        return False
    if isinstance(value, list) and not isinstance(wanted, list):
        return any(_same(item, wanted) for item in value)
    return _same(value, wanted)


def _compare(value, wanted, op):
    """Ordering operators compare numbers with numbers and strings with strings only."""
    candidates = value if isinstance(value, list) else [value]
    for item in candidates:
        if isinstance(item, Num) and isinstance(wanted, Num):
            a, b = item.value, wanted.value
        elif isinstance(item, str) and isinstance(wanted, str):
            a, b = item, wanted
        else:
            continue
        if ((op == "$gt" and a > b) or (op == "$gte" and a >= b)
                or (op == "$lt" and a < b) or (op == "$lte" and a <= b)):
            return True
    return False


def _operators(value, ops):
    for op, arg in ops.items():
        if op == "$eq":
            ok = _equals(value, arg)
        elif op == "$ne":
            ok = not _equals(value, arg)
        elif op in ("$gt", "$gte", "$lt", "$lte"):
            ok = value is not _ABSENT and _compare(value, arg, op)
        elif op in ("$in", "$nin"):
            if not isinstance(arg, list):
                raise bad("%s needs an array" % op)
            ok = any(_equals(value, item) for item in arg)
            ok = ok if op == "$in" else not ok
        elif op == "$exists":
            ok = (value is not _ABSENT) == bool(arg)
        elif op == "$regex":
            if not isinstance(arg, str):
                raise bad("$regex needs a string")
            try:
                ok = isinstance(value, str) and re.search(arg, value) is not None
            except re.error as exc:
                raise bad("$regex is not a valid pattern: %s" % exc) from None
        else:
            raise bad("Unsupported query operator %s" % op)
        if not ok:
            return False
    return True


def matches(doc, cond):
    """True when the record doc satisfies the $match condition cond."""
    if not isinstance(cond, dict):
        raise bad("$match needs an object")
    for key, wanted in cond.items():
        if key in ("$and", "$or", "$nor"):
            if not isinstance(wanted, list):
                raise bad("%s needs an array" % key)
            results = [matches(doc, c) for c in wanted]
            ok = all(results) if key == "$and" else any(results)
            if key == "$nor":
                ok = not any(results)
        elif key.startswith("$"):
            raise bad("Unsupported query operator %s" % key)
        elif isinstance(wanted, dict) and wanted and all(k.startswith("$") for k in wanted):
            ok = _operators(get_path(doc, key), wanted)
        else:
            ok = _equals(get_path(doc, key), wanted)
        if not ok:
            return False
    return True


def sort_key(value):
    """Order across types as MongoDB does: missing/null, numbers, strings, objects, arrays, booleans."""
    if value is _ABSENT or value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (5, value)
    if isinstance(value, Num):
        return (1, value.value)
    if isinstance(value, str):
        return (2, value)
    if isinstance(value, dict):
        return (3, jsontext.dumps(value))
    if isinstance(value, list):
        return (4, jsontext.dumps(value))
    return (6, str(value))


def sort_rows(rows, fields):
    """Sort (text, doc) rows by [(path, ascending)], first field most significant; stable."""
    for path, ascending in reversed(fields):
        rows.sort(key=lambda row: sort_key(get_path(row[1], path)), reverse=not ascending)
    return rows


def _count(stage, name):
    value = stage[name]
    if not isinstance(value, Num) or not value.is_integer_literal() or value.as_int() < 0:
        raise bad("%s needs a non-negative integer" % name)
    return value.as_int()


def parse_rows(texts):
    return [(t, jsontext.loads(t)) for t in texts]


def run(stages, rows):
    """Apply the pipeline stages to (text, doc) rows; 400 for a stage it does not support."""
    for stage in stages:
        if not isinstance(stage, dict) or len(stage) != 1:
            raise bad("Each pipeline stage must be an object with one operator")
        (name, arg), = stage.items()
        if name == "$match":
            rows = [row for row in rows if matches(row[1], arg)]
        elif name == "$sort":
            if not isinstance(arg, dict):
                raise bad("$sort needs an object")
            fields = []
            for path, direction in arg.items():
                if not isinstance(direction, Num) or direction.as_int() not in (1, -1):
                    raise bad("$sort directions must be 1 or -1")
                fields.append((path, direction.as_int() == 1))
            rows = sort_rows(list(rows), fields)
        elif name == "$limit":
            rows = rows[:_count(stage, "$limit")]
        elif name == "$skip":
            rows = rows[_count(stage, "$skip"):]
        else:
            raise bad("Unsupported pipeline stage %s" % name)
    return rows


def aggregate(body, rows):
    """The aggregate form of read_data: item_id, deep_dive, search, then sorting.

    item_id keeps only that record; deep_dive (an object) is an equality filter
    like $match; search.input is a case-insensitive substring of the record's
    JSON text; sorting is {"ASC": [fields], "DESC": [fields]} applied in that order
    of significance (keys in the order given).
    """
    item_id = body.get("item_id")
    if item_id is not None:
        if not isinstance(item_id, str):
            raise bad("Field 'item_id' must be a string or null")
        rows = [row for row in rows if row[1].get("_id") == item_id]
    deep = body.get("deep_dive")
    if deep is not None:
        if not isinstance(deep, dict):
            raise bad("Field 'deep_dive' must be an object")
        if deep:
            rows = [row for row in rows if matches(row[1], deep)]
    search = body.get("search")
    if search is not None:
        if not isinstance(search, dict):
            raise bad("Field 'search' must be an object with an 'input' string")
        needle = search.get("input", "")
        if not isinstance(needle, str):
            raise bad("Field 'search.input' must be a string")
        if needle:
            needle = needle.lower()
            rows = [row for row in rows if needle in row[0].decode("utf-8").lower()]
    sorting = body.get("sorting")
    if sorting is not None:
        if not isinstance(sorting, dict):
            raise bad("Field 'sorting' must be an object {\"ASC\": [...], \"DESC\": [...]}")
        fields = []
        for direction, paths in sorting.items():
            if direction.upper() not in ("ASC", "DESC") or not isinstance(paths, list) \
                    or any(not isinstance(p, str) for p in paths):
                raise bad("Field 'sorting' must map ASC/DESC to arrays of field names")
            fields.extend((p, direction.upper() == "ASC") for p in paths)
        rows = sort_rows(list(rows), fields)
    return rows
