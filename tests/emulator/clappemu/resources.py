"""Apps, collections, queries, actionflows, questionnaires and users: storage rules, views, handlers."""
import hashlib
import hmac
import os
import re
import time
import uuid

from .api import ApiError, Reply, bad, not_found, numeric_id, pick, require, take_fields
from .store import Conflict

# Field names each resource answers with.  They are exactly the names the official
# client's dataclasses accept: one more and that client fails to build its object.
APP_NAMES = ("id", "name", "description", "default_page", "settings", "collections", "groups")
COLLECTION_NAMES = (("app", "slug", "database", "name", "description"),
                    ("id", "is_encrypted", "is_locked", "is_logged", "sources"),
                    ("queries",))
QUERY_NAMES = ("app", "collection", "slug", "id", "name", "data_source", "export", "query",
               "source_query", "modules", "primary", "settings")
ACTIONFLOW_NAMES = ("id", "name", "slug", "category", "fast", "multiple", "settings",
                    "start_keys", "extra_information", "cronjobs", "tasks")
QUESTIONNAIRE_NAMES = (("id", "name", "created_at", "active", "created_by", "settings"),
                       ("latest_version", "versions"))
USER_NAMES = (("email", "first_name", "last_name", "phone", "is_active", "id",
               "extra_information"),
              ("messages", "last_online", "permissions", "roles"))

APP_SPEC = {"id": "str", "name": "str", "description": "str", "default_page": "str",
            "settings": "dict", "groups": "int|list", "collections": "int|list"}
COLLECTION_SPEC = {"app": "str", "slug": "str", "database": "str", "name": "str",
                   "description": "str", "is_encrypted": "bool", "is_locked": "bool",
                   "is_logged": "bool", "sources": "list", "queries": "list", "id": "int"}
QUERY_SPEC = {"app": "str", "collection": "str", "slug": "str", "id": "int", "name": "str",
              "data_source": "str", "export": "bool", "query": "list", "source_query": "str",
              "modules": "list", "primary": "bool", "settings": "dict"}
ACTIONFLOW_SPEC = {"id": "int", "name": "str", "slug": "str", "category": "str", "fast": "bool",
                   "multiple": "bool", "settings": "dict", "start_keys": "list",
                   "extra_information": "list", "cronjobs": "list", "tasks": "list"}
QUESTIONNAIRE_SPEC = {"name": "str", "settings": "dict"}
USER_SPEC = {"email": "str", "first_name": "str", "last_name": "str", "phone": "str",
             "is_active": "bool", "extra_information": "dict", "password": "str",
             "messages": "dict", "permissions": "list", "roles": "list"}

DATABASES = ("MONGO", "DATALAKE")


def slugify(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "actionflow"


# -- apps ---------------------------------------------------------------------

def get_app(store, app_id):
    doc = store.get("app", app_id)
    if doc is None:
        raise not_found("App with ID %s not found" % app_id)
    return doc


def app_view(store, doc, extended):
    """App as answered: collections/groups are counts, or lists when extended.

    Extended, the collections come at level 3 (their queries as objects): the official
    client's export_app takes the collections from this answer and fetches no queries of
    its own, so an export carries queries only if the server nests them here."""
    colls = store.list("collection", doc["id"])
    groups = doc.get("groups") or []
    view = pick(doc, APP_NAMES)
    if extended:
        view["collections"] = [collection_view(store, c, 3) for c in colls]
        view["groups"] = groups
    else:
        view["collections"] = len(colls)
        view["groups"] = len(groups)
    return view


def app_create(store, body):
    f = take_fields(body, APP_SPEC, "App")
    app_id = require(f, "id", "App")
    groups = f.get("groups")
    doc = {"id": app_id, "name": f.get("name", app_id), "description": f.get("description", ""),
           "default_page": f.get("default_page", ""), "settings": f.get("settings", {}),
           "groups": groups if isinstance(groups, list) else []}
    try:
        store.insert("app", app_id, "", doc)
    except Conflict:
        raise ApiError(409, "App with ID %s already exists" % app_id) from None
    return doc


def app_update(store, app_id, body):
    doc = get_app(store, app_id)
    f = take_fields(body, APP_SPEC, "App")
    if f.get("id", app_id) != app_id:
        raise bad("App field 'id' (%s) does not match the path (%s)" % (f["id"], app_id))
    for name in ("name", "description", "default_page", "settings"):
        if name in f:
            doc[name] = f[name]
    if isinstance(f.get("groups"), list):
        doc["groups"] = f["groups"]
    store.update("app", app_id, "", doc)
    return doc


def app_delete(store, app_id):
    get_app(store, app_id)
    for coll in store.list("collection", app_id):
        collection_delete(store, app_id, coll["slug"])
    store.delete("app", app_id)


def h_apps(req):
    extended = req.flag()
    return Reply([app_view(req.store, d, extended) for d in req.store.list("app")])


def h_app_get(req):
    return Reply(app_view(req.store, get_app(req.store, req.params["id"]), req.flag()))


def h_app_create(req):
    doc = app_create(req.store, req.json_object())
    return Reply(app_view(req.store, doc, False), "Successfully created app with ID: %s" % doc["id"])


def h_app_update(req):
    doc = app_update(req.store, req.params["id"], req.json_object())
    return Reply(app_view(req.store, doc, False), "Successfully updated app with ID: %s" % doc["id"])


def h_app_delete(req):
    app_delete(req.store, req.params["id"])
    return Reply(message="Successfully deleted app with ID: %s" % req.params["id"])


# -- collections ----------------------------------------------------------------

def get_collection(store, app_id, slug):
    """The stored collection document; 404 naming the app or the collection that is missing."""
    doc = store.get("collection", app_id, slug)
    if doc is None:
        get_app(store, app_id)
        raise not_found("Collection %s not found in app %s" % (slug, app_id))
    return doc


def collection_view(store, doc, level):
    """Collection at extended level 0..3.

    Level 0: app, slug, database, name, description.  Level 1 adds id and the
    flags and sources.  Level 2 adds queries as a list of query slugs; level 3
    gives them as full query objects instead.
    """
    names = COLLECTION_NAMES[0] + (COLLECTION_NAMES[1] if level >= 1 else ())
    view = pick(doc, names)
    if level >= 2:
        queries = [q for q in store.list("query")
                   if q["app"] == doc["app"] and q["collection"] == doc["slug"]]
        view["queries"] = ([pick(q, QUERY_NAMES) for q in queries] if level >= 3
                           else [q["slug"] for q in queries])
    return view


def _check_database(f):
    if "database" in f and f["database"] not in DATABASES:
        raise bad("Collection field 'database' must be MONGO or DATALAKE")


def collection_create(store, app_id, body, cid=None):
    get_app(store, app_id)
    f = take_fields(body, COLLECTION_SPEC, "Collection")
    slug = require(f, "slug", "Collection")
    if f.get("app", app_id) != app_id:
        raise bad("Collection field 'app' (%s) does not match the path (%s)" % (f["app"], app_id))
    _check_database(f)
    if store.get("collection", app_id, slug) is not None:
        raise ApiError(409, "Collection with slug %s already exists in app %s" % (slug, app_id))
    doc = {"app": app_id, "slug": slug, "database": f.get("database", "MONGO"),
           "name": f.get("name", slug), "description": f.get("description", ""),
           "id": cid or store.next_id("collection"),
           "is_encrypted": f.get("is_encrypted", False), "is_locked": f.get("is_locked", False),
           "is_logged": f.get("is_logged", False), "sources": f.get("sources", [])}
    try:
        store.insert("collection", app_id, slug, doc)
    except Conflict:
        raise ApiError(409, "Collection with slug %s already exists in app %s"
                       % (slug, app_id)) from None
    return doc


def collection_update(store, app_id, slug, body):
    doc = get_collection(store, app_id, slug)
    f = take_fields(body, COLLECTION_SPEC, "Collection")
    if f.get("slug", slug) != slug:
        raise bad("Collection field 'slug' (%s) does not match the path (%s)" % (f["slug"], slug))
    if f.get("app", app_id) != app_id:
        raise bad("Collection field 'app' (%s) does not match the path (%s)" % (f["app"], app_id))
    _check_database(f)
    for name in ("database", "name", "description", "is_encrypted", "is_locked", "is_logged",
                 "sources"):
        if name in f:
            doc[name] = f[name]
    store.update("collection", app_id, slug, doc)
    return doc


def collection_delete(store, app_id, slug):
    """Delete a collection with its records and the queries that read it."""
    doc = get_collection(store, app_id, slug)
    store.record_clear(int(doc["id"]))
    for q in store.list("query"):
        if q["app"] == app_id and q["collection"] == slug:
            store.delete("query", q["slug"])
    store.delete("collection", app_id, slug)


def h_collections(req):
    level = req.level()
    return Reply([collection_view(req.store, d, level) for d in req.store.list("collection")])


def h_collection_get(req):
    doc = get_collection(req.store, req.params["app"], req.params["slug"])
    return Reply(collection_view(req.store, doc, req.level()))


def h_collection_create(req):
    doc = collection_create(req.store, req.params["app"], req.json_object())
    return Reply(collection_view(req.store, doc, 1),
                 "Successfully created collection with slug: %s" % doc["slug"])


def h_collection_update(req):
    doc = collection_update(req.store, req.params["app"], req.params["slug"], req.json_object())
    return Reply(collection_view(req.store, doc, 1),
                 "Successfully updated collection with slug: %s" % doc["slug"])


def h_collection_delete(req):
    collection_delete(req.store, req.params["app"], req.params["slug"])
    return Reply(message="Successfully deleted collection with slug: %s" % req.params["slug"])


# -- queries --------------------------------------------------------------------

def get_query(store, slug):
    doc = store.get("query", slug)
    if doc is None:
        raise not_found("Query with slug %s not found" % slug)
    return doc


def _check_pipeline(f):
    if "query" in f and any(not isinstance(stage, dict) for stage in f["query"]):
        raise bad("Query field 'query' must be an array of pipeline stage objects")


def query_create(store, body):
    f = take_fields(body, QUERY_SPEC, "Query")
    app_id = require(f, "app", "Query")
    coll = require(f, "collection", "Query")
    get_collection(store, app_id, coll)
    _check_pipeline(f)
    slug = f.get("slug") or str(uuid.uuid4())
    doc = {"app": app_id, "collection": coll, "slug": slug, "id": store.next_id("query"),
           "name": f.get("name", slug), "data_source": f.get("data_source", "app"),
           "export": f.get("export", False), "query": f.get("query", []),
           "source_query": f.get("source_query", ""), "modules": f.get("modules", []),
           "primary": f.get("primary", False), "settings": f.get("settings", {})}
    try:
        store.insert("query", slug, "", doc)
    except Conflict:
        raise ApiError(409, "Query with slug %s already exists" % slug) from None
    return doc


def query_update(store, slug, body):
    doc = get_query(store, slug)
    f = take_fields(body, QUERY_SPEC, "Query")
    if f.get("slug", slug) != slug:
        raise bad("Query field 'slug' (%s) does not match the path (%s)" % (f["slug"], slug))
    _check_pipeline(f)
    target = (f.get("app", doc["app"]), f.get("collection", doc["collection"]))
    if target != (doc["app"], doc["collection"]):
        get_collection(store, *target)
    for name in QUERY_NAMES:
        if name in f and name not in ("slug", "id"):
            doc[name] = f[name]
    store.update("query", slug, "", doc)
    return doc


def h_queries(req):
    return Reply([pick(d, QUERY_NAMES) for d in req.store.list("query")])


def h_query_get(req):
    return Reply(pick(get_query(req.store, req.params["slug"]), QUERY_NAMES))


def h_query_create(req):
    doc = query_create(req.store, req.json_object())
    return Reply(pick(doc, QUERY_NAMES), "Successfully created query with slug: %s" % doc["slug"])


def h_query_update(req):
    doc = query_update(req.store, req.params["slug"], req.json_object())
    return Reply(pick(doc, QUERY_NAMES), "Successfully updated query with slug: %s" % doc["slug"])


def h_query_delete(req):
    get_query(req.store, req.params["slug"])
    req.store.delete("query", req.params["slug"])
    return Reply(message="Successfully deleted query with slug: %s" % req.params["slug"])


# -- actionflows ----------------------------------------------------------------

def get_actionflow(store, text):
    doc = store.get("actionflow", str(numeric_id(text, "Actionflow")))
    if doc is None:
        raise not_found("Actionflow %s not found" % text)
    return doc


def actionflow_create(store, body, keep_id=False):
    """Create an actionflow; its id is assigned unless keep_id (fixtures, imports) and given."""
    f = take_fields(body, ACTIONFLOW_SPEC, "Actionflow")
    af_id = f.get("id") if keep_id and f.get("id") else store.next_id("actionflow")
    if keep_id and f.get("id"):
        store.bump_id("actionflow", af_id)
    name = f.get("name", "")
    doc = {"id": af_id, "name": name, "slug": f.get("slug") or slugify(name),
           "category": f.get("category", ""), "fast": f.get("fast", False),
           "multiple": f.get("multiple", False), "settings": f.get("settings", {}),
           "start_keys": f.get("start_keys", []),
           "extra_information": f.get("extra_information", []),
           "cronjobs": f.get("cronjobs", []), "tasks": f.get("tasks", [])}
    try:
        store.insert("actionflow", str(af_id), "", doc)
    except Conflict:
        raise ApiError(409, "Actionflow with ID %s already exists" % af_id) from None
    return doc


def actionflow_update(store, text, body):
    doc = get_actionflow(store, text)
    f = take_fields(body, ACTIONFLOW_SPEC, "Actionflow")
    if f.get("id", doc["id"]) != doc["id"]:
        raise bad("Actionflow field 'id' (%s) does not match the path (%s)" % (f["id"], text))
    for name in ACTIONFLOW_NAMES:
        if name in f and name != "id":
            doc[name] = f[name]
    store.update("actionflow", str(doc["id"]), "", doc)
    return doc


def h_actionflows(req):
    return Reply([pick(d, ACTIONFLOW_NAMES) for d in req.store.list("actionflow")])


def h_actionflow_get(req):
    return Reply(pick(get_actionflow(req.store, req.params["id"]), ACTIONFLOW_NAMES))


def h_actionflow_create(req):
    doc = actionflow_create(req.store, req.json_object())
    return Reply(pick(doc, ACTIONFLOW_NAMES), "Successfully created action flow.")


def h_actionflow_update(req):
    doc = actionflow_update(req.store, req.params["id"], req.json_object())
    return Reply(pick(doc, ACTIONFLOW_NAMES), "Successfully updated action flow.")


def h_actionflow_delete(req):
    doc = get_actionflow(req.store, req.params["id"])
    req.store.delete("actionflow", str(doc["id"]))
    return Reply(message="Deleted action flow.")


def h_actionflow_start(req):
    """Start a run: the actionflow is named by numeric id or slug; nothing really runs."""
    body = req.json_object()
    flow = body.get("actionflowid")
    user = body.get("user")
    settings = body.get("settings", {})
    if flow is None or isinstance(flow, (bool, dict, list)):
        raise bad("Field 'actionflowid' is required (an id or a slug)")
    if user is None or isinstance(user, (bool, dict, list)):
        raise bad("Field 'user' is required (a user id)")
    if not isinstance(settings, dict):
        raise bad("Field 'settings' must be an object")
    key = flow.text if not isinstance(flow, str) else flow
    doc = None
    if key.isdigit():
        doc = req.store.get("actionflow", str(int(key)))
    if doc is None:
        doc = next((d for d in req.store.list("actionflow") if d["slug"] == key), None)
    if doc is None:
        raise not_found("Actionflow %s not found" % key)
    run = {"run": req.store.next_id("actionflow_run"), "actionflow": doc["id"], "user": user,
           "settings": settings, "status": "started", "started_at": int(time.time())}
    # Kept for the tests (GET /_emulator/runs); nothing really runs.
    req.store.insert("actionflow_run", str(run["run"]), "", run)
    return Reply(run, "Started action flow %s." % doc["id"])


# -- questionnaires -------------------------------------------------------------

def get_questionnaire(store, text):
    doc = store.get("questionnaire", str(numeric_id(text, "Questionnaire")))
    if doc is None:
        raise not_found("Questionnaire %s not found" % text)
    return doc


def questionnaire_view(doc, extended):
    return pick(doc, QUESTIONNAIRE_NAMES[0] + (QUESTIONNAIRE_NAMES[1] if extended else ()))


def _creator(store, email):
    user = store.get("user", email) if email else None
    return {"id": user["id"], "email": email} if user else {"id": None, "email": email}


def questionnaire_create(store, body, email, keep_id=None):
    """Create from name + settings only (as the official client sends); version 1 is made."""
    f = take_fields(body, QUESTIONNAIRE_SPEC, "Questionnaire")
    name = require(f, "name", "Questionnaire")
    q_id = keep_id or store.next_id("questionnaire")
    if keep_id:
        store.bump_id("questionnaire", keep_id)
    now = int(time.time())
    version = {"version": 1, "created_at": now, "name": name, "settings": f.get("settings", {})}
    doc = {"id": q_id, "name": name, "created_at": now, "active": True,
           "created_by": _creator(store, email), "settings": f.get("settings", {}),
           "latest_version": version, "versions": [version]}
    try:
        store.insert("questionnaire", str(q_id), "", doc)
    except Conflict:
        raise ApiError(409, "Questionnaire with ID %s already exists" % q_id) from None
    return doc


def questionnaire_update(store, text, body):
    """Rename or change settings; every update records a new version."""
    doc = get_questionnaire(store, text)
    f = take_fields(body, QUESTIONNAIRE_SPEC, "Questionnaire")
    doc.update(f)
    version = {"version": len(doc["versions"]) + 1, "created_at": int(time.time()),
               "name": doc["name"], "settings": doc["settings"]}
    doc["versions"].append(version)
    doc["latest_version"] = version
    store.update("questionnaire", str(doc["id"]), "", doc)
    return doc


def h_questionnaires(req):
    extended = req.flag()
    return Reply([questionnaire_view(d, extended) for d in req.store.list("questionnaire")])


def h_questionnaire_get(req):
    return Reply(questionnaire_view(get_questionnaire(req.store, req.params["id"]), req.flag()))


def h_questionnaire_create(req):
    doc = questionnaire_create(req.store, req.json_object(), req.user)
    return Reply(questionnaire_view(doc, False),
                 "Successfully created questionnaire with ID: %s" % doc["id"])


def h_questionnaire_update(req):
    doc = questionnaire_update(req.store, req.params["id"], req.json_object())
    return Reply(questionnaire_view(doc, False),
                 "Successfully updated questionnaire with ID: %s" % doc["id"])


def h_questionnaire_delete(req):
    doc = get_questionnaire(req.store, req.params["id"])
    req.store.delete("questionnaire", str(doc["id"]))
    return Reply(message="Successfully deleted questionnaire with ID: %s" % doc["id"])


# -- users ----------------------------------------------------------------------

def hash_password(password):
    salt = os.urandom(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000)
    return "pbkdf2$%s$%s" % (salt.hex(), digest.hex())


def check_password(stored, password):
    try:
        _, salt, digest = stored.split("$")
    except (AttributeError, ValueError):
        return False
    mine = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), 1000)
    return hmac.compare_digest(mine.hex(), digest)


def get_user(store, email):
    doc = store.get("user", email)
    if doc is None:
        raise not_found("User with email %s not found" % email)
    return doc


def user_view(doc, extended):
    return pick(doc, USER_NAMES[0] + (USER_NAMES[1] if extended else ()))


def user_create(store, body):
    """Create a user; email and password are required, the password is only hashed."""
    f = take_fields(body, USER_SPEC, "User")
    email = require(f, "email", "User")
    password = require(f, "password", "User")
    doc = {"email": email, "first_name": f.get("first_name", ""),
           "last_name": f.get("last_name", ""), "phone": f.get("phone", ""),
           "is_active": f.get("is_active", True), "id": None,
           "extra_information": f.get("extra_information", {}),
           "messages": f.get("messages", {}), "last_online": None,
           "permissions": f.get("permissions", []), "roles": f.get("roles", [])}
    if store.get("user", email) is not None:
        raise ApiError(409, "User with email %s already exists" % email)
    doc["id"] = store.next_id("user")
    try:
        store.insert("user", email, "", doc, secret=hash_password(password))
    except Conflict:
        raise ApiError(409, "User with email %s already exists" % email) from None
    return doc


def user_update(store, email, body):
    doc = get_user(store, email)
    f = take_fields(body, USER_SPEC, "User")
    if f.get("email", email) != email:
        raise bad("User field 'email' (%s) does not match the path (%s)" % (f["email"], email))
    for name in USER_NAMES[0] + USER_NAMES[1]:
        if name in f and name not in ("email", "id", "last_online"):
            doc[name] = f[name]
    secret = hash_password(f["password"]) if "password" in f else None
    store.update("user", email, "", doc, secret=secret)
    return doc


def h_users(req):
    extended = req.flag()
    return Reply([user_view(d, extended) for d in req.store.list("user")])


def h_user_me(req):
    return Reply(user_view(get_user(req.store, req.user), req.flag()))


def h_user_get(req):
    return Reply(user_view(get_user(req.store, req.params["email"]), req.flag()))


def h_user_create(req):
    doc = user_create(req.store, req.json_object())
    return Reply(user_view(doc, False), "Successfully created user with email: %s" % doc["email"])


def h_user_update(req):
    doc = user_update(req.store, req.params["email"], req.json_object())
    return Reply(user_view(doc, False), "Successfully updated user with email: %s" % doc["email"])


def h_user_delete(req):
    """Deactivate (is_active=false), as the real service does; the user stays listed."""
    doc = get_user(req.store, req.params["email"])
    doc["is_active"] = False
    req.store.update("user", doc["email"], "", doc)
    return Reply(message="Successfully deactivated user, with email: %s" % doc["email"])
