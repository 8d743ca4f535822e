"""Settings: the measurement service in use (embedded or remote), its health, and where to point the dashboard."""

from __future__ import annotations

import streamlit as st

from components.backend import KEY_KEY, URL_KEY, backend_or_error
from emolens.client import Client
from emolens.errors import EmolensError
from emolens.settings import get_settings


def init_state() -> None:
    st.session_state.setdefault("settings_url", st.session_state.get(URL_KEY, ""))
    st.session_state.setdefault("settings_key", st.session_state.get(KEY_KEY, ""))


def check(client: Client) -> tuple[bool, str, dict | None]:
    """(ok, message, health) for a service: reachable, and the key accepted."""
    health = None
    try:
        health = client.health()
    except EmolensError as e:
        if getattr(e, "status", 0) == 0:
            return False, str(e), None
        # not an emolens service (no /health): the batch API decides
    try:
        client.list_jobs(limit=1)
    except EmolensError as e:
        return False, str(e), health
    return True, "reachable; API key accepted" if client.api_key else "reachable", health


def show_cluster(health: dict) -> None:
    """Where batch jobs run (local pool or a Dask cluster), and a clear error when the cluster cannot be used."""
    cluster = health.get("cluster")
    if not cluster:
        return
    line = f"Batch jobs run on the Dask cluster at `{cluster['scheduler']}`"
    if cluster.get("connected"):
        line += f": {cluster.get('workers', 0)} worker(s), {cluster.get('threads', 0)} thread(s)"
    st.markdown(line)
    if cluster.get("error"):
        waiting = "the local pool runs them meanwhile" if cluster.get("fallback_active") else "jobs stay queued"
        st.error(f"Cluster: {cluster['error']} ({waiting} until it is back)")


def main() -> None:
    st.title("Settings")
    init_state()
    settings = get_settings()
    backend = backend_or_error()
    st.subheader("Measurement service")
    if backend is not None:
        where = "embedded (started by this dashboard on 127.0.0.1)" if backend.embedded else "remote"
        st.markdown(f"In use: **{where}** at `{backend.url}`")
        ok, message, health = check(backend.client)
        (st.success if ok else st.error)(f"Health: {message}")
        if health and "workers" in health:  # details come only with a valid key
            c1, c2, c3, c4 = st.columns(4)
            jobs = health.get("jobs", {})
            c1.metric("Workers alive", f"{health['workers']['alive']}/{health['workers']['configured']}")
            c2.metric("Queued", jobs.get("queued", 0))
            c3.metric("Running", jobs.get("in_progress", 0))
            c4.metric("Completed", jobs.get("completed", 0))
            show_cluster(health)
    st.caption(f"Data directory: `{settings.data_dir}` · EMOLENS_API_URL: `{settings.api_url or '(not set)'}`")

    st.subheader("Use another service")
    st.write("Any Hume-compatible Expression Measurement API (v0), e.g. `python -m emolens serve` on another machine. "
             "Applies to this browser session; set EMOLENS_API_URL and EMOLENS_API_KEY to make it permanent.")
    with st.form("settings_form"):
        url = st.text_input("Service URL", key="settings_url", placeholder="http://10.0.0.5:8000")
        key = st.text_input("API key (X-Hume-Api-Key)", key="settings_key", type="password")
        c1, c2 = st.columns(2)
        use = c1.form_submit_button("Test and use", type="primary")
        reset = c2.form_submit_button("Back to the default service")
    if use:
        if not url.strip():
            st.error("Enter the service URL, e.g. http://127.0.0.1:8000")
            return
        try:
            client = Client(url.strip(), key or None, timeout=10)
        except EmolensError as e:
            st.error(str(e))
            return
        ok, message, _ = check(client)
        client.close()
        if not ok:
            st.error(f"Not switched: {message}")
            return
        st.session_state[URL_KEY] = url.strip()
        st.session_state[KEY_KEY] = key
        st.success(f"Now using {url.strip()} ({message}).")
        st.rerun()
    if reset:
        st.session_state.pop(URL_KEY, None)
        st.session_state.pop(KEY_KEY, None)
        st.success("Back to the default service.")
        st.rerun()


main()
