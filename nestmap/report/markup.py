"""A tiny escaping template for HTML and SVG: elements are built, never concatenated.

``el(tag, attrs, *children)`` escapes every attribute value and every child that is a plain
``str``; only ``Markup`` (made by ``el`` itself, or by ``raw`` for this package's own constant
style sheet) passes through. So a name from a dataset can reach the page only as text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9:-]*")
# Elements with no content and no end tag in HTML (SVG shapes are closed with "/>").
_VOID = {"meta", "br", "hr", "img", "link"}


class Markup(str):
    """HTML that is already safe: built by ``el`` from escaped parts."""

    __slots__ = ()


Child = Any  # str, Markup, numbers, None, or (nested) iterables of these


def escape(value: object) -> Markup:
    return Markup(html.escape("" if value is None else str(value), quote=True))


def raw(constant: str) -> Markup:
    """This package's own constant text (a style sheet): never a value from a dataset."""
    return Markup(constant)


def _children(children: Iterable[Child]) -> Iterable[str]:
    for child in children:
        if child is None or child is False:
            continue
        if isinstance(child, Markup):
            yield child
        elif isinstance(child, str | int | float):
            yield escape(child)
        else:
            yield from _children(child)


def el(tag: str, attrs: Mapping[str, object] | None = None, *children: Child) -> Markup:
    """``<tag attrs>children</tag>`` with every value escaped (``None`` attributes left out)."""
    if not _NAME.fullmatch(tag):
        raise ValueError(f"not an element name: {tag!r}")
    parts = [f"<{tag}"]
    for name, value in (attrs or {}).items():
        if not _NAME.fullmatch(name) or name.lower().startswith("on"):
            raise ValueError(f"not an allowed attribute: {name!r}")
        if value is None or value is False:
            continue
        parts.append(f' {name}="{escape(value)}"')
    if tag in _VOID:
        return Markup("".join(parts) + ">")
    body = "".join(_children(children))
    if not body and tag in _SVG_SHAPES:
        return Markup("".join(parts) + "/>")
    return Markup("".join(parts) + ">" + body + f"</{tag}>")


_SVG_SHAPES = {"rect", "path", "line", "circle", "polygon", "polyline"}


def join(children: Iterable[Child]) -> Markup:
    """Several children as one piece of markup (each escaped unless already markup)."""
    return Markup("".join(_children(children)))
