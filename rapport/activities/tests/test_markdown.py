"""Activity bodies are Markdown rendered safely: no script, no event handler, no javascript: link."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from rapport.activities.markdown import render_markdown

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    '<svg onload="alert(1)"></svg>',
    '<iframe src="https://evil.example"></iframe>',
    '[x](https://example.org "a" onmouseover="alert(1)")',
    "<div style=\"background:url('javascript:alert(1)')\">x</div>",
    "```html\n<script>alert(1)</script>\n```",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<scr<script>ipt>alert(1)</script>",
]


class _Elements(HTMLParser):
    """Every element of a piece of HTML as (tag, attributes), as a browser would parse it."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))


def _elements(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("payload", PAYLOADS)
def test_xss_payloads_are_neutralised(payload):
    html = str(render_markdown(payload))
    for tag, attrs in _elements(html):
        assert tag not in {"script", "iframe", "svg", "img", "object", "embed", "style", "div"}, html
        assert not any(name.startswith("on") or name == "style" for name in attrs), html
        href = "".join(attrs.get("href", "").split()).lower()
        if href:
            assert href.split(":", 1)[0] in {"http", "https", "mailto", "tel"} or ":" not in href, html


def test_no_link_to_a_javascript_url_survives():
    html = str(render_markdown("[a](javascript:alert(1)) [b](https://example.org)"))
    assert 'href="javascript' not in html
    assert 'href="https://example.org"' in html and 'rel="noopener noreferrer nofollow"' in html


def test_markdown_formatting_is_kept():
    html = str(render_markdown("**bold** _it_ `code`\n\n- one\n- two\n\n> quoted\n\n~~gone~~"))
    for tag in (
        "<strong>bold</strong>",
        "<em>it</em>",
        "<code>code</code>",
        "<li>one</li>",
        "<blockquote>",
        "<s>gone</s>",
    ):
        assert tag in html


def test_raw_html_is_shown_as_text_not_markup():
    html = str(render_markdown("<b>hi</b>"))
    assert "<b>" not in html and "&lt;b&gt;" in html


def test_empty_body_renders_empty():
    assert render_markdown("") == ""
