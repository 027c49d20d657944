"""Login, version, import entries and the 2.x file store (app transfer: transfer.py)."""
import base64
import binascii
import time

from . import resources as res
from .api import ApiError, Reply, bad, not_found, take_fields
from .jsontext import dumps

VERSION = {"api": "2024.2.0", "web_application": "2024.2.0", "web_server": "clappform-emulator"}


# -- authentication ---------------------------------------------------------------

def h_auth(req):
    """Log in: exactly access_token, refresh_expiration and refresh_token in data."""
    body = req.json_object()
    username = body.get("username")
    password = body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise bad("Fields 'username' and 'password' are required strings")
    user = req.store.get("user", username)
    secret = req.store.get_secret("user", username)
    if user is None or not res.check_password(secret, password):
        raise ApiError(401, "Invalid username or password")
    if not user.get("is_active", True):
        raise ApiError(401, "User %s is deactivated" % username)
    user["last_online"] = int(time.time())
    req.store.update("user", username, "", user)
    access, refresh, refresh_exp = req.emu.tokens.issue(username, int(user["id"]))
    return Reply({"access_token": access, "refresh_expiration": refresh_exp,
                  "refresh_token": refresh}, "Successfully logged in")


def h_auth_verify(req):
    return Reply(message="Token is valid")


def h_version(req):
    return Reply(dict(VERSION))


# -- import entries ---------------------------------------------------------------

IMPORT_BASIC = ("id", "app", "collection", "name", "status")


def import_create(store, entry):
    """Store an import entry: any object with a `collection` string; an id is assigned."""
    if not isinstance(entry, dict) or not isinstance(entry.get("collection"), str):
        raise bad("An import entry must be an object with a 'collection' string")
    doc = {"id": store.next_id("import")}
    doc.update((k, v) for k, v in entry.items() if k != "id")
    doc.setdefault("app", "")
    doc.setdefault("name", doc["collection"])
    doc.setdefault("status", "done")
    store.insert("import", str(doc["id"]), "", doc)
    return doc


def h_imports(req):
    extended = req.flag()
    docs = req.store.list("import")
    if not extended:
        docs = [{k: d.get(k) for k in IMPORT_BASIC} for d in docs]
    return Reply(docs)


# -- file store (client 2.x) ----------------------------------------------------------

def _folder(body):
    folder = body.get("folder_path", [])
    if not isinstance(folder, list) or any(not isinstance(p, str) for p in folder):
        raise bad("Field 'folder_path' must be an array of folder names")
    return folder


def _decode(content):
    if not isinstance(content, str):
        raise bad("Field 'content' must be a base64 string")
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise bad("Field 'content' is not valid base64") from None


def _get_file(store, folder, name):
    doc = store.get("file", dumps(folder), name)
    if doc is None:
        raise not_found("File %s not found in /%s" % (name, "/".join(folder)))
    return doc


def h_files(req):
    """List a folder: its files, and its direct subfolders as type "folder"."""
    folder = _folder(req.json_or_empty())
    out = []
    subfolders = []
    for doc in req.store.list("file"):
        path = doc["folder_path"]
        if path == folder:
            out.append({"name": doc["name"], "folder_path": path, "size": doc["size"],
                        "type": "file"})
        elif path[:len(folder)] == folder and path[len(folder)] not in subfolders:
            subfolders.append(path[len(folder)])
    out.extend({"name": s, "folder_path": folder, "type": "folder"} for s in subfolders)
    return Reply(out)


def h_file_read(req):
    folder = _folder(req.json_or_empty())
    doc = _get_file(req.store, folder, req.params["name"])
    content = base64.b64decode(doc["content"]).decode("utf-8", "replace")
    return Reply({"name": doc["name"], "folder_path": folder, "content": content})


def h_file_create(req):
    body = req.json_object()
    f = take_fields(body, {"file_name": "str"}, "File")
    if "file_name" not in f or not f["file_name"]:
        raise bad("Field 'file_name' is required")
    folder = _folder(body)
    raw = _decode(body.get("content"))
    doc = {"name": f["file_name"], "folder_path": folder, "size": len(raw),
           "content": base64.b64encode(raw).decode(), "created_at": int(time.time())}
    if req.store.get("file", dumps(folder), doc["name"]) is not None:
        raise ApiError(409, "File %s already exists" % doc["name"])
    req.store.insert("file", dumps(folder), doc["name"], doc)
    return Reply({"name": doc["name"], "folder_path": folder, "size": doc["size"]},
                 "Successfully created file %s" % doc["name"])


def h_file_update(req):
    body = req.json_object()
    folder = _folder(body)
    doc = _get_file(req.store, folder, req.params["name"])
    raw = _decode(body.get("content"))
    doc["content"] = base64.b64encode(raw).decode()
    doc["size"] = len(raw)
    req.store.update("file", dumps(folder), doc["name"], doc)
    return Reply({"name": doc["name"], "folder_path": folder, "size": doc["size"]},
                 "Successfully updated file %s" % doc["name"])


def h_file_delete(req):
    folder = _folder(req.json_or_empty())
    doc = _get_file(req.store, folder, req.params["name"])
    req.store.delete("file", dumps(folder), doc["name"])
    return Reply(message="Successfully deleted file %s" % doc["name"])
