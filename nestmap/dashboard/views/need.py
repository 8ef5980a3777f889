"""Need & capacity: the report's estimating method, with shares the user can change."""

import streamlit as st

from nestmap import units
from nestmap.dashboard import figures, layout, provenance, state, tables, workshop
from nestmap.vocabulary import DEFAULT_SHARES, NEED_LEVELS, SHARE_MEANINGS, SHARE_PRESETS

chosen = layout.start(
    "Need & capacity",
    "Demand for a level in an area = children under two x the share expected to need it "
    "(the report's high-adversity defaults: 8% targeted, 9% specialist = 2% short-term + 7% "
    "longer-term, 13% statutory: families unlikely to access help, held by social care through "
    "risk support, so shown apart and never added to the others). Capacity = families a year "
    "that services with specialised work at that level can take, each service counted once: "
    "split evenly across the levels it works at, then a regional service shared by population.",
    "need",
)
layout.filter_note(chosen, ("la", "level"))

LABELS = {
    "targeted": "Targeted share",
    "specialist": "Specialist share",
    "statutory": "Statutory share",
}
PRESET_LABELS = {
    "high_adversity": "High adversity (the report's CTM defaults)",
    "general_population": "General population",
}


def _use_preset(name: str) -> None:
    # A callback: it runs before the inputs are drawn, so it may set their values.
    for level in NEED_LEVELS:
        st.session_state[f"need_share_{level}"] = float(SHARE_PRESETS[name][level])


def _number(value: float | None) -> str:
    return units.NOT_RECORDED if value is None else f"{value:,.0f}"


presets = st.container(horizontal=True)
for name, label in PRESET_LABELS.items():
    presets.button(label, key=f"need_preset_{name}", on_click=_use_preset, args=(name,))
inputs = st.columns(3)
for column, level in zip(inputs, NEED_LEVELS, strict=True):
    # The value lives in session state (set here once, or by a preset), not as a default.
    st.session_state.setdefault(f"need_share_{level}", float(DEFAULT_SHARES[level]))
    column.number_input(
        LABELS[level],
        min_value=0.0,
        max_value=1.0,
        step=0.01,
        format="%.4f",
        key=f"need_share_{level}",
        help=f"Of children under two: {SHARE_MEANINGS[level]}.",
    )
    if not chosen.present:
        column.caption(SHARE_MEANINGS[level] + ".")
shares = tuple(f"{st.session_state[f'need_share_{level}']:.4f}" for level in NEED_LEVELS)
# Kept for the Overview and Map pages, which show the same shortfall; in the address when
# changed, so that a shared link shows the same figures.
st.session_state["need_shares"] = (shares[0], shares[1], shares[2])
workshop.write_shares(st.session_state["need_shares"])
if state.default_shares(st.session_state["need_shares"]):  # else computed for these shares
    layout.wait_for(("need",))
if not chosen.present:
    st.caption(
        "Shares are assumptions. **High adversity** is the report's adjustment for CTM (secure "
        "50%, insecure 30%, disorganised 20%): 8% targeted, 2% + 7% specialist, 13% statutory. "
        "**General population** is the report's distribution for a population with "
        "low-average adversity (secure 55-60%, insecure 25-30%, disorganised 15%), taken at "
        "its midpoints (57.5 / 27.5 / 15) and mapped to the levels as the report maps the "
        "high-adversity one: of the insecure, 8 in 30 access targeted help and 2 in 30 "
        "shorter-term specialist work; of the disorganised, 7 in 20 access longer-term "
        "specialist work and 13 in 20 need risk support. That gives 7.33% targeted, 7.08% "
        "specialist (1.83% + 5.25%) and 9.75% statutory — our reading, not the report's figures."
    )

rows = state.need(chosen.la, st.session_state["need_shares"])
if chosen.level:
    rows = [r for r in rows if r["level"] == chosen.level]
area_names = state.area_names()
if not rows:
    st.info("No need rows for this selection (need covers targeted, specialist and statutory).")
else:
    totals = state.need_totals(chosen.la, st.session_state["need_shares"])
    shown = [level for level in units.INTERVENTION_LEVELS if any(r["level"] == level for r in rows)]
    if shown:
        # Targeted + specialist: the families expected to take up an intervention.
        found = totals["intervention"] if len(shown) == 2 else totals[shown[0]]
        what = " + ".join(shown)
        total = st.columns(3)
        total[0].metric(f"Demand, {what} (families a year)", _number(found["demand"]))
        total[1].metric(
            "Capacity recorded",
            units.capacity_text(found["capacity"], found["unrecorded"]),
            help="Families a year that services with specialised work at these levels can "
            "take, as recorded. A service with no capacity recorded adds nothing: its capacity "
            "is unknown, not zero.",
        )
        total[2].metric(
            "Shortfall",
            units.shortfall_figure(found["shortfall"], found["unrecorded"]),
            help="Demand not met by the capacity recorded. "
            + (units.unrecorded_note(found["unrecorded"]) or "Every capacity is recorded."),
        )
    if any(r["level"] == "statutory" for r in rows):
        found = totals["statutory"]
        st.markdown(f"**Statutory: {units.STATUTORY_LABEL}** — shown apart, never added")
        apart = st.columns(3)
        apart[0].metric("Families (statutory share)", _number(found["demand"]))
        apart[1].metric(
            "Specialised statutory capacity recorded",
            units.capacity_text(found["capacity"], found["unrecorded"]),
        )
        apart[2].metric(
            "Not met by that capacity",
            units.shortfall_figure(found["shortfall"], found["unrecorded"]),
            help=units.unrecorded_note(found["unrecorded"]) or None,
        )
        st.caption(units.STATUTORY_NOTE)
    provenance.population_note()
    missing = sorted({r["area_code"] for r in rows if r["demand"] is None})
    if missing:
        st.info(
            f"{len(missing):,} local "
            + ("authority has" if len(missing) == 1 else "authorities have")
            + " no under-2 population recorded, so no demand can be estimated there."
        )
    st.plotly_chart(
        figures.need_bars(rows, area_names, chosen.present),
        width="stretch",
        config={"displaylogo": False},
    )
tables.show(
    tables.frame(
        [
            {
                **r,
                "area_name": area_names.get(r["area_code"], ""),
                "level": units.level_label(r["level"]),
                "capacity": None if r["unrecorded"] and not r["capacity"] else r["capacity"],
                "read_as": units.shortfall_text(r["shortfall"], r["unrecorded"], 1),
            }
            for r in rows
        ],
        [
            "area_code",
            "area_name",
            "level",
            "demand",
            "capacity",
            "unrecorded",
            "shortfall",
            "read_as",
        ],
    ),
    "need",
)
if not chosen.present:
    st.caption(
        "`unrecorded`: services with specialised work at that level whose capacity is not "
        "recorded. Where it is above 0 the shortfall is at most the figure shown, and a blank "
        "capacity means not recorded, not none."
    )
