"""A scenario report fit to circulate after a workshop: self-contained HTML, or a workbook.

The HTML has no scripts and no external resources; every piece of user text is escaped.
"""

from __future__ import annotations

import html
import io
from datetime import UTC, datetime
from typing import Any

from nestmap.scenarios.compare import change_rows
from nestmap.scenarios.model import cost_lines
from nestmap.vocabulary import LEVELS, STAGES

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #1d2733; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; } h2 { margin-top: 2rem; font-size: 1.25rem; }
.muted { color: #5a6775; } .figures { display: flex; gap: 1rem; flex-wrap: wrap; }
.figure { border: 1px solid #d5dbe1; border-radius: 8px; padding: .7rem 1rem; min-width: 10rem; }
.figure b { display: block; font-size: 1.6rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #d5dbe1; padding: .3rem .55rem; text-align: left; vertical-align: top; }
th { background: #eef2f5; } td.gap { background: #f9d6d5; } td.closed { background: #c9ecd4; }
td.num { text-align: right; } td { overflow-wrap: anywhere; }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(header: list[str], rows: list[list[Any]], classes: list[list[str]] | None = None) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for index, row in enumerate(rows):
        cells = []
        for column, value in enumerate(row):
            css = classes[index][column] if classes else ""
            cells.append(f'<td class="{css}">{_e(value)}</td>' if css else f"<td>{_e(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


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
    """The before/after report as one self-contained HTML page."""
    scenario = summary
    closed = {
        tuple(c["key"])
        for c in comparison["changes"]
        if c["analysis"] == "gaps" and c["change"] == "closed"
    }
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(scenario['name'])} — nestmap scenario report</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_e(scenario['name'])}</h1>",
        f"<p class='muted'>nestmap scenario report, {datetime.now(UTC):%d %B %Y}. "
        f"Source: {_e(scenario.get('source') or 'not given')}</p>",
        f"<p>{_e(scenario.get('description'))}</p>",
        "<div class='figures'>",
        _figure("Families a year", f"{scenario.get('families_a_year', 0):,}"),
        _figure("Cost per family (report's basis)", _money(scenario.get("cost_per_family"))),
        _figure("Total annual cost", _money(scenario.get("total_cost"))),
        _figure("Total per family", _money(scenario.get("total_cost_per_family"))),
        _figure("Gap cells closed", comparison["summary"]["gap_cells_closed"]),
        _figure("Gap cells opened", comparison["summary"]["gap_cells_opened"]),
        "</div>",
        "<p class='muted'>" + "<br>".join(_e(line) for line in cost_lines(scenario)) + "</p>",
        "<h2>Coverage: specialised support by level and stage</h2>",
        "<p class='muted'>Red: no specialised service (a gap). Green: a gap this scenario closes."
        "</p>",
        _coverage(gaps_before, gaps_after, closed),
        "<h2>Demand and capacity (families a year)</h2>",
        _need(need_before, need_after),
        "<h2>Every change</h2>",
    ]
    rows = change_rows(comparison)
    parts.append(
        _table(
            ["analysis", "change", "key", "before", "after"],
            [[r["analysis"], r["change"], r["key"], r["before"], r["after"]] for r in rows],
        )
        if rows
        else "<p>No analysis changes.</p>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def _figure(label: str, value: Any) -> str:
    return f"<div class='figure'><span class='muted'>{_e(label)}</span><b>{_e(value)}</b></div>"


def _coverage(before: list[dict], after: list[dict], closed: set[tuple]) -> str:
    areas = sorted({(r["area_code"], r["area_name"]) for r in after})
    old = {(r["area_code"], r["level"], r["stage"]): r for r in before}
    header = ["local authority", "level"] + [f"{stage} before / after" for stage in STAGES]
    rows, classes = [], []
    for code, name in areas:
        for level in LEVELS:
            row, css = [f"{name} ({code})", level], ["", ""]
            for stage in STAGES:
                key = (code, level, stage)
                now = next(r for r in after if (r["area_code"], r["level"], r["stage"]) == key)
                was = old.get(key)
                was_text = (
                    "gap" if was is None or was["gap"] else ", ".join(was["specialised_services"])
                )
                now_text = "gap" if now["gap"] else ", ".join(now["specialised_services"])
                row.append(f"{was_text} / {now_text}")
                css.append("closed" if key in closed else ("gap" if now["gap"] else ""))
            rows.append(row)
            classes.append(css)
    return _table(header, rows, classes)


def _need(before: list[dict], after: list[dict]) -> str:
    old = {(r["area_code"], r["level"]): r for r in before}
    rows = []
    for row in after:
        was = old.get((row["area_code"], row["level"]), {})
        rows.append(
            [row["area_code"], row["level"], row["demand"], was.get("capacity"), row["capacity"],
             was.get("shortfall"), row["shortfall"]]
        )  # fmt: skip
    header = ["area", "level", "demand", "capacity before", "capacity after", "shortfall before",
              "shortfall after"]  # fmt: skip
    return _table(header, rows)


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
        sheet.append([f"shortfall {level} before", values["before"]])
        sheet.append([f"shortfall {level} after", values["after"]])
    changes = book.create_sheet("Changes")
    changes.append(["analysis", "change", "key", "before", "after"])
    for row in change_rows(comparison):
        changes.append([row["analysis"], row["change"], row["key"], row["before"], row["after"]])
    need = book.create_sheet("Need")
    need.append(["area_code", "level", "demand", "capacity_before", "capacity_after",
                 "shortfall_before", "shortfall_after"])  # fmt: skip
    old = {(r["area_code"], r["level"]): r for r in need_before}
    for row in need_after:
        was = old.get((row["area_code"], row["level"]), {})
        need.append([row["area_code"], row["level"], row["demand"], was.get("capacity"),
                     row["capacity"], was.get("shortfall"), row["shortfall"]])  # fmt: skip
    for ws in book.worksheets:
        for cell in ws[1]:
            cell.font = Font(bold=True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
