"""Reference JSON rendering for the mount tests, working on TEXT tokens.

json.loads would lose what the filesystem must keep (-0, 1.0e5, 1E400, big integers,
the exact escapes of a string), so this module tokenizes the server's text itself and
copies every string and number token verbatim.

A parsed value is a tuple:
  ("obj", [(key_token, value), ...])   keys in their order, key_token with its quotes
  ("arr", [value, ...])
  ("lit", token)                        string, number, true, false or null, verbatim
"""
import json
import re

_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"')
_WS = " \t\r\n"


class JSONTextError(ValueError):
    pass


def parse(text):
    """Parses JSON text (str) into the tuple form; raises JSONTextError when invalid."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    value, pos = _value(text, _skip(text, 0))
    pos = _skip(text, pos)
    if pos != len(text):
        raise JSONTextError(f"trailing text at {pos}")
    return value


def _skip(text, pos):
    while pos < len(text) and text[pos] in _WS:
        pos += 1
    return pos


def _value(text, pos):
    if pos >= len(text):
        raise JSONTextError("unexpected end")
    c = text[pos]
    if c == "{":
        members = []
        pos = _skip(text, pos + 1)
        if pos < len(text) and text[pos] == "}":
            return ("obj", members), pos + 1
        while True:
            m = _STRING.match(text, pos)
            if not m:
                raise JSONTextError(f"expected a key at {pos}")
            key = m.group(0)
            pos = _skip(text, m.end())
            if pos >= len(text) or text[pos] != ":":
                raise JSONTextError(f"expected ':' at {pos}")
            value, pos = _value(text, _skip(text, pos + 1))
            members.append((key, value))
            pos = _skip(text, pos)
            if pos < len(text) and text[pos] == ",":
                pos = _skip(text, pos + 1)
                continue
            if pos < len(text) and text[pos] == "}":
                return ("obj", members), pos + 1
            raise JSONTextError(f"expected ',' or '}}' at {pos}")
    if c == "[":
        items = []
        pos = _skip(text, pos + 1)
        if pos < len(text) and text[pos] == "]":
            return ("arr", items), pos + 1
        while True:
            value, pos = _value(text, pos)
            items.append(value)
            pos = _skip(text, pos)
            if pos < len(text) and text[pos] == ",":
                pos = _skip(text, pos + 1)
                continue
            if pos < len(text) and text[pos] == "]":
                return ("arr", items), pos + 1
            raise JSONTextError(f"expected ',' or ']' at {pos}")
    if c == '"':
        m = _STRING.match(text, pos)
        if not m:
            raise JSONTextError(f"bad string at {pos}")
        return ("lit", m.group(0)), m.end()
    for word in ("true", "false", "null"):
        if text.startswith(word, pos):
            return ("lit", word), pos + len(word)
    m = _NUMBER.match(text, pos)
    if not m or not m.group(0):
        raise JSONTextError(f"unexpected {c!r} at {pos}")
    return ("lit", m.group(0)), m.end()


def render(value):
    """The filesystem's rendering: 2-space indent, one member per line, final newline."""
    out = []
    _render(value, 0, out)
    out.append("\n")
    return "".join(out).encode("utf-8")


def _render(value, depth, out):
    kind, body = value
    if kind == "lit":
        out.append(body)
        return
    if not body:
        out.append("{}" if kind == "obj" else "[]")
        return
    pad = "  " * (depth + 1)
    out.append("{\n" if kind == "obj" else "[\n")
    for i, item in enumerate(body):
        out.append(pad)
        if kind == "obj":
            out.append(item[0])
            out.append(": ")
            _render(item[1], depth + 1, out)
        else:
            _render(item, depth + 1, out)
        out.append(",\n" if i + 1 < len(body) else "\n")
    out.append("  " * depth)
    out.append("}" if kind == "obj" else "]")


def compact(value):
    """The value written without insignificant white space, tokens verbatim (a line of a
    streamed .ndjson file, without its newline)."""
    kind, body = value
    if kind == "lit":
        return body
    if kind == "obj":
        return "{" + ",".join(k + ":" + compact(v) for k, v in body) + "}"
    return "[" + ",".join(compact(v) for v in body) + "]"


def render_record(value, id_token=None):
    """A record as a file shows it: its `_id` member first (id_token, or the record's own
    `_id` token), any other `_id` member left out, everything else in order."""
    assert value[0] == "obj", value
    members = value[1]
    own = [v for k, v in members if key(k) == "_id"]
    if id_token is None:
        assert own, "record without _id"
        id_value = own[0]
    else:
        id_value = ("lit", id_token)
    rest = [(k, v) for k, v in members if key(k) != "_id"]
    return render(("obj", [('"_id"', id_value)] + rest))


def key(token):
    """The decoded text of a key (or string) token."""
    return json.loads(token)


def get(value, name, default=None):
    """The value of member `name` of an object value (decoded key match)."""
    if value[0] != "obj":
        return default
    for k, v in value[1]:
        if key(k) == name:
            return v
    return default


def plain(value):
    """The value as Python data (json.loads of its pieces); for names and lookups only."""
    kind, body = value
    if kind == "obj":
        return {key(k): plain(v) for k, v in body}
    if kind == "arr":
        return [plain(v) for v in body]
    return json.loads(body)


def data(envelope_text):
    """The `data` member of an API answer (its envelope), as a parsed value."""
    value = parse(envelope_text)
    found = get(value, "data")
    if found is None:
        raise JSONTextError("answer without data")
    return found


def escape_name(name):
    """A server name as a file name: `/` -> %2F, `%` -> %25, control characters -> %XX,
    a leading `.` -> %2E; everything else (spaces, `+`, unicode) kept."""
    out = []
    for i, ch in enumerate(name):
        if ch == "%":
            out.append("%25")
        elif ch == "/":
            out.append("%2F")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("%%%02X" % ord(ch))
        elif ch == "." and i == 0:
            out.append("%2E")
        else:
            out.append(ch)
    return "".join(out)


def objectid_time(id_string):
    """mtime a record with a 24-hex ObjectId `_id` gets, else None."""
    if isinstance(id_string, str) and re.fullmatch(r"[0-9a-fA-F]{24}", id_string):
        return int(id_string[:8], 16)
    return None
