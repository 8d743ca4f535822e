"""Result -> file -> model pickers, bound to query params so selections can be shared by URL."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st

from components.data import files_of, store_key
from emolens.store import ResultRow, Store


@dataclass
class Selection:
    result: ResultRow
    file: str
    source: int
    model: str
    models: list[str]


def _qp_index(options: list[str], key: str, default: int = 0) -> int:
    value = st.query_params.get(key)
    return options.index(value) if value in options else default


def result_label(r: ResultRow) -> str:
    s = r.summary
    return f"{r.name} · {s.get('files', 0)} file(s) · {', '.join(s.get('models', []))} · {r.id}"


def pick(store: Store, prefix: str = "", default_result: str | None = None, sync_url: bool = True,
         label: str = "Result") -> Selection | None:
    """Pick result, file and model. Query params ``{prefix}result``, ``{prefix}file``, ``{prefix}model``."""
    rows = store.list_results()
    if not rows:
        st.info("The library is empty: import an archive on the Library page or run a job on Measure.")
        return None
    ids = [r.id for r in rows]
    by_id = {r.id: r for r in rows}
    default = ids.index(default_result) if default_result in ids else _qp_index(ids, f"{prefix}result")
    rid = st.selectbox(label, ids, index=default, format_func=lambda i: result_label(by_id[i]),
                       key=f"{prefix}pick_result")
    files = files_of(store_key(store), rid)
    if not files:
        st.warning("This result has no predictions to explore (only errors). See its details in the Library.")
        return None
    labels = [label for *_, label in files]
    c1, c2 = st.columns(2)
    fi = c1.selectbox("File", range(len(files)), format_func=lambda i: labels[i],
                      index=_qp_index(labels, f"{prefix}file"), key=f"{prefix}pick_file_{rid}")
    si, fname, models, _ = files[fi]
    model = c2.selectbox("Model", models, index=_qp_index(models, f"{prefix}model"),
                         key=f"{prefix}pick_model_{rid}_{fi}")
    if sync_url:
        st.query_params[f"{prefix}result"] = rid
        st.query_params[f"{prefix}file"] = labels[fi]
        st.query_params[f"{prefix}model"] = model
    return Selection(result=by_id[rid], file=fname, source=si, model=model, models=models)


def selected_id(ids: list[str], selected_rows: list[int], remembered: str | None) -> str:
    """The result to act on: the ticked row of this table, else the remembered id (still listed), else the newest."""
    if selected_rows and 0 <= selected_rows[0] < len(ids):
        return ids[selected_rows[0]]
    if remembered in ids:
        return str(remembered)
    return ids[0]


def selection_key(prefix: str, ids: list[str]) -> str:
    """A widget key for a selectable table of ``ids``: a new key when the rows change, so a row position ticked
    before an import or a delete never lands on another result."""
    return f"{prefix}_{hashlib.sha1(','.join(ids).encode()).hexdigest()[:10]}"
