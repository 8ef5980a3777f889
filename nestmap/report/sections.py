"""The report's detailed sections and appendices, each a list of HTML blocks (the first one is
kept on a page with the section's heading)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from nestmap.report import svg
from nestmap.report.findings import (
    MAX_HOPS,
    STATUTORY,
    Need,
    ReportData,
    Shortfall,
    bases,
    basis_of,
    cells_marked,
    chain_marked,
    count,
    destination_links,
    destination_recorded,
    gap_cells_by_la,
    marked_counts,
    misdirected_relationship,
    misdirections,
    money,
    need_levels,
    need_row,
    need_totals,
    one_place,
    percent,
    plural,
    relationship_total,
    serving,
    specialised_capacity,
    staff,
)
from nestmap.report.markup import Markup, el, join
from nestmap.report.parts import Cell, fig, names_list, para, table
from nestmap.units import NOT_RECORDED, unit
from nestmap.vocabulary import AIMH_LEVELS
from nestmap.vocabulary import label as vocabulary_label

MAX_MAP_LABELS = 40
# What the referral counts are, by the units present.
UNITS_SAID = {
    ("per_year",): "Counts are referrals a year, from services' records.",
    ("survey_mentions",): "Counts are survey mentions: how many staff said they would refer "
    "there, not records of referrals.",
    (): "Each count is in its own unit, referrals a year where services recorded them, survey "
    "mentions where staff were asked where they would refer; the two are never added.",
}
# Words a share's preset goes by (the shares are the user's to set; a preset is named only when
# the shares are exactly its values).
PRESET_NAMES = {
    "high_adversity": "high-adversity preset",
    "general_population": "general-population preset",
}
PRESET_WORDS = {
    "high_adversity": "estimates for children under two in an area of high family and community "
    "adversity",
    "general_population": "the attachment research's general-population distribution",
}
# Who each level's share counts.
WHO = {
    "targeted": "families expected to take up targeted help for attachment insecurity",
    "specialist": "families expected to take up shorter- or longer-term specialist therapeutic "
    "work",
    "statutory": "apart: families who may need help with a disorganised attachment but are "
    "unlikely to access it; risk support via social care",
}


def keep(*children: Any) -> Markup:
    """Blocks printed on one page (a heading with a figure or a short table)."""
    return el("div", {"class": "keep"}, *children)


def titled(title: str, *blocks: Any) -> Markup:
    """A heading and what follows it, which may run over a page (a long table: the heading
    stays with its first rows, ``break-after: avoid``)."""
    return join([el("h3", None, title), *blocks])


def cell(value: object, key: str, text: str, marked: bool = False) -> Cell:
    """A table cell for a value that may be blank: "not recorded", never 0."""
    if value is None:
        return (NOT_RECORDED, "num muted")
    return fig(key, text, marked)


def shortfall_cell(need: Need | Shortfall, key: str) -> Any:
    figure = fig(key, one_place(need.shortfall), need.shortfall_marked)
    return join(["at most ", figure]) if need.unrecorded else figure


def capacity_cell(need: Need, prefix: str) -> Any:
    """Recorded capacity (``PREFIX.capacity``); where some is not recorded, says for how many
    services (``PREFIX.unrecorded``)."""
    services = need.unrecorded
    missing = join(
        ["not recorded for ", fig(f"{prefix}.unrecorded", count(services), need.unrecorded_marked)]
    )
    if services and need.capacity == 0:
        return (missing, "num muted")
    figure = fig(f"{prefix}.capacity", one_place(need.capacity), need.capacity_marked)
    return join([figure, " + ", missing]) if services else figure


# -- need against capacity -----------------------------------------------------------------
def need(data: ReportData, limit: int | None) -> list[Any]:
    totals = need_totals(data)
    preset = data.preset
    method = data.about.get("method")
    share_rows = [
        [level, fig(f"need.share.{level}", percent(data.shares[level], 1)), WHO[level]]
        for level in need_levels()
    ]
    where: list[Any] = (
        [
            f"The shares are nestmap's {PRESET_NAMES[preset]} ({PRESET_WORDS[preset]}); whether "
            "they fit this area is for its commissioners to judge."
        ]
        if preset
        else ["The shares were set for this report."]
    )
    if method:
        where += [" The dataset says it follows ", el("i", {"class": "free"}, method), "."]
    parts: list[Any] = [
        para(
            "Demand is the under-2 population times the share of children expected to take up "
            "each level of specialised help; capacity is the families a year of active services "
            "with a specialised offer at that level (a service's families split evenly across the "
            "need levels it works at, a regional service's shared by population). ",
            *where,
            " The statutory row is apart: those families may need help with a disorganised "
            "attachment but are unlikely to access it, and social care holds them through risk "
            "support; it is never added to the targeted and specialist shortfall.",
        ),
        table(["level", "share of under-2s", "who"], share_rows, numeric=(1,)),
    ]
    if all(value is None for value in totals.values()):
        return [*parts, para("No local authority has an under-2 population recorded.", css="gap")]
    parts.append(
        keep(el("h3", None, "Demand and capacity (families a year)"), svg.need_bars(totals))
    )
    parts.append(_need_table(data, totals))
    rows = []
    order = {level: n for n, level in enumerate(need_levels())}
    ordered = sorted(data.need, key=lambda r: (r["area_code"], order[r["level"]]))
    for r in ordered[: limit or None]:
        key = f"need.{r['area_code']}.{r['level']}"
        one = need_row(data, r)
        rows.append(
            [
                data.la_names.get(r["area_code"], r["area_code"]),
                r["level"],
                cell(
                    r["demand"],
                    f"{key}.demand",
                    one_place(r["demand"] or 0),
                    data.marks.any_population([r["area_code"]]),
                ),
                capacity_cell(one, key) if one else (NOT_RECORDED, "num muted"),
                shortfall_cell(one, f"{key}.shortfall") if one else (NOT_RECORDED, "num muted"),
            ]
        )
    parts.append(
        titled(
            "Per local authority",
            table(
                ["local authority", "level", "demand", "capacity", "shortfall"],
                rows,
                numeric=(2, 3, 4),
                total=len(data.need),
                css="compact",
            ),
        )
    )
    return parts


def _need_table(data: ReportData, totals: Mapping[str, Need | None]) -> Markup:
    rows: list[list[Any]] = []
    css: dict[int, str] = {}
    for level in need_levels():
        t = totals[level]
        if t is None:
            continue
        if level == STATUTORY:
            css[len(rows)] = "apart"
            label = "statutory, apart: unlikely to access help; risk support via social care"
        else:
            label = level
        rows.append(
            [
                label,
                fig(f"need.{level}.demand", one_place(t.demand), t.demand_marked),
                capacity_cell(t, f"need.{level}"),
                shortfall_cell(t, f"need.{level}.shortfall"),
            ]
        )
    return table(["level", "demand", "capacity", "shortfall"], rows, numeric=(1, 2, 3), row_css=css)


# -- provision and sufficiency -------------------------------------------------------------
def coverage(data: ReportData, limit: int | None) -> list[Any]:
    by_la: dict[str, list[dict]] = {}
    for row in data.gaps:
        by_la.setdefault(row["area_code"], []).append(row)
    codes = list(by_la)[:limit] if limit else list(by_la)
    counts = gap_cells_by_la(data)
    panels = [
        el(
            "div",
            {"class": "panel"},
            svg.coverage_matrix(
                by_la[code],
                data.la_names.get(code, code),
                counts[code],
                data.marks.services,
            ),
        )
        for code in codes
    ]
    parts: list[Any] = [
        para(
            "Each local authority's grid shows, per level of need and stage, whether any active "
            "service covering it offers specialised parent-infant relationship work there (red: "
            "a gap; green: the number of such services). A green cell says such help exists, "
            "not that there is enough of it: the table under the grids sets each level's "
            "recorded capacity against the demand for it."
        ),
        el("div", {"class": "panels"}, panels),
    ]
    if limit and len(by_la) > limit:
        parts.append(
            para(f"The first {limit:,} of {len(by_la):,} local authorities are drawn.", css="note")
        )
    parts.append(keep(el("h3", None, "Is there enough of it?"), _sufficiency(data)))
    parts += _map(data, counts)
    return parts


def _sufficiency(data: ReportData) -> Markup:
    totals = need_totals(data)
    rows: list[list[Any]] = []
    css: dict[int, str] = {}
    for level in need_levels():
        cells = [r for r in data.gaps if r["level"] == level]
        covered = [r for r in cells if not r["gap"]]
        las = len({r["area_code"] for r in covered})
        services, _recorded, _families = specialised_capacity(data, level)
        t = totals.get(level)
        if level == STATUTORY:
            css[len(rows)] = "apart"
        rows.append(
            [
                level if level != STATUTORY else "statutory (apart)",
                fig(f"sufficiency.{level}.las", count(las), cells_marked(data, covered)),
                fig(
                    f"sufficiency.{level}.services",
                    count(services),
                    data.marks.any_service(s["id"] for s in data.specialised_at[level]),
                ),
                capacity_cell(t, f"need.{level}") if t else (NOT_RECORDED, "num muted"),
                fig(f"need.{level}.demand", one_place(t.demand), t.demand_marked)
                if t
                else (NOT_RECORDED, "num muted"),
                shortfall_cell(t, f"need.{level}.shortfall") if t else (NOT_RECORDED, "num muted"),
            ]
        )
    return table(
        [
            "level",
            "local authorities with specialised help",
            "specialised services",
            "capacity (families a year)",
            "demand (families a year)",
            "shortfall",
        ],
        rows,
        numeric=(1, 2, 3, 4, 5),
        row_css=css,
    )


def _map(data: ReportData, counts: Mapping[str, tuple[int, int]]) -> list[Any]:
    from nestmap.geography.boundaries import ATTRIBUTION, boundaries

    shapes = boundaries()
    values = {code: gap for code, (gap, _total) in counts.items()}
    cells = max((total for _gap, total in counts.values()), default=0)
    la_rows: dict[str, list[dict]] = {}
    for row in data.gaps:
        la_rows.setdefault(row["area_code"], []).append(row)
    figures = {
        code: (f"gaps.la.{code}.gap_cells", cells_marked(data, la_rows.get(code, [])))
        for code in values
    }
    drawing = (
        svg.region_map(shapes, values, data.la_names, cells, "gap cells", MAX_MAP_LABELS, figures)
        if values and len(values) > 1
        else None
    )
    if drawing is None:
        return []
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
                    f" {missing:,} local {plural(missing, 'authority has', 'authorities have')} "
                    "no bundled boundary and " + plural(missing, "is", "are") + " not drawn."
                    if missing
                    else ""
                ),
                css="note",
            ),
        )
    ]


def age_bands(data: ReportData, limit: int | None) -> list[Any]:
    rows = data.age_bands or []
    bands = list(dict.fromkeys(row["band"] for row in rows))
    grid: dict[tuple[str, str], dict[str, dict]] = {}
    for row in rows:
        grid.setdefault((row["area_code"], row["level"]), {})[row["band"]] = row
    table_rows = []
    for (code, level), cells in list(grid.items())[: limit or None]:
        line: list[Cell] = [data.la_names.get(code, code), level]
        for band in bands:
            found = cells.get(band)
            if found is None or found["gap"]:
                line.append(("gap", "num gap"))
            else:
                line.append(
                    (
                        fig(
                            f"age_bands.{code}.{level}.{band}",
                            count(len(found["specialised_services"])),
                            data.marks.any_service(found["specialised_services"]),
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
            css="compact",
        ),
    ]


# -- referrals -----------------------------------------------------------------------------
def referrals(data: ReportData, limit: int | None) -> list[Any]:
    names = data.names
    wrong = {
        (r["from_service"], r["to_service"]): r.get("onward")
        for r in misdirected_relationship(data)
    }
    intro = para(
        "Where staff send families for help with the parent-infant relationship. ",
        UNITS_SAID.get(
            tuple(b for b in bases(data) if relationship_total(data, b)), UNITS_SAID[()]
        ),
    )
    parts: list[Any] = []
    drawn = False
    for basis in bases(data):
        links = sorted(
            (r for r in data.links_of.get(basis, []) if r["count"]),
            key=lambda r: (-r["count"], r["from_service"], r["to_service"]),
        )[:20]
        if not links:
            continue
        drawn = True
        legend = svg.flow_legend(links, wrong)
        parts.append(
            keep(
                None if parts else intro,
                el("h3", None, f"Flows of parent-infant relationship referrals ({unit(basis)})"),
                svg.flows(links, wrong, names),
                para(
                    f"The {len(links):,} largest links by {unit(basis)} (links with no count "
                    f"recorded are not drawn). {legend} Line width: {unit(basis)}.",
                    css="note",
                ),
            )
        )
    if not drawn:
        parts += [intro, para("No parent-infant relationship referral counts are recorded.")]
    parts.append(titled("Where they go", _destinations(data, limit)))
    parts += _misdirected_links(data, limit)
    return parts


def _destinations(data: ReportData, limit: int | None) -> Markup:
    names = data.names
    rows = []
    # A share rests on whatever its unit's total rests on.
    whole = {basis: marked_counts(data, data.links_of.get(basis, [])) for basis in bases(data)}
    # Destinations with a count first (each unit's in the analysis's order), then those whose
    # links carry none; each keeps its key (its place in the analysis's rows).
    shown = sorted(
        enumerate(data.concentration[:limit]),
        key=lambda item: not destination_recorded(data, item[1]["to_service"], basis_of(item[1])),
    )
    for i, r in shown:
        basis = basis_of(r)
        total = relationship_total(data, basis)
        recorded = destination_recorded(data, r["to_service"], basis)
        links = destination_links(data, r["to_service"], basis)
        marked = marked_counts(data, links)
        status = data.status.get(r["to_service"], "active")
        name: Any = names.get(r["to_service"], r["to_service"])
        if status != "active":
            name = join([name, el("span", {"class": "gap"}, f" ({status.replace('_', ' ')})")])
        rows.append(
            [
                name,
                unit(basis),
                fig(f"concentration.{i}.count", count(r["count"]), marked)
                if recorded
                else (NOT_RECORDED, "num muted"),
                fig(
                    f"concentration.{i}.share",
                    percent(r["count"], total),
                    marked or whole.get(basis, False),
                )
                if recorded and total
                else ("-", "num muted"),
                "yes" if r["specialised"] else ("no", "gap"),
            ]
        )
    if not rows:
        return para("No parent-infant relationship referral links are recorded.")
    return table(
        ["destination", "unit", "count", "share of that unit", "specialised support"],
        rows,
        numeric=(2, 3),
        total=len(data.concentration),
    )


def _misdirected_links(data: ReportData, limit: int | None) -> list[Any]:
    """The misdirected links by destination: how many links and referrers, how many
    referrals (in their unit), the problems, and how many have an onward route."""
    names = data.names
    status = data.status
    groups = misdirections(data)
    rows = []
    for i, group in enumerate(groups[:limit]):
        target: Any = names.get(group.to_service, group.to_service)
        state = status.get(group.to_service, "active")
        if state != "active":
            target = join([target, el("span", {"class": "gap"}, f" ({state.replace('_', ' ')})")])
        links = len(group.links)
        total = group.count
        rows.append(
            [
                target,
                ", ".join(vocabulary_label(p) for p in group.problems),
                fig(f"misdirected.group.{i}.links", count(links), data.marks.any_link(group.links)),
                fig(f"misdirected.group.{i}.count", count(total), marked_counts(data, group.links))
                if total is not None
                else (NOT_RECORDED, "num muted"),
                (unit(group.basis, total), "nowrap") if total is not None else "",
                ("none", "gap")
                if group.onward == 0
                else "all"
                if group.onward == links
                else join(
                    [
                        fig(
                            f"misdirected.group.{i}.onward",
                            count(group.onward),
                            data.marks.any_link(r for r in group.links if r["onward"]),
                        ),
                        f" of {links:,}",
                    ]
                ),
            ]
        )
    heading = el("h3", None, "Misdirected referral links, by destination")
    if not rows:
        return [keep(heading, para("No referral link is misdirected."))]
    return [
        heading,
        para(
            "Links whose destination does not offer what the family is sent for (for "
            "parent-infant relationship referrals: a service doing no parent-infant relationship "
            "work at all), covers none of the referrer's areas, shares no stage with it, or is "
            "not active; and how many of them reach a service that can pass the family on to "
            "specialised help (an onward route; none: a dead end).",
            css="note",
        ),
        table(
            ["destination", "problems", "links", "count", "unit", "onward route"],
            rows,
            numeric=(2, 3),
            total=len(groups),
            css="compact",
        ),
    ]


# -- pathways, boundaries, assessment ------------------------------------------------------
def pathways(data: ReportData, limit: int | None) -> list[Any]:
    names = data.names
    rows = [
        [
            data.la_names.get(r["area_code"], r["area_code"]),
            names.get(r["entry_service"], r["entry_service"]),
            names.get(r["destination"], r["destination"])
            if r["destination"]
            else ("dead end", "gap"),
            fig(f"pathways.{i}.hops", count(r["hops"]), chain_marked(data, r))
            if r["hops"] is not None
            else ("-", "num muted"),
        ]
        for i, r in enumerate(data.pathways[:limit])
    ]
    return [
        para(
            "From each service with a universal offer (where families first meet the system), "
            "the nearest specialised targeted or specialist service covering the local authority, "
            f"by referral links between active services (at most {MAX_HOPS})."
        ),
        table(
            ["local authority", "entry point", "nearest specialised help", "links"],
            rows,
            numeric=(3,),
            total=len(data.pathways),
            css="compact",
        )
        if rows
        else para("No service with a universal offer is mapped."),
    ]


def boundaries(data: ReportData, limit: int | None) -> list[Any]:
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
        [
            vocabulary_label(kind),
            fig(
                f"boundaries.kind.{kind}",
                count(n),
                data.marks.any_link(link for link in data.links if kind in link["kinds"]),
            ),
        ]
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
            css="compact",
        ),
        keep(
            el("h3", None, "Interfaces on referral links"),
            para(
                "Referral links between active services, by the boundary a family crosses on "
                "them (a link can cross several)."
            ),
            table(["interface", "referral links"], kind_rows, numeric=(1,))
            if kind_rows
            else para("No referral link crosses a threshold, age, area or stage boundary."),
        ),
    ]


def assessment(data: ReportData, limit: int | None) -> list[Any]:
    entry = data.assessment["entry_points"]
    coverage_rows = data.assessment["coverage"]
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
            css="compact",
        ),
        titled(
            "Per local authority and stage",
            table(
                ["local authority", "stage", "services assessing it", "services"],
                [
                    [
                        r["area_name"],
                        r["stage"],
                        names_list(r["assessing_services"], names)
                        if r["assessing_services"]
                        else ("none", "gap"),
                        fig(
                            f"assessment.{i}.services",
                            count(r["services"]),
                            data.marks.any_service(serving(data, r["area_code"], r["stage"])),
                        ),
                    ]
                    for i, r in enumerate(coverage_rows[:limit])
                ],
                numeric=(3,),
                total=len(coverage_rows),
                css="compact",
            ),
        ),
    ]


# -- workforce and groups ------------------------------------------------------------------
def workforce(data: ReportData, limit: int | None) -> list[Any]:
    services = data.workforce["services"]
    every = staff(data, AIMH_LEVELS)
    if every.fte == 0:
        return [para("No workforce is recorded (workforce.csv is optional).")]
    level_rows = []
    for level in AIMH_LEVELS:
        found = staff(data, (level,))
        level_rows.append(
            [
                str(level),
                fig(f"workforce.level.{level}.fte", one_place(found.fte), found.marked),
                fig(f"workforce.level.{level}.services", count(found.services), found.marked),
            ]
        )
    with_high = [r for r in services if r["fte_level_2"] or r["fte_level_3"]]
    high_rows = []
    for r in with_high[:limit]:
        marked = r["service_id"] in data.marks.workforce
        high = Decimal(str(r["fte_level_2"])) + Decimal(str(r["fte_level_3"]))
        all_fte = sum((Decimal(str(r[f"fte_level_{n}"])) for n in AIMH_LEVELS), Decimal(0))
        high_rows.append(
            [
                r["name"],
                fig(f"workforce.service.{r['service_id']}.fte_2_3", one_place(high), marked),
                fig(f"workforce.service.{r['service_id']}.fte", one_place(all_fte), marked),
            ]
        )
    return [
        para(
            "Staff recorded per service with their AiMH UK infant mental health competency level "
            "(0: none, to 3), in full-time equivalents (FTE). A post in a service that covers "
            "several local authorities is counted once here."
        ),
        table(["AiMH level", "FTE", "services"], level_rows, numeric=(1, 2)),
        titled(
            "Services with staff at levels 2–3",
            table(
                ["service", "FTE at levels 2–3", "FTE recorded"],
                high_rows,
                numeric=(1, 2),
                total=len(with_high),
            )
            if high_rows
            else para("No staff are recorded at levels 2–3.", css="gap"),
        ),
    ]


def groups(data: ReportData, limit: int | None) -> list[Any]:
    names = data.names
    rows = [
        [
            r["area_name"],
            names_list(r["supporting_fathers"], names)
            if r["supporting_fathers"]
            else ("none", "gap"),
            fig(
                f"groups.{r['area_code']}.not_recorded",
                count(len(r["not_recorded"])),
                data.marks.any_service(r["not_recorded"]),
            ),
            fig(
                f"groups.{r['area_code']}.services",
                count(r["services"]),
                data.marks.any_service(serving(data, r["area_code"])),
            ),
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
        ),
    ]


# -- options -------------------------------------------------------------------------------
def options(data: ReportData) -> list[Any]:
    if not data.options:
        return [para("No option was given with this report.", css="note")]
    parts: list[Any] = [
        para(
            "Each option is applied to a copy of the data (the loaded data is not changed) and "
            "every analysis run again; section 1 sets their figures side by side. Here, what "
            "each option is, where it comes from, and where it closes a gap."
        )
    ]
    for i, option in enumerate(data.options, start=1):
        summary = option.summary
        others = summary.get("other_costs") or []
        details: list[Any] = [
            para(el("span", {"class": "free"}, summary.get("description") or ""), css="small"),
            para(
                "Source: ",
                el("span", {"class": "free"}, summary.get("source") or "not given"),
                css="note",
            ),
        ]
        if others:
            details.append(
                para(
                    "Other costs a year: ",
                    join(
                        [
                            [
                                "; " if n else "",
                                el("span", {"class": "free"}, str(item.get("item") or "-")),
                                " ",
                                fig(
                                    f"option.{i}.cost.{n}", money(item.get("amount")), option.marked
                                ),
                            ]
                            for n, item in enumerate(others)
                        ]
                    ),
                    ".",
                    css="small",
                )
            )
        details.append(para(*_cells_changed(data, option.closed_cells, "Closes"), css="small"))
        if option.gaps_opened:
            details.append(
                para(
                    fig(f"option.{i}.gaps_opened", count(option.gaps_opened), option.marked),
                    " gap cells opened: ",
                    *_cells_changed(data, option.opened_cells, "")[1:],
                    css="small gap",
                )
            )
        parts.append(
            keep(
                el("h3", None, f"{i}. ", el("span", {"class": "name"}, summary.get("name") or "-")),
                *details,
            )
        )
    return parts


def _cells_changed(data: ReportData, cells: Sequence[tuple[str, str, str]], verb: str) -> list[Any]:
    """Gap cells as "level stage in N local authorities", widest first."""
    if not cells:
        return [f"{verb} no gap cell."]
    by_kind = Counter((level, stage) for _code, level, stage in cells)
    las = len(data.las)
    words = [
        f"{level} {stage} ("
        + ("every local authority" if n == las and las > 1 else f"{n:,} of {las:,}")
        + ")"
        for (level, stage), n in sorted(by_kind.items(), key=lambda item: -item[1])
    ]
    return [f"{verb} gaps in ", "; ".join(words), "."]


# -- appendices ----------------------------------------------------------------------------
SHORT_SOURCE = 60


def short_source(text: str) -> str:
    """A source's leading citation, e.g. "Securing Healthy Lives, Service mapping"."""
    head = re.split(r"[;:(]", text, maxsplit=1)[0].strip() or text.strip()
    return head if len(head) <= SHORT_SOURCE else head[: SHORT_SOURCE - 1].rstrip() + "…"


def services(data: ReportData, limit: int | None) -> list[Any]:
    """Every service in a compact table; each full source once, as a numbered footnote."""
    la_names = {a["code"]: a["name"] for a in data.areas}
    notes: dict[str, int] = {}
    rows = []
    for s in data.services[: limit or None]:
        number = notes.setdefault(s["source"], len(notes) + 1)
        rows.append(
            [
                s["name"],
                (
                    "; ".join(
                        f"{level}{'' if focus == 'specialised' else ' (non-spec.)'}"
                        for level, focus in s["offers"].items()
                    ),
                    "free",
                ),
                _covers(s, la_names, data.area),
                ", ".join(s["stages"]),
                s["status"].replace("_", " ")
                if s["status"] == "active"
                else (s["status"].replace("_", " "), "gap"),
                join([short_source(s["source"]), el("sup", None, str(number))]),
            ]
        )
    return [
        para(
            "Every service covering the report's area, of any status: the levels it works at "
            "(specialised unless marked non-specialised), the local authorities it covers, its "
            "stages and status. Each record's full source is a numbered note below the table; a "
            "source starting \u201cillustrative\u201d is a modelling assumption."
        ),
        table(
            ["service", "levels", "areas", "stages", "status", "source"],
            rows,
            total=len(data.services),
            css="compact",
        ),
        el("ol", {"class": "footnotes"}, [el("li", None, text) for text in notes]),
    ]


def _covers(service: Mapping[str, Any], names: Mapping[str, str], area: str | None) -> str:
    """The areas a service covers as the data gives them (a region by its name); in a one-LA
    report, that LA and how many others."""
    if area is None:
        return names_list(service["areas"], names, limit=6)
    others = len(service["covers"]) - 1
    return names.get(area, area) + (
        f" and {others:,} other local {plural(others, 'authority', 'authorities')}"
        if others
        else ""
    )


def provenance(data: ReportData) -> list[Any]:
    services_in = data.services
    quality = data.quality
    rows: list[list[Cell]] = [
        [
            'services whose source starts "illustrative"',
            fig(
                "provenance.services_illustrative",
                count(sum(s["id"] in data.marks.services for s in services_in)),
            ),
            "modelling assumptions, not recorded facts: analysed like the rest, and every figure "
            "resting on them marked",
        ],
        [
            'referral links whose source starts "illustrative"',
            fig("provenance.links_illustrative", count(quality["illustrative"])),
            "as above",
        ],
        [
            "referral links with a blank count",
            fig("provenance.links_blank_count", count(quality["blank_counts"])),
            "not recorded: they add nothing to a count or share, and are shown as not recorded",
        ],
        [
            "active services with a specialised offer and a blank capacity",
            fig(
                "provenance.capacity_blank",
                count(
                    sum(
                        s["status"] == "active"
                        and s["specialised"]
                        and s["capacity_per_year"] is None
                        for s in services_in
                    )
                ),
            ),
            'add no capacity: a shortfall beside them reads "at most"',
        ],
        [
            "active services with fathers' support not recorded",
            fig(
                "provenance.fathers_blank",
                count(
                    sum(
                        s["status"] == "active" and s["supports_fathers"] is None
                        for s in services_in
                    )
                ),
            ),
            'listed as "not recorded" in groups left out',
        ],
        [
            "services not active",
            fig("provenance.not_active", count(sum(s["status"] != "active" for s in services_in))),
            "take no part, except as a misdirected or concentration destination (status shown)",
        ],
        [
            "local authorities with a blank under-2 population",
            fig(
                "provenance.las_blank_population",
                count(sum(a["under2_population"] is None for a in data.las)),
            ),
            "no need estimated, and no share of any service's capacity",
        ],
    ]
    info = data.dataset
    hashes = info.get("file_hashes") or {}
    return [
        para(
            "Every record in a mapping dataset names its source. Values the source does not give "
            "may be filled in as illustrative and marked so; blanks mean unknown. What the "
            "analyses did with them:"
        ),
        table(["what", "how many", "what the analyses did"], rows, numeric=(1,)),
        keep(
            el("h3", None, "The dataset"),
            table(
                ["what", "value"],
                [
                    ["dataset", info.get("dataset") or "-"],
                    ["loaded", info.get("loaded_at") or "-"],
                    *[
                        [f"{name} (SHA-256)", (digest, "free")]
                        for name, digest in sorted(hashes.items())
                    ],
                ],
                css="compact",
            ),
        ),
    ]


METHOD = (
    (
        "Coverage matrix (gaps)",
        "For each local authority, level of need and stage: the active services that cover the "
        "authority, list the stage and have a specialised offer at that level. None is a gap.",
    ),
    (
        "Sufficiency",
        "Beside the coverage: per level, the recorded capacity of the specialised services "
        "against the need estimated for that level.",
    ),
    (
        "Age bands",
        "The same for postnatal work by the child's age band in months: a service counts "
        "when its age range overlaps the band (a blank bound is open-ended).",
    ),
    (
        "Misdirected referrals",
        "A referral link from an active service is misdirected when the support asked for is "
        "not there: a parent-infant relationship referral to a service that does no "
        "parent-infant relationship work at all (no specialised offer, and no universal or "
        "targeted offer), a destination covering none of the referrer's areas, sharing no stage "
        "with it, or not active. It has an onward route when the destination is active and a "
        "chain of referral links through active services leads from it to specialised targeted "
        "or specialist help for one of the referrer's local authorities; otherwise it is a dead "
        "end. Counts of different units are never added.",
    ),
    (
        "Concentration",
        "Parent-infant relationship referrals from active services, summed per destination and "
        "unit, and each destination's share of that unit's total. A destination taking at least "
        "a third is called a single point of failure here.",
    ),
    (
        "Threshold cliffs",
        "Per local authority and stage, the specialised services a family can use below the "
        "child-protection threshold (open or pre-statutory) and above it (open or statutory). "
        "Help on one side only is a cliff.",
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
        "Entry points are services with a universal or statutory offer; each records whether its "
        "assessment directly asks about or assesses the parent-infant relationship.",
    ),
    (
        "Workforce",
        "Staff recorded per service with their AiMH UK competency level and FTE. Each post is "
        "counted once, however many local authorities its service covers.",
    ),
    (
        "Groups left out",
        "Per local authority, the active services recorded as supporting fathers and partners, "
        "and those for which it is not recorded.",
    ),
    (
        "Need against capacity",
        "Need per local authority and level is the under-2 population times the level's share. "
        "Capacity is the families a year of each active service with a specialised offer at "
        "that level, split evenly across the need levels it works at, and shared between the "
        "authorities it covers in proportion to their under-2 population; a blank capacity adds "
        "nothing and the shortfall beside it is an upper bound. Shortfall is need minus capacity "
        "when positive. Totals add the authorities' exact values, rounded once. The statutory "
        "row (families "
        "unlikely to access help, held by social care through risk support) is never added to "
        "the targeted and specialist rows.",
    ),
    (
        "Options",
        "Each scenario is applied to a scratch copy of the graph (the loaded data is not "
        "changed) and every analysis is run again; the report gives the difference for its area.",
    ),
    (
        "Marks",
        "A figure is marked when what it counts or sums includes a value the data marks "
        "illustrative or inferred: a service or referral link whose source starts "
        "\u201cillustrative\u201d; some but not all of the links whose source splits one total "
        "between them (\u201cillustrative split\u201d: all of them add up to the source's own "
        "number); staff rows a service's source marks as placeholders; a local authority's "
        "under-2 population whose source says inferred or illustrative. A pathway is marked "
        "when its chain rests on such a record.",
    ),
    (
        "Rounding",
        "Shares and percentages are rounded half away from zero, once, from exact values.",
    ),
)
WORDS = (
    (
        "Levels of need",
        "universal (every family), targeted (families who need some help), statutory (families "
        "in the child protection system) and specialist (work needing a specialist intervention "
        "or skill set).",
    ),
    (
        "Specialised",
        "work that directly addresses the quality of the parent-infant relationship; "
        "non-specialised work reduces risk or strengthens protective factors as part of wider "
        "work. Specialist (a level) is not specialised (a focus).",
    ),
    ("Stages", "antenatal (conception to birth) and postnatal (birth to the second birthday)."),
    (
        "Active",
        "services take part in the analyses; inactive, defunct and temporarily closed ones are "
        "listed in Appendix A with their status.",
    ),
)


def method(data: ReportData) -> list[Any]:
    def listing(items: Sequence[tuple[str, str]]) -> Markup:
        return el(
            "dl",
            {"class": "method"},
            [join([el("dt", None, name), el("dd", None, text)]) for name, text in items],
        )

    return [listing(METHOD), keep(el("h3", None, "Words used"), listing(WORDS))]
