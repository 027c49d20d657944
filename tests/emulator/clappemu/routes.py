"""The API route table (METHOD + template -> handler) and the matcher that resolves a request path."""
from . import data, misc, transfer
from . import resources as res
from .api import ApiError

# Order matters where a literal segment and a placeholder could both match
# (/user/me before /user/{email}, /actionflow/start before /actionflow/{id}):
# the first route whose method and shape match wins.
ROUTES = [
    ("POST", "/api/auth", misc.h_auth),
    ("POST", "/api/auth/verify", misc.h_auth_verify),
    ("GET", "/api/version", misc.h_version),

    ("GET", "/api/apps", res.h_apps),
    ("POST", "/api/app", res.h_app_create),
    ("GET", "/api/app/{id}", res.h_app_get),
    ("PUT", "/api/app/{id}", res.h_app_update),
    ("DELETE", "/api/app/{id}", res.h_app_delete),

    ("GET", "/api/collections", res.h_collections),
    ("POST", "/api/collection/{app}", res.h_collection_create),
    ("GET", "/api/collection/{app}/{slug}", res.h_collection_get),
    ("PUT", "/api/collection/{app}/{slug}", res.h_collection_update),
    ("DELETE", "/api/collection/{app}/{slug}", res.h_collection_delete),

    ("GET", "/api/queries", res.h_queries),
    ("POST", "/api/query", res.h_query_create),
    ("GET", "/api/query/{slug}", res.h_query_get),
    ("PUT", "/api/query/{slug}", res.h_query_update),
    ("DELETE", "/api/query/{slug}", res.h_query_delete),

    ("GET", "/api/actionflows", res.h_actionflows),
    ("POST", "/api/actionflow", res.h_actionflow_create),
    ("POST", "/api/actionflow/start", res.h_actionflow_start),
    ("GET", "/api/actionflow/{id}", res.h_actionflow_get),
    ("PUT", "/api/actionflow/{id}", res.h_actionflow_update),
    ("DELETE", "/api/actionflow/{id}", res.h_actionflow_delete),

    ("GET", "/api/questionnaires", res.h_questionnaires),
    ("POST", "/api/questionnaire", res.h_questionnaire_create),
    ("GET", "/api/questionnaire/{id}", res.h_questionnaire_get),
    ("PUT", "/api/questionnaire/{id}", res.h_questionnaire_update),
    ("DELETE", "/api/questionnaire/{id}", res.h_questionnaire_delete),

    ("GET", "/api/users", res.h_users),
    ("POST", "/api/user", res.h_user_create),
    ("GET", "/api/user/me", res.h_user_me),
    ("GET", "/api/user/{email}", res.h_user_get),
    ("PUT", "/api/user/{email}", res.h_user_update),
    ("DELETE", "/api/user/{email}", res.h_user_delete),

    ("POST", "/api/item/{app}/{slug}", data.h_item_create),
    ("DELETE", "/api/item/{app}/{slug}", data.h_items_delete),
    ("GET", "/api/item/{app}/{slug}/{id}", data.h_item_get),
    ("PUT", "/api/item/{app}/{slug}/{id}", data.h_item_update),

    ("POST", "/api/dataframe/read_data", data.h_read_data),
    ("POST", "/api/dataframe/{app}/{slug}", data.h_df_append),
    ("PUT", "/api/dataframe/{app}/{slug}", data.h_df_replace),
    ("DELETE", "/api/dataframe/{app}/{slug}", data.h_df_empty),

    ("GET", "/api/import", misc.h_imports),
    ("POST", "/api/transfer/app", transfer.h_transfer_app),

    ("POST", "/api/files", misc.h_files),
    ("POST", "/api/file", misc.h_file_create),
    ("POST", "/api/file/{name}", misc.h_file_read),
    ("PUT", "/api/file/{name}", misc.h_file_update),
    ("DELETE", "/api/file/{name}", misc.h_file_delete),
]

# Routes that take no bearer token.
PUBLIC = {"/api/auth"}


def _compile():
    table = []
    for method, template, handler in ROUTES:
        parts = template.split("/")[1:]
        table.append((method, template, handler, parts))
    return table


_TABLE = _compile()


class Match:
    """The outcome of matching: template (for stats), handler, decoded params.

    handler is None when nothing matched; error is then the ApiError to answer
    (404 for an unknown path, 405 when only the method is wrong) and allow
    lists the methods the path does take.
    """

    def __init__(self, template, handler=None, params=None, error=None, allow=()):
        self.template = template
        self.handler = handler
        self.params = params or {}
        self.error = error
        self.allow = allow


def match(method, segments):
    """Resolve decoded path segments (["api", "item", ...]) for a method."""
    allow = []
    shape = None
    for r_method, template, handler, parts in _TABLE:
        if len(parts) != len(segments):
            continue
        params = {}
        for want, got in zip(parts, segments):
            if want.startswith("{"):
                if not got:
                    break
                params[want[1:-1]] = got
            elif want != got:
                break
        else:
            if r_method == method:
                return Match(template, handler, params)
            if shape is None:
                shape = template
            if r_method not in allow:
                allow.append(r_method)
    if shape is not None:
        return Match(shape, error=ApiError(405, "Method %s is not allowed on %s (allowed: %s)"
                                           % (method, shape, ", ".join(allow))), allow=allow)
    return Match("/api/(unknown)",
                 error=ApiError(404, "No such route: %s /%s" % (method, "/".join(segments))))
