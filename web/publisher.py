"""Publisher pages (logged in): login, dashboard, the GDC dataset form, uploads, API tokens, members."""
import functools
from pathlib import PurePosixPath

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from catalog import actions, auth, sourceformats
from catalog.errors import NotAuthorized, NotFound, StorageFull, ValidationError
from catalog.users import end_sessions, user_for_login

from .gdcform import fields as form_fields, to_action, typed as typed_values, values_from
from .links import outbound
from .ratelimit import client_key, limit
from .context import get_context
from .errors import error_page
from .i18n import get_locale

bp = Blueprint("publisher", __name__)
UPLOAD_TYPES = {".csv", ".tsv", ".txt", ".xlsx", ".xls", ".json", ".jsonl", ".ndjson", ".geojson", ".xml", ".pdf",
                ".zip", ".gz", ".parquet", ".ods", ".doc", ".docx", ".shp", ".kml"}


def _safe_next(target):
    """Only same-site paths: never `//host`, `https://host`, or a path a browser would turn into one."""
    if outbound(target) != target or not str(target).startswith("/"):
        return url_for("publisher.dashboard")
    return target


def login_required(fn):
    @functools.wraps(fn)
    def wrapped(*a, **kw):
        if not get_context().user:
            return redirect(url_for("publisher.login", next=request.full_path))
        return fn(*a, **kw)
    return wrapped


@bp.route("/user/login", methods=["GET", "POST"])
def login():
    ctx = get_context()
    error = None
    if request.method == "POST":
        who = client_key(request.remote_addr)
        account = request.form.get("login", "").strip().lower()[:200]
        wait = max(limit("login").retry_after(who), limit("account").retry_after(account))
        if wait:
            g.retry_after = wait
            return error_page(429)
        user = user_for_login(ctx.db, request.form.get("login", "").strip(), request.form.get("password", ""))
        if user:
            session.clear()   # a new session on login, so a planted session id is worthless
            session["user_id"] = user["id"]
            session["epoch"] = user["epoch"]
            return redirect(_safe_next(request.form.get("next")))
        limit("login").fail(who)
        limit("account").fail(account)
        error = _("Wrong user name or password.")
    return render_template("login.html", error=error, next=request.values.get("next", ""),
                           login_name=request.form.get("login", "")), 200 if not error else 401


@bp.route("/user/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("pages.home"))


@bp.route("/user/logout-everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    """End every session of this user, on every device."""
    end_sessions(get_context().db, get_context().user_id)
    session.clear()
    return redirect(url_for("pages.home"))


@bp.route("/dashboard")
@login_required
def dashboard():
    ctx = get_context()
    orgs = actions.call(ctx, "organization_list_for_user", {"permission": "read"})
    result = {"count": 0, "results": []}
    if orgs:
        ids = " OR ".join(f'"{o["id"]}"' for o in orgs)
        result = actions.call(ctx, "package_search", {"fq": f"owner_org:({ids})", "rows": 50, "include_private": True,
                                                      "include_drafts": True, "sort": "metadata_modified desc"})
    requests_open = []
    for o in orgs:
        requests_open += actions.call(ctx, "datarequest_index", {"organization_id": o["id"], "status": "open"})["result"]
    return render_template("dashboard.html", orgs=orgs, result=result, datarequests=requests_open)


def _org_choices(ctx):
    return actions.call(ctx, "organization_list_for_user", {"permission": "create_dataset"})


def _form(values, errors, editing, status=200):
    # A form with errors is shown again with 200, as CKAN does; the errors sit next to their fields.
    ctx = get_context()
    return render_template("dataset_form.html", fields=form_fields(get_locale()), values=values, errors=errors,
                           editing=editing, orgs=_org_choices(ctx),
                           licenses=actions.call(ctx, "license_list", {})), status


@bp.route("/dataset/new", methods=["GET", "POST"])
@login_required
def dataset_new():
    ctx = get_context()
    if not _org_choices(ctx):
        return error_page(403, _("You need to be an editor of an organization to publish datasets."))
    if request.method == "GET":
        return _form({"owner_org": request.args.get("owner_org", "")}, {}, None)
    data = to_action(request.form, editing=False)
    try:
        pkg = actions.call(ctx, "package_create", data)
    except ValidationError as exc:
        return _form(typed_values(request.form), exc.errors, None)
    except NotAuthorized as exc:
        return _form(typed_values(request.form), {"owner_org": [exc.message]}, None, 403)
    flash(_("Dataset created. Now add its data."))
    return redirect(url_for("publisher.resource_new", name=pkg["name"]))


@bp.route("/dataset/edit/<name>", methods=["GET", "POST"])
@login_required
def dataset_edit(name):
    ctx = get_context()
    pkg = _editable_package(ctx, name)
    if request.method == "GET":
        return _form(values_from(pkg), {}, pkg)
    data = to_action(request.form, editing=True)
    data["id"] = pkg["id"]
    try:
        pkg = actions.call(ctx, "package_patch", data)
    except ValidationError as exc:
        return _form(typed_values(request.form), exc.errors, pkg)
    except NotAuthorized:
        abort(403)
    flash(_("Changes saved."))
    return redirect(url_for("pages.dataset_read", name=pkg["name"]))


def _editable_package(ctx, name):
    """The dataset if the caller may edit it: 404 when they cannot even read it, 403 when only read."""
    try:
        pkg = actions.call(ctx, "package_show", {"id": name})
    except (NotFound, NotAuthorized):
        abort(404)
    if pkg["state"] == "deleted":   # editors may still read a deleted dataset, but nobody changes it
        abort(404)
    if not auth.can_edit_package(ctx, pkg):
        abort(403)
    return pkg


def _upload_type_errors(upload):
    """{"upload": [why]} when a chosen file is of a type the site does not take, else {}."""
    if not (upload and upload.filename):
        return {}
    suffix = "".join(PurePosixPath(upload.filename.lower()).suffixes[-1:])
    if suffix in UPLOAD_TYPES:
        return {}
    return {"upload": [_("Files of type %(type)s are not accepted.", type=suffix or "?")]}


def _save_resource(ctx, action, data):
    """(the resource, {}) after resource_create/_patch, or (None, field errors) for the form; 403 when refused."""
    try:
        return actions.call(ctx, action, data), {}
    except ValidationError as exc:
        return None, exc.errors
    except StorageFull:
        return None, {"upload": [_("The server has no room for this file right now; nothing was saved. "
                                   "Please tell the site's administrators.")]}
    except NotAuthorized:
        abort(403)


@bp.route("/dataset/<name>/resource/new", methods=["GET", "POST"])
@login_required
def resource_new(name):
    ctx = get_context()
    pkg = _editable_package(ctx, name)
    errors, values = {}, request.form.to_dict()
    if request.method == "POST":
        upload = request.files.get("upload")
        url = request.form.get("url", "").strip()
        errors = _upload_type_errors(upload)
        if not (upload and upload.filename) and not url:
            errors["upload"] = [_("Choose a file to upload or give a link.")]
        if not errors:
            data = {"package_id": pkg["id"], "name": request.form.get("name") or (upload.filename if upload else url),
                    "description": request.form.get("description", ""), "format": request.form.get("format", "")}
            if request.form.get("schema"):
                data["schema"] = request.form["schema"]
            if upload and upload.filename:
                data["upload"] = upload
            else:
                data["url"] = url
            res, errors = _save_resource(ctx, "resource_create", data)
            if res is not None:
                return redirect(url_for("pages.resource_read", name=pkg["name"], res_id=res["id"]))
    return render_template("resource_form.html", pkg=pkg, errors=errors, values=values,
                           schemas=sourceformats.schema_names())


@bp.route("/dataset/<name>/resource/<res_id>/edit", methods=["GET", "POST"])
@login_required
def resource_edit(name, res_id):
    """Change a resource's name, description, format and link, or replace its file."""
    ctx = get_context()
    pkg = _editable_package(ctx, name)
    res = next((r for r in pkg["resources"] if r["id"] == res_id), None)
    if res is None:
        abort(404)
    errors = {}
    values = request.form.to_dict() if request.method == "POST" else {
        k: res.get(k) or "" for k in ("name", "description", "format", "url")}
    if request.method == "POST":
        upload = request.files.get("upload")
        errors = _upload_type_errors(upload)
        if not errors:
            data = {"id": res_id, **{k: request.form.get(k, "") for k in ("name", "description", "format")}}
            if upload and upload.filename:
                data["upload"] = upload
            elif res.get("url_type") != "upload" and request.form.get("url"):
                data["url"] = request.form["url"].strip()
            saved, errors = _save_resource(ctx, "resource_patch", data)
            if saved is not None:
                return redirect(url_for("pages.resource_read", name=pkg["name"], res_id=res_id))
    return render_template("resource_form.html", pkg=pkg, res=res, errors=errors, values=values,
                           schemas=sourceformats.schema_names())


@bp.route("/dataset/<name>/resource/<res_id>/views", methods=["POST"])
@login_required
def resource_views(name, res_id):
    """Add a view to a resource (image, web page or chart) or delete one, from its page."""
    ctx = get_context()
    pkg = _editable_package(ctx, name)
    if not any(r["id"] == res_id for r in pkg["resources"]):
        abort(404)
    try:
        if request.form.get("delete"):
            view = actions.call(ctx, "resource_view_show", {"id": request.form["delete"]})
            if view["resource_id"] != res_id:
                abort(404)
            actions.call(ctx, "resource_view_delete", {"id": view["id"]})
            flash(_("The view is deleted."))
        else:
            fields = ("view_type", "title", "description", "image_url", "page_url", "chart_type", "x_field", "y_field")
            actions.call(ctx, "resource_view_create", {"resource_id": res_id, **{
                k: request.form[k] for k in fields if request.form.get(k)}})
            flash(_("The view is added."))
    except ValidationError as exc:
        flash(" ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items()), "error")
    except NotFound:
        abort(404)
    return redirect(url_for("pages.resource_read", name=pkg["name"], res_id=res_id) + "#views-h")


@bp.route("/user/<name>/api-tokens", methods=["GET", "POST"])
@login_required
def tokens(name):
    ctx = get_context()
    if ctx.user["name"] != name and not ctx.sysadmin:
        abort(403)
    new_token, errors = None, {}
    if request.method == "POST":
        try:
            if request.form.get("revoke"):
                actions.call(ctx, "api_token_revoke", {"jti": request.form["revoke"]})
                flash(_("Token revoked."))
            else:
                new_token = actions.call(ctx, "api_token_create", {"user": name,
                                                                   "name": request.form.get("token_name", "")})["token"]
        except ValidationError as exc:
            errors = exc.errors
        except (NotFound, NotAuthorized):
            abort(404)
    listed = actions.call(ctx, "api_token_list", {"user": name})
    return render_template("tokens.html", tokens=listed, new_token=new_token, errors=errors, user_name=name)


@bp.route("/organization/members/<name>", methods=["GET", "POST"])
@login_required
def members(name):
    ctx = get_context()
    try:
        org = actions.call(ctx, "organization_show", {"id": name, "include_users": True})
    except NotFound:
        abort(404)
    errors = {}
    if request.method == "POST":
        try:
            if request.form.get("remove"):
                actions.call(ctx, "organization_member_delete", {"id": org["id"], "username": request.form["remove"]})
            else:
                actions.call(ctx, "organization_member_create", {"id": org["id"], "username": request.form.get("username", ""),
                                                                 "role": request.form.get("role", "member")})
            flash(_("Members updated."))
            return redirect(url_for("publisher.members", name=org["name"]))
        except NotAuthorized:
            return error_page(403, _("Only the organization's admins manage its members."))
        except (ValidationError, NotFound) as exc:
            errors = exc.errors if isinstance(exc, ValidationError) else {"username": [exc.message]}
    org = actions.call(ctx, "organization_show", {"id": org["id"], "include_users": True})
    return render_template("members.html", org=org, errors=errors, can_admin=auth.can_admin_group(ctx, org["id"]))


@bp.route("/harvest")
@login_required
def harvest_index():
    ctx = get_context()
    try:
        sources = actions.call(ctx, "harvest_source_list", {})
    except NotAuthorized:
        abort(403)
    return render_template("harvest.html", sources=sources)


@bp.route("/harvest/<name>")
@login_required
def harvest_read(name):
    ctx = get_context()
    try:
        source = actions.call(ctx, "harvest_source_show", {"id": name})
        jobs = actions.call(ctx, "harvest_job_list", {"id": name})[:20]
    except NotAuthorized:
        abort(403)
    except NotFound:
        abort(404)
    return render_template("harvest.html", source=source, jobs=jobs)
