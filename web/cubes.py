"""OpenSpending Babbage-compatible cube API, CSV downloads, Fiscal Data Packages and OCDS releases."""
from flask import Blueprint, Response, request

from catalog.datastore import tabular
from spending import access, cubes, fdp, ocds, tax
from spending.cubes import CubeError

from .context import get_context
from .api import json_response

bp = Blueprint("cubes", __name__)


def _json(body, status=200):
    return json_response(body, status, headers={"Access-Control-Allow-Origin": "*"})


def cube_error_body(exc):
    """Babbage's error shape, plus the allowed values when the request named something unknown."""
    body = {"status": "error", "message": exc.message}
    if exc.allowed is not None:
        body["allowed"] = exc.allowed
    return body


def _answer(fn):
    try:
        return fn()
    except access.NoData as exc:
        return _json(cube_error_body(exc), 404)
    except CubeError as exc:
        return _json(cube_error_body(exc), 400)


def csv_response(header, rows, filename):
    """A CSV download for Excel: UTF-8 with BOM, formula-like cells neutralised."""
    return Response(tabular.stream("csv", header, [rows], bom=True), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/api/3/cubes")
def cube_list():
    return _json({"status": "ok", "data": [{"name": c.name, "label": c.label_th, "label_en": c.label_en}
                                           for c in cubes.CUBES.values()]})


@bp.route("/api/3/cubes/<name>/model")
def cube_model(name):
    lang = request.args.get("lang", "th")
    return _answer(lambda: _json({"status": "ok", "name": name, "model": cubes.model(cubes.get(name), lang)}))


def _table(name, what, suffix=None, dimension=None):
    ctx = get_context(allow_auth=False)

    def run():
        result = access.run(ctx.settings, ctx.db, what, name, request.args.to_dict(), dimension)
        if suffix == "csv" or request.args.get("format") == "csv":
            header, rows = access.table_rows(result, what)
            return csv_response(header, rows, f"{name}-{what}.csv")
        return _json(result)

    return _answer(run)


@bp.route("/api/3/cubes/<name>/aggregate")
@bp.route("/api/3/cubes/<name>/aggregate.<any(csv, json):suffix>")
def cube_aggregate(name, suffix=None):
    return _table(name, "aggregate", suffix)


@bp.route("/api/3/cubes/<name>/facts")
@bp.route("/api/3/cubes/<name>/facts.<any(csv, json):suffix>")
def cube_facts(name, suffix=None):
    return _table(name, "facts", suffix)


@bp.route("/api/3/cubes/<name>/members/<dimension>")
def cube_members(name, dimension):
    return _table(name, "members", None, dimension)


@bp.route("/api/3/cubes/<name>/datapackage.json")
def cube_datapackage(name):
    ctx = get_context(allow_auth=False)
    return _answer(lambda: _json(fdp.datapackage(ctx.settings, ctx.db, name, ctx.site_url)))


@bp.route("/api/3/cubes/<name>/data.csv")
def cube_data_csv(name):
    ctx = get_context(allow_auth=False)

    def run():
        header, batches = fdp.rows(ctx.settings, ctx.db, name)
        return Response(tabular.stream("csv", header, batches, bom=False), content_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})

    return _answer(run)


@bp.route("/api/ocds/releases")
def ocds_releases():
    ctx = get_context(allow_auth=False)
    return _answer(lambda: _json(ocds.release_package(ctx.settings, ctx.db, request.args.to_dict(), ctx.site_url)))


@bp.route("/api/ocds/release/<project_id>")
def ocds_release(project_id):
    ctx = get_context(allow_auth=False)
    params = {"project_id": project_id}
    return _answer(lambda: _json(ocds.release_package(ctx.settings, ctx.db, params, ctx.site_url, project_id=project_id)))


@bp.route("/api/3/spending/tax-receipt")
def tax_receipt():
    """Where one person's income tax went in a fiscal year, by ministry (nothing typed is stored or logged)."""
    ctx = get_context(allow_auth=False)
    return _answer(lambda: _json({"status": "ok", **tax.receipt(ctx.settings, ctx.db, request.args.to_dict())}))
