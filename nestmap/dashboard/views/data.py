"""Data: what is loaded and who changed it; for editors (see access.py), upload a replacement
(all or nothing) or roll back; download the dataset; map an Open Referral UK directory; export
the graph for network tools."""

import tempfile
import zipfile
from pathlib import Path

import streamlit as st

from nestmap.dashboard import access, budget, layout, state, tables
from nestmap.dashboard.text import md
from nestmap.errors import InputError, NestmapError

chosen = layout.start(
    "Data",
    "Load a mapping dataset (a .zip of the CSV files or one .xlsx workbook, in the format of "
    "the template below). Every rule is checked first: if anything is wrong you get the full "
    "list of problems and nothing is replaced."
    if access.can_edit()
    else "What is loaded, who changed it and when, and every download: the dataset, the "
    "template and the graph for network tools.",
    "data",
)
store = state.store()

notice = st.session_state.pop("data_loaded_notice", None)
if notice:
    st.success(notice)

st.subheader("Load a dataset")
# Changing the map needs a grant given when the server started (nestmap/dashboard/access.py).
access.controls()
uploaded = None
if access.can_edit():
    generation = st.session_state.setdefault("upload_generation", 0)
    uploaded = st.file_uploader(
        "Dataset file (.zip of CSVs or .xlsx)", type=["zip", "xlsx"], key=f"upload_{generation}"
    )
if uploaded is not None and st.button("Replace the graph with this dataset", type="primary"):
    try:
        who = access.require_editor()
        # Graph.load checks every rule first and replaces the graph only when all pass.
        with budget.action("Checking and loading the dataset"), st.spinner("Loading..."):
            state.graph().load(uploaded.getvalue(), name=uploaded.name, by=who)
    except InputError as exc:
        st.session_state["data_problems"] = (
            uploaded.file_id,
            str(exc) + (f" ({exc.more_note()})" if exc.more_note() else ""),
            [problem.as_dict() for problem in exc.problems],
        )
    except (NestmapError, ValueError) as exc:
        st.session_state["data_problems"] = (uploaded.file_id, str(exc), [])
    else:
        st.cache_data.clear()
        st.session_state.pop("data_problems", None)
        st.session_state["upload_generation"] = generation + 1
        st.session_state["data_loaded_notice"] = (
            f"Loaded {md(uploaded.name)}: every page now shows it (recorded as loaded by "
            f"{md(who)})."
        )
        st.rerun()

failed = st.session_state.get("data_problems")
if failed and uploaded is not None and failed[0] == uploaded.file_id:
    _, message, problems = failed
    st.error(
        f"{md(uploaded.name)}: {md(message)}. Nothing was replaced; the graph below is unchanged."
    )
    if problems:
        tables.show(
            tables.frame(problems, ["file", "row", "column", "value", "reason"]), "problems"
        )


def _history() -> None:
    """Who changed the map and when, the kept versions, and (for editors) a rollback."""
    changes = store.changes()
    try:
        kept = store.versions()
    except NestmapError:  # an engine that keeps no versions
        kept = []
    if not changes and not kept:
        return
    st.subheader("Changes and kept versions")
    if changes:
        st.markdown("**Who changed the map** (newest first)")
        tables.show(
            tables.frame(
                list(reversed(changes)), ["at", "action", "by", "detail", "note", "kept_version"]
            ),
            "changes",
        )
    if kept:
        st.markdown("**Kept versions** (each load keeps the graph it replaces)")
        columns = ["version", "name", "loaded_at", "loaded_by", "replaced_at", "replaced_by"]
        tables.show(tables.frame(kept, columns), "versions")
    if kept and access.can_edit() and not chosen.present:
        line = st.container(horizontal=True, vertical_alignment="bottom")
        numbers = [row["version"] for row in kept]
        version = line.selectbox("Version", numbers, index=len(numbers) - 1, key="rollback_pick")
        if line.button("Make this version the current graph", key="rollback_run"):
            who = access.require_editor()
            store.rollback(int(version), who)
            st.cache_data.clear()
            st.session_state["data_loaded_notice"] = (
                f"Version {int(version)} is the current graph again (recorded as rolled back by "
                f"{md(who)})."
            )
            st.rerun()


st.subheader("Loaded dataset")
if not store.has_graph():
    st.info("No dataset is loaded yet.")
else:
    info = state.info()
    st.markdown(f"Dataset **{md(info.get('dataset') or '(unnamed)')}**")
    columns = st.columns(3)
    columns[0].metric("Local authorities", f"{len(state.local_authority_codes()):,}")
    columns[1].metric("Services", f"{info['nodes'].get('Service', 0):,}")
    columns[2].metric("Referral links", f"{info['links'].get('REFERS_TO', 0):,}")
    loaded_by = f" by {md(info['loaded_by'])}" if info.get("loaded_by") else ""
    st.caption(
        f"Loaded {md(info.get('loaded_at'))}{loaded_by} from {md(info.get('origin'))} · "
        f"{md(info.get('engine'))} graph at {md(info.get('location'))}"
    )
    if not chosen.present:
        from nestmap.interop import export_dataset

        downloads = st.container(horizontal=True)
        tables.download(
            downloads,
            "Dataset as XLSX",
            lambda: export_dataset(store, "xlsx"),
            f"{info.get('dataset') or 'dataset'}.xlsx",
        )
        tables.download(
            downloads,
            "Dataset as ZIP of CSVs",
            lambda: export_dataset(store, "zip"),
            f"{info.get('dataset') or 'dataset'}.zip",
        )
    st.markdown("**Service catalogue** (every status)")
    # Kept as a frame per dataset version: a national dataset has 50,000 services.
    tables.show(
        state.kept(
            "data.services_table",
            (),
            lambda: tables.frame(state.services()),
            disk=state.default_view(),
        ),
        "services",
    )
    # Change the map in the room: the tables in editable grids (nestmap/dashboard/editing.py).
    from nestmap.dashboard import editing

    editing.section()
    _history()


def _import_oruk(name: str, data: bytes, companion: bytes | None, keep_first: bool) -> dict:
    """Map the upload in a bounded worker process (nestmap.interop.oruk_upload), as one of the
    server's expensive actions; what to show, and the dataset as a zip (with its
    TO_FILL_IN.csv and IMPORT_WARNINGS.txt)."""
    from nestmap.interop.oruk_upload import COMPANION_NAME, LIMITS, MAPPED_ZIP, UPLOAD_NAME
    from nestmap.workers import call_in_worker

    with tempfile.TemporaryDirectory(prefix="nestmap-oruk-") as scratch:
        folder = Path(scratch)
        (folder / UPLOAD_NAME).write_bytes(data)
        if companion is not None:
            (folder / COMPANION_NAME).write_bytes(companion)
        arguments = {
            "name": name,
            "scratch": scratch,
            "with_companion": companion is not None,
            "keep_first": keep_first,
        }
        status = st.empty()
        with budget.action("Mapping the directory"):
            mapped = call_in_worker(
                "map_oruk_upload", arguments, LIMITS, budget.heartbeat(status, LIMITS.timeout_s)
            )
        status.empty()
        mapped["zip"] = (folder / MAPPED_ZIP).read_bytes()
    return mapped


def _show_import(name: str, mapped: dict, keep_first: bool) -> None:
    """What the import read, warned of and left to fill in, as the command line says it
    (every directory value escaped: it is a visitor's upload)."""
    if "error" in mapped:
        st.error(f"{md(name)}: {md(mapped['error'])}. Nothing was mapped.")
        reasons = " ".join(str(p["reason"]) for p in mapped["problems"])
        if not keep_first and ("duplicate id" in reasons or "needs an" in reasons):
            st.caption(
                "Tick **Keep the first record of each id** to map the directory without the "
                "records listed (each is then reported in the warnings)."
            )
        if mapped["problems"]:
            tables.show(
                tables.frame(mapped["problems"], ["file", "row", "column", "value", "reason"]),
                "oruk_problems",
            )
        return
    st.success(
        f"Mapped {len(mapped['services']):,} services from {md(name)}, read as: "
        f"{mapped['shape']}."  # our own words, never the directory's
    )
    if mapped["areas_by_name"]:
        st.caption(
            f"{mapped['areas_by_name']:,} service areas given by name were matched to ONS "
            "codes (each listed in the warnings)."
        )
    st.markdown("**Mapped services** (services.csv)")
    tables.show(tables.frame(mapped["services"]), "oruk_services")
    if mapped["warnings"]:
        st.markdown(
            f"**Warnings** ({len(mapped['warnings']):,}; also in IMPORT_WARNINGS.txt in the "
            "download): what could not be mapped exactly, and each rule applied, counted"
        )
        tables.show(tables.frame([{"warning": w} for w in mapped["warnings"]]), "oruk_warnings")
    total = len(mapped["to_fill_in"])
    st.markdown(
        f"**To fill in** before the dataset will load: {total:,} things (TO_FILL_IN.csv in the "
        "download; `original` is what the directory said)"
    )
    tables.show(
        tables.frame(
            [{"file": f, "column": c, "how many": n} for f, c, n in mapped["fill_in_summary"]],
            ["file", "column", "how many"],
        ),
        "oruk_fill_in_summary",
    )
    tables.show(
        tables.frame(mapped["to_fill_in"], ["file", "row", "column", "id", "what", "original"]),
        "oruk_to_fill_in",
    )
    if not chosen.present:
        tables.download(
            st,
            "Mapped dataset (.zip of CSVs)",
            mapped["zip"],
            f"{Path(name).stem or 'oruk'}-nestmap.zip",
            key="oruk_download",
        )


st.subheader("Import from Open Referral UK")
if not chosen.present:
    st.caption(
        "Map a directory published in the Open Referral UK standard (a .json file, or a .zip of "
        "its CSV files) onto nestmap's format. ORUK has no levels, stages, thresholds or referral "
        "links: an optional companion CSV (oruk_service_id plus any of sector, stages, threshold, "
        "self_referral, assesses_relationship, capacity_per_year, supports_fathers, offers, "
        "refers_to, areas, min_age_months, max_age_months) fills them in, and the rest is listed "
        'under "to fill in". The loaded graph is not changed: download the mapped dataset, '
        "complete it, then load it above."
    )
# Behind a switch: the uploaders appear when asked for, so the page opens with one upload box.
if st.toggle("Map an ORUK directory", key="oruk_open"):
    oruk_file = st.file_uploader(
        "ORUK directory (.json or .zip of CSVs)", type=["json", "zip"], key="oruk_upload"
    )
    oruk_companion = st.file_uploader(
        "Companion CSV (optional)", type=["csv"], key="oruk_companion"
    )
    keep_first = st.checkbox(
        "Keep the first record of each id",
        key="oruk_keep_first",
        help="Leave out later records with the same id, and records without an id or a name "
        "(each one listed in the warnings), instead of refusing the directory.",
    )
    ids = (
        oruk_file.file_id if oruk_file is not None else None,
        oruk_companion.file_id if oruk_companion else None,
        keep_first,
    )
    if oruk_file is not None and st.button("Map to nestmap's format", key="oruk_run"):
        try:
            mapped = _import_oruk(
                oruk_file.name,
                oruk_file.getvalue(),
                oruk_companion.getvalue() if oruk_companion is not None else None,
                keep_first,
            )
        except InputError as exc:
            st.session_state["oruk_result"] = (
                ids,
                {"error": str(exc), "problems": [p.as_dict() for p in exc.problems]},
            )
        except (NestmapError, ValueError, KeyError, zipfile.BadZipFile, OSError) as exc:
            st.session_state["oruk_result"] = (ids, {"error": str(exc), "problems": []})
        else:
            st.session_state["oruk_result"] = (ids, mapped)

    imported = st.session_state.get("oruk_result")
    if imported and oruk_file is not None and imported[0] == ids:
        _show_import(oruk_file.name, imported[1], keep_first)

if store.has_graph() and not chosen.present:
    from nestmap.interop import to_gexf, to_graphml, to_kumu

    st.subheader("Export the graph")
    st.caption(
        "The loaded graph for network tools: GraphML (Gephi, yEd, NetworkX, Cytoscape), GEXF "
        "(Gephi) and a Kumu spreadsheet import (Elements and Connections sheets)."
    )
    stem = str(state.info().get("dataset") or "nestmap")
    exports = st.container(horizontal=True)
    tables.download(
        exports, "GraphML", lambda: to_graphml(store), f"{stem}.graphml", key="export_graphml"
    )
    tables.download(exports, "GEXF", lambda: to_gexf(store), f"{stem}.gexf", key="export_gexf")
    tables.download(
        exports,
        "Kumu workbook (.xlsx)",
        lambda: to_kumu(store),
        f"{stem}-kumu.xlsx",
        key="export_kumu",
    )

if not chosen.present:
    from nestmap.interop import template_workbook

    st.subheader("Template")
    tables.download(
        st, "Blank template workbook (.xlsx)", template_workbook, "nestmap-template.xlsx"
    )
