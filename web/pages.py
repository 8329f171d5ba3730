"""HTML pages on CKAN's URL layout; every page reads through the same actions as the API."""
from flask import Blueprint, Response, abort, render_template, request, send_file

from catalog import actions, datastore, resources
from catalog.errors import ActionError, NotAuthorized, NotFound, ValidationError

from . import get_context

bp = Blueprint("pages", __name__)
PAGE_SIZE = 20


@bp.route("/")
def home():
    ctx = get_context()
    result = actions.call(ctx, "package_search", {"rows": 6, "sort": "metadata_created desc",
                                                  "facet.field": '["organization","groups"]', "facet.limit": "8"})
    orgs = actions.call(ctx, "organization_list", {})
    return render_template("home.html", result=result, org_count=len(orgs), site=ctx.settings)


@bp.route("/dataset")
def dataset_search():
    ctx = get_context()
    q = request.args.get("q", "")
    page = max(1, request.args.get("page", 1, type=int) or 1)
    fq = []
    for field in ("organization", "groups", "tags", "res_format", "license_id", "data_category", "data_type"):
        for value in request.args.getlist(field):
            fq.append(f'{field}:"{value.replace(chr(34), "")}"')
    sort = request.args.get("sort") or ("score desc, metadata_modified desc" if q else "metadata_modified desc")
    try:
        result = actions.call(ctx, "package_search", {
            "q": q, "fq": " AND ".join(fq), "rows": PAGE_SIZE, "start": (page - 1) * PAGE_SIZE, "sort": sort,
            "include_private": True,
            "facet.field": '["organization","groups","tags","res_format","license_id","data_category","data_type"]',
            "facet.limit": "10"})
    except ActionError as exc:
        result = {"count": 0, "results": [], "search_facets": {}, "error": exc.error_dict().get("message")}
    return render_template("search.html", result=result, q=q, page=page, page_size=PAGE_SIZE, sort=sort,
                           args=request.args, site=ctx.settings)


@bp.route("/dataset/<name>")
def dataset_read(name):
    ctx = get_context()
    try:
        pkg = actions.call(ctx, "package_show", {"id": name})
    except (NotFound, NotAuthorized):
        abort(404)
    return render_template("dataset.html", pkg=pkg, site=ctx.settings)


@bp.route("/dataset/<pkg_id>/resource/<res_id>/download/<path:filename>")
@bp.route("/dataset/<pkg_id>/resource/<res_id>/download")
def resource_download(pkg_id, res_id, filename=None):
    ctx = get_context()
    try:
        path, name, mimetype = resources.download(ctx, pkg_id, res_id)
    except NotFound:
        abort(404)
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=name, conditional=True)


@bp.route("/organization/<name>")
def organization_read(name):
    ctx = get_context()
    try:
        org = actions.call(ctx, "organization_show", {"id": name, "include_users": False})
    except NotFound:
        abort(404)
    result = actions.call(ctx, "package_search", {"fq": f'organization:"{org["name"]}"', "rows": 50,
                                                  "sort": "metadata_modified desc", "include_private": True})
    return render_template("organization.html", org=org, result=result, site=ctx.settings)


@bp.route("/datastore/dump/<resource_id>")
def datastore_dump(resource_id):
    ctx = get_context()
    params = request.args.to_dict()
    try:
        filename, media, chunks = datastore.dump(ctx, resource_id, params)
    except NotFound:
        return Response("DataStore resource not found", status=404, content_type="text/plain; charset=utf-8")
    except ValidationError as exc:
        return Response(str(exc.errors), status=400, content_type="text/plain; charset=utf-8")
    return Response(chunks, content_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
