"""Library: import archives, list stored results, rename, delete, download, open in Explore."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from components.data import drop_cached, get_store, predictions, store_key, warm
from components.picker import selected_id, selection_key
from emolens.archive import export, load_archive
from emolens.errors import EmolensError
from emolens.summary import error_messages

SELECTED = "library_selected"
EXPORTS = {"json": ("Predictions JSON", "application/json", "json"),
           "zip": ("Artifacts zip (CSV)", "application/zip", "zip"),
           "csv": ("Tidy CSV (wide)", "text/csv", "csv"),
           "parquet": ("Parquet (wide)", "application/octet-stream", "parquet")}


def init_state() -> None:
    st.session_state.setdefault("library_uploader_gen", 0)
    st.session_state.setdefault("library_messages", [])


def import_files(files) -> None:
    """Import uploaded files; remember messages to show after the rerun."""
    store = get_store()
    messages = []
    for f in files:
        try:
            report = load_archive(f.getvalue(), name=f.name)
        except EmolensError as e:
            messages.append(("error", f"Could not import {e}. Check that it is a Hume predictions JSON, an artifacts "
                                      "zip or a results CSV."))
            continue
        media = {name: store.put_media(data) for name, data in report.media.items()}
        rid = store.add_result(Path(f.name).stem, report.predictions, origin="imported",
                               config={"archive": f.name, "kind": report.kind, "problems": report.problems},
                               media=media)
        warm(store_key(store), rid, report.predictions)  # its first open in Explore reads frames, parses nothing
        n = len(report.predictions)
        messages.append(("success", f"Imported {f.name}: {n} source(s) as result {rid}."))
        for p in report.problems:
            messages.append(("warning", f"Skipped part of {f.name}: {p}"))
    st.session_state["library_messages"] = messages
    st.session_state["library_uploader_gen"] += 1  # a fresh uploader, so files are not imported twice


def results_table(rows) -> pd.DataFrame:
    return pd.DataFrame([{
        "name": r.name, "origin": r.origin,
        "created": datetime.fromtimestamp(r.created_ms / 1000).strftime("%Y-%m-%d %H:%M"),
        "sources": r.summary.get("sources", 0), "files": r.summary.get("files", 0),
        "models": ", ".join(r.summary.get("models", [])), "duration (s)": r.summary.get("duration_s", 0.0),
        "speakers": len(r.summary.get("speakers", [])), "predictions": r.summary.get("predictions", 0),
        "errors": r.summary.get("errors", 0), "id": r.id,
    } for r in rows])


def actions(row) -> None:
    store = get_store()
    st.subheader(row.name)
    files = ", ".join(f"“{f}”" for f in row.summary.get("file_names", [])[:10])
    st.caption(f"id {row.id} · {row.origin} · files: {files or '—'}")
    if row.config and row.config.get("problems"):
        with st.expander(f"{len(row.config['problems'])} part(s) skipped on import"):
            for p in row.config["problems"]:
                st.write(f"- {p}")
    errors = error_messages(predictions(store_key(store), row.id)) if row.summary.get("errors") else []
    if errors:
        with st.expander(f"{len(errors)} input(s) could not be measured", expanded=not row.summary.get("predictions")):
            for e in errors:
                st.write(f"- {e}")
    c1, c2, c3 = st.columns([2, 1, 1])
    with c1:
        new = st.text_input("Name", value=row.name, key=f"library_rename_{row.id}")
    with c2:
        st.write("")
        if st.button("Rename", key=f"library_rename_btn_{row.id}", disabled=new.strip() == row.name):
            try:
                store.rename_result(row.id, new)
                st.rerun()
            except EmolensError as e:
                st.error(str(e))
    with c3:
        st.write("")
        if st.button("Open in Explore", type="primary", key=f"library_open_{row.id}"):
            st.session_state["explore_result"] = row.id
            st.switch_page("app_pages/explore.py")
    st.markdown("**Download**")
    cols = st.columns(len(EXPORTS))
    preds = predictions(store_key(store), row.id)
    for col, (fmt, (label, mime, ext)) in zip(cols, EXPORTS.items(), strict=True):
        with col:
            try:
                data = export(preds, fmt)
            except EmolensError as e:
                st.error(f"{label}: {e}")
                continue
            st.download_button(label, data=data, file_name=f"{row.name}.{ext}", mime=mime,
                               key=f"library_dl_{fmt}_{row.id}")
    with st.expander("Delete this result"):
        sure = st.checkbox("Yes, delete it (this cannot be undone)", key=f"library_delete_sure_{row.id}")
        if st.button("Delete", disabled=not sure, key=f"library_delete_{row.id}"):
            store.delete_result(row.id)
            drop_cached(store_key(store), row.id)
            st.session_state["library_messages"] = [("success", f"Deleted {row.name}.")]
            st.rerun()


def main() -> None:
    init_state()
    st.title("Library")
    st.caption("Archived Hume results and emolens measurements. Import predictions JSON, artifact zips or CSV files.")
    try:
        store = get_store()
    except EmolensError as e:
        st.error(str(e))
        return
    with st.form("library_import_form", clear_on_submit=False, border=True):
        files = st.file_uploader("Archives to import", type=["json", "zip", "csv"], accept_multiple_files=True,
                                 key=f"library_uploader_{st.session_state['library_uploader_gen']}")
        submitted = st.form_submit_button("Import", type="primary")
    if submitted:
        if not files:
            st.warning("Choose one or more .json, .zip or .csv files first.")
        else:
            with st.spinner(f"Importing {len(files)} file(s)…"):
                import_files(files)
            st.rerun()
    for level, msg in st.session_state["library_messages"]:
        getattr(st, level)(msg)
    rows = store.list_results()
    if not rows:
        st.info("No results yet. Import an archive above, or measure audio/text on the Measure page.")
        return
    st.subheader(f"{len(rows)} stored result(s)")
    st.caption("Select a row to rename, download, delete or open it.")
    table = results_table(rows)
    # The table's selection is a row position: key the table by its ids so an import or a delete (which moves rows)
    # starts a fresh selection instead of pointing at another result; the chosen result is kept by id.
    table_key = selection_key("library_table", list(table["id"]))
    event = st.dataframe(table, key=table_key, on_select="rerun", selection_mode="single-row",
                         hide_index=True, width="stretch",
                         column_config={"duration (s)": st.column_config.NumberColumn(format="%.1f")})
    selected = event.selection.rows if event is not None and hasattr(event, "selection") else []
    rid = selected_id(list(table["id"]), selected, st.session_state.get(SELECTED) or st.query_params.get("result"))
    st.session_state[SELECTED] = rid
    st.query_params["result"] = rid
    actions(rows[list(table["id"]).index(rid)])


main()
