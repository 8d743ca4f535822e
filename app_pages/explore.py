"""Explore one file of a result: timeline, transcript, sentiment, toxicity, entities, summary, playback."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.data import frame, get_store, store_key
from components.picker import pick
from components.player import media_player
from components.transcript import coloured_transcript, segment_scores, segment_table
from emolens import charts
from emolens.errors import EmolensError
from emolens.frames import emotion_columns, means, peaks, top_emotions


def init_state() -> None:
    st.session_state.setdefault("explore_threshold", 0.5)


def filters(df: pd.DataFrame, key: str) -> tuple[pd.DataFrame, list[str]]:
    """Emotion, speaker and confidence filters (emotions and speakers shared through the URL)."""
    emos = emotion_columns(df)
    default = top_emotions(df, 5)
    qp = [e for e in st.query_params.get("emotions", "").split(",") if e in emos]
    c1, c2, c3 = st.columns([3, 2, 1])
    chosen = c1.multiselect("Emotions", emos, default=qp or default, key=f"explore_emotions_{key}",
                            help="Default: the five emotions with the highest mean score in this file.")
    speakers = sorted(df["speaker"].astype(str).unique())
    qs = [s for s in st.query_params.get("speakers", "").split(",") if s in speakers]
    chosen_spk = c2.multiselect("Speakers", speakers, default=qs or speakers, key=f"explore_speakers_{key}")
    min_conf = 0.0
    if df["confidence"].notna().any():
        min_conf = c3.slider("Min. confidence", 0.0, 1.0, 0.0, 0.05, key=f"explore_conf_{key}")
    st.query_params["emotions"] = ",".join(chosen)
    st.query_params["speakers"] = ",".join(chosen_spk) if len(chosen_spk) < len(speakers) else ""
    mask = df["speaker"].astype(str).isin(chosen_spk)
    if min_conf > 0:
        mask &= df["confidence"].fillna(1.0) >= min_conf
    return df[mask], chosen


def summary(df: pd.DataFrame, ner: pd.DataFrame | None) -> None:
    st.subheader("Summary")
    c1, c2 = st.columns(2)
    with c1:
        st.plotly_chart(charts.top_k_bars(df, 10), key="explore_topk")
    with c2:
        if df["speaker"].nunique() > 1:
            per = means(df, "speaker")
            tops = per[emotion_columns(df)].apply(lambda r: ", ".join(r.sort_values(ascending=False)
                                                                      .head(3).index), axis=1)
            st.markdown("**Top emotions per speaker**")
            st.dataframe(tops.rename("top 3").to_frame(), width="stretch")
        threshold = st.slider("Peak threshold", 0.0, 1.0, key="explore_threshold", step=0.05)
        pk = peaks(df, threshold=threshold)
        st.markdown(f"**Peaks ≥ {threshold:.2f}** ({len(pk)})")
        st.dataframe(pk[["begin", "speaker", "text", "emotion", "score"]].head(200), hide_index=True,
                     width="stretch", height=240)


def main() -> None:
    init_state()
    st.title("Explore")
    try:
        store = get_store()
    except EmolensError as e:
        st.error(str(e))
        return
    sel = pick(store, default_result=st.session_state.pop("explore_result", None))
    if sel is None:
        return
    key = store_key(store)
    full = frame(key, sel.result.id, sel.model)
    df = full[(full["source"] == sel.source) & (full["file"] == sel.file)]
    # Groups come speaker by speaker; a conversation reads in time (or text) order.
    order = "begin" if df["begin"].notna().any() else "position_begin"
    df = df.sort_values([order, "segment"], kind="stable", na_position="last").reset_index(drop=True)
    if df.empty:
        st.warning(f"No {sel.model} predictions for {sel.file}.")
        return
    if sel.model == "ner":
        st.plotly_chart(charts.entities_chart(df), key="explore_entities_only")
        st.dataframe(df[["text", "position_begin", "position_end", "begin", "end", "entity_confidence",
                         "support", "uri", "link_word"]], hide_index=True, width="stretch")
        return
    df, chosen = filters(df, f"{sel.result.id}_{sel.source}_{sel.file}_{sel.model}")
    if df.empty:
        st.warning("No segment passes the filters: widen the speaker or confidence filter.")
        return
    n_words = len(df)
    dur = df["end"].max() if df["end"].notna().any() else None
    st.caption(f"{n_words} segment(s) · {df['speaker'].nunique()} speaker(s)" +
               (f" · {dur:.1f} s" if dur is not None else ""))

    smooth = st.slider("Smoothing (rolling mean over N segments)", 1, 25, 5 if len(df) > 200 else 1,
                       key="explore_smooth", help="Word-level results are spiky: smooth to see trends.")
    clicked = st.plotly_chart(
        charts.emotion_timeline(df, chosen, title=f"Emotion timeline · {sel.model}", smooth=smooth),
        key="explore_timeline", on_select="rerun", selection_mode="points")
    st.caption("Click a point on the timeline, or a row of the segment table, to see all scores of that segment.")
    if df["speaker"].nunique() > 1 and chosen and df["begin"].notna().any():
        st.plotly_chart(charts.speaker_lanes(df, chosen[0]), key="explore_lanes")

    st.subheader("Transcript")
    focus = st.selectbox("Colour by", chosen or emotion_columns(df), key="explore_colour_by")
    st.markdown(coloured_transcript(df, focus), unsafe_allow_html=True)
    pos = segment_table(df, focus, key="explore_segments")
    points = clicked.selection.points if clicked is not None and hasattr(clicked, "selection") else []
    if pos is None and points and points[0].get("customdata") is not None:
        pos = int(points[0]["customdata"])  # the frame was reset to 0..n-1, so the label is the position
    qp_seg = st.query_params.get("segment")
    if pos is None and qp_seg is not None and qp_seg.isdigit() and int(qp_seg) < len(df):
        pos = int(qp_seg)
    start = None
    if pos is not None:
        st.query_params["segment"] = str(pos)
        segment_scores(df, pos)
        start = df.iloc[pos]["begin"]
    if not media_player(store, sel.result, sel.file, None if pd.isna(start) else start, key="explore_player"):
        if df["begin"].notna().any():
            st.caption("No stored media for this file (archived result): playback is not available.")

    if sel.model == "language":
        st.subheader("Sentiment")
        c1, c2 = st.columns(2)
        c1.plotly_chart(charts.sentiment_distribution(df), key="explore_sentiment")
        c2.plotly_chart(charts.sentiment_by_segment(df), key="explore_sentiment_segments")
        st.subheader("Toxicity")
        st.plotly_chart(charts.toxicity_heatmap(df, threshold=0.5), key="explore_toxicity")
        if "ner" in sel.models:
            ner = frame(key, sel.result.id, "ner")
            ner = ner[(ner["source"] == sel.source) & (ner["file"] == sel.file)]
            st.subheader("Entities")
            st.plotly_chart(charts.entities_chart(ner), key="explore_entities")
    summary(df, None)


main()
