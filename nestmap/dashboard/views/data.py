"""Data: what is loaded, upload a replacement (all or nothing), download the dataset."""

import streamlit as st

from nestmap.dashboard import layout, state, tables
from nestmap.dashboard.text import md
from nestmap.errors import InputError, NestmapError
from nestmap.loaders import read_dataset_bytes

chosen = layout.start(
    "Data",
    "Load a mapping dataset (a .zip of the CSV files or one .xlsx workbook, in the format of "
    "the template below). Every rule is checked first: if anything is wrong you get the full "
    "list of problems and nothing is replaced.",
    "data",
)
store = state.store()

notice = st.session_state.pop("data_loaded_notice", None)
if notice:
    st.success(notice)

st.subheader("Load a dataset")
generation = st.session_state.setdefault("upload_generation", 0)
uploaded = st.file_uploader(
    "Dataset file (.zip of CSVs or .xlsx)", type=["zip", "xlsx"], key=f"upload_{generation}"
)
if uploaded is not None and st.button("Replace the graph with this dataset", type="primary"):
    try:
        dataset = read_dataset_bytes(uploaded.name, uploaded.getvalue())
    except InputError as exc:
        st.session_state["data_problems"] = (
            uploaded.file_id,
            str(exc),
            [problem.as_dict() for problem in exc.problems],
        )
    except (NestmapError, ValueError) as exc:
        st.session_state["data_problems"] = (uploaded.file_id, str(exc), [])
    else:
        with st.spinner("Loading..."):
            store.replace(dataset)
        st.cache_data.clear()
        st.session_state.pop("data_problems", None)
        st.session_state["upload_generation"] = generation + 1
        st.session_state["data_loaded_notice"] = f"Loaded {uploaded.name}: every page now shows it."
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
    st.caption(
        f"Loaded {md(info.get('loaded_at'))} from {md(info.get('origin'))} · "
        f"{md(info.get('engine'))} graph at {md(info.get('location'))}"
    )
    if not chosen.present:
        from nestmap.interop import export_dataset

        downloads = st.container(horizontal=True)
        downloads.download_button(
            "Dataset as XLSX",
            data=lambda: export_dataset(store, "xlsx"),
            file_name=f"{info.get('dataset') or 'dataset'}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            on_click="ignore",
            icon=":material/download:",
        )
        downloads.download_button(
            "Dataset as ZIP of CSVs",
            data=lambda: export_dataset(store, "zip"),
            file_name=f"{info.get('dataset') or 'dataset'}.zip",
            mime="application/zip",
            on_click="ignore",
            icon=":material/download:",
        )
    st.markdown("**Service catalogue** (every status)")
    tables.show(tables.frame(state.services()), "services")

if not chosen.present:
    from nestmap.interop import template_workbook

    st.subheader("Template")
    st.download_button(
        "Blank template workbook (.xlsx)",
        data=template_workbook,
        file_name="nestmap-template.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
        icon=":material/download:",
    )
