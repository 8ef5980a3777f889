"""A scenario report fit to circulate after a workshop: self-contained HTML, or a workbook.

The HTML has no scripts and no external resources; every piece of user text is escaped.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from nestmap import units
from nestmap.scenarios.compare import change_rows
from nestmap.scenarios.model import cost_lines
from nestmap.spreadsheet import text_not_formulas
from nestmap.vocabulary import LEVELS, STAGES

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #1d2733; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; } h2 { margin-top: 2rem; font-size: 1.25rem; }
.muted { color: #5a6775; } .figures { display: flex; gap: 1rem; flex-wrap: wrap; }
.figure { border: 1px solid #d5dbe1; border-radius: 8px; padding: .7rem 1rem; min-width: 10rem; }
.figure b { display: block; font-size: 1.6rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #d5dbe1; padding: .3rem .55rem; text-align: left; vertical-align: top; }
th { background: #eef2f5; } td.gap { background: #f9d6d5; } td.closed { background: #92c5de; }
td.num { text-align: right; } td { overflow-wrap: anywhere; }
"""


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _element(
    tag: str, text: Any = None, parent: ET.Element | None = None, **attrs: str
) -> ET.Element:
    """An element (its text escaped on output, as every attribute is), added to ``parent``."""
    element = ET.Element(tag, attrs) if parent is None else ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = _text(text)
    return element


def _table(
    parent: ET.Element,
    header: list[str],
    rows: list[list[Any]],
    classes: list[list[str]] | None = None,
) -> None:
    table = _element("table", parent=parent)
    head = _element("tr", parent=_element("thead", parent=table))
    for name in header:
        _element("th", name, head)
    body = _element("tbody", parent=table)
    for index, row in enumerate(rows):
        line = _element("tr", parent=body)
        for column, value in enumerate(row):
            css = classes[index][column] if classes else ""
            _element("td", value, line, **({"class": css} if css else {}))


def _money(amount: float | None) -> str:
    return "-" if amount is None else f"£{amount:,.0f}"


def report_html(
    summary: dict[str, Any],
    comparison: dict[str, Any],
    gaps_before: list[dict],
    gaps_after: list[dict],
    need_before: list[dict],
    need_after: list[dict],
) -> str:
    """The before/after report as one self-contained HTML page (built as elements, so every
    piece of user text is escaped by the serialiser rather than by hand)."""
    scenario = summary
    closed = {
        tuple(c["key"])
        for c in comparison["changes"]
        if c["analysis"] == "gaps" and c["change"] == "closed"
    }
    page = _element("html", lang="en")
    head = _element("head", parent=page)
    _element("meta", parent=head, charset="utf-8")
    _element("title", f"{_text(scenario['name'])} — nestmap scenario report", head)
    _element("style", _CSS, head)
    body = _element("body", parent=page)
    _element("h1", scenario["name"], body)
    _element(
        "p",
        f"nestmap scenario report, {datetime.now(UTC):%d %B %Y}. "
        f"Source: {_text(scenario.get('source') or 'not given')}",
        body,
        **{"class": "muted"},
    )
    _element("p", scenario.get("description"), body)
    figures = _element("div", parent=body, **{"class": "figures"})
    for label, value in (
        ("Families a year", f"{scenario.get('families_a_year', 0):,}"),
        ("Cost per family (report's basis)", _money(scenario.get("cost_per_family"))),
        ("Total annual cost", _money(scenario.get("total_cost"))),
        ("Total per family", _money(scenario.get("total_cost_per_family"))),
        ("Gap cells closed", comparison["summary"]["gap_cells_closed"]),
        ("Gap cells opened", comparison["summary"]["gap_cells_opened"]),
    ):
        figure = _element("div", parent=figures, **{"class": "figure"})
        _element("span", label, figure, **{"class": "muted"})
        _element("b", value, figure)
    costs = _element("p", parent=body, **{"class": "muted"})
    for number, line in enumerate(cost_lines(scenario)):
        if number:
            _element("br", parent=costs)
            costs[-1].tail = line
        else:
            costs.text = line
    _element("h2", "Coverage: specialised support by level and stage", body)
    _element(
        "p",
        "Red: no specialised service (a gap). Blue: a gap this scenario closes.",
        body,
        **{"class": "muted"},
    )
    _coverage(body, gaps_before, gaps_after, closed)
    _element("h2", "Demand and capacity (families a year)", body)
    _need(body, need_before, need_after)
    _element("h2", "Every change", body)
    rows = change_rows(comparison)
    if rows:
        _table(
            body,
            ["analysis", "change", "key", "before", "after"],
            [[r["analysis"], r["change"], r["key"], r["before"], r["after"]] for r in rows],
        )
    else:
        _element("p", "No analysis changes.", body)
    return "<!doctype html>\n" + ET.tostring(page, encoding="unicode", method="html")


def _coverage(
    parent: ET.Element, before: list[dict], after: list[dict], closed: set[tuple]
) -> None:
    areas = sorted({(r["area_code"], r["area_name"]) for r in after})
    # Both by key: one pass over each list (a national matrix has tens of thousands of cells).
    old = {(r["area_code"], r["level"], r["stage"]): r for r in before}
    new = {(r["area_code"], r["level"], r["stage"]): r for r in after}
    header = ["local authority", "level"] + [f"{stage} before / after" for stage in STAGES]
    rows, classes = [], []
    for code, name in areas:
        for level in LEVELS:
            row, css = [f"{name} ({code})", level], ["", ""]
            for stage in STAGES:
                key = (code, level, stage)
                now, was = new[key], old.get(key)
                was_text = (
                    "gap" if was is None or was["gap"] else ", ".join(was["specialised_services"])
                )
                now_text = "gap" if now["gap"] else ", ".join(now["specialised_services"])
                row.append(f"{was_text} / {now_text}")
                css.append("closed" if key in closed else ("gap" if now["gap"] else ""))
            rows.append(row)
            classes.append(css)
    _table(parent, header, rows, classes)


def _need(parent: ET.Element, before: list[dict], after: list[dict]) -> None:
    rows = [
        [row["area_code"], units.level_label(row["level"]), _families(row["demand"]),
         units.capacity_text(was.get("capacity"), was.get("unrecorded") or 0, 1),
         units.capacity_text(row["capacity"], row["unrecorded"], 1),
         units.shortfall_text(was.get("shortfall"), was.get("unrecorded") or 0, 1),
         units.shortfall_text(row["shortfall"], row["unrecorded"], 1)]
        for row, was in _need_pairs(before, after)
    ]  # fmt: skip
    header = ["area", "level", "demand", "capacity before", "capacity after", "shortfall before",
              "shortfall after"]  # fmt: skip
    _table(parent, header, rows)
    ET.SubElement(parent, "p", {"class": "muted"}).text = (
        "Families a year. " + units.STATUTORY_NOTE + " A shortfall resting on a capacity that is "
        "not recorded is at most the figure shown."
    )


def _families(value: float | None) -> str:
    return units.NOT_RECORDED if value is None else f"{value:,.1f}"


def _need_pairs(before: list[dict], after: list[dict]) -> list[tuple[dict, dict]]:
    """Each need row after the scenario with the same row before it ({} when there was none)."""
    old = {(r["area_code"], r["level"]): r for r in before}
    return [(row, old.get((row["area_code"], row["level"]), {})) for row in after]


def _shown_capacity(row: dict) -> float | None:
    """A capacity as a workbook cell: blank where nothing is recorded (never a 0 for it)."""
    if not row:
        return None
    return None if row["unrecorded"] and not row["capacity"] else row["capacity"]


def report_xlsx(
    summary: dict[str, Any],
    comparison: dict[str, Any],
    need_before: list[dict],
    need_after: list[dict],
) -> bytes:
    """The same report as a workbook: Summary, Changes and Need sheets."""
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Summary"
    for key in (
        "name",
        "description",
        "source",
        "families_a_year",
        "services_cost",
        "cost_per_family",
        "total_cost",
        "total_cost_per_family",
        "not_included",
    ):
        sheet.append([key, summary.get(key)])
    for cost in summary.get("other_costs") or []:
        sheet.append([f"other cost: {cost['item']}", cost["amount"]])
    for line in cost_lines(summary):
        sheet.append(["cost in words", line])
    for key in ("gap_cells_closed", "gap_cells_opened", "dead_ends_resolved", "dead_ends_appeared"):
        sheet.append([key, comparison["summary"][key]])
    for level, values in comparison["summary"]["shortfall_by_level"].items():
        name = "targeted + specialist" if level == "intervention" else units.level_label(level)
        for side in ("before", "after"):
            sheet.append([f"shortfall {name} {side}", values[side]])
            sheet.append(
                [
                    f"shortfall {name} {side}, as read",
                    units.shortfall_text(values[side], values[f"unrecorded_{side}"], 1),
                ]
            )
    sheet.append(["statutory", units.STATUTORY_NOTE])
    changes = book.create_sheet("Changes")
    changes.append(["analysis", "change", "key", "before", "after"])
    for row in change_rows(comparison):
        changes.append([row["analysis"], row["change"], row["key"], row["before"], row["after"]])
    need = book.create_sheet("Need")
    need.append(["area_code", "level", "demand", "capacity_before", "capacity_after",
                 "unrecorded_before", "unrecorded_after", "shortfall_before", "shortfall_after",
                 "shortfall_after_as_read"])  # fmt: skip
    for row, was in _need_pairs(need_before, need_after):
        need.append([row["area_code"], units.level_label(row["level"]), row["demand"],
                     _shown_capacity(was), _shown_capacity(row), was.get("unrecorded"),
                     row["unrecorded"], was.get("shortfall"), row["shortfall"],
                     units.shortfall_text(row["shortfall"], row["unrecorded"], 1)])  # fmt: skip
    for ws in book.worksheets:
        for cell in ws[1]:
            cell.font = Font(bold=True)
    buffer = io.BytesIO()
    text_not_formulas(book).save(buffer)  # names are user text, never formulas
    return buffer.getvalue()
