"""Scenarios: "what if we added this team?" on a scratch copy of the loaded graph, before/after."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from nestmap import analysis, colours, units
from nestmap.dashboard import (
    budget,
    builder,
    figures,
    layout,
    maps,
    report_download,
    state,
    tables,
    workshop,
)
from nestmap.dashboard.text import esc, md
from nestmap.errors import BusyError, InputError, NestmapError
from nestmap.geography.boundaries import ATTRIBUTION, boundaries
from nestmap.loaders.limits import MAX_DASHBOARD_SCENARIO_BYTES
from nestmap.scenarios import (
    bundled_scenarios,
    change_rows,
    check_scenario,
    cost_lines,
    evaluate,
    read_scenario,
    read_untrusted,
    report_html,
    report_xlsx,
)
from nestmap.vocabulary import LEVELS, STAGES

chosen = layout.start(
    "Scenarios",
    "Try a change to the service map (the report's options 1-3, or your own scenario file) on a "
    "scratch copy of the loaded graph: the loaded dataset is never changed. See which gaps "
    "close, how the shortfall moves, and what it costs per family.",
    "scenarios",
)

Row = dict[str, Any]
BUNDLED, UPLOAD, PASTE = "Bundled option", "Upload a file", "Paste YAML or JSON"
BUILD = "Build one"
CLOSED = 4  # an extra cell state on the "after" coverage matrix


@st.cache_data(show_spinner=False, max_entries=32)
def _bundled() -> list[tuple[str, str]]:
    """(name, path) of the bundled scenarios; unreadable ones are skipped."""
    found = []
    for path in bundled_scenarios():
        try:
            found.append((str(read_scenario(path).get("name") or path.stem), str(path)))
        except InputError:
            continue
    return found


def _offered() -> tuple[list[tuple[str, str]], list[str]]:
    """The bundled options written for the loaded map — every service and area they name is
    in it — as (name, path), and the names of the others: an option written for another map
    is not offered there (it could only fail)."""

    def sort() -> tuple[list[tuple[str, str]], list[str]]:
        services = set(state.service_names())
        areas = {str(row["code"]) for row in state.store().run("export_areas")}
        fits, others = [], []
        for name, path in _bundled():
            try:
                check_scenario(read_scenario(path), services, areas)
            except InputError:
                others.append(name)
            else:
                fits.append((name, path))
        return fits, others

    return state.kept("scenarios.offered", (), sort)


def _evaluate(document_json: str, shares: tuple[str, str, str] | None) -> Any:
    """The scenario's result, kept per dataset version, document and shares (an InputError is
    not kept)."""

    def apply() -> Any:
        parsed = analysis.parse_shares(*shares) if shares else None
        # One of the server's expensive actions: a scratch copy of the graph, every analysis.
        with budget.action("Applying the scenario"):
            return evaluate(state.store(), json.loads(document_json), parsed)

    return state.kept("scenarios.evaluate", (document_json, shares), apply)


def _parsed(name: str, data: bytes) -> dict[str, Any]:
    """``read_untrusted`` (parsed within the dashboard's bound, every value checked by type
    before the page reads it) as one of the server's expensive actions, once per text in this
    session (the page reruns on every click; the text is read again only when it changes)."""
    digest = hashlib.sha256(name.encode() + b"\0" + data).hexdigest()
    kept = st.session_state.get("scenario_parsed")
    if kept is not None and kept[0] == digest:
        if isinstance(kept[1], InputError):
            raise kept[1].with_traceback(None)
        return copy.deepcopy(kept[1])
    try:
        with budget.action("Reading the scenario"):
            document = read_untrusted(name, data)
    except InputError as exc:
        st.session_state["scenario_parsed"] = (digest, exc)
        raise
    st.session_state["scenario_parsed"] = (digest, document)
    return copy.deepcopy(document)


def _problems(message: str, problems: list[Row]) -> None:
    st.error(f"This scenario cannot be applied: {md(message)}. Nothing was changed.")
    if problems:
        tables.show(
            tables.frame(problems, ["file", "row", "column", "value", "reason"]),
            "scenario_problems",
        )


# A bundled option in the address (a shared link): which option, and its figures when edited.
OPTION, FAMILIES, COST = "option", "option_families", "option_cost"
OPTION_PARAMS = (OPTION, FAMILIES, COST)
_OPTION_WRITTEN = "scenario_option_written"


def _option_in_address() -> tuple[str | None, ...]:
    return tuple(st.query_params.get(key) for key in OPTION_PARAMS)


def _drop_option() -> None:
    for key in OPTION_PARAMS:
        if key in st.query_params:
            del st.query_params[key]


def _adopt_option(offered: list[tuple[str, str]]) -> None:
    """Before the widgets: a bundled option in an address this session did not write (a shared
    link) becomes the page's choice, with the families a year and cost it carries."""
    given = _option_in_address()
    if given[0] is None or given == st.session_state.get(_OPTION_WRITTEN):
        return
    stems = [Path(path).stem for _name, path in offered]
    if given[0] not in stems:
        st.warning(
            f"The option in this link ({md(given[0])}) is not offered on this map: it was "
            "written for another one."
        )
        _drop_option()
        return
    index = stems.index(given[0])
    st.session_state["scenario_source"] = BUNDLED
    st.session_state["scenario_option"] = index
    for key, value in (
        (f"scenario_capacity_{index}", given[1]),
        (f"scenario_cost_{index}", given[2]),
    ):
        if value is not None and value.isdigit() and len(value) <= 13:
            st.session_state[key] = int(value)
    st.session_state[_OPTION_WRITTEN] = given


def _write_option(stem: str, families: int | None, cost: int | None) -> None:
    """The bundled option in the address; its figures only where edited."""
    wanted = {OPTION: stem, FAMILIES: families, COST: cost}
    for key, value in wanted.items():
        if value is None:
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != str(value):
            st.query_params[key] = str(value)
    st.session_state[_OPTION_WRITTEN] = _option_in_address()


# ---- choose a scenario -------------------------------------------------------------------------
# A shared link's scenario fills the builder (checked like a pasted one); its option is chosen.
link_problems = builder.adopt_link("scenario_source", BUILD)
if link_problems:
    builder.show_link_problems(link_problems)
offered, elsewhere = _offered()
_adopt_option(offered)
sources = [BUNDLED, UPLOAD, PASTE, BUILD] if offered else [BUILD, UPLOAD, PASTE]
if st.session_state.get("scenario_source") not in sources:
    st.session_state["scenario_source"] = sources[0]
source = st.radio("Scenario", sources, horizontal=True, key="scenario_source")
if elsewhere and not chosen.present:
    st.caption(
        "Not offered on this map (written for another map; the services or areas they name are "
        "not in this one): " + "; ".join(md(name) for name in elsewhere) + "."
    )
if source != BUILD and builder.PARAM in st.query_params:
    del st.query_params[builder.PARAM]
if source != BUNDLED:
    _drop_option()
st.session_state[workshop.NOT_IN_LINK] = (
    "An uploaded or pasted scenario is not in this address: share its file instead."
    if source in (UPLOAD, PASTE)
    else None
)
document: dict[str, Any] | None = None
failure: tuple[str, list[Row]] | None = None
try:
    if source == BUNDLED:
        options = offered
        labels = [name for name, _path in options]
        picked = st.selectbox(
            "Option", range(len(options)), format_func=labels.__getitem__, key="scenario_option"
        )
        document = read_scenario(options[picked][1])
        added = (document.get("add_services") or [{}])[0]
        families = cost = None
        if added:
            # Values through the session, not the widgets: a shared link sets the same keys.
            written = {
                f"scenario_capacity_{picked}": int(added.get("capacity_per_year") or 0),
                f"scenario_cost_{picked}": int(added.get("annual_cost") or 0),
            }
            for key, value in written.items():
                st.session_state.setdefault(key, value)
            edits = st.columns(2)
            capacity = edits[0].number_input(
                "Families a year (capacity_per_year)",
                min_value=0,
                step=10,
                key=f"scenario_capacity_{picked}",
            )
            annual = edits[1].number_input(
                "Annual cost of the added service (GBP)",
                min_value=0,
                step=5000,
                key=f"scenario_cost_{picked}",
            )
            document["add_services"][0]["capacity_per_year"] = int(capacity)
            document["add_services"][0]["annual_cost"] = int(annual)
            families = int(capacity) if capacity != written[f"scenario_capacity_{picked}"] else None
            cost = int(annual) if annual != written[f"scenario_cost_{picked}"] else None
        _write_option(Path(options[picked][1]).stem, families, cost)
    elif source == UPLOAD:
        uploaded = st.file_uploader(
            "Scenario file (.yaml, .yml or .json)",
            type=["yaml", "yml", "json"],
            key="scenario_upload",
        )
        if uploaded is not None:
            document = _parsed(uploaded.name, uploaded.getvalue())
    elif source == BUILD:
        document = builder.form()
    else:
        typed = st.text_area(
            "Scenario (YAML or JSON, in the format of the bundled options)",
            height=220,
            key="scenario_text",
            # A scenario is a few KiB; the dashboard's bound is below a file's.
            max_chars=MAX_DASHBOARD_SCENARIO_BYTES,
        )
        if typed.strip():
            # JSON is read as JSON (YAML would take its NaN for a word).
            kind = "json" if typed.lstrip().startswith("{") else "yaml"
            document = _parsed(f"scenario.{kind}", typed.encode("utf-8"))
except InputError as exc:
    failure = (str(exc), [problem.as_dict() for problem in exc.problems])
except BusyError as exc:
    st.warning(f"Busy: {md(exc)}.")
    layout.end()

if failure is None and document is not None:
    shares = st.session_state.get("need_shares")
    document_json = json.dumps(document, default=str, sort_keys=True)
    services_loaded = state.info().get("nodes", {}).get("Service", 0)
    asked: set[str] = st.session_state.setdefault("scenarios_asked", set())
    if services_loaded > state.SCENARIO_ASK_ABOVE_SERVICES and document_json not in asked:
        st.info(
            f"The loaded dataset has {services_loaded:,} services: applying a scenario copies "
            "the whole graph and may take a minute."
        )
        if not st.button("Apply this scenario", key="scenario_apply"):
            layout.end()
        asked.add(document_json)
    try:
        with st.spinner("Applying the scenario to a scratch copy..."):
            result = _evaluate(document_json, tuple(shares) if shares else None)
    except InputError as exc:
        failure = (str(exc), [problem.as_dict() for problem in exc.problems])
    except BusyError as exc:
        st.warning(f"Busy: {md(exc)}.")
        layout.end()
    except (NestmapError, ValueError) as exc:
        failure = (str(exc), [])

if failure is not None:
    _problems(*failure)
    layout.end()
if document is not None:
    report_download.remember_scenario(document)  # the Overview's report includes it
if document is None:
    st.info(
        "Give the scenario a name to see its effect."
        if source == BUILD
        else "Choose a scenario file or paste one to see its effect."
    )
    layout.end()

summary: Row = result["summary"]
comparison: Row = result["comparison"]
counts: Row = comparison["summary"]
gaps_before: list[Row] = result["gaps_before"]
gaps_after: list[Row] = result["gaps_after"]
need_before: list[Row] = result["need_before"]
need_after: list[Row] = result["need_after"]

# ---- the scenario's figures --------------------------------------------------------------------
st.subheader(md(summary.get("name") or "Scenario"), anchor=False)
if summary.get("description") and not chosen.present:
    st.markdown(md(summary["description"]))
if summary.get("source") and not chosen.present:
    st.caption(f"Source: {md(summary['source'])}")


def _money(amount: Any) -> str:
    return "—" if amount is None else f"£{amount:,.0f}"


figures_row = st.columns(6)
families = summary.get("families_a_year")
figures_row[0].metric("Families a year", "—" if families is None else f"{families:,}")
figures_row[1].metric(
    "Cost per family",
    _money(summary.get("cost_per_family")),
    help="The report's basis: the added services' annual cost ÷ families a year, before on-costs.",
)
figures_row[2].metric("Total cost a year", _money(summary.get("total_cost")))
figures_row[3].metric(
    "Total per family",
    _money(summary.get("total_cost_per_family")),
    help="With the scenario's other costs (e.g. a Head of Service), before on-costs.",
)
figures_row[4].metric("Gap cells closed", f"{counts['gap_cells_closed']:,}")
figures_row[5].metric("Gap cells opened", f"{counts['gap_cells_opened']:,}")
st.caption("  \n".join(md(line) for line in cost_lines(summary)))
if source == BUILD:
    builder.actions(document)
shortfall = counts.get("shortfall_by_level") or {}
if shortfall:
    # Targeted + specialist together and each alone; the statutory row last, named for what it
    # is and never added to the others.
    shown = [n for n in ("intervention", "targeted", "specialist", "statutory") if n in shortfall]
    titles = {
        "intervention": "Targeted + specialist shortfall",
        "targeted": "Targeted shortfall",
        "specialist": "Specialist shortfall",
        "statutory": "Statutory (risk support, apart)",
    }
    moved = st.columns(len(shown))
    for column, name in zip(moved, shown, strict=True):
        values = shortfall[name]
        before, after = values.get("before"), values.get("after")
        column.metric(
            f"{titles[name]} (families a year)",
            units.shortfall_figure(after, values.get("unrecorded_after") or 0),
            None if before is None or after is None else f"{after - before:,.0f}",
            delta_color="inverse",
        )
    # What "at most" means, said once below the figures (a help button per figure would give
    # each a label that reads like the builder's "Families a year" field).
    unrecorded = {
        titles[name]: shortfall[name].get("unrecorded_after") or 0
        for name in shown
        if shortfall[name].get("unrecorded_after")
    }
    if unrecorded:
        st.caption(
            "At most: "
            + "; ".join(
                f"{title.lower()}, capacity not recorded for {units.services_phrase(n)}"
                for title, n in unrecorded.items()
            )
            + ". The shortfall is then at most the figure shown."
        )
    st.caption(f"Statutory: {units.STATUTORY_LABEL}. {units.STATUTORY_NOTE}")

# ---- coverage before / after -------------------------------------------------------------------
closed_cells = {
    tuple(change["key"])
    for change in comparison["changes"]
    if change["analysis"] == "gaps" and change["change"] == "closed"
}
opened_cells = {
    tuple(change["key"])
    for change in comparison["changes"]
    if change["analysis"] == "gaps" and change["change"] == "opened"
}


def _mark_closed(fig: go.Figure, rows: list[Row], levels: list[str], stages: list[str]) -> None:
    """Recolour the cells this scenario closed (traces are one per LA, in row order)."""
    codes = list(dict.fromkeys(row["area_code"] for row in rows))
    for trace, code in zip(fig.data, codes, strict=False):
        z = [list(line) for line in trace.z]
        text = [list(line) for line in trace.text]
        for i, level in enumerate(levels):
            for j, stage in enumerate(stages):
                if (code, level, stage) in closed_cells:
                    z[i][j] = CLOSED
                    text[i][j] = f"closed ✓ {text[i][j]}"
        trace.update(
            z=z,
            text=text,
            zmax=CLOSED + 0.5,
            colorscale=figures.discrete_scale(colours.PALETTES["scenario coverage"]),
        )
        trace.textfont = {"color": "#ffffff", "size": trace.textfont.size}


st.subheader("Coverage before and after", anchor=False)
if not chosen.present:
    st.caption(
        "Specialised work per level and stage. Red: gap · teal: specialised services (count) "
        "· dark blue with ✓: a gap this scenario closes."
    )
names = state.service_names()
added_names: dict[str, str] = {
    str(service.get("id")): str(service.get("name") or service.get("id"))
    for service in document.get("add_services") or []
    if isinstance(service, dict)
}
all_names = {**names, **added_names}
levels, stages = list(LEVELS), list(STAGES)
areas_count = len({row["area_code"] for row in gaps_before})
if areas_count > figures.MAX_COVERAGE_PANELS:
    st.info(
        f"{areas_count:,} local authorities: the matrices show the first "
        f"{figures.MAX_COVERAGE_PANELS}; the table of changes has them all."
    )
sides = st.columns(2)
for column, label, rows in ((sides[0], "Before", gaps_before), (sides[1], "After", gaps_after)):
    column.markdown(f"**{label}**")
    fig = figures.coverage_heatmap(rows, all_names, levels, stages, ["specialised"], chosen.present)
    if label == "After":
        _mark_closed(fig, rows, levels, stages)
    column.plotly_chart(
        fig, width="stretch", config={"displaylogo": False}, key=f"scenario_cov_{label}"
    )
if opened_cells:
    st.warning(f"This scenario opens {len(opened_cells):,} gap cells (see the changes below).")

# ---- map of gap cells closed -------------------------------------------------------------------
area_names = state.area_names()
codes = state.local_authority_codes()
closed_per_la: dict[str, int] = dict.fromkeys(codes, 0)
opened_per_la: dict[str, int] = dict.fromkeys(codes, 0)
for cells, per_la in ((closed_cells, closed_per_la), (opened_cells, opened_per_la)):
    for code, _level, _stage in cells:
        if code in per_la:
            per_la[code] += 1
shapes = boundaries()
st.subheader("Gap cells closed per local authority", anchor=False)
if any(code in shapes for code in codes):
    # Closing a gap is good news and opening one bad: blue one way, red the other, white none.
    drawing = maps.area_map(
        {code: closed_per_la[code] - opened_per_la[code] for code in codes},
        area_names,
        "gap cells closed (less opened)",
        scale="change",
        present=chosen.present,
        selected=chosen.la,
        details={
            code: f"closed {closed_per_la[code]:,} · opened {opened_per_la[code]:,}"
            for code in codes
        },
    )
    st.plotly_chart(
        drawing.figure,
        width="stretch",
        config={"displaylogo": False, "scrollZoom": False},
        key="scenario_map",
    )
    if not chosen.present:
        st.caption(
            "Blue: gap cells this scenario closes (less any it opens) · red: more opened than "
            "closed · white: no change."
            + (
                " Too small to name here (hover them): "
                + ", ".join(md(area_names.get(code, code)) for code in drawing.unlabelled)
                + "."
                if drawing.unlabelled
                else ""
            )
        )
    st.caption(ATTRIBUTION)
else:
    st.info("No bundled boundary for these local authorities; the counts are in the table below.")


# ---- shortfall before / after ------------------------------------------------------------------
def _shortfall_bars(before: list[Row], after: list[Row]) -> go.Figure:
    """Shortfall per LA x level, before (grey) and after (teal), grouped."""
    keyed = {(r["area_code"], r["level"]): r for r in after}
    usable = [r for r in before if r["shortfall"] is not None]
    x = [
        [esc(area_names.get(r["area_code"], r["area_code"])) for r in usable],
        ["statutory (risk support)" if r["level"] == "statutory" else r["level"] for r in usable],
    ]
    fig = go.Figure()
    for label, colour, values in (
        ("before", colours.BEFORE, [r["shortfall"] for r in usable]),
        (
            "after",
            colours.CAPACITY,
            [keyed.get((r["area_code"], r["level"]), {}).get("shortfall") for r in usable],
        ),
    ):
        fig.add_trace(
            go.Bar(
                x=x,
                y=values,
                name=label,
                marker_color=colour,
                hovertemplate=f"%{{x}}<br>shortfall {label}: %{{y:,.1f}} families a year"
                "<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        height=420,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        yaxis_title="shortfall (families a year)",
        legend={"orientation": "h", "y": 1.08},
        font={"size": 16 if chosen.present else 12},
    )
    return fig


st.subheader("Demand shortfall before and after", anchor=False)
if any(r["shortfall"] is not None for r in need_before):
    st.plotly_chart(
        _shortfall_bars(need_before, need_after),
        width="stretch",
        config={"displaylogo": False},
        key="scenario_need",
    )
else:
    st.info("No local authority has an under-2 population recorded, so no shortfall to show.")

# ---- changes and reports -----------------------------------------------------------------------
st.subheader("What changes", anchor=False)
tables.show(
    tables.frame(change_rows(comparison), ["analysis", "change", "key", "before", "after"]),
    "scenario_changes",
)
with st.expander("Gap cells closed per local authority", expanded=False):
    tables.show(
        tables.frame(
            [
                {
                    "area_code": code,
                    "area_name": area_names.get(code, code),
                    "closed": closed_per_la[code],
                    "opened": opened_per_la[code],
                }
                for code in codes
            ]
        ),
        "scenario_closed_per_la",
    )

if not chosen.present:
    stem = "".join(ch if ch.isalnum() else "-" for ch in str(summary.get("name") or "scenario"))
    stem = "-".join(part for part in stem.lower().split("-") if part)[:60] or "scenario"
    reports = st.container(horizontal=True)
    tables.download(
        reports,
        "Report (HTML)",
        lambda: report_html(
            summary, comparison, gaps_before, gaps_after, need_before, need_after
        ).encode("utf-8"),
        f"{stem}.html",
        key="scenario_report_html",
    )
    tables.download(
        reports,
        "Report (XLSX)",
        lambda: report_xlsx(summary, comparison, need_before, need_after),
        f"{stem}.xlsx",
        key="scenario_report_xlsx",
    )
