"""Exact-number JSON: parse numbers into Num (keeping their text) and serialize them back unchanged."""
import json
import json.encoder
from decimal import Decimal, InvalidOperation

# The C string quoters of the standard library: one keeps UTF-8 characters as they
# are (our normal output), the other escapes everything outside ASCII (used only when
# a string holds a lone surrogate, which UTF-8 cannot carry).
_quote = json.encoder.encode_basestring
_quote_ascii = json.encoder.encode_basestring_ascii


class JSONError(ValueError):
    """The text is not JSON this emulator accepts (syntax error, NaN/Infinity, too deep)."""


class Num:
    """A JSON number kept as the exact text it arrived in (e.g. "-0", "1.0e5", "1E400").

    Equality, hashing and ordering are numeric (via Decimal) so that pipeline
    matching and sorting treat 1, 1.0 and 1e0 as the same value, while
    serialization always writes the original text back.
    """

    __slots__ = ("text", "_dec")

    def __init__(self, text):
        self.text = text
        self._dec = None

    @property
    def value(self):
        """The number as a Decimal (exact, no overflow for 1E400)."""
        if self._dec is None:
            try:
                self._dec = Decimal(self.text)
            except InvalidOperation:  # cannot happen for text the JSON scanner accepted
                self._dec = Decimal(0)
        return self._dec

    def is_integer_literal(self):
        """True when the text is an integer literal (no fraction, no exponent)."""
        return not any(c in self.text for c in ".eE")

    def as_int(self):
        """The value as a Python int when the text is an integer literal, else None."""
        return int(self.text) if self.is_integer_literal() else None

    def __eq__(self, other):
        if isinstance(other, Num):
            return self.value == other.value
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return self.value == Decimal(other)
        return NotImplemented

    def __hash__(self):
        return hash(self.value)

    def __lt__(self, other):
        if isinstance(other, Num):
            return self.value < other.value
        return NotImplemented

    def __str__(self):
        return self.text

    def __int__(self):
        return int(self.value)

    def __index__(self):
        # Lets an integer-valued Num be used where Python wants an int (sqlite ids).
        if not self.is_integer_literal():
            raise TypeError("%s is not an integer" % self.text)
        return int(self.text)

    def __repr__(self):
        return "Num(%s)" % self.text


class RawJSON:
    """Already-serialized JSON (UTF-8 bytes) that the envelope builder inserts as it is."""

    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data


def _reject_constant(name):
    # NaN and Infinity are not JSON; Python's parser would accept them by default.
    raise JSONError("%s is not a valid JSON value" % name)


_decoder = json.JSONDecoder(parse_int=Num, parse_float=Num, parse_constant=_reject_constant)


def loads(text):
    """Parse JSON text (str or UTF-8 bytes) keeping every number as a Num.

    Raises JSONError with a human-readable reason for anything that is not JSON.
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONError("body is not valid UTF-8 (%s)" % exc.reason) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return _decoder.decode(text)
    except JSONError:
        raise
    except json.JSONDecodeError as exc:
        raise JSONError("%s at line %d column %d" % (exc.msg, exc.lineno, exc.colno)) from None
    except RecursionError:
        raise JSONError("JSON nested too deeply") from None


def _emit(value, out, quote):
    """Append the compact serialization of value to the list out."""
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(quote(value))
    elif isinstance(value, Num):
        out.append(value.text)
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        sep = "{"
        for key, item in value.items():
            out.append(sep)
            out.append(quote(key))
            out.append(":")
            _emit(item, out, quote)
            sep = ","
        out.append("}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        sep = "["
        for item in value:
            out.append(sep)
            _emit(item, out, quote)
            sep = ","
        out.append("]")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(repr(value))
    else:
        raise TypeError("cannot serialize %r" % type(value).__name__)


def dumps(value):
    """Serialize value compactly (no spaces), UTF-8 characters unescaped, numbers verbatim."""
    out = []
    _emit(value, out, _quote)
    text = "".join(out)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (from a "\\ud800" escape): escape non-ASCII so the output is valid.
        out = []
        _emit(value, out, _quote_ascii)
        text = "".join(out)
    return text


def dumpb(value):
    """dumps() encoded as UTF-8 bytes."""
    return dumps(value).encode("utf-8")


def record_text(oid, record):
    """Stored form of a record: an object whose first key is _id, then the record's other keys."""
    body = {"_id": oid}
    for key, item in record.items():
        if key != "_id":
            body[key] = item
    return dumpb(body)


def strip_id(stored):
    """Remove the leading _id member from a stored record text, without re-parsing it.

    Stored texts always start with '{"_id":"<string>"' (see record_text); the string
    is scanned to its closing quote, honouring backslash escapes.
    """
    prefix = b'{"_id":"'
    if not stored.startswith(prefix):
        return stored
    i = len(prefix)
    n = len(stored)
    while i < n:
        c = stored[i]
        if c == 0x5C:  # backslash: skip the escaped character
            i += 2
            continue
        if c == 0x22:  # closing quote
            break
        i += 1
    rest = stored[i + 1:]
    if rest.startswith(b","):
        return b"{" + rest[1:]
    return b"{" + rest  # rest is "}" for a record holding only _id
