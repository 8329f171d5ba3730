"""Links to the current page with some query arguments changed (facets, paging, sorting, language)."""
from urllib.parse import urlencode

from flask import request


def url_with(**changes):
    """This page's URL with `changes` applied to its query (None removes a key).

    Changing anything but the language or the page goes back to page 1."""
    drop_page = "page" not in changes and bool(set(changes) - {"lang"})
    args = [(k, v) for k, v in request.args.items(multi=True)
            if k not in changes and not (drop_page and k == "page")]
    args += [(k, v) for k, v in changes.items() if v is not None]
    query = urlencode(args)
    return request.path + (f"?{query}" if query else "")


def toggle_filter(field, value):
    """This page's URL with one facet value added, or removed when it is already chosen."""
    chosen = request.args.getlist(field)
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in (field, "page")]
    kept = [v for v in chosen if v != value] if value in chosen else chosen + [value]
    args += [(field, v) for v in kept]
    query = urlencode(args)
    return request.path + (f"?{query}" if query else "")


def init_app(app):
    app.jinja_env.globals.update(url_with=url_with, toggle_filter=toggle_filter)
