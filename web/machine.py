"""Machine-readable catalogue: DCAT-AP (JSON-LD, Turtle, RDF/XML), Data Package, sitemap and robots.txt.

Every document is built as an anonymous visitor sees the catalogue, so nothing private is described."""
from flask import Blueprint, Response, abort, request

from catalog import actions, syndication
from catalog import datapackage as data_package
from catalog.errors import NotAuthorized, NotFound

from .api import json_response
from .context import get_context

bp = Blueprint("machine", __name__)
CATALOG_PAGE = 100


@bp.route("/catalog.<any(jsonld, ttl, rdf, xml):fmt>")
def catalog(fmt):
    ctx = get_context(allow_auth=False)
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 100_000))
    result = actions.call(ctx, "package_search", {"rows": CATALOG_PAGE, "start": (page - 1) * CATALOG_PAGE,
                                                  "sort": "metadata_created asc"})
    from catalog import dcat   # rdflib (50 ms of imports) loads with the first DCAT document, not as the server starts
    g = dcat.catalog_graph(result, ctx.site_url, ctx.settings.site_title, page, CATALOG_PAGE)
    body, media = dcat.serialize(g, "json-ld" if fmt == "jsonld" else fmt)
    return Response(body, content_type=f"{media}; charset=utf-8")


def _public_package(name):
    ctx = get_context(allow_auth=False)
    try:
        return ctx, actions.call(ctx, "package_show", {"id": name})
    except (NotFound, NotAuthorized):
        abort(404)


@bp.route("/dataset/<name>.<any(jsonld, ttl, rdf):fmt>")
def dataset_rdf(name, fmt):
    ctx, pkg = _public_package(name)
    from catalog import dcat   # (as above)
    body, media = dcat.serialize(dcat.dataset_graph(pkg, ctx.site_url), "json-ld" if fmt == "jsonld" else fmt)
    return Response(body, content_type=f"{media}; charset=utf-8")


@bp.route("/dataset/<name>/datapackage.json")
def datapackage(name):
    ctx, pkg = _public_package(name)
    return json_response(data_package.descriptor(ctx, pkg))


@bp.route("/sitemap.xml")
def sitemap():
    ctx = get_context(allow_auth=False)
    parts = syndication.sitemap_parts(ctx.db, ctx.site_url)
    if parts == 1:
        body = syndication.sitemap_xml(syndication.sitemap_urls(ctx.db, ctx.site_url, 0))
    else:
        body = syndication.sitemap_index_xml(ctx.site_url, parts)
    return Response(body, content_type="application/xml; charset=utf-8")


@bp.route("/sitemap-<int:part>.xml")
def sitemap_part(part):
    ctx = get_context(allow_auth=False)
    if part >= syndication.sitemap_parts(ctx.db, ctx.site_url):
        abort(404)
    return Response(syndication.sitemap_xml(syndication.sitemap_urls(ctx.db, ctx.site_url, part)),
                    content_type="application/xml; charset=utf-8")


@bp.route("/robots.txt")
def robots():
    ctx = get_context(allow_auth=False)
    return Response(f"User-agent: *\nDisallow: /api/\nDisallow: /datastore/dump/\nDisallow: /user/\n"
                    f"Sitemap: {ctx.site_url}/sitemap.xml\n", content_type="text/plain; charset=utf-8")
