"""The mapping report as one self-contained HTML document (inline CSS and SVG, no scripts,
nothing fetched), print-ready for A4.

Every stated number is an element with ``data-figure="KEY"``; every name from the dataset is
text escaped by ``markup.el``. The Content-Security-Policy forbids scripts and any fetch, so a
browser opening the file runs nothing even if a name were to slip through unescaped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from nestmap.report import svg
from nestmap.report.findings import (
    Figure,
    Finding,
    Name,
    ReportData,
    Segment,
    Term,
    count,
    findings,
    gap_cells_by_la,
    misdirected_relationship,
    money,
    need_totals,
    one_place,
    percent,
    relationship_total,
    workforce_posts,
)
from nestmap.report.markup import Markup, el, join, raw
from nestmap.vocabulary import AIMH_LEVELS, LEVELS, NEED_LEVELS
from nestmap.vocabulary import label as vocabulary_label

DEFAULT_MAX_ROWS = 1000
MAX_MAP_LABELS = 40

# (id, title) of each numbered section, in order; appendices are lettered.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary of findings"),
    ("about", "About this report"),
    ("coverage", "Provision: the coverage matrix"),
    ("age-bands", "Provision by the child's age"),
    ("referrals", "Referral flows, misdirected referrals and concentration"),
    ("boundaries", "Boundaries and threshold cliffs"),
    ("pathways", "Pathways from universal services"),
    ("assessment", "Assessment of the parent-infant relationship"),
    ("workforce", "Workforce competency"),
    ("groups", "Groups left out: fathers and partners"),
    ("need", "Need against capacity"),
    ("options", "Options"),
)
APPENDICES: tuple[tuple[str, str], ...] = (
    ("services", "Every service mapped"),
    ("provenance", "Data provenance and quality"),
    ("method", "Method"),
)

CSS = """
@page { size: A4; margin: 16mm 14mm 18mm;
  @bottom-center { content: counter(page) " / " counter(pages); font-size: 8.5pt; color: #5a6775; }
  @bottom-left { content: "nestmap mapping report"; font-size: 8.5pt; color: #5a6775; } }
@page :first { @bottom-left { content: none; } }
html { font-family: system-ui, "DejaVu Sans", sans-serif; color: #1d2733; font-size: 10.5pt;
  line-height: 1.4; }
body { margin: 0 auto; max-width: 60rem; padding: 1rem; }
h1 { font-size: 1.9rem; margin: 0 0 .3rem; } h2 { font-size: 1.35rem; margin: 0 0 .6rem;
  border-bottom: 2px solid #1a9850; padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin: 1rem 0 .3rem; }
section.part { break-before: page; padding-top: .2rem; }
.muted { color: #5a6775; } .small { font-size: .85rem; }
.cover { break-after: page; } .cover .scope { font-size: 1.4rem; margin: .2rem 0 1rem; }
ol.toc { padding-left: 0; list-style: none; } ol.toc li { display: flex; gap: .4rem;
  border-bottom: 1px dotted #b8c2cc; padding: .18rem 0; }
ol.toc a { color: inherit; text-decoration: none; flex: 1; } ol.toc .page { min-width: 2rem;
  text-align: right; }
.finding { margin: 0 0 .7rem; break-inside: avoid; } .finding h3 { margin: 0 0 .15rem; }
.finding p { margin: 0; } a.more { font-size: .85rem; }
.figure, .fig { font-weight: 700; } .term { white-space: nowrap; }
table { border-collapse: collapse; margin: .4rem 0 .9rem; font-size: .82rem; width: 100%; }
thead { display: table-header-group; } tr { break-inside: avoid; }
th, td { border: 1px solid #d5dbe1; padding: .22rem .4rem; text-align: left; vertical-align: top; }
td.free { overflow-wrap: anywhere; }
th { background: #eef2f5; } td.num, th.num { text-align: right; white-space: nowrap; }
td.gap, span.gap { color: #a50f15; font-weight: 600; } td.ok { color: #1a6b3a; }
.panels { display: flex; flex-wrap: wrap; gap: .8rem 1.2rem; }
.panel, svg { break-inside: avoid; } svg { max-width: 100%; height: auto; }
.note { font-size: .85rem; color: #5a6775; }
.cards { display: flex; flex-wrap: wrap; gap: .6rem; margin: .4rem 0 .8rem; }
.card { border: 1px solid #d5dbe1; border-radius: 6px; padding: .4rem .7rem; min-width: 8rem; }
.card b { display: block; font-size: 1.2rem; }
@media print { body { max-width: none; padding: 0; } a { color: inherit; } }
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def nestmap_version() -> str:
    try:
        return version("nestmap")
    except PackageNotFoundError:
        return "unknown"


# -- small builders ------------------------------------------------------------------------
def fig(key: str, text: str) -> Markup:
    return el("span", {"class": "fig", "data-figure": key}, text)


def sentence(segments: Sequence[Segment]) -> Markup:
    parts: list[Any] = []
    for segment in segments:
        if isinstance(segment, Figure):
            parts.append(fig(segment.key, segment.text))
        elif isinstance(segment, Name):
            parts.append(el("span", {"class": "name"}, segment.text))
        elif isinstance(segment, Term):
            parts.append(el("span", {"class": "term"}, segment.text))
        else:
            parts.append(segment)
    return join(parts)


Cell = Any  # text, Markup, or (text, css class)


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    numeric: Sequence[int] = (),
    total: int | None = None,
    command: str | None = None,
) -> Markup:
    """A table; ``numeric`` column indexes align right. ``total`` > len(rows) adds a note that
    only the first rows are shown, and ``command`` says how to get them all."""
    head = el(
        "thead",
        None,
        el(
            "tr",
            None,
            [el("th", {"class": "num" if i in numeric else None}, h) for i, h in enumerate(header)],
        ),
    )
    body_rows = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            css = "num" if i in numeric else None
            if isinstance(cell, tuple):
                cell, css = cell
            cells.append(el("td", {"class": css}, cell))
        body_rows.append(el("tr", None, cells))
    note = None
    if total is not None and total > len(rows):
        note = el(
            "p",
            {"class": "note"},
            f"The first {len(rows):,} of {total:,} rows are shown"
            + (f"; `{command}` lists them all." if command else "."),
        )
    return join([el("table", None, head, el("tbody", None, body_rows)), note])


def names_list(ids: Sequence[str], names: Mapping[str, str], limit: int = 8) -> str:
    shown = [names.get(i, i) for i in ids[:limit]]
    rest = len(ids) - limit
    return "; ".join(shown) + (f"; and {rest:,} more" if rest > 0 else "") if ids else "none"


def section(number: str, ident: str, title: str, *children: Any) -> Markup:
    return el(
        "section",
        {"class": "part", "id": ident},
        el("h2", None, f"{number} {title}"),
        *children,
    )


def para(*children: Any, css: str | None = None) -> Markup:
    return el("p", {"class": css}, *children)


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
    scope = data.scope_name
    found = findings(data)
    sections = [(i, t) for i, t in SECTIONS if i != "age-bands" or data.age_bands is not None]
    numbered = {ident: str(n) for n, (ident, _t) in enumerate(sections, start=1)}
    numbered.update({ident: chr(ord("A") + n) for n, (ident, _t) in enumerate(APPENDICES)})
    builders: dict[str, Callable[[], list[Any]]] = {
        "summary": lambda: _summary(found, numbered),
        "about": lambda: _about(data),
        "coverage": lambda: _coverage(data, limit),
        "age-bands": lambda: _age_bands(data, limit),
        "referrals": lambda: _referrals(data, limit),
        "boundaries": lambda: _boundaries(data, limit),
        "pathways": lambda: _pathways(data, limit),
        "assessment": lambda: _assessment(data, limit),
        "workforce": lambda: _workforce(data, limit),
        "groups": lambda: _groups(data, limit),
        "need": lambda: _need(data, limit),
        "options": lambda: _options(data),
        "services": lambda: _services(data, limit),
        "provenance": lambda: _provenance(data),
        "method": lambda: _method(),
    }
    body = [_cover(data, scope, sections, numbered, pages or {}, generated)]
    for ident, title in sections:
        body.append(section(f"{numbered[ident]}.", ident, title, *builders[ident]()))
    for ident, title in APPENDICES:
        body.append(section(f"Appendix {numbered[ident]}.", ident, title, *builders[ident]()))
    document = el(
        "html",
        {"lang": "en"},
        el(
            "head",
            None,
            el("meta", {"charset": "utf-8"}),
            el("meta", {"http-equiv": "Content-Security-Policy", "content": CSP}),
            el("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
            el("title", None, f"Mapping report: {scope}"),
            el("style", None, raw(CSS)),
        ),
        el("body", None, body),
    )
    return "<!doctype html>\n" + document


def _cover(
    data: ReportData,
    scope: str,
    sections: Sequence[tuple[str, str]],
    numbered: Mapping[str, str],
    pages: Mapping[str, int],
    generated: datetime,
) -> Markup:
    info = data.dataset
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
        for ident, title in [*sections, *APPENDICES]
    ]
    return el(
        "header",
        {"class": "cover"},
        para("Parent-infant relationship support from conception to age two", css="muted"),
        el("h1", None, "Mapping report"),
        para(scope, css="scope"),
        para(
            "Dataset ",
            el("span", {"class": "name"}, info.get("dataset") or "-"),
            ", loaded ",
            info.get("loaded_at") or "-",
            ". Report made ",
            generated.strftime("%d %B %Y %H:%M UTC"),
            " by nestmap ",
            nestmap_version(),
            ".",
            css="muted small",
        ),
        el("h2", None, "Contents"),
        el("ol", {"class": "toc"}, entries),
    )


def _summary(found: Sequence[Finding], numbered: Mapping[str, str]) -> list[Any]:
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
    return [
        para(
            "Each finding is worked out from the loaded data; the section it links to has the "
            "tables and figures behind it.",
            css="note",
        ),
        *items,
    ]


def _about(data: ReportData) -> list[Any]:
    active = sum(s["status"] == "active" for s in data.services)
    regions = [r["name"] for r in data.regions]
    scope_text: list[Any]
    if data.area is not None:
        scope_text = [
            "This report covers one local authority, ",
            el("span", {"class": "name"}, data.scope_name),
            ": the services that cover it, and the referral links they make.",
        ]
    else:
        scope_text = [
            "This report covers ",
            fig("about.las", count(len(data.las))),
            " local authorities",
            [" in ", el("span", {"class": "name"}, "; ".join(regions))] if regions else "",
            ".",
        ]
    return [
        para(*scope_text),
        el(
            "div",
            {"class": "cards"},
            el(
                "div",
                {"class": "card"},
                "Services mapped",
                el("b", None, fig("about.services", count(len(data.services)))),
            ),
            el(
                "div",
                {"class": "card"},
                "Active",
                el("b", None, fig("about.services_active", count(active))),
            ),
            el(
                "div",
                {"class": "card"},
                "Local authorities",
                el("b", None, fig("about.las", count(len(data.las)))),
            ),
        ),
        el("h3", None, "Words used"),
        el(
            "ul",
            None,
            el(
                "li",
                None,
                el("b", None, "Levels of need"),
                ": universal (every family), targeted (families who need some help), statutory "
                "(families in the child protection system) and specialist (work needing a "
                "specialist intervention or skill set).",
            ),
            el(
                "li",
                None,
                el("b", None, "Specialised"),
                " work directly addresses the quality of the parent-infant relationship; "
                "non-specialised work reduces risk or strengthens protective factors as part of "
                "wider work. Specialist (a level) is not specialised (a focus).",
            ),
            el(
                "li",
                None,
                el("b", None, "Stages"),
                ": antenatal (conception to birth) and postnatal (birth to the second birthday).",
            ),
            el(
                "li",
                None,
                el("b", None, "Active"),
                " services take part in the analyses; inactive, defunct "
                "and temporarily closed ones are listed in the appendix.",
            ),
        ),
        para(
            "The method behind every figure is in the Method appendix; where each value comes "
            "from, and which are illustrative, is in the provenance appendix.",
            css="note",
        ),
    ]


def _coverage(data: ReportData, limit: int | None) -> list[Any]:
    by_la: dict[str, list[dict]] = {}
    for row in data.gaps:
        by_la.setdefault(row["area_code"], []).append(row)
    codes = list(by_la)[:limit] if limit else list(by_la)
    panels = [
        el("div", {"class": "panel"}, _matrix(code, data.la_names.get(code, code), by_la[code]))
        for code in codes
    ]
    counts = gap_cells_by_la(data)
    rows = [
        [
            data.la_names.get(code, code),
            code,
            fig(f"gaps.la.{code}.gap_cells", count(gap)),
            fig(f"gaps.la.{code}.cells", count(total)),
        ]
        for code, (gap, total) in list(counts.items())[: limit or None]
    ]
    parts: list[Any] = [
        para(
            "Each local authority's grid shows, per level of need and stage, whether any active "
            "service covering it offers specialised parent-infant relationship work there. Red: a "
            "gap. Teal: the number of specialised services."
        ),
        el("div", {"class": "panels"}, panels),
    ]
    if limit and len(by_la) > limit:
        parts.append(
            para(
                f"The first {limit:,} of {len(by_la):,} local authorities are drawn; "
                "`nestmap gaps --format csv` lists every cell.",
                css="note",
            )
        )
    parts += [
        el("h3", None, "Gap cells per local authority"),
        table(
            ["local authority", "code", "gap cells", "cells"],
            rows,
            numeric=(2, 3),
            total=len(counts),
            command="nestmap gaps --format csv",
        ),
    ]
    parts += _map(data, counts)
    return parts


def _matrix(code: str, name: str, rows: list[dict]) -> Markup:
    return svg.coverage_matrix(rows, f"{name} ({code})")


def _map(data: ReportData, counts: Mapping[str, tuple[int, int]]) -> list[Any]:
    from nestmap.dashboard.geo import ATTRIBUTION, boundaries

    shapes = boundaries()
    values = {code: gap for code, (gap, _total) in counts.items()}
    cells = max((total for _gap, total in counts.values()), default=0)
    drawing = (
        svg.region_map(shapes, values, data.la_names, cells, "gap cells", MAX_MAP_LABELS)
        if values
        else None
    )
    if drawing is None:
        return [
            el("h3", None, "Map"),
            para(
                "No bundled boundary matches these local authorities' codes, so no map is "
                "drawn; the table above has the same figures.",
                css="note",
            ),
        ]
    missing = sum(code not in shapes for code in values)
    return [
        el(
            "div",
            {"class": "panel"},
            el("h3", None, "Map: gap cells per local authority"),
            drawing,
            para(
                ATTRIBUTION
                + (
                    f" {missing:,} local authorities have no bundled boundary and are not drawn."
                    if missing
                    else ""
                ),
                css="note",
            ),
        ),
    ]


def _age_bands(data: ReportData, limit: int | None) -> list[Any]:
    rows = data.age_bands or []
    bands = list(dict.fromkeys(row["band"] for row in rows))
    grid: dict[tuple[str, str], dict[str, dict]] = {}
    for row in rows:
        grid.setdefault((row["area_code"], row["level"]), {})[row["band"]] = row
    table_rows = []
    for (code, level), cells in list(grid.items())[: limit or None]:
        line: list[Cell] = [data.la_names.get(code, code), level]
        for band in bands:
            cell = cells.get(band)
            if cell is None or cell["gap"]:
                line.append(("gap", "num gap"))
            else:
                line.append(
                    (
                        fig(
                            f"age_bands.{code}.{level}.{band}",
                            count(len(cell["specialised_services"])),
                        ),
                        "num ok",
                    )
                )
        table_rows.append(line)
    return [
        para(
            "Postnatal specialised help by the child's age in months: a service counts for an age "
            "band when its age range overlaps it. A cell shows how many specialised services "
            "reach that band, or a gap."
        ),
        table(
            ["local authority", "level", *[f"{band} months" for band in bands]],
            table_rows,
            numeric=tuple(range(2, 2 + len(bands))),
            total=len(grid),
            command="nestmap age-bands --format csv",
        ),
    ]


def _referrals(data: ReportData, limit: int | None) -> list[Any]:
    names = data.names
    total = relationship_total(data)
    wrong = {
        (r["from_service"], r["to_service"]): r.get("onward")
        for r in misdirected_relationship(data)
    }
    parts: list[Any] = [el("h3", None, "Flows of parent-infant relationship referrals")]
    if data.flows:
        parts += [
            svg.flows(data.flows, wrong, names),
            para(
                f"The {len(data.flows):,} largest links by referrals a year (blank counts as 0). "
                "Red: misdirected to a dead end; orange: misdirected, but the destination can "
                "pass the family on to specialised help (an onward route); grey: not "
                "misdirected. Line width: referrals a year.",
                css="note",
            ),
        ]
    else:
        parts.append(para("No parent-infant relationship referral links are recorded."))
    parts.append(el("h3", None, "Where they go"))
    conc_rows = [
        [
            names.get(r["to_service"], r["to_service"]),
            fig(f"concentration.{i}.count", count(r["count"])),
            fig(f"concentration.{i}.share", percent(r["count"], total)) if total else "-",
            "yes" if r["specialised"] else ("no", "gap"),
        ]
        for i, r in enumerate(data.concentration[:limit])
    ]
    parts.append(
        table(
            ["destination", "referrals a year", "share", "specialised support"],
            conc_rows,
            numeric=(1, 2),
            total=len(data.concentration),
            command="nestmap concentration --format csv",
        )
    )
    parts.append(el("h3", None, "Misdirected referral links"))
    has_onward = all("onward" in r for r in data.misdirected)
    header = ["from", "to", "reason", "referrals a year", "problems"] + (
        ["onward route"] if has_onward else []
    )
    mis_rows = []
    for i, r in enumerate(data.misdirected[:limit]):
        line: list[Cell] = [
            names.get(r["from_service"], r["from_service"]),
            names.get(r["to_service"], r["to_service"]),
            vocabulary_label(r["reason"]),
            fig(f"misdirected.{i}.count", count(r["count"])) if r["count"] is not None else "blank",
            ", ".join(vocabulary_label(p) for p in r["problems"]),
        ]
        if has_onward:
            line.append("yes" if r["onward"] else ("dead end", "gap"))
        mis_rows.append(line)
    if mis_rows:
        parts.append(
            table(
                header,
                mis_rows,
                numeric=(3,),
                total=len(data.misdirected),
                command="nestmap misdirected --format csv",
            )
        )
    else:
        parts.append(para("No referral link is misdirected."))
    return parts


def _boundaries(data: ReportData, limit: int | None) -> list[Any]:
    names = data.names
    cliff_rows = [
        [
            data.la_names.get(r["area_code"], r["area_code"]),
            r["stage"],
            names_list(r["below"], names),
            names_list(r["above"], names),
            (r["status"], "ok" if r["status"] == "ok" else "gap"),
        ]
        for r in data.cliffs[:limit]
    ]
    kinds = Counter(kind for link in data.links for kind in link["kinds"])
    kind_rows = [
        [vocabulary_label(kind), fig(f"boundaries.kind.{kind}", count(n))]
        for kind, n in sorted(kinds.items())
    ]
    return [
        para(
            "Specialised help below the child-protection threshold (open or pre-statutory "
            "services) and above it (open or statutory services), per local authority and stage. "
            "A cliff: help on one side only, so a family stepping up or down loses it."
        ),
        table(
            ["local authority", "stage", "below the threshold", "above the threshold", "status"],
            cliff_rows,
            total=len(data.cliffs),
            command="nestmap boundaries --part threshold_cliffs",
        ),
        el("h3", None, "Interfaces on referral links"),
        para(
            "Referral links between active services, by the boundary a family crosses on them "
            "(a link can cross several)."
        ),
        table(["interface", "referral links"], kind_rows, numeric=(1,))
        if kind_rows
        else para("No referral link crosses a threshold, age, area or stage boundary."),
    ]


def _pathways(data: ReportData, limit: int | None) -> list[Any]:
    names = data.names
    rows = [
        [
            data.la_names.get(r["area_code"], r["area_code"]),
            names.get(r["entry_service"], r["entry_service"]),
            names.get(r["destination"], r["destination"])
            if r["destination"]
            else ("dead end", "gap"),
            fig(f"pathways.{i}.hops", count(r["hops"])) if r["hops"] is not None else "-",
        ]
        for i, r in enumerate(data.pathways[:limit])
    ]
    return [
        para(
            "From each service with a universal offer (where families first meet the system), "
            "the nearest specialised targeted or specialist service covering the local authority, "
            "by referral links between active services."
        ),
        table(
            ["local authority", "entry point", "nearest specialised help", "links"],
            rows,
            numeric=(3,),
            total=len(data.pathways),
            command="nestmap pathways --format csv",
        )
        if rows
        else para("No service with a universal offer is mapped."),
    ]


def _assessment(data: ReportData, limit: int | None) -> list[Any]:
    entry = data.assessment["entry_points"]
    coverage = data.assessment["coverage"]
    names = data.names
    return [
        para(
            "Entry points are services with a universal or statutory offer. Does their "
            "assessment directly ask about or assess the parent-infant relationship?"
        ),
        table(
            ["entry point", "levels", "stages", "assesses the relationship"],
            [
                [
                    r["name"],
                    ", ".join(r["levels"]),
                    ", ".join(r["stages"]),
                    "yes" if r["assesses_relationship"] else ("no", "gap"),
                ]
                for r in entry[:limit]
            ],
            total=len(entry),
            command="nestmap assessment --format json",
        ),
        el("h3", None, "Per local authority and stage"),
        table(
            ["local authority", "stage", "services assessing it", "services"],
            [
                [
                    r["area_name"],
                    r["stage"],
                    names_list(r["assessing_services"], names)
                    if r["assessing_services"]
                    else ("none", "gap"),
                    fig(f"assessment.{i}.services", count(r["services"])),
                ]
                for i, r in enumerate(coverage[:limit])
            ],
            numeric=(3,),
            total=len(coverage),
            command="nestmap assessment --format json",
        ),
    ]


def _workforce(data: ReportData, limit: int | None) -> list[Any]:
    services = data.workforce["services"]
    high, every, fte = workforce_posts(data)
    if every == 0:
        return [para("No workforce is recorded (workforce.csv is optional).")]
    level_rows = []
    for level in AIMH_LEVELS:
        posts_fte = sum((Decimal(str(r[f"fte_level_{level}"])) for r in services), Decimal(0))
        level_rows.append([str(level), fig(f"workforce.level.{level}.fte", one_place(posts_fte))])
    with_high = [r for r in services if r["practitioners_level_2_3"]]
    return [
        para(
            "Posts recorded per service with the AiMH UK infant mental health competency level "
            "(0: none to 3). A post in a service that covers several local authorities is "
            "counted once here."
        ),
        el(
            "div",
            {"class": "cards"},
            el(
                "div",
                {"class": "card"},
                "Posts at levels 2–3",
                el("b", None, fig("workforce.posts_2_3", count(high))),
            ),
            el(
                "div",
                {"class": "card"},
                "All posts",
                el("b", None, fig("workforce.posts", count(every))),
            ),
            el(
                "div",
                {"class": "card"},
                "FTE at levels 2–3",
                el("b", None, fig("workforce.fte_2_3", one_place(fte))),
            ),
        ),
        table(["AiMH level", "FTE"], level_rows, numeric=(1,)),
        el("h3", None, "Services with posts at levels 2–3"),
        table(
            ["service", "posts at levels 2–3", "posts"],
            [
                [
                    r["name"],
                    fig(
                        f"workforce.service.{r['service_id']}.posts_2_3",
                        count(r["practitioners_level_2_3"]),
                    ),
                    count(r["practitioners"]),
                ]
                for r in with_high[:limit]
            ],
            numeric=(1, 2),
            total=len(with_high),
            command="nestmap workforce --format csv",
        )
        if with_high
        else para("No post is recorded at levels 2–3.", css="gap"),
    ]


def _groups(data: ReportData, limit: int | None) -> list[Any]:
    names = data.names
    rows = [
        [
            r["area_name"],
            names_list(r["supporting_fathers"], names)
            if r["supporting_fathers"]
            else ("none", "gap"),
            fig(f"groups.{r['area_code']}.not_recorded", count(len(r["not_recorded"]))),
            fig(f"groups.{r['area_code']}.services", count(r["services"])),
        ]
        for r in data.groups[:limit]
    ]
    return [
        para(
            "Active services recorded as supporting fathers and partners, per local authority; "
            'a blank in the data is "not recorded", not "no".'
        ),
        table(
            ["local authority", "supporting fathers and partners", "not recorded", "services"],
            rows,
            numeric=(2, 3),
            total=len(data.groups),
            command="nestmap groups-left-out --format csv",
        ),
    ]


SHARE_SOURCES = {
    "targeted": "will access targeted services for attachment insecurity",
    "specialist": "will access shorter-term (2%) or longer-term (7%) specialist therapeutic work, "
    "at the default shares",
    "statutory": "disorganised attachment; need risk support via social care",
}


def _need(data: ReportData, limit: int | None) -> list[Any]:
    totals = need_totals(data)
    levels = [level for level in LEVELS if level in NEED_LEVELS]
    share_rows = [
        [level, fig(f"need.share.{level}", percent(data.shares[level], 1)), SHARE_SOURCES[level]]
        for level in levels
    ]
    rows = []
    for r in data.need[: limit or None]:
        key = f"need.{r['area_code']}.{r['level']}"
        rows.append(
            [data.la_names.get(r["area_code"], r["area_code"]), r["level"]]
            + [
                fig(f"{key}.{what}", one_place(r[what])) if r[what] is not None else "-"
                for what in ("demand", "capacity", "shortfall")
            ]
        )
    total_rows = [
        [level]
        + [
            fig(f"need.{level}.{what}", one_place(t[what]))
            for what in ("demand", "capacity", "shortfall")
        ]
        for level, t in totals.items()
        if t is not None
    ]
    parts: list[Any] = [
        para(
            "Demand is the under-2 population times the share of children expected to need each "
            "level of help (the Parent-Infant Foundation's method for a high-adversity area, from "
            "attachment research); capacity is the families a year of active services with a "
            "specialised offer at that level, a service's families split evenly across the need "
            "levels it works at and a regional service's shared by population."
        ),
        el("h3", None, "The need cascade: shares used"),
        table(
            ["level", "share of under-2s", "who (Securing Healthy Lives, table 1)"],
            share_rows,
            numeric=(1,),
        ),
    ]
    if total_rows:
        parts += [
            el("h3", None, "Demand and capacity (families a year)"),
            svg.need_bars(totals),
            table(["level", "demand", "capacity", "shortfall"], total_rows, numeric=(1, 2, 3)),
            el("h3", None, "Per local authority"),
            table(
                ["local authority", "level", "demand", "capacity", "shortfall"],
                rows,
                numeric=(2, 3, 4),
                total=len(data.need),
                command="nestmap need --format csv",
            ),
        ]
    else:
        parts.append(para("No local authority has an under-2 population recorded.", css="gap"))
    return parts


def _options(data: ReportData) -> list[Any]:
    if not data.options:
        return [
            para(
                "No option was given. `nestmap report OUT --scenario FILE` (one or more) "
                "adds each option's families a year, cost, gaps closed and shortfall before "
                "and after.",
                css="note",
            )
        ]
    parts: list[Any] = []
    for i, option in enumerate(data.options, start=1):
        summary = option.summary
        key = f"option.{i}"
        families = summary.get("families_a_year") or 0
        per_family = summary.get("cost_per_family")
        per_family_total = summary.get("total_cost_per_family")
        others = summary.get("other_costs") or []
        cards = [
            ("Families a year", fig(f"{key}.families", count(families))),
            ("Added services' cost", fig(f"{key}.services_cost", money(option.services_cost))),
            ("Total cost a year", fig(f"{key}.total_cost", money(summary.get("total_cost")))),
            (
                "Cost per family",
                fig(f"{key}.cost_per_family", money(per_family)) if per_family is not None else "-",
            ),
            (
                "Total cost per family",
                fig(f"{key}.total_cost_per_family", money(per_family_total))
                if per_family_total is not None
                else "-",
            ),
            ("Gap cells closed", fig(f"{key}.gaps_closed", count(option.gaps_closed))),
            ("Gap cells opened", fig(f"{key}.gaps_opened", count(option.gaps_opened))),
        ]
        rows = [
            [
                level,
                fig(f"{key}.shortfall.{level}.before", one_place(before)),
                fig(f"{key}.shortfall.{level}.after", one_place(after)),
            ]
            for level, (before, after) in option.shortfall.items()
        ]
        costs = [
            [(str(item.get("item") or "-"), "free"),
             fig(f"{key}.cost.{n}", money(item.get("amount")))]
            for n, item in enumerate(others)
        ]  # fmt: skip
        parts += [
            el("h3", None, f"{i}. ", el("span", {"class": "name"}, summary.get("name") or "-")),
            para(summary.get("description") or "", css="small free"),
            para("Source: ", summary.get("source") or "not given", css="note free"),
            el(
                "div",
                {"class": "cards"},
                [
                    el("div", {"class": "card"}, label, el("b", None, value))
                    for label, value in cards
                ],
            ),
            table(["level", "shortfall before", "shortfall after"], rows, numeric=(1, 2)),
            table(["other cost items", "a year"], costs, numeric=(1,)) if costs else None,
            para(
                "Cost per family: the added services' annual cost divided by their families a "
                "year (the report's basis); the total cost per family adds the option's other "
                "cost items.",
                [" Neither includes ", el("span", {"class": "free"}, summary["not_included"]), "."]
                if summary.get("not_included")
                else None,
                css="note",
            )
            if per_family is not None
            else None,
        ]
    return parts


def _covers(codes: Sequence[str], la_names: Mapping[str, str], area: str | None) -> str:
    """The LAs a service covers; in a one-LA report, that LA and how many others."""
    if area is None:
        return names_list(codes, la_names, limit=6)
    others = len(codes) - 1
    return la_names.get(area, area) + (
        f" and {others:,} other local authorit{'y' if others == 1 else 'ies'}" if others else ""
    )


def _services(data: ReportData, limit: int | None) -> list[Any]:
    la_names = {a["code"]: a["name"] for a in data.areas}
    rows = [
        [
            s["name"],
            (s["provider"] or "-", "free"),
            "; ".join(
                f"{level}: {focus.replace('_', '-')}" for level, focus in s["offers"].items()
            ),
            _covers(s["covers"], la_names, data.area),
            ", ".join(s["stages"]),
            s["status"] if s["status"] == "active" else (s["status"], "gap"),
            (s["source"], "free"),
        ]
        for s in data.services[: limit or None]
    ]
    return [
        para(
            "Every service covering the report's area, of any status, with the levels it works at "
            "and the focus of its work at each, the local authorities it covers and where its "
            "record comes from."
        ),
        table(
            ["service", "provider", "levels and focus", "areas", "stages", "status", "source"],
            rows,
            total=len(data.services),
            command="nestmap export DATASET_DIR",
        ),
    ]


def _provenance(data: ReportData) -> list[Any]:
    services = data.services
    quality = data.quality
    illustrative = [
        s for s in services if str(s["source"]).strip().lower().startswith("illustrative")
    ]
    rows: list[list[Cell]] = [
        [
            'services with a source starting "illustrative"',
            fig("provenance.services_illustrative", count(len(illustrative))),
            "modelling assumptions, not recorded facts: shown and analysed like the rest",
        ],
        [
            'referral links with a source starting "illustrative"',
            fig("provenance.links_illustrative", count(quality["illustrative"])),
            "as above",
        ],
        [
            "referral links with a blank count",
            fig("provenance.links_blank_count", count(quality["blank_counts"])),
            "counted as 0 in referral volumes, shares and the flows; the link itself still counts",
        ],
        [
            "active services with a blank capacity, specialised offer",
            fig(
                "provenance.capacity_blank",
                count(
                    sum(
                        s["status"] == "active"
                        and s["specialised"]
                        and s["capacity_per_year"] is None
                        for s in services
                    )
                ),
            ),
            "add no capacity in need against capacity",
        ],
        [
            "active services with fathers' support not recorded",
            fig(
                "provenance.fathers_blank",
                count(
                    sum(s["status"] == "active" and s["supports_fathers"] is None for s in services)
                ),
            ),
            'listed as "not recorded" in groups left out',
        ],
        [
            "services not active",
            fig("provenance.not_active", count(sum(s["status"] != "active" for s in services))),
            "take no part, except as a misdirected or concentration target",
        ],
        [
            "local authorities with a blank under-2 population",
            fig(
                "provenance.las_blank_population",
                count(sum(a["under2_population"] is None for a in data.las)),
            ),
            "no demand, and no share of any service's capacity",
        ],
    ]
    info = data.dataset
    hashes = info.get("file_hashes") or {}
    return [
        para(
            "Every record in a mapping dataset names its source. Values the source does not give "
            "may be filled in as illustrative and marked so; blanks mean unknown, and this is what "
            "the analyses did with them:"
        ),
        table(["what", "how many", "what the analyses did"], rows, numeric=(1,)),
        el("h3", None, "The dataset"),
        table(
            ["what", "value"],
            [
                ["dataset", info.get("dataset") or "-"],
                ["origin", info.get("origin") or "-"],
                ["loaded", info.get("loaded_at") or "-"],
                ["engine", info.get("engine") or "-"],
                *[[f"file {name}", f"SHA-256 {digest}"] for name, digest in sorted(hashes.items())],
            ],
        ),
    ]


METHOD = (
    (
        "Coverage matrix (gaps)",
        "For each local authority, level of need and stage: the active "
        "services that cover the authority, list the stage and have a specialised offer at that "
        "level. None is a gap.",
    ),
    (
        "Age bands",
        "The same for postnatal work by the child's age band in months: a service counts "
        "when its age range overlaps the band (a blank bound is open-ended).",
    ),
    (
        "Misdirected referrals",
        "A referral link from an active service is misdirected when the support asked for is not "
        "there: a parent-infant relationship referral to a service with no specialised offer, a "
        "destination covering none of the referrer's areas, sharing no stage with it, or not "
        "active. It has an onward route when the destination is active and a chain of referral "
        "links through active services leads from it to specialised targeted or specialist help "
        "for one of the referrer's local authorities; otherwise it is a dead end.",
    ),
    (
        "Concentration",
        "Parent-infant relationship referrals a year from active services, summed per destination "
        "(a blank count as 0), and each destination's share of the total. A destination taking at "
        "least a third is called a single point of failure here.",
    ),
    (
        "Threshold cliffs",
        "Per local authority and stage, the specialised services a family can use "
        "below the child-protection threshold (open or pre-statutory) and above it (open or "
        "statutory). Help on one side only is a cliff.",
    ),
    (
        "Interfaces",
        "For each referral link between active services, the boundaries it crosses: a change of "
        "threshold, age ranges that do not overlap, areas covered partly or not at all, or no "
        "shared stage.",
    ),
    (
        "Pathways",
        "From each service with a universal offer, in each local authority it covers, the "
        "shortest chain of referral links (up to six) through active services to a service "
        "covering that authority with a specialised targeted or specialist offer. None: a dead "
        "end.",
    ),
    (
        "Assessment",
        "Entry points are services with a universal or statutory offer; each records "
        "whether its assessment directly asks about or assesses the parent-infant relationship.",
    ),
    (
        "Workforce",
        "Posts recorded per service with their AiMH UK competency level and FTE. Each "
        "post is counted once, however many local authorities its service covers.",
    ),
    (
        "Groups left out",
        "Per local authority, the active services recorded as supporting fathers "
        "and partners, and those for which it is not recorded.",
    ),
    (
        "Need against capacity",
        "Demand per local authority and level is the under-2 population "
        "times the level's share. Capacity is the families a year of each active service with a "
        "specialised offer at that level, split evenly across the need levels it works at, and "
        "shared between the authorities it covers in proportion to their under-2 population. "
        "Shortfall is demand minus capacity when positive. Totals add the authorities' rounded "
        "values.",
    ),
    (
        "Options",
        "Each scenario is applied to a scratch copy of the graph (the loaded data is not "
        "changed) and every analysis is run again; the report gives the difference for its area.",
    ),
    (
        "Rounding",
        "Shares and percentages are rounded half away from zero, once, from exact values.",
    ),
)


def _method() -> list[Any]:
    return [
        el(
            "dl",
            None,
            [
                join([el("dt", None, el("b", None, name)), el("dd", None, text)])
                for name, text in METHOD
            ],
        )
    ]
