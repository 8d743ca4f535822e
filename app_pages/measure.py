"""Measure: upload files, paste text, give URLs or record; configure the models; follow the job; open the result."""

from __future__ import annotations

import streamlit as st

from components.backend import backend_or_error
from components.data import get_store
from components.job_form import job_form
from components.job_progress import Tracked, follow, open_page, store_results
from emolens.errors import EmolensError
from emolens.media_types import UPLOAD_TYPES

MEDIA_TYPES = list(UPLOAD_TYPES)
PENDING = "measure_pending"


def init_state() -> None:
    st.session_state.setdefault(PENDING, [])
    st.session_state.setdefault("measure_text", "")
    st.session_state.setdefault("measure_urls", "")
    st.session_state.setdefault("measure_split_text", False)


def inputs() -> tuple[list[tuple[str, bytes, str]], list[str], list[str]]:
    """The files, URLs and texts the user gave."""
    files: list[tuple[str, bytes, str]] = []
    tab_files, tab_text, tab_urls, tab_mic = st.tabs(["Files", "Text", "URLs", "Record"])
    with tab_files:
        for up in st.file_uploader("Audio, video or text files", type=MEDIA_TYPES, accept_multiple_files=True,
                                   key="measure_files", help="At most 100 files of 100 MB each (Hume's limits).") or []:
            files.append((up.name, up.getvalue(), up.type or "application/octet-stream"))
    with tab_text:
        raw = st.text_area("Text to measure", key="measure_text", height=150,
                           placeholder="Paste a message, a review, a transcript…")
        split = st.checkbox("Each paragraph is a separate text", key="measure_split_text")
    with tab_urls:
        url_text = st.text_area("URLs of media or .txt files (one per line)", key="measure_urls", height=100,
                                placeholder="https://example.com/interview.mp3")
    with tab_mic:
        rec = st.audio_input("Record from the microphone", key="measure_mic")
        if rec is not None:
            files.append(("recording.wav", rec.getvalue(), "audio/wav"))
    texts = [t.strip() for t in (raw.split("\n\n") if split else [raw]) if t.strip()]
    urls = [u.strip() for u in url_text.splitlines() if u.strip()]
    return files, urls, texts


def submit(backend, form, files, urls, texts) -> list[Tracked]:
    """Start one job per config (several when comparing granularities); keep local copies of the media."""
    store = get_store()
    media: dict[str, str] = {}
    if not backend.embedded:  # the remote service keeps its copy; keep ours for playback
        for name, blob, ctype in files:
            media[name] = store.put_media(blob, ctype)
    jobs = []
    for label, cfg in form.configs():
        job_id = backend.client.start_job(files=files, urls=urls, text=texts, config=cfg)
        first = files[0][0] if files else (urls[0].rsplit("/", 1)[-1] if urls else "text: " + texts[0][:40])
        jobs.append(Tracked(job_id=job_id, label=label, name=first,
                            media=media))
    return jobs


def finish(backend, jobs: list[Tracked]) -> None:
    # clicking Cancel stops this run's polling; the next run (this one) asks the service to cancel the jobs
    cancel_slot = st.empty()
    if cancel_slot.button("Cancel", key="measure_cancel", icon=":material/cancel:"):
        for j in jobs:
            try:
                backend.client.cancel_job(j.job_id)
            except EmolensError:
                pass  # it ended meanwhile: follow() shows how
    final = follow(backend, jobs)
    if len(final) < len(jobs):
        return  # still running: the Jobs page follows it
    cancel_slot.empty()  # every job ended: nothing left to cancel
    st.session_state[PENDING] = []
    ids, problems = store_results(backend, get_store(), jobs, final)
    show = st.warning if ids else st.error  # a call, not a bare conditional expression (magic would render it)
    for p in problems:
        show(p)
    # cancelled here, on the Jobs page or through the API (the service's batch.CANCELLED message)
    cancelled = any(getattr(d.state, "message", None) == "cancelled by the user" for d in final.values())
    if not ids:
        st.info("Cancelled: nothing was stored in the Library." if cancelled else
                "Nothing was stored in the Library. Fix the inputs above and measure again.")
        if st.button("Back to the form", key="measure_back"):
            st.rerun()
        return
    if problems:  # let the user read the messages before leaving
        st.session_state["explore_result"] = ids[0]
        st.success("Stored in the Library. Some inputs could not be measured (see above).")
        if st.button("Open in Explore", key="measure_open"):
            open_page("app_pages/explore.py", "Explore")
        return
    if len(ids) >= 2:
        st.session_state["compare_results"] = ids[:2]
        open_page("app_pages/compare.py", "Compare")
    else:
        st.session_state["explore_result"] = ids[0]
        open_page("app_pages/explore.py", "Explore")


def main() -> None:
    st.title("Measure")
    init_state()
    backend = backend_or_error()
    if backend is None:
        return
    st.caption(f"Service: {'embedded' if backend.embedded else backend.url}")
    if st.session_state[PENDING]:
        jobs = [Tracked(**j) for j in st.session_state[PENDING]]
        try:
            finish(backend, jobs)
        except EmolensError as e:
            st.error(f"Lost track of the job: {e}. The Jobs page shows its state.")
            st.session_state[PENDING] = []
        return

    files, urls, texts = inputs()
    st.subheader("Configuration")
    form = job_form("measure")
    if form.error:
        st.error(form.error)
    has_input = bool(files or urls or texts)
    if st.button("Measure", type="primary", key="measure_submit", disabled=bool(form.error) or not has_input):
        try:
            jobs = submit(backend, form, files, urls, texts)
        except EmolensError as e:
            st.error(str(e))
            return
        st.session_state[PENDING] = [j.__dict__ for j in jobs]
        finish(backend, jobs)
    elif not has_input:
        st.info("Add files, text, URLs or a recording to measure.")



main()
