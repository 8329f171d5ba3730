"""An OpenAPI 3.0 description of the CKAN Action API as Khlang serves it (documentation, and what
schemathesis fuzzes), generated from the actions' declared schemas (catalog/actions.schema.json, the GDC
fields included), so it cannot drift from what the API checks; summaries come from the actions' docstrings."""
import inspect

from catalog import actions, actionschema

S = {"type": "string"}
JSON_TEXT = {"type": "string", "description": "JSON text (on GET) or the value itself (in a POST body)"}
# The one documented type of a parameter the API also takes as text (GET query strings send only text).
PREFERRED = ("integer", "boolean", "number", "array", "object", "string")


def _canonical(schema):
    schema = dict(schema)
    types = schema.get("type")
    if isinstance(types, list):
        scalar = [t for t in types if t != "null"]
        schema["type"] = "string" if "pattern" in schema and "string" in scalar else \
            next(t for t in PREFERRED if t in scalar)
    if schema.get("type") != "string":
        schema.pop("pattern", None)
    if schema.get("type") == "string" and schema.get("format") == "date":
        schema.pop("format")   # "date" strings are checked whole by the action, with a CKAN-style message
    if "items" in schema:
        schema["items"] = _canonical(schema["items"])
    if schema.get("type") == "array" and "items" not in schema:
        schema["items"] = {}
    if "properties" in schema:
        schema["properties"] = {k: _canonical(v) for k, v in schema["properties"].items()}
    return schema


ERROR = {"type": "object", "required": ["success", "error"], "properties": {
    "help": {"type": "string", "nullable": True}, "success": {"type": "boolean", "enum": [False]},
    # `message` is a string, except in a Validation Error about a field that is itself called "message" (CKAN's
    # field -> [messages] shape).
    "error": {"type": "object", "required": ["__type"], "properties": {
        "__type": S, "message": {"oneOf": [S, {"type": "array", "items": S}]}}}}}
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
    schema = _canonical(schema)
    return schema if schema.get("type") in ("string", "integer", "boolean", "number") else JSON_TEXT


def _operation(name, method):
    props = actionschema.properties(name)
    required = actionschema.required(name)
    doc = (inspect.getdoc(actions.ACTIONS[name]) or name).splitlines()[0]
    op = {"operationId": f"{name}_{method}", "summary": doc, "tags": ["read" if name in actions.SIDE_EFFECT_FREE
                                                                      else "write"],
          "responses": _responses(method == "post")}
    if method == "get":
        op["parameters"] = [{"name": p, "in": "query", "required": p in required, "schema": _query_schema(s)}
                            for p, s in props.items() if p != "upload"]
    else:
        op["requestBody"] = {"required": True, **_json({
            "type": "object", "properties": {p: _canonical(s) for p, s in props.items() if p != "upload"},
            **({"required": required} if required else {}),
            **({"additionalProperties": False} if actionschema.is_strict(name) else {})})}
        if actionschema.actions()[name].get("anonymous_write"):
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
