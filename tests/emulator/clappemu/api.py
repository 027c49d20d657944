"""Shared pieces of the API handlers: request, reply, errors and field validation."""
from . import jsontext
from .jsontext import Num

MISSING = object()


class ApiError(Exception):
    """An error answer: HTTP status plus the human-readable envelope message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def bad(message):
    return ApiError(400, message)


def not_found(message):
    return ApiError(404, message)


class Reply:
    """A successful answer.

    data is any JSON value (Num kept verbatim) or a RawJSON; MISSING leaves the
    envelope without `data` (delete confirmations).  before/after are extra
    top-level members placed before/after `data` (e.g. total, next_page).
    """

    def __init__(self, data=MISSING, message="OK", status=200, before=(), after=()):
        self.status = status
        self.message = message
        self.data = data
        self.before = before
        self.after = after


class Request:
    """One API request as the handlers see it.

    template: the matched route template; params: the decoded path placeholders;
    query: the query string (last value of each name); user: the e-mail of the
    authenticated user (None on /auth).
    """

    def __init__(self, emu, method, template, params, query, body):
        self.emu = emu
        self.store = emu.store
        self.method = method
        self.template = template
        self.params = params
        self.query = query
        self.body = body
        self.user = None

    def json(self):
        """The body parsed with exact numbers; 400 when absent or not JSON."""
        if not self.body.strip():
            raise bad("Request body is required (JSON)")
        try:
            return jsontext.loads(self.body)
        except jsontext.JSONError as exc:
            raise bad("Malformed JSON body: %s" % exc) from None

    def json_object(self):
        value = self.json()
        if not isinstance(value, dict):
            raise bad("Request body must be a JSON object")
        return value

    def json_or_empty(self):
        """The body as an object, or {} when there is none (e.g. DELETE without body)."""
        if not self.body.strip():
            return {}
        return self.json_object()

    def flag(self, name="extended"):
        """A boolean query parameter (true/false/1/0); absent means false."""
        value = self.query.get(name)
        if value is None or value == "":
            return False
        low = value.lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise bad("Query parameter %s must be true or false, got %r" % (name, value))

    def level(self, name="extended", top=3):
        """An integer query parameter 0..top (collections' extended); absent means 0."""
        value = self.query.get(name)
        if value is None or value == "":
            return 0
        low = value.lower()
        if low == "true":
            return top
        if low == "false":
            return 0
        if not low.isdigit() or int(low) > top:
            raise bad("Query parameter %s must be an integer from 0 to %d, got %r"
                      % (name, top, value))
        return int(low)


# Field type names used by the resource specs below.
_DESCRIBE = {"str": "a string", "int": "an integer", "bool": "a boolean", "dict": "an object",
             "list": "an array", "any": "any value", "int|list": "an integer or an array",
             "int|str": "an integer or a string"}


def _convert(kind, value):
    """value converted to the field type kind, or MISSING when it does not fit."""
    if kind == "any":
        return value
    if kind == "str":
        return value if isinstance(value, str) else MISSING
    if kind == "bool":
        return value if isinstance(value, bool) else MISSING
    if kind == "dict":
        return value if isinstance(value, dict) else MISSING
    if kind == "list":
        return value if isinstance(value, list) else MISSING
    if kind == "int":
        if isinstance(value, Num) and value.is_integer_literal():
            return value.as_int()
        return MISSING
    if kind == "int|list":
        return _convert("list", value) if isinstance(value, list) else _convert("int", value)
    if kind == "int|str":
        return value if isinstance(value, str) else _convert("int", value)
    raise AssertionError(kind)


def take_fields(body, spec, what):
    """The known fields of body, type-checked against spec ({name: type name}).

    Contract: null values count as absent (clients leave nulls out anyway); unknown
    fields are ignored (they are never stored, so never answered back); a field
    of the wrong type is a 400 naming it.
    """
    out = {}
    for name, kind in spec.items():
        if name not in body or body[name] is None:
            continue
        value = _convert(kind, body[name])
        if value is MISSING:
            raise bad("%s field '%s' must be %s" % (what, name, _DESCRIBE[kind]))
        out[name] = value
    return out


def require(fields, name, what):
    if name not in fields:
        raise bad("%s field '%s' is required" % (what, name))
    value = fields[name]
    if isinstance(value, str) and not value:
        raise bad("%s field '%s' must not be empty" % (what, name))
    return value


def pick(doc, names):
    """A view of a stored document: exactly these names, in this order (absent ones as null)."""
    return {name: doc.get(name) for name in names}


def numeric_id(text, what):
    """A path segment that must be a numeric id; 404 when it is not (no such resource)."""
    if not text.isdigit():
        raise not_found("%s %s not found" % (what, text))
    return int(text)
