"""Text built from user data (names, sources, codes) for HTML-rendering contexts.

Plotly hover text, subplot titles and pyvis tooltips interpret HTML; service names are user
data. Everything from a dataset goes through ``esc`` before it reaches one of them, and through
``md`` before it reaches Streamlit markdown.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>:$])")


def esc(value: object) -> str:
    """HTML-escaped text content (``&``, ``<``, ``>``).

    Quotes are left alone: user data never goes into an attribute here, and plotly does not
    decode ``&quot;`` (it would show the entity).
    """
    return html.escape("" if value is None else str(value), quote=False)


# Streamlit's markdown (remark-gfm) turns URLs, www. names and e-mail addresses in plain text
# into links after escapes are resolved, so escaping cannot stop it: an invisible WORD JOINER
# (U+2060) inside each pattern does, and the text reads the same.
_AUTOLINKS = (
    (re.compile(r"(:)(//)"), "\\1\u2060\\2"),
    (re.compile(r"(?i)(www)(\.)"), "\\1\u2060\\2"),
    (re.compile(r"(@)"), "\\1\u2060"),
)


def no_autolinks(text: str) -> str:
    """``text`` with URLs, www. names and e-mail addresses kept from becoming links."""
    for pattern, replacement in _AUTOLINKS:
        text = pattern.sub(replacement, text)
    return text


def md(value: object) -> str:
    """Text safe to put inside Streamlit markdown: HTML escaped, markdown syntax neutralised,
    never a link."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", esc(no_autolinks("" if value is None else str(value))))


def shorten(text: str, limit: int = 32) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def name_of(service_id: str | None, names: dict[str, str]) -> str:
    if service_id is None:
        return ""
    return names.get(service_id, service_id)


def html_list(items: Iterable[object], empty: str = "none", limit: int = 12) -> str:
    """Escaped items one per line (``<br>``), at most ``limit`` then a count of the rest."""
    shown = [esc(item) for item in items]
    if not shown:
        return empty
    rest = len(shown) - limit
    lines = shown[:limit] + ([f"… and {rest} more"] if rest > 0 else [])
    return "<br>".join(lines)


def share_text(share: float | None) -> str:
    """A share as a percentage: whole percent, one decimal under 10% (a national dataset's
    largest destination may take 0.3%, which whole percent would show as 0%)."""
    if share is None:
        return ""
    return f"{share:.1%}" if share < 0.1 else f"{share:.0%}"
