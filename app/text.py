"""User text: Markdown in, safe HTML out."""

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# js-default drops raw HTML and unsafe links; nh3 is the second layer.
_markdown = MarkdownIt("js-default", {"linkify": False, "typographer": False})

_ALLOWED_TAGS = {
    "p", "br", "strong", "em", "a", "ul", "ol", "li", "blockquote", "code", "pre",
    "h3", "h4", "h5", "h6", "hr", "del", "table", "thead", "tbody", "tr", "th", "td",
}


def render_markdown(source: str) -> str:
    """HTML for user-written Markdown, cleaned. Store it beside the source."""
    html = _markdown.render(source or "")
    # User headings start at h3: the page owns h1 and h2.
    for level in (1, 2):
        html = html.replace(f"<h{level}>", "<h3>").replace(f"</h{level}>", "</h3>")
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        # No style attributes: the CSP would ignore them anyway.
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )


def safe_html(html: str | None) -> Markup:
    """Mark stored, already-cleaned HTML safe for templates."""
    return Markup(html or "")
