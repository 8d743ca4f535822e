"""Jobs: every job of the service in use, with its state; failed jobs show their message; results open in Explore."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from components.backend import backend_or_error, result_for_job
from components.data import get_store
from components.job_progress import open_page
from emolens.errors import EmolensError

STATUSES = ["QUEUED", "IN_PROGRESS", "COMPLETED", "FAILED"]


def init_state() -> None:
    st.session_state.setdefault("jobs_status", [])
    st.session_state.setdefault("jobs_limit", 50)


def _ts(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S") if ms else ""


def _inputs(request: dict) -> str:
    parts = [f.get("filename") or "file" for f in request.get("files") or []]
    parts += list(request.get("urls") or [])
    parts += [f"text: {t[:30]}…" if len(t) > 30 else f"text: {t}" for t in request.get("text") or []]
    return ", ".join(parts[:3]) + (f" (+{len(parts) - 3})" if len(parts) > 3 else "")


def all_failed(job: dict) -> bool:
    """A COMPLETED job (Hume's state) in which no input could be measured: a failure to the user."""
    s = job["state"]
    return s["status"] == "COMPLETED" and bool(s.get("num_errors")) and not s.get("num_predictions")


def table(jobs: list[dict]) -> pd.DataFrame:
    rows = []
    for d in jobs:
        s = d["state"]
        dur = ""
        if s.get("ended_timestamp_ms") and s.get("started_timestamp_ms"):
            dur = f"{(s['ended_timestamp_ms'] - s['started_timestamp_ms']) / 1000:.1f} s"
        models = sorted(((d["request"].get("models") or {}) or {"prosody": 1, "language": 1, "ner": 1}).keys())
        progress = d.get("progress") or {}
        status = s["status"]
        if all_failed(d):
            status = "COMPLETED · every input failed"
        rows.append({
            "status": status, "created": _ts(s.get("created_timestamp_ms")), "duration": dur,
            "inputs": _inputs(d["request"]), "models": ", ".join(models),
            "progress": f"{progress.get('fraction', 0):.0%} {progress.get('message', '')}".strip()
            if s["status"] in ("QUEUED", "IN_PROGRESS") else "",
            "errors": s.get("num_errors", ""), "message": s.get("message", ""), "job_id": d["job_id"],
        })
    return pd.DataFrame(rows)


def main() -> None:
    st.title("Jobs")
    init_state()
    backend = backend_or_error()
    if backend is None:
        return
    c1, c2, c3 = st.columns([3, 1, 1])
    statuses = c1.multiselect("Status", STATUSES, key="jobs_status")
    limit = c2.number_input("Show", min_value=1, max_value=500, step=10, key="jobs_limit")
    c3.button("Refresh", key="jobs_refresh")
    try:
        jobs = [d.to_json_dict() if hasattr(d, "to_json_dict") else d
                for d in backend.client.list_jobs(limit=int(limit), status=statuses or None)]
        raw = {j["job_id"]: j for j in jobs}
        for jid in [j["job_id"] for j in jobs if j["state"]["status"] in ("QUEUED", "IN_PROGRESS")]:
            raw[jid] = backend.client.get_job(jid).to_json_dict()  # with its progress
    except EmolensError as e:
        st.error(f"Cannot list jobs: {e}")
        return
    if not jobs:
        st.info("No jobs yet: start one on the Measure page.")
        return
    df = table([raw[j["job_id"]] for j in jobs])
    st.dataframe(df, hide_index=True, width="stretch", key="jobs_table",
                 column_config={"message": st.column_config.TextColumn(width="large")})
    for d in jobs:
        if d["state"]["status"] == "FAILED":
            st.error(f"Job {d['job_id'][:8]} ({_inputs(d['request'])}) failed: {d['state'].get('message')}")
        elif all_failed(d):
            st.error(f"Job {d['job_id'][:8]} ({_inputs(d['request'])}) measured nothing: "
                     f"{d['state'].get('num_errors')} input(s) failed.")
    done = [d["job_id"] for d in jobs if d["state"]["status"] == "COMPLETED" and not all_failed(d)]
    if done:
        c1, c2 = st.columns([3, 1])
        labels = {j: f"{j[:8]} · {_inputs(raw[j]['request'])}" for j in done}
        chosen = c1.selectbox("Completed job", done, format_func=labels.get, key="jobs_pick")
        c2.write("")
        if c2.button("Open in Explore", key="jobs_open"):
            try:
                st.session_state["explore_result"] = result_for_job(backend, get_store(), chosen)
            except EmolensError as e:
                st.error(str(e))
                return
            open_page("app_pages/explore.py", "Explore")


main()
