"""Bad answers: a successful API answer's body spoiled the way a broken server or proxy
would spoil it (the bad_body fault; see faults.Faults).

The request is handled first (a write is stored), then its 2xx answer is replaced:

  html            an HTML page (Content-Type text/html), status kept
  truncated       the first half of the JSON body (Content-Length matches the cut body)
  wrong_type      `data` of the wrong type: an object becomes [], an array {}, any other
                  value []
  missing_data    the envelope without its `data` member
  missing_fields  the identity members (_id, id, slug, app, email, access_token) left out
                  of `data` (an object) or of each object in it (an array); the envelope
                  keeps code, message and response_id
"""
from .jsontext import JSONError, dumpb, loads

MODES = ("html", "truncated", "wrong_type", "missing_data", "missing_fields")

IDENTITY = ("_id", "id", "slug", "app", "email", "access_token")

HTML = (b"<!DOCTYPE html>\n<html><head><title>Service</title></head>\n"
        b"<body><h1>Welcome</h1><p>This is not the API you are looking for.</p></body>"
        b"</html>\n")


def _without_identity(value):
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in IDENTITY}
    return value


def spoil(mode, body):
    """(body, content type) of a spoiled answer; body is the good answer's bytes."""
    if mode == "html":
        return HTML, "text/html; charset=utf-8"
    if mode == "truncated":
        return body[:max(1, len(body) // 2)], "application/json"
    try:
        answer = loads(body)
    except JSONError:
        return body, "application/json"
    if not isinstance(answer, dict):
        return body, "application/json"
    if mode == "missing_data":
        answer.pop("data", None)
    elif mode == "wrong_type" and "data" in answer:
        answer["data"] = {} if isinstance(answer["data"], list) else []
    elif mode == "missing_fields" and "data" in answer:
        data = answer["data"]
        if isinstance(data, list):
            answer["data"] = [_without_identity(item) for item in data]
        else:
            answer["data"] = _without_identity(data)
    return dumpb(answer), "application/json"
