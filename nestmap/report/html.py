"""The mapping report as one self-contained HTML document (inline CSS and SVG, no scripts,
nothing fetched), print-ready for A4.

Every stated number is an element with ``data-figure="KEY"`` (and ``data-marked`` with a mark
after it when it rests on an illustrative or inferred value); every name from the dataset is
text escaped by ``markup.el``. The Content-Security-Policy forbids scripts and any fetch, so a
browser opening the file runs nothing even if a name were to slip through unescaped.

The printed layout: the cover (with "About this data" and the contents), the summary, the
detailed sections flowing one after another, the options, then the appendices; each of those
chapters starts a page, a heading is kept with what follows it, and a table's rows never split.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from nestmap import provenance as rules
from nestmap.report import sections
from nestmap.report.findings import (
    STATUTORY,
    UPTAKE_LEVELS,
    Finding,
    Option,
    ReportData,
    Shortfall,
    count,
    findings,
    money,
    one_place,
    plural,
    staff,
)
from nestmap.report.markup import Markup, el, join, raw
from nestmap.report.parts import MARK, fig, para, sentence, table
from nestmap.units import NOT_RECORDED

DEFAULT_MAX_ROWS = 1000

# (id, title) of each numbered section, in order; appendices are lettered. A section in
# CHAPTERS starts a printed page; the others follow on.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary of findings"),
    ("need", "Need against capacity"),
    ("coverage", "Provision and sufficiency"),
    ("age-bands", "Provision by the child's age"),
    ("referrals", "Referral flows, misdirected referrals and concentration"),
    ("pathways", "Pathways from universal services"),
    ("boundaries", "Boundaries and threshold cliffs"),
    ("assessment", "Assessment of the parent-infant relationship"),
    ("workforce", "Workforce competency"),
    ("groups", "Groups left out: fathers and partners"),
    ("options", "Options"),
)
APPENDICES: tuple[tuple[str, str], ...] = (
    ("services", "Every service mapped"),
    ("provenance", "Data provenance and quality"),
    ("method", "Method and words used"),
)
CHAPTERS = frozenset({"summary", "need"})

CSS = """
@page { size: A4; margin: 14mm 13mm 15mm;
  @bottom-center { content: counter(page) " / " counter(pages); font-size: 8pt; color: #5a6775; }
  @bottom-left { content: "nestmap mapping report"; font-size: 8pt; color: #5a6775; } }
@page :first { @bottom-left { content: none; } }
html { font-family: system-ui, "DejaVu Sans", sans-serif; color: #1d2733; font-size: 9.5pt;
  line-height: 1.35; }
body { margin: 0 auto; max-width: 60rem; padding: 1rem; }
h1 { font-size: 1.8rem; margin: 0 0 .2rem; }
h2 { font-size: 1.25rem; margin: 1.1rem 0 .45rem; border-bottom: 2px solid #1a9850;
  padding-bottom: .15rem; break-after: avoid; }
h3 { font-size: 1rem; margin: .8rem 0 .25rem; break-after: avoid; }
p { margin: .25rem 0 .4rem; }
section.chapter { break-before: page; } section.chapter > h2:first-child { margin-top: 0; }
.keep { break-inside: avoid; }
.muted { color: #5a6775; } .small { font-size: .85rem; }
.cover .scope { font-size: 1.35rem; margin: .1rem 0 .5rem; font-weight: 600; }
.about { border: 1px solid #d5dbe1; border-left: 4px solid #e08214; border-radius: 4px;
  padding: .35rem .7rem .45rem; margin: .6rem 0 .8rem; break-inside: avoid; }
.about h2 { border: none; margin: 0 0 .2rem; font-size: 1.05rem; }
.about dl { display: grid; grid-template-columns: 9.5rem 1fr; gap: .12rem .6rem; margin: 0; }
.about dt { font-weight: 600; } .about dd { margin: 0; }
ol.toc { padding-left: 0; list-style: none; margin: .2rem 0; columns: 1; }
ol.toc li { display: flex; gap: .4rem; border-bottom: 1px dotted #b8c2cc; padding: .1rem 0; }
ol.toc a { color: inherit; text-decoration: none; flex: 1; } ol.toc .page { min-width: 2rem;
  text-align: right; }
/* On screen the contents are links to tap: each at least 24 px tall (WCAG 2.2 target size). */
@media screen { ol.toc li { padding: .25rem 0; } ol.toc a { min-height: 24px; } }
.finding { margin: 0 0 .5rem; break-inside: avoid; } .finding h3 { margin: 0 0 .1rem; }
.finding p { margin: 0; } a.more { font-size: .8rem; color: #5a6775; }
.fig { font-weight: 700; } .term { white-space: nowrap; } .name { white-space: normal; }
sup.mark { color: #b35806; font-weight: 700; font-size: .75em; margin-left: .05em; }
table { border-collapse: collapse; margin: .3rem 0 .6rem; font-size: .8rem; width: 100%; }
thead { display: table-header-group; } tr { break-inside: avoid; }
th, td { border: 1px solid #d5dbe1; padding: .16rem .35rem; text-align: left;
  vertical-align: top; }
td.free { overflow-wrap: break-word; } td.nowrap { white-space: nowrap; }
th { background: #eef2f5; } td.num, th.num { text-align: right; white-space: nowrap; }
td.gap, span.gap { color: #a50f15; font-weight: 600; } td.ok { color: #1a6b3a; }
tr.apart td { border-top: 2px solid #7a8896; } tr.sum td { font-weight: 600; }
tr.unmet td { background: #fbf3ea; } tr.group td { font-weight: 600; background: #f6f8fa; }
table.options td:first-child { width: 30%; }
table.options td, table.options th { padding: .14rem .3rem; }
.panels { display: flex; flex-wrap: wrap; gap: .4rem 1rem; }
.panel, svg { break-inside: avoid; } svg { max-width: 100%; height: auto; }
.note { font-size: .8rem; color: #5a6775; }
table.compact { font-size: .72rem; } table.compact td, table.compact th { padding: .1rem .25rem; }
ol.footnotes { columns: 2; column-gap: 1.2rem; font-size: .72rem; line-height: 1.25;
  padding-left: 1.6rem; margin: .3rem 0; color: #3a4653; }
ol.footnotes li { break-inside: avoid; margin-bottom: .18rem; }
dl.method dt { font-weight: 700; margin-top: .3rem; break-after: avoid; }
dl.method dd { margin: 0 0 0 1rem; break-inside: avoid; }
@media print { body { max-width: none; padding: 0; } a { color: inherit; } }
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def nestmap_version() -> str:
    try:
        return version("nestmap")
    except PackageNotFoundError:
        return "unknown"


def numbering() -> dict[str, str]:
    """Section id -> its number ("1") or letter ("A")."""
    found = {ident: str(n) for n, (ident, _t) in enumerate(SECTIONS, start=1)}
    found.update({ident: chr(ord("A") + n) for n, (ident, _t) in enumerate(APPENDICES)})
    return found


def headings() -> dict[str, str]:
    """Section id -> its heading as printed (to find its page in the printed PDF)."""
    found = {ident: f"{n}. {title}" for n, (ident, title) in enumerate(SECTIONS, start=1)}
    for n, (ident, title) in enumerate(APPENDICES):
        found[ident] = f"Appendix {chr(ord('A') + n)}. {title}"
    return found


# -- the document --------------------------------------------------------------------------
def render(
    data: ReportData,
    max_rows: int = DEFAULT_MAX_ROWS,
    pages: Mapping[str, int] | None = None,
    generated: datetime | None = None,
) -> str:
    """The report as one HTML string. ``pages`` (section id -> page number) fills in the
    contents' page numbers for the PDF; ``max_rows`` bounds each long table (0: no bound)."""
    limit = max_rows if max_rows > 0 else None
    generated = generated or datetime.now(UTC)
    numbered = numbering()
    builders: dict[str, Callable[[], list[Any]]] = {
        "summary": lambda: _summary(data, findings(data), numbered),
        "need": lambda: sections.need(data, limit),
        "coverage": lambda: sections.coverage(data, limit),
        "age-bands": lambda: sections.age_bands(data, limit),
        "referrals": lambda: sections.referrals(data, limit),
        "pathways": lambda: sections.pathways(data, limit),
        "boundaries": lambda: sections.boundaries(data, limit),
        "assessment": lambda: sections.assessment(data, limit),
        "workforce": lambda: sections.workforce(data, limit),
        "groups": lambda: sections.groups(data, limit),
        "options": lambda: sections.options(data),
        "services": lambda: sections.services(data, limit),
        "provenance": lambda: sections.provenance(data),
        "method": lambda: sections.method(data),
    }
    body = [_cover(data, numbered, pages or {}, generated)]
    for ident, title in SECTIONS:
        body.append(_section(f"{numbered[ident]}.", ident, title, builders[ident]()))
    for ident, title in APPENDICES:
        body.append(_section(f"Appendix {numbered[ident]}.", ident, title, builders[ident]()))
    document = el(
        "html",
        {"lang": "en"},
        el(
            "head",
            None,
            el("meta", {"charset": "utf-8"}),
            el("meta", {"http-equiv": "Content-Security-Policy", "content": CSP}),
            el("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
            el("title", None, f"Mapping report: {data.scope_name}"),
            el("style", None, raw(CSS)),
        ),
        el("body", None, body),
    )
    return "<!doctype html>\n" + document


def _section(number: str, ident: str, title: str, children: Sequence[Any]) -> Markup:
    """A section; its heading stays on a page with what follows it (``break-after: avoid``)."""
    css = "part chapter" if ident in CHAPTERS else "part"
    return el(
        "section", {"class": css, "id": ident}, el("h2", None, f"{number} {title}"), *children
    )


# -- the cover: what the report is about, the data behind it, the contents ------------------
def _cover(
    data: ReportData,
    numbered: Mapping[str, str],
    pages: Mapping[str, int],
    generated: datetime,
) -> Markup:
    entries = [
        el(
            "li",
            None,
            el(
                "a",
                {"href": f"#{ident}"},
                f"{numbered[ident]}. "
                if ident not in dict(APPENDICES)
                else f"Appendix {numbered[ident]}. ",
                title,
            ),
            el(
                "span",
                {"class": "page", "data-toc": ident},
                str(pages[ident]) if ident in pages else None,
            ),
        )
        for ident, title in [*SECTIONS, *APPENDICES]
    ]
    return el(
        "header",
        {"class": "cover"},
        para("Parent-infant relationship support from conception to age two", css="muted"),
        el("h1", None, "Mapping report"),
        el("p", {"class": "scope"}, el("span", {"class": "name"}, data.scope_name)),
        para(_scope_line(data), css="small"),
        para(
            "Report made ",
            generated.strftime("%d %B %Y"),
            " by nestmap ",
            nestmap_version(),
            " from the data loaded on ",
            _day(data.dataset.get("loaded_at")),
            ".",
            css="muted small",
        ),
        _about_data(data),
        el("h2", None, "Contents"),
        el("ol", {"class": "toc"}, entries),
    )


def _day(stamp: object) -> str:
    try:
        return datetime.fromisoformat(str(stamp)).strftime("%d %B %Y")
    except ValueError:
        return "an unrecorded date"


def _scope_line(data: ReportData) -> list[Any]:
    las = len(data.las)
    if data.area is not None:
        return [
            "One local authority: the services that cover it, and the referral links they make."
        ]
    regions = [str(r["name"]) for r in data.regions]
    return [
        fig("about.las", count(las)),
        f" local {plural(las, 'authority', 'authorities')}",
        [" in ", el("span", {"class": "name"}, "; ".join(regions))] if regions else "",
        "; ",
        fig("about.services", count(len(data.services))),
        f" {plural(len(data.services), 'service', 'services')} mapped, ",
        fig("about.services_active", count(sum(s["status"] == "active" for s in data.services))),
        " of them active.",
    ]


def _about_data(data: ReportData) -> Markup:
    """Where the data comes from, when it was collected, how much of it is illustrative, and
    what the report's mark means: before any figure is read."""
    about = data.about
    marks = data.marks
    services = data.services
    illustrative_services = sum(s["id"] in marks.services for s in services)
    quality = data.quality
    rows = data.workforce["services"]
    posts = sum(r["practitioners"] for r in rows)
    marked_posts = sum(r["practitioners"] for r in rows if r["service_id"] in marks.workforce)
    every = staff(data, (0, 1, 2, 3))
    marked_fte = sum(
        (
            Decimal(str(r[f"fte_level_{n}"]))
            for r in rows
            if r["service_id"] in marks.workforce
            for n in (0, 1, 2, 3)
        ),
        Decimal(0),
    )
    scope = {la["code"] for la in data.las}
    populated = sum(la["under2_population"] is not None for la in data.las)
    inferred = sorted(code for code in data.population["marked"] if code in scope)
    in_scope = {s["id"] for s in services}
    split = sum(key[0] in in_scope for key in marks.split)
    items: list[tuple[str, Any]] = [
        (
            "Where it comes from",
            el("span", {"class": "free"}, about["source"])
            if about.get("source")
            else "the dataset does not say as a whole; every record names its own source "
            "(Appendix A).",
        ),
        ("When collected", about.get("collected") or "not recorded in the dataset."),
    ]
    if about.get("method"):
        items.append(("Method", el("span", {"class": "free"}, about["method"])))
    items.append(
        (
            "How much is illustrative",
            [
                fig("about.services_illustrative", count(illustrative_services)),
                " of ",
                fig("about.services", count(len(services))),
                " services and ",
                fig("about.links_illustrative", count(quality["illustrative"])),
                " of ",
                fig("about.links", count(quality["links"])),
                " referral links are modelling assumptions, not records of what exists; ",
                *(
                    [
                        "the counts of ",
                        fig("about.links_split", count(split)),
                        " more are an assumed split of a total their source gives (the total is "
                        "the source's own figure); ",
                    ]
                    if split
                    else []
                ),
                *(
                    [
                        fig("about.staff_rows_illustrative", count(marked_posts)),
                        " of ",
                        fig("about.staff_rows", count(posts)),
                        " staff rows (",
                        fig("about.fte_illustrative", one_place(marked_fte)),
                        " of ",
                        fig("about.fte", one_place(every.fte)),
                        " FTE) are in services whose source marks their staff rows illustrative "
                        "(placeholders, or a total split between services); ",
                    ]
                    if posts
                    else ["no staff are recorded; "]
                ),
                "the under-2 populations of ",
                fig("about.las_population_inferred", count(len(inferred))),
                " of ",
                fig("about.las_with_population", count(populated)),
                f" local {plural(populated, 'authority', 'authorities')} with one are inferred "
                "or illustrative.",
            ],
        )
    )
    note = rules.population_note(
        {
            "marked": inferred,
            "unsourced": [c for c in data.population["unsourced"] if c in scope],
            "sources": data.population["sources"],
        },
        {a["code"]: a["name"] for a in data.areas},
    )
    if note:
        items.append(("Populations", el("span", {"class": "free"}, note)))
    items.append(
        (
            "Reading the figures",
            [
                el("sup", {"class": "mark"}, MARK),
                " after a figure: it rests on one of these illustrative or inferred values. A "
                "blank in the data is shown as ",
                el("i", None, "not recorded"),
                ", never as 0. Referral counts name their unit: referrals a year (from records) "
                "or survey mentions (how many staff said they would refer there). Counts of the "
                "data's own records, as in this box, are not marked.",
            ],
        )
    )
    return el(
        "div",
        {"class": "about", "id": "about-data"},
        el("h2", None, "About this data"),
        el(
            "dl", None, [join([el("dt", None, term), el("dd", None, text)]) for term, text in items]
        ),
    )


# -- the summary: what matters most first, then the options side by side ------------------
def _summary(data: ReportData, found: Sequence[Finding], numbered: Mapping[str, str]) -> list[Any]:
    items = [
        el(
            "div",
            {"class": "finding"},
            el("h3", None, item.title),
            el(
                "p",
                None,
                join([sentence(s), " "] for s in item.sentences),
                el(
                    "a",
                    {"class": "more", "href": f"#{item.section}"},
                    f"→ section {numbered[item.section]}",
                ),
            ),
        )
        for item in found
    ]
    parts: list[Any] = [
        para(
            "What the loaded data shows, what families lack first; each finding links to the "
            "section with the tables behind it.",
            css="note",
        ),
        *items,
    ]
    if data.options:
        parts.append(
            el(
                "div",
                {"class": "keep"},
                el("h3", None, "The options side by side"),
                options_table(data),
            )
        )
        parts.append(options_note(data))
    return parts


def options_table(data: ReportData) -> Markup:
    """The options side by side, as a commissioning report's options table sets them out
    (*Securing Healthy Lives*' table 2, for one): staffing, families a year,
    cost, cost per family; then the shortfall each leaves per level (now, in the row's label),
    a line for what each leaves unmet, and the statutory row apart."""
    options = list(enumerate(data.options, 1))
    header = ["", *[o.summary.get("name") or f"Option {i}" for i, o in options]]
    roles = list(dict.fromkeys(role for _i, o in options for role in o.staffing))
    rows: list[list[Any]] = []
    css: dict[int, str] = {}
    if roles:
        css[len(rows)] = "group"
        rows.append(["Staff (FTE)", *["" for _ in options]])
        rows += [
            [_role(role), *[_fte(o.staffing.get(role)) for _i, o in options]] for role in roles
        ]
        css[len(rows)] = "sum"
        rows.append(["in all", *[_fte(sum(o.staffing.values(), Decimal(0))) for _i, o in options]])
    rows += [
        [
            "Families a year seen directly",
            *[
                fig(f"option.{i}.families", count(o.summary.get("families_a_year") or 0), o.marked)
                for i, o in options
            ],
        ],
        [
            "Added services' cost a year",
            *[
                fig(f"option.{i}.services_cost", money(o.services_cost), o.marked)
                for i, o in options
            ],
        ],
        [
            "Cost per family (added services' cost ÷ families)",
            *[
                fig(f"option.{i}.cost_per_family", money(o.summary["cost_per_family"]), o.marked)
                if o.summary.get("cost_per_family") is not None
                else "-"
                for i, o in options
            ],
        ],
        [
            "Total cost a year, other costs included",
            *[
                fig(f"option.{i}.total_cost", money(o.summary.get("total_cost")), o.marked)
                for i, o in options
            ],
        ],
        [
            "Gap cells closed",
            *[fig(f"option.{i}.gaps_closed", count(o.gaps_closed), o.marked) for i, o in options],
        ],
    ]
    first = data.options[0]
    for level in UPTAKE_LEVELS:
        rows.append(
            [
                join(
                    [
                        f"Shortfall after, {level} (now ",
                        _need_cell(first, "before", level, "option.now"),
                        ")",
                    ]
                ),
                *[_need_cell(o, "after", level, f"option.{i}") for i, o in options],
            ]
        )
    css[len(rows)] = "unmet"
    rows.append(["Leaves unmet", *[(join(_unmet(data, o, i)), "wrap") for i, o in options]])
    css[len(rows)] = "apart"
    rows.append(
        [
            join(
                [
                    "Statutory, apart: may need help, unlikely to access it; held by social care "
                    "(now ",
                    _need_cell(first, "before", STATUTORY, "option.now"),
                    ")",
                ]
            ),
            *[_need_cell(o, "after", STATUTORY, f"option.{i}") for i, o in options],
        ]
    )
    numeric = tuple(range(1, len(header)))
    return table(header, rows, numeric=numeric, css="options", row_css=css)


def _role(role: str) -> str:
    """A role without its bracketed detail ("Team lead", not "Team lead (clinical ...)")."""
    return role.split(" (", 1)[0].strip() or role


def _fte(value: Decimal | None) -> str:
    return "none" if not value else f"{value:,.1f}"


def _need_cell(option: Option, side: str, level: str, key: str) -> Any:
    need = option.shortfall.get(level, {}).get(side)
    if need is None:
        return NOT_RECORDED
    return sections.shortfall_cell(need, f"{key}.shortfall.{level}")


def _unmet(data: ReportData, option: Option, index: int) -> list[Any]:
    """What an option leaves unmet at the levels families are expected to take up."""
    short: list[tuple[str, Shortfall]] = [
        (level, need)
        for level in UPTAKE_LEVELS
        if (need := option.shortfall.get(level, {}).get("after")) is not None and need.shortfall > 0
    ]
    if not short:
        return ["none of the targeted or specialist demand estimated."]
    parts: list[Any] = []
    for n, (level, need) in enumerate(short):
        if n:
            parts.append(" and ")
        parts += [
            "at most " if need.unrecorded else "",
            fig(f"option.{index}.unmet.{level}", one_place(need.shortfall), need.shortfall_marked),
            f" {level}",
        ]
    return [*parts, " families a year."]


def options_note(data: ReportData) -> Markup:
    notes = [
        "Shortfall: estimated demand minus recorded specialised capacity (section 2); "
        '"at most" where some capacity is not recorded. The cost per family is the added '
        "services' cost divided by their families a year; the total adds the option's other "
        "cost items.",
    ]
    not_included = {o.summary.get("not_included") for o in data.options} - {None, ""}
    if len(not_included) == 1:
        notes.append(f" Neither includes {not_included.pop()}.")
    return para(*notes, css="note")
