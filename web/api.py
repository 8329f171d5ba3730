"""CKAN Action API blueprint: request decoding, the envelope, error types, JSONP."""
import json

from flask import Blueprint, Response, current_app, redirect, request
from werkzeug.exceptions import HTTPException

from catalog import actions
from catalog.store import db as catalog_db
from catalog.errors import ActionError, BadRequest

from .openapi import spec
from .context import get_context

bp = Blueprint("api", __name__)


def json_response(body, status=200, headers=None):
    """A UTF-8 JSON response with Thai text left readable."""
    return Response(json.dumps(body, ensure_ascii=False, default=str), status=status,
                    content_type="application/json;charset=utf-8", headers=headers)


def error_body(help_url, error_dict):
    """CKAN's error envelope: {help, success: false, error: {__type, ...}}."""
    return {"help": help_url, "success": False, "error": error_dict}


def _help_url(ctx_site, name):
    return f"{ctx_site}/api/3/action/help_show?name={name}"


@bp.route("/api", methods=["GET"])
def api_root():
    # Browsers get the documentation page; API clients get CKAN's answer.
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        return redirect("/api/docs")
    return json_response({"version": 1})


@bp.route("/api/<int:ver>", methods=["GET"])
def api_version(ver):
    if ver not in (1, 2, 3):
        return json_response("Bad request - unknown API version", 400)
    return json_response({"version": ver})


@bp.route("/api/3/openapi.json", methods=["GET"])
def openapi_json():
    return json_response(spec(get_context(allow_auth=False).site_url))


def _request_data():
    """The action's dict from GET args, a JSON body, a form, or multipart (files under their names)."""
    if request.method == "GET":
        data = {}
        for key in request.args:
            values = request.args.getlist(key)
            data[key] = values[0] if len(values) == 1 else values
        return data
    if request.mimetype == "multipart/form-data" or request.mimetype == "application/x-www-form-urlencoded":
        data = {}
        for key in request.form:
            values = request.form.getlist(key)
            data[key] = values[0] if len(values) == 1 else values
        if len(data) == 1 and not request.files:
            key, value = next(iter(data.items()))
            if value in ("", "1") and key.strip().startswith("{"):
                return _parse_json(key)
        for key in request.files:
            data[key] = request.files[key]
        return data
    raw = request.get_data(cache=False)
    if not raw.strip():
        return {}
    return _parse_json(raw)


def _parse_json(raw):
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"Bad request - JSON Error: Error decoding JSON data. Error: {exc!r}") from None
    if not isinstance(data, dict):
        raise BadRequest(f"Bad request - JSON Error: Request data JSON decoded to {data!r} but it needs to be a dictionary.")
    return data


@bp.route("/api/action/<name>", methods=["GET", "POST"])
@bp.route("/api/<int:ver>/action/<name>", methods=["GET", "POST"])
def action(name, ver=3):
    callback = request.args.get("callback") if request.method == "GET" else None
    # JSONP requests are answered as anonymous, so a page cannot read a logged-in user's data.
    ctx = get_context(allow_auth=callback is None)
    help_url = _help_url(ctx.site_url, name)
    if name not in actions.ACTIONS:
        return json_response(f"Bad request - Action name not known: {name}", 400)
    if request.method == "GET" and name not in actions.SIDE_EFFECT_FREE:
        return json_response("Bad request - JSON Error: Invalid request. Please use POST method for your request", 400)
    try:
        data = _request_data()
        data.pop("callback", None) if callback else None
        data.pop("_", None)
        result = actions.call(ctx, name, data)
    except BadRequest as exc:
        return json_response(exc.message, 400)
    except ActionError as exc:
        return json_response(error_body(help_url, exc.error_dict()), exc.status)
    except HTTPException:
        raise   # 413 and friends: the error handlers answer with the same envelope
    except Exception:  # noqa: BLE001 - CKAN answers any other failure with its 500 envelope
        current_app.logger.exception("action %s failed", name)
        catalog_db.abandon(ctx.db)
        return json_response(error_body(help_url, {"__type": "Internal Server Error", "message": "Internal Server Error"}), 500)
    body = {"help": help_url, "success": True, "result": result}
    if callback:
        text = json.dumps(body, ensure_ascii=False, default=str)
        safe = "".join(c for c in callback if c.isalnum() or c in "_.$")[:100]
        return Response(f"{safe}({text});", content_type="application/javascript;charset=utf-8")
    return json_response(body)
