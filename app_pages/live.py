"""Live: stream a recording, a short clip or typed text through the websocket; the timeline fills as results arrive."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import get_args

import streamlit as st

from components.backend import backend_or_error
from components.data import get_store, store_key, warm
from components.live_stream import (
    burst_rows,
    frame,
    language_rows,
    line_table,
    live_payload,
    prosody_rows,
    warnings_of,
)
from emolens import charts, media_types
from emolens.engine.audio import audio_chunks
from emolens.errors import APIError, EmolensError
from emolens.frames import top_emotions
from emolens.schema import StreamGranularity
from emolens.summary import unique_name

STREAM_GRANULARITIES = list(get_args(StreamGranularity))
CLIP_TYPES = list(media_types.MEDIA_TYPES)


def init_state() -> None:
    st.session_state.setdefault("live_prosody", [])
    st.session_state.setdefault("live_language", [])
    st.session_state.setdefault("live_bursts", [])
    st.session_state.setdefault("live_granularity", "sentence")
    st.session_state.setdefault("live_sentiment", True)
    st.session_state.setdefault("live_toxicity", False)
    st.session_state.setdefault("live_text", "")
    st.session_state.setdefault("live_raw_prosody", [])
    st.session_state.setdefault("live_raw_language", [])


def draw(slot, rows: list[dict], title: str, bursts: list[dict] | None = None, lines: bool = False) -> None:
    df = frame(rows)
    with slot.container():
        if df.empty:
            st.caption(f"{title}: nothing streamed yet.")
            return
        # a fresh key per drawing: one run may redraw the same slot many times while results arrive
        st.session_state["live_draws"] = st.session_state.get("live_draws", 0) + 1
        fig = charts.emotion_timeline(df, top_emotions(df, 5), title=title, height=320)
        if bursts:
            fig = charts.burst_markers(fig, frame(bursts))
        st.plotly_chart(fig, key=f"live_chart_{st.session_state['live_draws']}")
        if lines:  # each line: its text, top-3, and sentiment / toxicity when they were asked for
            st.dataframe(line_table(rows), hide_index=True, width="stretch",
                         key=f"live_lines_{st.session_state['live_draws']}")


def language_models() -> dict:
    lang: dict = {"granularity": st.session_state["live_granularity"]}
    if st.session_state["live_sentiment"]:
        lang["sentiment"] = {}
    if st.session_state["live_toxicity"]:
        lang["toxicity"] = {}
    return {"language": lang}


def stream_audio(backend, blob: bytes, name: str, slot, progress) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / (Path(name).name or "clip.wav")
        path.write_bytes(blob)
        chunks = audio_chunks(path, 5.0)
    rows = st.session_state["live_prosody"]
    bursts = st.session_state["live_bursts"]
    offset0 = max((r["end"] for r in rows), default=0.0)
    with backend.client.stream() as session:
        for i, (start, wav) in enumerate(chunks):
            try:
                models = {"prosody": {}, "burst": {}} if i == 0 else None
                reply = session.send_audio(wav, models, payload_id=f"{name}#{i}", stream_window_ms=5000).to_json_dict()
            except APIError as e:
                if e.status != 400:
                    raise
                st.error(f"Chunk {i + 1}: {e.message}")
                continue
            for w in warnings_of(reply):
                st.caption(f"{start:.0f}–{start + 5:.0f} s: {w}")
            rows.extend(prosody_rows(reply, offset0 + start, len(rows)))
            for pred in ((reply.get("prosody") or {}).get("predictions")) or []:  # on the recording's clock
                t = pred.get("time") or {}
                st.session_state["live_raw_prosody"].append(
                    {**pred, "time": {"begin": offset0 + start + t.get("begin", 0.0),
                                      "end": offset0 + start + t.get("end", 0.0)}})
            bursts.extend(burst_rows(reply, offset0 + start, len(bursts)))
            progress.progress((i + 1) / len(chunks), text=f"{name}: chunk {i + 1}/{len(chunks)}")
            draw(slot, rows, "Prosody (live)", bursts)


def stream_text(backend, text: str, slot) -> None:
    rows = st.session_state["live_language"]
    with backend.client.stream() as session:
        for part in [p for p in text.split("\n") if p.strip()]:
            try:
                reply = session.send_text(part, language_models()).to_json_dict()
            except APIError as e:
                if e.status != 400:
                    raise
                st.error(e.message)
                continue
            rows.extend(language_rows(reply, len(rows)))
            st.session_state["live_raw_language"].extend(((reply.get("language") or {}).get("predictions")) or [])
            draw(slot, rows, "Language (live)", lines=True)


def save_to_library() -> None:
    """Store what was streamed as a Library result (open it in Explore like any other)."""
    lang, pros = st.session_state["live_raw_language"], st.session_state["live_raw_prosody"]
    if not lang and not pros:
        return
    c1, c2 = st.columns([3, 1])
    name = c1.text_input("Name", value=f"Live · {datetime.now():%Y-%m-%d %H:%M}", key="live_save_name")
    c2.write("")
    if c2.button("Save to Library", key="live_save", type="primary"):
        store = get_store()
        taken = {r.name for r in store.list_results()}
        models: dict = {"language": language_models()["language"]} if lang else {}
        if pros:
            models["prosody"] = {}
        rid = store.add_result(unique_name(name.strip() or "Live", taken), live_payload(lang, pros, "live.wav"),
                               origin="measured", config={"models": models, "origin": "live stream"})
        warm(store_key(store), rid)  # its first open in Explore reads frames (as after an import or a job)
        st.session_state["explore_result"] = rid
        st.success(f"Saved as result {rid}: open it in Explore.")


def main() -> None:
    st.title("Live")
    init_state()
    backend = backend_or_error()
    if backend is None:
        return
    st.caption("Streams through the websocket API (/v0/stream/models): audio in payloads of at most 5 s, text up to "
               "10,000 characters per payload.")
    audio_col, text_col = st.columns(2)
    with audio_col:
        st.subheader("Voice")
        rec = st.audio_input("Record", key="live_mic")
        clip = st.file_uploader("…or a short clip", type=CLIP_TYPES, key="live_clip")
        go_audio = st.button("Stream audio", key="live_stream_audio", disabled=rec is None and clip is None)
        audio_slot = st.empty()
        progress = st.empty()
    with text_col:
        st.subheader("Text")
        st.text_area("Type or paste (each line is one payload)", key="live_text", height=120)
        c1, c2, c3 = st.columns(3)
        c1.selectbox("Granularity", STREAM_GRANULARITIES, key="live_granularity")
        c2.checkbox("Sentiment", key="live_sentiment")
        c3.checkbox("Toxicity", key="live_toxicity")
        go_text = st.button("Send text", key="live_send_text", disabled=not st.session_state["live_text"].strip())
        text_slot = st.empty()
    if st.button("Clear", key="live_clear"):
        for k in ("live_prosody", "live_language", "live_bursts", "live_raw_prosody", "live_raw_language"):
            st.session_state[k] = []
    try:
        if go_audio:
            src = clip if clip is not None else rec
            stream_audio(backend, src.getvalue(), getattr(src, "name", "recording.wav") or "recording.wav",
                         audio_slot, progress)
        if go_text:
            stream_text(backend, st.session_state["live_text"], text_slot)
    except EmolensError as e:
        st.error(str(e))
    draw(audio_slot, st.session_state["live_prosody"], "Prosody (live)", st.session_state["live_bursts"])
    if st.session_state["live_bursts"]:
        st.caption(f"{len(st.session_state['live_bursts'])} vocal burst(s) marked ★ on the prosody timeline.")
    draw(text_slot, st.session_state["live_language"], "Language (live)", lines=True)
    save_to_library()


main()
