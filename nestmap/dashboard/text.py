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


def md(value: object) -> str:
    """Text safe to put inside Streamlit markdown: HTML escaped, markdown syntax neutralised."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", esc(value))


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
