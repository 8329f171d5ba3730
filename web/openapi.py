"""An OpenAPI 3.0 description of the CKAN Action API as Khlang serves it (documentation, and what
schemathesis fuzzes). Parameters are declared once here; summaries come from the actions' docstrings."""
import inspect

from catalog import actions

S, I, B = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
OBJ, ARR = {"type": "object"}, {"type": "array", "items": {}}
JSON_TEXT = {"type": "string", "description": "JSON text (on GET) or the value itself (in a POST body)"}

# Parameters every action may receive: name -> schema. Required ones are listed per action.
P = {
    "id": S, "name": S, "q": S, "fq": S, "sort": S, "rows": I, "start": I, "limit": I, "offset": I, "title": S,
    "notes": S, "owner_org": S, "private": B, "state": S, "url": S, "package_id": S, "resource_id": S,
    "include_private": B, "include_drafts": B, "include_deleted": B, "facet.field": JSON_TEXT, "facet.limit": I,
    "all_fields": B, "include_datasets": B, "include_users": B, "user": S, "username": S, "role": S, "object": S,
    "object_type": S, "capacity": S, "email": S, "password": S, "fullname": S, "jti": S, "token": S,
    "filters": JSON_TEXT, "fields": JSON_TEXT, "records": ARR, "primary_key": JSON_TEXT, "method": S, "force": B,
    "sql": S, "version": I, "distinct": B, "records_format": S, "include_total": B, "body": S, "author_name": S,
    "description": S, "requester_name": S, "requester_email": S, "organization_id": S, "status": S, "answer": S,
    "tags": ARR, "extras": ARR, "resources": ARR, "groups": ARR, "resource": OBJ, "format": S, "query": S,
    "permission": S, "page": I,
}

# action -> (required, optional)
ACTION_PARAMS = {
    "package_search": ((), ("q", "fq", "sort", "rows", "start", "facet.field", "facet.limit", "include_private",
                            "include_drafts", "include_deleted")),
    "package_show": (("id",), ()),
    "package_list": ((), ("limit", "offset")),
    "current_package_list_with_resources": ((), ("limit", "offset", "page")),
    "package_activity_list": (("id",), ("limit", "offset")),
    "package_autocomplete": (("q",), ("limit",)),
    "activity_show": (("id",), ()),
    "organization_list": ((), ("all_fields", "sort", "limit", "offset", "q")),
    "organization_show": (("id",), ("include_datasets", "include_users")),
    "organization_list_for_user": ((), ("permission",)),
    "group_list": ((), ("all_fields", "sort", "limit", "offset", "q")),
    "group_show": (("id",), ("include_datasets", "include_users")),
    "group_package_show": (("id",), ("limit",)),
    "tag_list": ((), ("query", "all_fields", "limit", "offset")),
    "license_list": ((), ()),
    "resource_show": (("id",), ()),
    "resource_view_list": (("id",), ()),
    "status_show": ((), ()),
    "site_read": ((), ()),
    "help_show": (("name",), ()),
    "user_show": ((), ("id",)),
    "user_list": ((), ("q", "limit", "offset")),
    "api_token_list": ((), ("user",)),
    "datastore_search": (("resource_id",), ("q", "filters", "fields", "sort", "limit", "offset", "distinct",
                                            "records_format", "include_total", "version")),
    "datastore_search_sql": (("sql",), ()),
    "datastore_info": (("id",), ()),
    "datastore_version_list": (("id",), ()),
    "xloader_status": (("resource_id",), ()),
    "xloader_submit": (("resource_id",), ()),
    "package_create": (("name",), ("title", "notes", "owner_org", "private", "state", "url", "tags", "extras",
                                   "resources", "groups")),
    "package_update": (("id",), ("name", "title", "notes", "owner_org", "private", "tags", "extras", "resources")),
    "package_patch": (("id",), ("title", "notes", "private", "tags", "extras")),
    "package_delete": (("id",), ()),
    "resource_create": (("package_id",), ("name", "url", "format", "description")),
    "resource_update": (("id",), ("name", "url", "format", "description")),
    "resource_patch": (("id",), ("name", "url", "format", "description")),
    "resource_delete": (("id",), ()),
    "organization_create": (("name",), ("title", "description")),
    "organization_update": (("id",), ("title", "description")),
    "organization_patch": (("id",), ("title", "description")),
    "organization_delete": (("id",), ()),
    "organization_member_create": (("id", "username", "role"), ()),
    "organization_member_delete": (("id", "username"), ()),
    "group_create": (("name",), ("title", "description")),
    "group_update": (("id",), ("title", "description")),
    "group_patch": (("id",), ("title", "description")),
    "group_delete": (("id",), ()),
    "member_create": (("id", "object", "object_type"), ("capacity",)),
    "member_delete": (("id", "object", "object_type"), ()),
    "user_create": (("name", "email", "password"), ("fullname",)),
    "api_token_create": (("user", "name"), ()),
    "api_token_revoke": (("jti",), ()),
    "datastore_create": ((), ("resource_id", "resource", "fields", "records", "primary_key", "force")),
    "datastore_upsert": (("resource_id",), ("records", "method", "force")),
    "datastore_delete": (("resource_id",), ("filters", "force")),
    "datarequest_create": (("title",), ("description", "requester_name", "requester_email", "organization_id")),
    "datarequest_show": (("id",), ()),
    "datarequest_index": ((), ("organization_id", "status", "limit", "offset")),
    "datarequest_answer": (("id", "status"), ("answer", "organization_id", "package_id")),
    "comment_create": (("package_id", "body"), ("author_name",)),
    "comment_list": (("package_id",), ()),
    "comment_moderate": (("id", "state"), ()),
}

# Actions that refuse parameters they do not know (as CKAN's search does); the others ignore them.
STRICT = {"package_search", "datastore_search"}

# Writes that visitors without an account may make (moderated, or a request for data).
ANONYMOUS_WRITES = {"comment_create", "datarequest_create"}

ERROR = {"type": "object", "required": ["success", "error"], "properties": {
    "help": {"type": "string", "nullable": True}, "success": {"type": "boolean", "enum": [False]},
    "error": {"type": "object", "required": ["__type"], "properties": {"__type": S, "message": S}}}}
OK = {"type": "object", "required": ["help", "success", "result"], "properties": {
    "help": S, "success": {"type": "boolean", "enum": [True]}, "result": {}}}


def _json(schema):
    return {"content": {"application/json": {"schema": schema}}}


def _responses(write):
    out = {"200": {"description": "Success: the result", **_json(OK)},
           "400": {"description": "Bad request: a JSON string (CKAN's answer to undecodable input), or the error "
                                  "envelope (a Search Query Error for unknown search parameters)",
                   **_json({"oneOf": [{"type": "string"}, ERROR]})},
           "403": {"description": "Authorization Error", **_json(ERROR)},
           "404": {"description": "Not Found Error", **_json(ERROR)},
           "409": {"description": "Validation Error or Search Error: the fields at fault", **_json(ERROR)},
           "429": {"description": "Too many unknown tokens from this address", **_json(ERROR)}}
    if write:
        out["413"] = {"description": "The upload is too large", **_json(ERROR)}
    return out


def _query_schema(schema):
    # On GET every value arrives as text; lists and objects as JSON text.
    return schema if schema.get("type") in ("string", "integer", "boolean") else JSON_TEXT


def _operation(name, method):
    required, optional = ACTION_PARAMS[name]
    doc = (inspect.getdoc(actions.ACTIONS[name]) or name).splitlines()[0]
    op = {"operationId": f"{name}_{method}", "summary": doc, "tags": ["read" if name in actions.SIDE_EFFECT_FREE
                                                                      else "write"],
          "responses": _responses(method == "post")}
    if method == "get":
        op["parameters"] = [{"name": p, "in": "query", "required": p in required, "schema": _query_schema(P[p])}
                            for p in (*required, *optional)]
    else:
        op["requestBody"] = {"required": True, **_json({
            "type": "object", "properties": {p: P[p] for p in (*required, *optional)},
            **({"required": list(required)} if required else {}),
            **({"additionalProperties": False} if name in STRICT else {})})}
        if name in ANONYMOUS_WRITES:
            op["security"] = [{"token": []}, {}]
        elif name not in actions.SIDE_EFFECT_FREE:
            op["security"] = [{"token": []}]
    return op


def spec(site_url=""):
    """The OpenAPI document."""
    paths = {}
    for name in sorted(actions.ACTIONS):
        item = {"post": _operation(name, "post")}
        if name in actions.SIDE_EFFECT_FREE:
            item["get"] = _operation(name, "get")
        paths[f"/api/3/action/{name}"] = item
    return {
        "openapi": "3.0.3",
        "info": {"title": "Khlang CKAN Action API", "version": actions.CKAN_VERSION,
                 "description": "CKAN's Action API as Khlang serves it: every action takes GET query arguments "
                                "(read actions) or a JSON body (all actions) and answers CKAN's envelope. "
                                "Writes need an API token in the Authorization header."},
        "servers": [{"url": site_url or "/"}],
        "components": {"securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "Authorization"}}},
        "paths": paths,
    }
