"""The Scenarios page's builder: a form instead of YAML, its scenario in the page's address.

The form's answers become a scenario document (``nestmap.scenarios.builder``) that the page
evaluates like any other (before/after, as the form changes), downloads as YAML in the
schema ``nestmap scenario`` reads, and, for editors after a confirmation, applies as a new
version (``nestmap.editing.apply_scenario_as_version``: who and why are recorded).

The address carries the builder's scenario (``?scenario=...``, compact and bounded): a shared
link opens the builder filled in. A link's scenario is checked on the way in like a pasted one
(every value by type, by the scenario schema's checker) before the form reads it; values the
form cannot hold are problems too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import streamlit as st

from nestmap import vocabulary as v
from nestmap.dashboard import access, budget, state, tables, workshop
from nestmap.dashboard.text import md
from nestmap.editing import MAX_WHY_CHARS, MapChanged, apply_scenario_as_version
from nestmap.errors import InputError, NestmapError, Problem
from nestmap.scenarios.builder import (
    LINK_FILE,
    answers_from_document,
    build_document,
    from_link,
    to_link,
    to_yaml,
)

PARAM = "scenario"
_ADOPTED = "builder_link_adopted"
_WRITTEN = "builder_link_written"
_LINKS = "builder_added_links"
_COSTS = "builder_cost_items"
_NOTICE = "builder_notice"
DEFAULT_NAME = "Our proposal"
# The form's largest numbers (a link may carry any the scenario schema allows).
MAX_FAMILIES = 1_000_000
MAX_COST = 1_000_000_000


def _services() -> dict[str, str]:
    return state.service_names()


def _link_text(link: dict[str, Any], names: dict[str, str]) -> str:
    return (
        f"{names.get(link['from_service'], link['from_service'])} → "
        f"{names.get(link['to_service'], link['to_service'])} "
        f"({str(link['reason']).replace('_', ' ')})"
    )


def adopt_link(source_key: str, build_label: str) -> list[Problem]:
    """Before the page draws its widgets: when the address carries a scenario this session did
    not write (a shared link), fill the builder with it and choose the builder. Problems with
    the link's scenario are returned (the builder then starts empty and the link is dropped)."""
    code = st.query_params.get(PARAM)
    if not code or code in (st.session_state.get(_WRITTEN), st.session_state.get(_ADOPTED)):
        return []
    st.session_state[_ADOPTED] = code
    try:
        answers = answers_from_document(from_link(code))
        problems = _fill(answers)
    except InputError as exc:
        problems = list(exc.problems)
    if problems:
        del st.query_params[PARAM]
        return problems
    st.session_state[source_key] = build_label
    return []


def _fill(answers: dict[str, Any]) -> list[Problem]:
    """Set the form's widgets from ``answers``; values the loaded map does not have are
    problems (a link made on another map, or written by hand)."""
    services, areas = _services(), state.area_names()
    problems: list[Problem] = []

    def known(values: Any, allowed: Any, path: str) -> list[Any]:
        kept = []
        for value in values if isinstance(values, list) else [values]:
            if value in allowed:
                kept.append(value)
            elif value not in (None, ""):
                problems.append(Problem(LINK_FILE, None, path, str(value), "not in the loaded map"))
        return kept

    def one(value: Any, allowed: tuple[str, ...], path: str, default: str) -> str:
        found = known(value, allowed, path)
        return found[0] if found else default

    session = st.session_state
    session["builder_name"] = str(answers.get("name") or "")
    session["builder_description"] = str(answers.get("description") or "")
    service = answers.get("service")
    session["builder_add"] = bool(service)
    if service:
        session["builder_service_name"] = str(service.get("name") or "")
        session["builder_provider"] = str(service.get("provider") or "")
        session["builder_sector"] = one(service.get("sector"), v.SECTORS, "sector", v.SECTORS[0])
        session["builder_areas"] = known(service.get("areas") or [], areas, "areas")
        stages = service.get("stages") or []
        stages = stages.split("|") if isinstance(stages, str) else stages
        session["builder_stages"] = known(stages, v.STAGES, "stages")
        for key, column in (
            ("builder_min_age", "min_age_months"),
            ("builder_max_age", "max_age_months"),
        ):
            value = service.get(column)
            session[key] = int(value) if isinstance(value, int | float) else None
        session["builder_threshold"] = one(
            service.get("threshold"), v.THRESHOLDS, "threshold", v.THRESHOLDS[0]
        )
        offers = [o for o in service.get("offers") or [] if isinstance(o, dict)]
        session["builder_levels"] = known([o.get("level") for o in offers], v.LEVELS, "offers")
        for offer in offers:
            if offer.get("level") in v.LEVELS:
                session[f"builder_focus_{offer['level']}"] = one(
                    offer.get("focus"), v.FOCUSES, "offers.focus", "specialised"
                )
        for key, column, most in (
            ("builder_capacity", "capacity_per_year", MAX_FAMILIES),
            ("builder_cost", "annual_cost", MAX_COST),
        ):
            value = service.get(column)
            number = int(value) if isinstance(value, int | float) else 0
            if number > most:
                problems.append(
                    Problem(
                        LINK_FILE,
                        None,
                        column,
                        str(value),
                        f"more than the builder holds ({most:,})",
                    )
                )
                number = 0
            session[key] = number
        session["builder_self_referral"] = str(service.get("self_referral")).lower() in (
            "true",
            "yes",
            "1",
        )
        session["builder_assesses"] = str(service.get("assesses_relationship")).lower() in (
            "true",
            "yes",
            "1",
        )
        session["builder_referrers"] = known(
            service.get("referred_from") or [], services, "add_referrals.from_service"
        )
        session["builder_reason"] = one(
            service.get("reason"), v.REASONS, "add_referrals.reason", v.REASONS[0]
        )
    session["builder_retire"] = known(answers.get("retire") or [], services, "retire_services")
    links = []
    for link in answers.get("add_referrals") or []:
        if known([link.get("from_service"), link.get("to_service")], services, "add_referrals"):
            if link.get("reason") in v.REASONS:
                links.append(link)
    session[_LINKS] = links
    existing = _existing_links(
        [_key(link) for link in answers.get("remove_referrals") or [] if isinstance(link, dict)]
    )
    removing = []
    for link in answers.get("remove_referrals") or []:
        found = _key(link) if isinstance(link, dict) else None
        if found is not None and found in existing:
            removing.append("|".join(found))
        else:
            problems.append(
                Problem(LINK_FILE, None, "remove_referrals", str(found), "no such referral link")
            )
    session["builder_remove"] = removing
    session[_COSTS] = [
        {"item": str(c["item"]), "amount": c["amount"]}
        for c in answers.get("costs") or []
        if c.get("item") and isinstance(c.get("amount"), int | float)
    ]
    return problems


# Above this many services, the builder's service pickers list the services of one local
# authority at a time ("Services in"): five pickers of a national dataset's 50,000 services each
# sent a quarter of a million options to the browser, 11 s a page view.
MAX_SERVICE_CHOICES = 2_000
_IN = "builder_services_in"


def _service_choices(service_ids: list[str], areas: dict[str, str]) -> Callable[[str], list[str]]:
    """The options of the service picker with key ``key``: every service of a small dataset;
    of a large one, those of the local authority chosen in "Services in", and whatever that
    picker has chosen already (before, or in a shared link)."""
    if len(service_ids) <= MAX_SERVICE_CHOICES:
        return lambda _key: service_ids
    area = st.selectbox(
        "Services in",
        list(areas),
        index=None,
        key=_IN,
        format_func=lambda code: areas.get(code, code),
        placeholder=f"a local authority (the dataset has {len(service_ids):,} services)",
        help="The service lists below (referred to it by, retire, links) show the services of "
        "this local authority; what you have chosen stays chosen when you pick another.",
    )
    local = {str(row["id"]) for row in state.services(area)} if area else set()
    listed = [service for service in service_ids if service in local]
    known = set(service_ids)

    def choices(key: str) -> list[str]:
        chosen = st.session_state.get(key)
        kept = chosen if isinstance(chosen, list) else [chosen] if chosen else []
        return listed + [c for c in kept if c not in local and c in known]

    return choices


# Above this many referral links, "Remove referral links" lists one service's links at a time:
# a national dataset's million links as the options of one widget took 14 s a page view.
MAX_LINK_CHOICES = 2_000


def _removable_links(makers: list[str], by_name: Callable[[str], str]) -> dict[str, dict[str, Any]]:
    """The links "Remove referral links" offers, by key: every link of a small dataset; of a
    large one, those the service chosen in "Links made by" makes, and any already chosen."""
    total = int(state.info()["links"].get("REFERS_TO", 0))
    if total <= MAX_LINK_CHOICES:
        listed = state.arrow("referral_links").select(["from_service", "to_service", "reason"])
        listed = listed.to_pylist()
    else:
        maker = st.selectbox(
            "Links made by",
            makers,
            index=None,
            key="builder_remove_from",
            format_func=by_name,
            placeholder=f"a service (the dataset has {total:,} referral links)",
        )
        listed = _links_made_by([maker] if maker else [])
    found = {"|".join(_key(link)): link for link in listed}
    for key in st.session_state.get("builder_remove") or []:  # chosen before (or in a link)
        if key not in found and key.count("|") == 2:
            found[key] = dict(
                zip(("from_service", "to_service", "reason"), key.split("|"), strict=True)
            )
    return found


def _links_made_by(services: list[str]) -> list[dict[str, Any]]:
    """The referral links ``services`` make (a query of their links alone: a national dataset
    has a million)."""
    if not services:
        return []
    return state.store().run("referral_links_from", {"services": sorted(set(services))})


def _existing_links(keys: list[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """Which of ``keys`` are referral links of the loaded dataset (read from the links made
    by their services only)."""
    return {_key(link) for link in _links_made_by([key[0] for key in keys])}


def _key(link: Any) -> tuple[str, str, str]:
    return (str(link.get("from_service")), str(link.get("to_service")), str(link.get("reason")))


def _add_link() -> None:
    session = st.session_state
    link = {
        "from_service": session.get("builder_link_from"),
        "to_service": session.get("builder_link_to"),
        "reason": session.get("builder_link_reason"),
    }
    if all(link.values()) and link not in session.setdefault(_LINKS, []):
        session[_LINKS] = [*session[_LINKS], link]


def _add_cost() -> None:
    session = st.session_state
    item = str(session.get("builder_cost_item") or "").strip()
    amount = session.get("builder_cost_amount") or 0
    if item:
        session[_COSTS] = [*session.setdefault(_COSTS, []), {"item": item, "amount": int(amount)}]
        session["builder_cost_item"] = ""


def _clear(key: str) -> None:
    st.session_state[key] = []


def _defaults() -> None:
    # Defaults through the session, not the widgets: a shared link sets the same keys, and a
    # widget given both warns on the page.
    session = st.session_state
    session.setdefault("builder_name", DEFAULT_NAME)
    session.setdefault("builder_add", True)
    session.setdefault("builder_stages", list(v.STAGES))
    session.setdefault("builder_assesses", True)


def form() -> dict[str, Any] | None:
    """Draw the builder; the scenario document it describes (None before it has a name)."""
    services, areas = _services(), state.area_names()
    service_ids = sorted(services, key=lambda sid: services[sid].casefold())

    def by_name(service_id: str) -> str:
        return services.get(service_id, service_id)

    _defaults()
    st.text_input("Scenario name", key="builder_name", max_chars=120)
    st.text_input("What it is (optional)", key="builder_description", max_chars=500)
    choices = _service_choices(service_ids, areas)
    answers: dict[str, Any] = {
        "name": st.session_state.get("builder_name"),
        "description": st.session_state.get("builder_description"),
    }
    if st.toggle("Add a service", key="builder_add"):
        with st.container(border=True):
            top = st.columns(3)
            top[0].text_input("Service name", key="builder_service_name", max_chars=120)
            top[1].text_input("Provider", key="builder_provider", max_chars=120)
            top[2].selectbox(
                "Sector", v.SECTORS, key="builder_sector", format_func=lambda s: s.replace("_", " ")
            )
            where = st.columns(3)
            where[0].multiselect(
                "Areas", list(areas), key="builder_areas", format_func=lambda c: areas.get(c, c)
            )
            where[1].multiselect("Stages", list(v.STAGES), key="builder_stages")
            where[2].selectbox(
                "Threshold",
                v.THRESHOLDS,
                key="builder_threshold",
                format_func=lambda s: s.replace("_", " "),
            )
            ages = st.columns(4)
            ages[0].number_input(
                "From age (months)", 0, v.MAX_AGE_MONTHS, None, key="builder_min_age"
            )
            ages[1].number_input(
                "To age (months)", 0, v.MAX_AGE_MONTHS, None, key="builder_max_age"
            )
            ages[2].number_input(
                "Families a year",
                min_value=0,
                max_value=MAX_FAMILIES,
                step=10,
                key="builder_capacity",
            )
            ages[3].number_input(
                "Annual cost (GBP)",
                min_value=0,
                max_value=MAX_COST,
                step=5000,
                key="builder_cost",
            )
            levels = st.multiselect(
                "Levels of need it works at", list(v.LEVELS), key="builder_levels"
            )
            offers = []
            if levels:
                focus_columns = st.columns(len(levels))
                for column, level in zip(focus_columns, levels, strict=True):
                    focus = column.selectbox(
                        f"Focus at {level}",
                        v.FOCUSES,
                        key=f"builder_focus_{level}",
                        format_func=lambda s: s.replace("_", " "),
                    )
                    offers.append({"level": level, "focus": focus})
            flags = st.columns(2)
            flags[0].checkbox("Families can refer themselves", key="builder_self_referral")
            flags[1].checkbox("Assesses the parent-infant relationship", key="builder_assesses")
            routes = st.columns([2, 1])
            routes[0].multiselect(
                "Referred to it by",
                choices("builder_referrers"),
                key="builder_referrers",
                format_func=by_name,
            )
            routes[1].selectbox(
                "Referral reason",
                v.REASONS,
                key="builder_reason",
                format_func=lambda s: s.replace("_", " "),
            )
        session = st.session_state
        answers["service"] = {
            "name": session.get("builder_service_name"),
            "provider": session.get("builder_provider"),
            "sector": session.get("builder_sector"),
            "areas": session.get("builder_areas"),
            "stages": session.get("builder_stages"),
            "min_age_months": session.get("builder_min_age"),
            "max_age_months": session.get("builder_max_age"),
            "threshold": session.get("builder_threshold"),
            "offers": offers,
            "capacity_per_year": session.get("builder_capacity"),
            "annual_cost": session.get("builder_cost"),
            "self_referral": session.get("builder_self_referral"),
            "assesses_relationship": session.get("builder_assesses"),
            "referred_from": session.get("builder_referrers"),
            "reason": session.get("builder_reason"),
        }
    answers["retire"] = st.multiselect(
        "Retire services", choices("builder_retire"), key="builder_retire", format_func=by_name
    )
    links_by_key = _removable_links(choices("builder_remove_from"), by_name)
    answers["remove_referrals"] = [
        dict(zip(("from_service", "to_service", "reason"), key.split("|"), strict=True))
        for key in st.multiselect(
            "Remove referral links",
            sorted(links_by_key),
            key="builder_remove",
            format_func=lambda key: _link_text(links_by_key[key], services),
        )
    ]
    with st.expander("Add referral links between existing services", expanded=False):
        line = st.columns([2, 2, 2, 1], vertical_alignment="bottom")
        for place, end, key in ((0, "From", "builder_link_from"), (1, "To", "builder_link_to")):
            line[place].selectbox(end, choices(key), key=key, format_func=by_name)
        line[2].selectbox(
            "Reason",
            v.REASONS,
            key="builder_link_reason",
            format_func=lambda s: s.replace("_", " "),
        )
        line[3].button("Add link", key="builder_link_add", on_click=_add_link)
    added_links = st.session_state.get(_LINKS) or []
    if added_links:
        st.markdown(
            "**Links added:** " + "; ".join(md(_link_text(link, services)) for link in added_links)
        )
        st.button(
            "Clear the added links", key="builder_links_clear", on_click=_clear, args=(_LINKS,)
        )
    answers["add_referrals"] = added_links
    with st.expander("Other costs (e.g. a Head of Service)", expanded=False):
        line = st.columns([3, 2, 1], vertical_alignment="bottom")
        line[0].text_input("Cost item", key="builder_cost_item", max_chars=120)
        line[1].number_input(
            "Amount a year (GBP)",
            min_value=0,
            max_value=MAX_COST,
            step=1000,
            key="builder_cost_amount",
        )
        line[2].button("Add cost", key="builder_cost_add", on_click=_add_cost)
    costs = st.session_state.get(_COSTS) or []
    if costs:
        st.markdown(
            "**Other costs:** " + "; ".join(f"{md(c['item'])} £{c['amount']:,.0f}" for c in costs)
        )
        st.button(
            "Clear the other costs", key="builder_costs_clear", on_click=_clear, args=(_COSTS,)
        )
    answers["costs"] = costs
    if not str(answers.get("name") or "").strip():
        return None
    if answers.get("service") and not str(answers["service"].get("name") or "").strip():
        answers["service"] = None  # the service is added once it has a name
    document = build_document(answers, set(services))
    _write_link(document)
    return document


def _write_link(document: dict[str, Any]) -> None:
    """Keep the builder's scenario in the address (the share link); too large: no link."""
    try:
        code = to_link(document)
    except InputError as exc:
        if PARAM in st.query_params:
            del st.query_params[PARAM]
        st.session_state[workshop.NOT_IN_LINK] = (
            f"The builder's scenario is not in this address: {exc.problems[0].reason}."
        )
        return
    st.session_state[_WRITTEN] = code
    if st.query_params.get(PARAM) != code:
        st.query_params[PARAM] = code


def actions(document: dict[str, Any]) -> None:
    """Download as YAML; for editors, apply as a new version after a confirmation."""
    stem = (
        "-".join(
            part
            for part in "".join(c if c.isalnum() else "-" for c in document["name"].lower()).split(
                "-"
            )
            if part
        )[:60]
        or "scenario"
    )
    st.download_button(
        "Scenario as YAML (for `nestmap scenario`)",
        data=to_yaml(document).encode("utf-8"),
        file_name=f"{stem}.yaml",
        mime="application/yaml",
        key="builder_yaml",
        on_click="ignore",
        icon=":material/download:",
    )
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        getattr(st, notice[0])(notice[1])
    if not access.can_edit():
        st.caption(
            "Applying a scenario to the map needs the editor grant (see the Data page); "
            "anyone can try it here and download it."
        )
        return
    with st.expander("Apply this scenario to the map as a new version", expanded=False):
        st.caption(
            "The map becomes the scenario's map for everyone; the current map is kept as a "
            "version (undo on the Data page)."
        )
        why = st.text_input(
            "Why (kept with the new version)", key="builder_apply_why", max_chars=MAX_WHY_CHARS
        )
        sure = st.checkbox("Yes, change the map for everyone", key="builder_apply_sure")
        st.button(
            "Apply as a new version",
            key="builder_apply",
            type="primary",
            disabled=not (sure and why.strip()),
            on_click=_apply,
            args=(json.dumps(document, default=str), state.store().version()),
        )


def _apply(document_json: str, seen_version: str) -> None:
    """The apply button's callback, with the scenario and map version the page showed."""
    try:
        who = access.require_editor()
        with budget.action("Applying the scenario as a new version"):
            applied = apply_scenario_as_version(
                state.store(),
                json.loads(document_json),
                started_from=seen_version,
                by=who,
                why=str(st.session_state.get("builder_apply_why") or ""),
            )
    except MapChanged:
        st.session_state[_NOTICE] = (
            "error",
            "The map changed since this page was drawn (someone else saved); nothing was "
            "applied. Look at the before/after again, then apply.",
        )
        return
    except NestmapError as exc:
        st.session_state[_NOTICE] = ("error", f"Nothing was applied: {md(exc)}.")
        return
    st.cache_data.clear()
    kept = applied.get("kept_version")
    # The map before is kept as version N - 1; this one is version N in the same numbering.
    version = f"version {kept + 1}" if kept is not None else "a new version"
    start_afresh()
    st.session_state[_NOTICE] = (
        "success",
        f"Applied as {version} of the map (recorded as applied by {md(who)}; the map before it "
        f"is kept{f' as version {kept}' if kept is not None else ''}, and undo is on the Data "
        f"page): {md(applied['note'])}. The builder starts afresh from the map as it now is.",
    )


def start_afresh() -> None:
    """Empty the builder (its answers, added links and costs, and the scenario in the
    address): after its scenario is applied, the next one starts from the new map."""
    for key in [key for key in st.session_state if str(key).startswith("builder_")]:
        if key != _NOTICE:
            del st.session_state[key]
    if PARAM in st.query_params:
        del st.query_params[PARAM]


def show_link_problems(problems: list[Problem]) -> None:
    st.error(
        "The scenario in this link cannot be used (the builder starts empty): "
        + md(problems[0].reason if len(problems) == 1 else f"{len(problems)} problems")
        + "."
    )
    tables.show(
        tables.frame([p.as_dict() for p in problems], ["file", "row", "column", "value", "reason"]),
        "builder_link_problems",
    )
