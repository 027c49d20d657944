"""Bad input: record content written through the mount. One table: each case is written
into its own record with open/write/close and gives either an errno at close (the write
itself succeeds; nothing is sent; the stored record and the file stay as they were; the
log and .clappfs/errors say why, with line and column) or None (stored, and shown back,
exactly). test_write_files.py has the first few kinds with the request counts; this table
adds the rest: every way to be not JSON, NUL bytes, depth, size, numbers, escapes."""
import errno
import json
import os

import pytest

import mount_jsontext as jt
from fault_helpers import LogMark, alive, control_errors, make_collection, read, stored_texts

APP, COLL = "uspresidents", "content"
MIB16 = 16 << 20


def nested(depth):
    """An object nested `depth` levels deep: {"a": [[...]]}."""
    return b'{"a": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


def exactly(size):
    """A valid JSON object of exactly `size` bytes."""
    return b'{"pad": "' + b"x" * (size - 11) + b'"}'


# (case, content, errno, what the log says after "<path>: not saved: ")
REFUSED = [
    ("syntax error", b'{"a": 1,, "b": 2}', errno.EINVAL,
     "line 1, column 9: expected a string key, found ','"),
    ("syntax error on line 3", b'{\n  "a": 1\n  "b": 2\n}\n', errno.EINVAL, "line 3, column 3: "),
    ("unterminated", b'{"a": [1, 2', errno.EINVAL, "line 1, column 12: unexpected end of input"),
    ("trailing comma", b'{"a": 1,}', errno.EINVAL, "line 1, column 9: trailing comma before '}'"),
    ("two values", b'{"a": 1}{"b": 2}', errno.EINVAL,
     "line 1, column 9: trailing characters after the JSON value"),
    ("an array", b"[1, 2]", errno.EINVAL,
     "line 1, column 1: top-level value is an array, not an object"),
    ("a string", b'"text"', errno.EINVAL, "line 1, column 1: top-level value is a string"),
    ("a number", b"42", errno.EINVAL, "line 1, column 1: top-level value is a number"),
    ("null", b"null", errno.EINVAL, "line 1, column 1: top-level value is null"),
    ("true", b"true", errno.EINVAL, "line 1, column 1: top-level value is true"),
    ("white space only", b"  \n", errno.EINVAL, "line 2, column 1: no JSON value"),
    ("invalid UTF-8", b'{"a": "\xc3\x28"}', errno.EINVAL,
     "line 1, column 8: invalid UTF-8 in string: truncated sequence"),
    ("overlong UTF-8", b'{"a": "\xc0\xaf"}', errno.EINVAL,
     "line 1, column 8: invalid UTF-8 in string: overlong encoding"),
    ("UTF-8 of a surrogate", b'{"a": "\xed\xa0\x80"}', errno.EINVAL,
     "line 1, column 8: invalid UTF-8 in string: encoded surrogate"),
    ("invalid UTF-8 in a key", b'{"\xff": 1}', errno.EINVAL, "line 1, column 3: invalid UTF-8"),
    ("NUL byte in a string", b'{"a": "x\x00y"}', errno.EINVAL,
     "line 1, column 9: NUL byte in string"),
    ("NUL byte after the object", b'{"a": 1}\x00', errno.EINVAL,
     "line 1, column 9: NUL byte in the text"),
    ("NUL bytes only", b"\x00" * 64, errno.EINVAL, "line 1, column 1: "),
    ("duplicate key", b'{"a": 1, "b": 2, "a": 3}', errno.EINVAL,
     'line 1, column 18: duplicate key "a"'),
    ("duplicate key by escape", b'{"a": 1, "\\u0061": 2}', errno.EINVAL,
     "line 1, column 10: duplicate key"),
    ("duplicate key deep down", b'{"o": {"k": 1, "k": 2}}', errno.EINVAL,
     'line 1, column 16: duplicate key "k"'),
    ("nesting 257", nested(257), errno.EINVAL, "line 1, column 262: nesting deeper than 256"),
    ("nesting 100000, unclosed", b'{"a": ' + b"[" * 100000, errno.EINVAL,
     "line 1, column 262: nesting deeper than 256"),
    ("16 MiB + 1 byte", exactly(MIB16 + 1), errno.EINVAL,
     "16777217 bytes, over the limit of 16777216 bytes (16 MiB)"),
    ("NaN", b'{"a": NaN}', errno.EINVAL, "line 1, column 7: invalid literal"),
    ("Infinity", b'{"a": -Infinity}', errno.EINVAL,
     "line 1, column 8: '-' must be followed by a digit"),
    ("a comment", b'{"a": 1 /* c */}', errno.EINVAL,
     "line 1, column 9: comments are not allowed in JSON"),
    ("a byte order mark", b'\xef\xbb\xbf{"a": 1}', errno.EINVAL,
     "line 1, column 1: UTF-8 byte order mark (BOM) is not allowed"),
    ("single quotes", b"{'a': 1}", errno.EINVAL,
     "line 1, column 2: strings must be in double quotes"),
    ("a bad escape", b'{"a": "\\x41"}', errno.EINVAL, "line 1, column 8: invalid escape in string"),
    ("a short \\u escape", b'{"a": "\\u12"}', errno.EINVAL, "line 1, column 8: "),
    ("a raw tab in a string", b'{"a": "tab\there"}', errno.EINVAL,
     "line 1, column 11: control character 0x09 in string (must be escaped)"),
    ("a leading zero", b'{"a": 01}', errno.EINVAL, "line 1, column 7: number has leading zero"),
    ("a bare minus", b'{"a": -}', errno.EINVAL,
     "line 1, column 8: '-' must be followed by a digit"),
    ("a number ending in a dot", b'{"a": 1.}', errno.EINVAL,
     "line 1, column 9: expected a digit after the decimal point"),
]

# (case, content, the exact stored text (_id first, as the client sends it: compact,
#  numbers verbatim) or None where the emulator normalises string escapes)
ACCEPTED = [
    ("1e400", b'{"a": 1e400}', '{"_id":"%s","a":1e400}'),
    ("1e-400", b'{"a": 1e-400}', '{"_id":"%s","a":1e-400}'),
    ("30-digit integer", b'{"a": 123456789012345678901234567890}',
     '{"_id":"%s","a":123456789012345678901234567890}'),
    ("huge negative with fraction and exponent",
     b'{"a": -123456789012345678901234567890.123456789e-99999}',
     '{"_id":"%s","a":-123456789012345678901234567890.123456789e-99999}'),
    ("-0, 1.0e5, 1E+2, 0.10", b'{"a": [-0, 1.0e5, 1E+2, 0.10]}',
     '{"_id":"%s","a":[-0,1.0e5,1E+2,0.10]}'),
    ("unicode escapes", b'{"a": "caf\\u00e9 \\ud83d\\ude42"}', None),
    ("raw unicode", '{"a": "日本 🙂 é"}'.encode(), '{"_id":"%s","a":"日本 🙂 é"}'),
    ("an escaped NUL", b'{"a": "x\\u0000y"}', '{"_id":"%s","a":"x\\u0000y"}'),
    # A lone surrogate is valid JSON syntax (RFC 8259 8.2 leaves its meaning open): kept as
    # the escape it was written as, and shown back so.
    ("a lone high surrogate", b'{"a": "\\ud83d"}', '{"_id":"%s","a":"\\ud83d"}'),
    ("a lone low surrogate", b'{"a": "x\\ude42"}', '{"_id":"%s","a":"x\\ude42"}'),
    ("an empty key", b'{"": 1}', '{"_id":"%s","":1}'),
    ("nesting 256", nested(256), None),
    ("an _id inside is replaced", b'{"_id": "other", "a": 1}', '{"_id":"%s","a":1}'),
]

CASES = [(c, data, err, text) for c, data, err, text in REFUSED] + \
        [(c, data, None, text) for c, data, text in ACCEPTED]
IDS = {case: f"c{i:02d}" for i, (case, *_rest) in enumerate(CASES)}
BEFORE = {"v": "before"}


@pytest.fixture(scope="module")
def emu(emulator_factory):
    e = emulator_factory("--demo")
    make_collection(e, APP, COLL, [dict(BEFORE, _id=rid) for rid in IDS.values()])
    return e


@pytest.fixture(scope="module")
def m(emu, mount_factory):
    mm = mount_factory(emu, "cache_ttl=300")
    assert len(os.listdir(mm.p("apps", APP, COLL))) == len(IDS) + 1
    return mm


@pytest.mark.parametrize("case,content,err,expected", CASES, ids=[c[0] for c in CASES])
def test_content(emu, m, case, content, err, expected):
    rid = IDS[case]
    path = m.p("apps", APP, COLL, rid + ".json")
    shown = read(path)
    before = stored_texts(emu, APP, COLL)[rid]
    mark = LogMark(m)
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, content)  # the write itself is never refused: the buffer is local
    if err is not None:
        with pytest.raises(OSError) as e:
            os.close(fd)
        assert e.value.errno == err, case
        assert stored_texts(emu, APP, COLL)[rid] == before
        assert read(path) == shown
        line = f"apps/{APP}/{COLL}/{rid}.json: not saved: {expected}"
        assert line in mark.text(), mark.text()[-2000:]
        errors = [x for x in control_errors(m) if x["path"] == f"/apps/{APP}/{COLL}/{rid}.json"]
        assert errors and errors[-1]["op"] == "save" and errors[-1]["errno"] == "EINVAL"
    else:
        os.close(fd)
        text = stored_texts(emu, APP, COLL)[rid]
        if expected is not None:
            assert text == expected % rid
        else:
            sent = jt.parse(content)
            want = jt.compact(("obj", [('"_id"', ("lit", json.dumps(rid)))] +
                               [(k, v) for k, v in sent[1] if jt.key(k) != "_id"]))
            assert json.loads(text) == json.loads(want)
        # Shown back as the server holds it, every token verbatim.
        assert read(path) == jt.render_record(jt.parse(text))
        assert not mark.text().strip(), mark.text()
    assert alive(m)


def test_a_record_nested_256_deep_lists_reads_and_streams(emu, m):
    """Such a record is accepted (above): the collection listing and the .ndjson stream,
    whose answers wrap it in two more levels, must still read it."""
    rid = IDS["nesting 256"]
    from fault_helpers import refresh
    refresh(m)
    assert rid + ".json" in os.listdir(m.p("apps", APP, COLL))
    assert read(m.p("apps", APP, COLL, rid + ".json")).count(b"[") == 255
    lines = read(m.p("dataframes", APP, COLL + ".ndjson")).splitlines()
    assert any(line.startswith(b'{"_id":"%s"' % rid.encode()) and line.count(b"[") == 255
               for line in lines)


def test_the_daemon_is_still_up_and_counted_every_refusal(m):
    assert alive(m)
    with open(m.p(".clappfs", "stats"), "rb") as f:
        stats = json.loads(f.read())
    assert stats["uploads"]["failed"] >= len(REFUSED), stats["uploads"]
