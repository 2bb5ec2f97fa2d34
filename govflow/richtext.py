"""Texts written in Markdown (charter summaries, pillar and theme texts, commitment statements) shown as safe HTML.

Two well-kept libraries do the work: markdown-it-py reads the text as CommonMark with raw HTML switched off (a
``<script>`` in a text stays text), and nh3 (the Ammonia sanitiser) then keeps only a short list of tags and
attributes, only http, https and mailto links (a ``javascript:`` link loses its target), and marks every link
``rel="nofollow noopener"``. Either one alone would already refuse a script; both together leave nothing to chance.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# What a charter text may use: paragraphs, emphasis, lists, quotes, links, code, headings of a low level, and tables.
ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr",
    "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "del",
}  # fmt: skip
INLINE_TAGS = {"strong", "em", "b", "i", "code", "a", "br", "del"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow noopener"


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # The CommonMark preset with raw HTML off; tables and strikethrough on. No typographer: quotes stay as written.
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def _clean(html: str, tags: set[str]) -> str:
    return nh3.clean(html, tags=tags, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES, link_rel=LINK_REL, strip_comments=True)


def render_markdown(text: str | None, inline: bool = False) -> Markup:
    """``text`` (Markdown) as sanitised HTML; ``inline=True`` gives phrasing content only (no paragraphs), for a label."""
    if not text:
        return Markup("")
    parser = _parser()
    if inline:
        return Markup(_clean(parser.renderInline(text), INLINE_TAGS))  # noqa: S704 - sanitised by nh3 just above
    return Markup(_clean(parser.render(text), ALLOWED_TAGS))  # noqa: S704 - sanitised by nh3 just above
