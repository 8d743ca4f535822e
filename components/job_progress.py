"""Following submitted jobs to the end with live progress, then opening their results."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from components.backend import Backend, result_for_job
from components.data import store_key, warm
from emolens.errors import EmolensError
from emolens.schema import JobDetails
from emolens.store import Store
from emolens.summary import error_messages, settings_label, unique_name

POLL_S = 0.5


@dataclass
class Tracked:
    job_id: str
    label: str
    submitted: float = field(default_factory=time.time)
    name: str | None = None
    media: dict[str, str] = field(default_factory=dict)


def _fmt(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def follow(backend: Backend, jobs: list[Tracked], timeout_s: float = 3 * 3600) -> dict[str, JobDetails]:
    """Poll until every job ended; draw state, elapsed time and the current file's progress. Returns details."""
    with st.status(f"Measuring ({len(jobs)} job{'s' if len(jobs) > 1 else ''})…", expanded=True) as box:
        bars = {j.job_id: st.progress(0.0, text=f"{j.label or 'job'}: submitted") for j in jobs}
        tracked = {j.job_id: j for j in jobs}

        def draw(job_id: str, d: JobDetails) -> None:
            j = tracked[job_id]
            elapsed = _fmt(time.time() - j.submitted)
            label = f"{j.label + ' · ' if j.label else ''}{elapsed} · "
            note = stage_line(d.state.status, d.progress.message if d.progress else "", d.request.to_json_dict())
            bars[job_id].progress(min(1.0, d.fraction), text=label + note)

        final = backend.client.wait_all(list(tracked), timeout=timeout_s, poll_s=POLL_S, progress=draw)
        if len(final) < len(jobs):
            box.update(label="Still running: follow it on the Jobs page", state="error")
            return final
        failed = [d for d in final.values() if d.state.status == "FAILED"]
        box.update(label="Failed" if failed else "Done", state="error" if failed else "complete", expanded=bool(failed))
    return final


#: The engine's stages for one media file, in order, as its progress messages name them.
MEDIA_STAGES = ["decoding", "transcribing", "speakers", "prosody", "language", "entities"]


def stage_line(status: str, message: str, request: dict[str, Any]) -> str:
    """What a job is doing, from its first second: queued, starting, or the file and its stages
    ("talk.wav: ✓ decoding · ✓ transcribing · ▶ speakers · prosody · language")."""
    if status == "QUEUED":
        return "queued: waiting for a worker"
    if status in ("COMPLETED", "FAILED"):
        return status.lower()
    if not message:
        return "starting: loading the models"
    parts = [p.strip() for p in message.split(":")]
    # "x.wav: x.wav: transcribing" (a label repeating the engine's own file prefix) reads once
    parts = [p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1]]
    where, stage = (": ".join(parts[:-1]), parts[-1]) if len(parts) > 1 else ("", parts[0])
    if stage not in MEDIA_STAGES:
        return f"{where}: {stage}" if where else stage
    models = set((request.get("models") or {"prosody": 1, "language": 1, "ner": 1}).keys())
    wanted = {"prosody": "prosody", "language": "language", "entities": "ner"}
    stages = [s for s in MEDIA_STAGES if s not in wanted or wanted[s] in models]
    now = stages.index(stage) if stage in stages else 0
    marks = [("✓ " if i < now else "▶ " if i == now else "") + s for i, s in enumerate(stages)]
    return (f"{where}: " if where else "") + " · ".join(marks)


def store_results(backend: Backend, store: Store, jobs: list[Tracked], final: dict[str, JobDetails]
                  ) -> tuple[list[str], list[str]]:
    """Result ids of the completed jobs (stored locally for a remote service) and messages to show.

    A job whose every input failed (COMPLETED with errors and no prediction, as Hume reports it) is a failure to
    the user: its per-file errors are returned and it is not kept in the Library as an empty result.
    """
    ids, problems = [], []
    for j in jobs:
        d = final.get(j.job_id)
        if d is None:
            continue
        st_ = d.state
        who = j.label or "Job"
        if st_.status == "FAILED":
            problems.append(f"{who} failed: {getattr(st_, 'message', None) or 'no message'}")
            continue
        errors: list[str] = []
        num_errors, num_predictions = getattr(st_, "num_errors", 0), getattr(st_, "num_predictions", 0)
        if num_errors:
            try:
                errors = error_messages([s.to_json_dict() for s in backend.client.predictions(j.job_id)])
            except EmolensError as e:
                errors = [f"the errors could not be read: {e}"]
        if num_errors and not num_predictions:
            problems.append(f"{who} failed: no input could be measured.")
            problems.extend(errors)
            stored = store.find_result_by_job(j.job_id)  # the embedded service shares our Library
            if stored is not None:
                store.delete_result(stored)
            continue
        try:
            request = d.request.to_json_dict()
            name = result_display_name(store, j.name, request)
            rid = result_for_job(backend, store, j.job_id, name=name, config=request, media=j.media or None)
            if store.get_result(rid).name != name:  # the embedded service stored it under its own name
                store.rename_result(rid, result_display_name(store, j.name, request, skip=rid))
            ids.append(rid)
        except EmolensError as e:
            problems.append(f"{who}: the result could not be stored: {e}")
            continue
        try:  # its first open in Explore then reads frames instead of parsing the predictions (as after an import)
            warm(store_key(store), rid)
        except Exception:  # the frames are optional (Explore builds them itself): never fail a stored job
            pass
        problems.extend(errors)
    return ids, problems


def result_display_name(
    store: Store, first: str | None, request: dict[str, Any] | None, skip: str | None = None
) -> str:
    """A Library name saying what was measured and how, unique: "talk.wav · prosody utterance · language word"."""
    settings = settings_label(request)
    base = " · ".join(p for p in (first or "measured job", settings) if p)
    return unique_name(base, {r.name for r in store.list_results() if r.id != skip})


def open_page(path: str, label: str) -> None:
    """st.switch_page, or a hint when the page is not registered (e.g. a page run on its own in a test)."""
    from streamlit.errors import StreamlitAPIException

    try:
        st.switch_page(path)
    except StreamlitAPIException:
        st.success(f"Done: open {label} to see the result.")
