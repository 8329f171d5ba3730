"""Links to the current page with some query arguments changed (facets, paging, sorting, language)."""
from urllib.parse import urlencode, urlsplit

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


LINK_SCHEMES = {"http", "https", "ftp", "mailto"}


def outbound(url):
    """A user-given URL fit for an href: web, ftp and mail links or site paths; anything else (javascript:...) is '#'."""
    text = str(url or "").strip()
    if any(ord(c) < 32 for c in text):
        return "#"
    parts = urlsplit(text)
    if parts.scheme:
        return text if parts.scheme.lower() in LINK_SCHEMES else "#"
    return text if text.startswith("/") and not text.startswith("//") and "\\" not in text else "#"


def init_app(app):
    app.jinja_env.globals.update(url_with=url_with, toggle_filter=toggle_filter)
    app.jinja_env.filters["outbound"] = outbound
