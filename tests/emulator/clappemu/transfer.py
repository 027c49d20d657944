"""POST /api/transfer/app: import an exported app (apps, collections and their queries,
form templates, action flows, import entries) all or nothing."""
from . import resources as res
from .api import ApiError, Reply, bad
from .misc import import_create

# Members of an export besides these are refused: a typo must not pass unnoticed.
KNOWN = ("apps", "collections", "form_templates", "action_flows", "import_entry", "config",
         "delete_mongo_data", "overwrite")


def _as_list(body, name):
    value = body.get(name)
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list) or any(not isinstance(v, dict) for v in value):
        raise bad("Export field '%s' must be an array of objects" % name)
    return value


def _flag(body, name):
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise bad("Field '%s' must be a boolean" % name)
    return value


def _import_queries(store, app_id, slug, coll):
    """The queries an export nests in a collection (extended level 3: objects; level 2
    gives slugs only, which carry nothing to create and are skipped)."""
    queries = coll.get("queries")
    if queries is None:
        return []
    if not isinstance(queries, list):
        raise bad("Collection %s/%s: 'queries' must be an array" % (app_id, slug))
    done = []
    for q in queries:
        if isinstance(q, str):
            continue
        if not isinstance(q, dict):
            raise bad("Collection %s/%s: each query must be an object or a slug" % (app_id, slug))
        body = {k: v for k, v in q.items() if k != "id"}
        body["app"], body["collection"] = app_id, slug
        existing = store.get("query", body["slug"]) if isinstance(body.get("slug"), str) else None
        if existing is None:
            done.append(res.query_create(store, body)["slug"])
        elif (existing["app"], existing["collection"]) == (app_id, slug):
            done.append(res.query_update(store, existing["slug"], body)["slug"])
        else:
            raise ApiError(409, "Query slug %s is taken by %s/%s" % (
                existing["slug"], existing["app"], existing["collection"]))
    return done


def _import_flow(store, flow):
    """An action flow whose slug (given, or made from its name as a create makes it) is on
    the server already is updated, not duplicated; any other is created with a new id
    (ids are the server's)."""
    slug = flow.get("slug") or res.slugify(str(flow.get("name", "")))
    body = {k: v for k, v in flow.items() if k != "id"}
    for doc in store.list("actionflow"):
        if doc["slug"] == slug:
            return res.actionflow_update(store, str(doc["id"]), body)["id"]
    return res.actionflow_create(store, body)["id"]


def _import_form(store, form, email):
    """A form template whose name is on the server already gets a new version; any other
    is created."""
    body = {k: form[k] for k in ("name", "settings") if k in form}
    for doc in store.list("questionnaire"):
        if doc["name"] == body.get("name"):
            return res.questionnaire_update(store, str(doc["id"]), body)["id"]
    return res.questionnaire_create(store, body, email)["id"]


def h_transfer_app(req):
    """Create what an export names, in one transaction: a 4xx leaves the server unchanged.

    An app that exists already is a 409 unless the body says "overwrite": true (then it and
    its collections are updated). Collections carry their queries (level 3 objects).
    delete_mongo_data=true empties the records of every collection named. config is
    accepted and not kept.
    """
    store = req.store
    body = req.json_object()
    unknown = sorted(set(body) - set(KNOWN))
    if unknown:
        raise bad("Unknown export field(s): %s" % ", ".join(unknown))
    apps = _as_list(body, "apps")
    if not apps:
        raise bad("Export field 'apps' is required (an array with the app)")
    collections = _as_list(body, "collections")
    forms = _as_list(body, "form_templates")
    flows = _as_list(body, "action_flows")
    entries = _as_list(body, "import_entry")
    if body.get("config") is not None and not isinstance(body["config"], dict):
        raise bad("Export field 'config' must be an object")
    wipe = _flag(body, "delete_mongo_data")
    overwrite = _flag(body, "overwrite")
    done = {"apps": [], "collections": [], "queries": [], "questionnaires": [],
            "actionflows": [], "import_entries": 0}
    with store.atomic():
        for app in apps:
            app_id = app.get("id")
            if not isinstance(app_id, str) or not app_id:
                raise bad("Each exported app needs an 'id' string")
            if store.get("app", app_id) is None:
                res.app_create(store, app)
            elif overwrite:
                res.app_update(store, app_id, app)
            else:
                raise ApiError(409, "App with ID %s already exists (send \"overwrite\": true "
                               "to replace it)" % app_id)
            done["apps"].append(app_id)
        for coll in collections:
            app_id = coll.get("app", done["apps"][0])
            slug = coll.get("slug")
            if not isinstance(app_id, str) or not isinstance(slug, str):
                raise bad("Each exported collection needs 'app' and 'slug' strings")
            if app_id not in done["apps"]:
                raise bad("Exported collection %s/%s names an app the export does not hold"
                          % (app_id, slug))
            fields = {k: v for k, v in coll.items() if k not in ("id", "queries")}
            if store.get("collection", app_id, slug) is not None:
                doc = res.collection_update(store, app_id, slug, fields)
            else:
                doc = res.collection_create(store, app_id, fields)
            if wipe:
                store.record_clear(int(doc["id"]))
            done["collections"].append("%s/%s" % (app_id, slug))
            done["queries"] += _import_queries(store, app_id, slug, coll)
        for form in forms:
            done["questionnaires"].append(_import_form(store, form, req.user))
        for flow in flows:
            done["actionflows"].append(_import_flow(store, flow))
        known = {(e.get("app"), e.get("collection"), e.get("name")) for e in store.list("import")}
        for entry in entries:
            entry = dict(entry)
            if entry.get("app") in (None, "") and done["apps"]:
                entry["app"] = done["apps"][0]
            if (entry.get("app"), entry.get("collection"), entry.get("name")) in known:
                continue
            import_create(store, entry)
            done["import_entries"] += 1
    return Reply(done, "Successfully imported app %s" % ", ".join(done["apps"]))
