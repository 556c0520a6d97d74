"""Markdown bodies rendered to safe HTML: markdown-it-py (CommonMark, raw HTML off) then nh3.

Activities store only their Markdown source and are rendered when shown (the `markdown` template
filter and the timeline source call `render_markdown`). Rendering on display rather than caching
the HTML in a column means a change of the sanitiser's policy (or a fix in either library) applies
to every stored body at once, with no migration and no stale copy that could carry an old hole;
the cost is a few tens of microseconds per body, for the 30 items a timeline page shows.

Two layers: markdown-it-py with `html=False` escapes any HTML in the source and validates link
targets (no `javascript:`, `vbscript:`, `data:` except images); nh3 (ammonia) then keeps only an
allow-list of tags and attributes and of URL schemes, so even a bug in the first layer cannot let
a script, an event handler or a `javascript:` link through.
"""

from __future__ import annotations

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("strikethrough")
_md.enable("table")

TAGS = {
    "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "a",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}


def render_markdown(source: str) -> SafeString:
    """The HTML of a Markdown text, safe to insert into a page as it is."""
    if not source:
        return mark_safe("")
    html = _md.render(source)
    clean = nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return mark_safe(clean)  # noqa: S308  (sanitised by nh3 just above)
