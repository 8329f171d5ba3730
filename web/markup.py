"""Markdown of user text (dataset notes, answers) as sanitised HTML: raw HTML is escaped by the
parser and the output is cleaned again by nh3 (Ammonia), so no script or handler attribute survives."""
from functools import lru_cache

import nh3
from markupsafe import Markup

_TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h3", "h4", "h5", "h6",
         "table", "thead", "tbody", "tr", "th", "td", "hr"}


def render(text):
    """Safe HTML of a Markdown text."""
    if not text:
        return Markup("")
    html = _parser().render(str(text)).replace("<h1>", "<h3>").replace("</h1>", "</h3>").replace("<h2>", "<h4>") \
        .replace("</h2>", "</h4>")
    return Markup(nh3.clean(html, tags=_TAGS, attributes={"a": {"href", "title"}}, link_rel="noopener nofollow ugc",
                            url_schemes={"http", "https", "mailto"}))


@lru_cache(maxsize=1)
def _parser():
    from markdown_it import MarkdownIt   # 35-80 ms: on the first page that shows Markdown, not at every start

    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
