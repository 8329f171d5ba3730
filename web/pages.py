"""Catalogue pages on CKAN's URL layout; every page reads through the same actions as the API."""
import json

from flask import Blueprint, Response, abort, render_template, request, send_file, url_for

from catalog import actions, auth, comments, dicts, gdc, licenses, resources
from catalog.datastore import dumps as datastore_dumps
from catalog.store import usage
from catalog.errors import ActionError, NotAuthorized, NotFound, ValidationError

from .context import get_context
from .i18n import get_locale

bp = Blueprint("pages", __name__)
PAGE_SIZE = 20
FACETS = ["organization", "groups", "tags", "res_format", "license_id", "data_category"]
# One name sort on a page: by title (what people read). The API still sorts by `name` (the URL slug) as CKAN does.
SORTS = {"score desc, metadata_modified desc", "metadata_modified desc", "metadata_created desc", "title_string asc",
         "title_string desc"}


def _search(ctx, q="", fq=(), page=1, sort=None, rows=PAGE_SIZE, facets=FACETS, exact=False):
    # Relevance by default, also when browsing (where it is the newest first): the form then keeps relevance for
    # the next query typed into it, instead of sending "last modified" the visitor never chose.
    sort = sort if sort in SORTS else "score desc, metadata_modified desc"
    try:
        return actions.call(ctx, "package_search", {
            "q": q, "fq": " AND ".join(fq), "rows": rows, "start": (page - 1) * rows, "sort": sort,
            "include_private": True, "facet.field": json.dumps(list(facets)), "facet.limit": "12",
            "khlang_exact": exact}), sort
    except ActionError as exc:
        return {"count": 0, "results": [], "search_facets": {}, "error": exc.error_dict().get("message")}, sort


def _page_number():
    return max(1, min(request.args.get("page", 1, type=int) or 1, 10_000))


def _filters():
    """fq clauses of the facet values chosen in the query string (values quoted, quotes dropped)."""
    return [f'{field}:"{value.replace(chr(34), "")}"' for field in FACETS for value in request.args.getlist(field)]


@bp.route("/")
def home():
    ctx = get_context()
    newest, _ = _search(ctx, rows=6, sort="metadata_created desc", facets=["groups"])
    viewed = dicts.package_dicts(ctx, usage.most_viewed(ctx.db, 6))
    groups = actions.call(ctx, "group_list", {"all_fields": True, "sort": "title asc"})
    orgs = actions.call(ctx, "organization_list", {})
    return render_template("home.html", newest=newest, viewed=viewed, groups=groups, org_count=len(orgs))


@bp.route("/dataset")
def dataset_search():
    ctx = get_context()
    q, page = request.args.get("q", ""), _page_number()
    # ?exact=1: the search as typed, from the "search instead for" link of a widened search.
    result, sort = _search(ctx, q, _filters(), page, request.args.get("sort"), exact=request.args.get("exact") == "1")
    return render_template("search.html", result=result, q=q, page=page, page_size=PAGE_SIZE, sort=sort,
                           facet_fields=FACETS, sorts=sorted(SORTS))


def _package_or_404(ctx, name):
    try:
        return actions.call(ctx, "package_show", {"id": name})
    except (NotFound, NotAuthorized):
        abort(404)


def _gdc_rows(pkg, lang):
    """(label, value) of every GDC field the dataset fills, in schema order, with Thai or English labels."""
    out = []
    for f in gdc.schema()["core_fields"] + gdc.schema()["dataset_fields"]:
        name = f["field_name"]
        if name in ("title", "notes", "tags", "owner_org"):
            continue
        value = pkg.get(name)
        if name == "license_id" and value:
            value = licenses.title_in(value, lang, pkg.get("license_title"))
        if value in (None, "", []):
            continue
        out.append((f["label"].get(lang) or f["label"]["en"], ", ".join(value) if isinstance(value, list) else value))
    return out


def schema_org(pkg, site_url):
    """schema.org/Dataset JSON-LD of a dataset page, for search engines."""
    doc = {"@context": "https://schema.org", "@type": "Dataset", "name": pkg["title"],
           "description": (pkg.get("notes") or pkg["title"])[:5000], "url": f"{site_url}/dataset/{pkg['name']}",
           "identifier": pkg["id"], "keywords": [t["name"] for t in pkg["tags"]], "inLanguage": "th",
           "dateCreated": pkg["metadata_created"][:19], "dateModified": pkg["metadata_modified"][:19],
           "isAccessibleForFree": True,
           "distribution": [{"@type": "DataDownload", "name": r.get("name") or r["id"], "contentUrl": r["url"],
                             "encodingFormat": r.get("mimetype") or r.get("format") or None}
                            for r in pkg["resources"] if r.get("url")]}
    if pkg.get("license_url"):
        doc["license"] = pkg["license_url"]
    if pkg.get("organization"):
        doc["creator"] = {"@type": "GovernmentOrganization", "name": pkg["organization"]["title"],
                          "url": f"{site_url}/organization/{pkg['organization']['name']}"}
    if pkg.get("maintainer") or pkg.get("maintainer_email"):
        doc["contactPoint"] = {"@type": "ContactPoint", "name": pkg.get("maintainer") or None,
                               "email": pkg.get("maintainer_email") or None, "contactType": "data"}
    return doc


@bp.route("/dataset/<name>")
def dataset_read(name):
    ctx = get_context()
    pkg = _package_or_404(ctx, name)
    usage.record(ctx.db, pkg["id"], "view")
    activity = actions.call(ctx, "package_activity_list", {"id": pkg["id"], "limit": 10})
    views = usage.totals(ctx.db, [pkg["id"]], "view").get(pkg["id"], 0)
    downloads = sum(usage.totals(ctx.db, [r["id"] for r in pkg["resources"]], "download").values())
    followers = actions.call(ctx, "dataset_follower_count", {"id": pkg["id"]}) if pkg["state"] != "deleted" else 0
    following = ctx.user and pkg["state"] != "deleted" and actions.call(ctx, "am_following_dataset", {"id": pkg["id"]})
    return render_template("dataset.html", pkg=pkg, gdc_rows=_gdc_rows(pkg, get_locale()), activity=activity,
                           followers=followers, following=following,
                           views=views, downloads=downloads, schema_org=schema_org(pkg, ctx.site_url),
                           comments=actions.call(ctx, "comment_list", {"package_id": pkg["id"]}),
                           can_moderate=comments.can_moderate(ctx, pkg),
                           can_edit=_can_edit(ctx, pkg), site_url=ctx.site_url)


def _can_edit(ctx, pkg):
    return bool(ctx.user) and auth.can_edit_package(ctx, pkg)


PREVIEW_ROWS = 25


def _preview(ctx, res):
    """One page of the DataStore table as the visitor filtered and sorted it, with matching download links."""
    try:
        info = actions.call(ctx, "datastore_info", {"id": res["id"]})
    except (NotFound, NotAuthorized):
        return None
    fields = [f for f in info["fields"] if f["id"] != "_id"]
    names = [f["id"] for f in fields]
    col_q = {n: request.args[f"q.{n}"] for n in names if request.args.get(f"q.{n}", "").strip()}
    sort_col, _, direction = (request.args.get("sort") or "").rpartition(" ")   # column names may hold spaces
    quoted = '"' + sort_col.replace('"', '""') + '"'
    sort = f'{quoted} {"desc" if direction == "desc" else "asc"}' if sort_col in names else None
    page = _page_number()
    params = {"resource_id": res["id"], "limit": PREVIEW_ROWS, "offset": (page - 1) * PREVIEW_ROWS,
              "fields": ["_id"] + names}
    if col_q:
        params["q"] = col_q
    if sort:
        params["sort"] = sort
    try:
        result = actions.call(ctx, "datastore_search", params)
    except ValidationError as exc:
        return {"fields": fields, "records": [], "total": 0, "error": exc.errors, "page": page}
    dump = {"q": json.dumps(col_q, ensure_ascii=False)} if col_q else {}
    if sort:
        dump["sort"] = sort
    links = {fmt: url_for("pages.datastore_dump", resource_id=res["id"], format=fmt, **dump,
                          **({"bom": "true"} if fmt == "csv" else {}))
             for fmt in ("csv", "xlsx", "json")}
    return {"fields": fields, "records": result["records"], "total": result.get("total", 0), "page": page,
            "col_q": col_q, "sort_col": sort_col if sort else None, "direction": direction, "links": links,
            "numeric": [f["id"] for f in fields if f["type"] in ("int", "numeric", "float")], "meta": info["meta"]}


def _validation(ctx, res):
    """The resource's latest load state and validation report (None when it was never loaded)."""
    try:
        job = actions.call(ctx, "xloader_status", {"resource_id": res["id"]})
    except (NotFound, NotAuthorized):
        job = None
    report = (job or {}).get("task_info", {}).get("validation_report") if job else None
    if report is None and res.get("datastore_active"):
        try:
            live = [v for v in actions.call(ctx, "datastore_version_list", {"id": res["id"]}) if v["live"]]
        except (NotFound, NotAuthorized):
            live = []
        report = live[0]["report"] if live else None
    if job is None and report is None:
        return None
    errors = []
    for task in (report or {}).get("tasks", []):
        errors += task.get("errors", [])
    return {"status": job["status"] if job else "complete", "job": job, "report": report,
            "valid": report.get("valid") if report else None, "errors": errors[:50],
            "error_count": (report or {}).get("stats", {}).get("errors", len(errors)),
            # Every file of a multi-file load counts, not the first one's rows.
            "rows_checked": sum((t.get("stats") or {}).get("rows") or 0 for t in (report or {}).get("tasks", []))}


@bp.route("/dataset/<name>/resource/<res_id>")
def resource_read(name, res_id):
    ctx = get_context()
    pkg = _package_or_404(ctx, name)
    res = next((r for r in pkg["resources"] if r["id"] == res_id), None)
    if res is None:
        abort(404)
    views = actions.call(ctx, "resource_view_list", {"id": res_id})
    return render_template("resource.html", pkg=pkg, res=res, preview=_preview(ctx, res) if res["datastore_active"]
                           else None, validation=_validation(ctx, res), can_edit=_can_edit(ctx, pkg), views=views)


@bp.route("/dataset/<pkg_id>/resource/<res_id>/download/<path:filename>")
@bp.route("/dataset/<pkg_id>/resource/<res_id>/download")
def resource_download(pkg_id, res_id, filename=None):
    ctx = get_context()
    try:
        path, name, mimetype = resources.download(ctx, pkg_id, res_id)
    except NotFound:
        abort(404)
    usage.record(ctx.db, res_id, "download")
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=name, conditional=True)


def _group_index(is_org):
    ctx = get_context()
    q = request.args.get("q", "")
    action = "organization_list" if is_org else "group_list"
    groups = actions.call(ctx, action, {"all_fields": True, "q": q, "sort": "title asc"})
    return render_template("group_index.html", groups=groups, q=q, is_org=is_org)


def _group_read(name, is_org):
    ctx = get_context()
    try:
        group = actions.call(ctx, "organization_show" if is_org else "group_show", {"id": name, "include_users": False})
    except NotFound:
        abort(404)
    q, page = request.args.get("q", ""), _page_number()
    field = "organization" if is_org else "groups"
    result, sort = _search(ctx, q, [f'{field}:"{group["name"]}"'] + _filters(), page, request.args.get("sort"))
    return render_template("group_read.html", group=group, is_org=is_org, result=result, q=q, page=page,
                           page_size=PAGE_SIZE, sort=sort, facet_fields=[f for f in FACETS if f != field],
                           sorts=sorted(SORTS))


@bp.route("/organization")
def organization_index():
    return _group_index(True)


@bp.route("/organization/<name>")
def organization_read(name):
    return _group_read(name, True)


@bp.route("/group")
def group_index():
    return _group_index(False)


@bp.route("/group/<name>")
def group_read(name):
    return _group_read(name, False)


@bp.route("/api/docs")
def api_docs():
    ctx = get_context()
    sample, _ = _search(ctx, rows=20, sort="metadata_modified desc", facets=[])
    pkg = next((p for p in sample["results"] if not p["private"]), None)
    table = next((r for p in sample["results"] if not p["private"] for r in p["resources"] if r["datastore_active"]),
                 None)
    return render_template("api.html", pkg=pkg, table=table, site_url=ctx.site_url,
                           actions=sorted(actions.ACTIONS), reads=actions.SIDE_EFFECT_FREE)


@bp.route("/datastore/dump/<resource_id>")
def datastore_dump(resource_id):
    ctx = get_context()
    params = request.args.to_dict()
    try:
        filename, media, chunks = datastore_dumps.dump(ctx, resource_id, params)
    except NotFound:
        return Response("DataStore resource not found", status=404, content_type="text/plain; charset=utf-8")
    except ValidationError as exc:
        return Response(str(exc.errors), status=400, content_type="text/plain; charset=utf-8")
    usage.record(ctx.db, resource_id, "download")
    return Response(chunks, content_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
