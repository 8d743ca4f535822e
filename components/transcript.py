"""Transcript coloured by one emotion, and a clickable segment table showing every score of a segment."""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from emolens.frames import emotion_columns, sentiment_expected


def _color(score: float, vmax: float) -> str:
    alpha = 0.0 if pd.isna(score) or vmax <= 0 else min(1.0, score / vmax)
    return f"rgba(245, 133, 24, {0.08 + 0.8 * alpha:.2f})"


def coloured_transcript(df: pd.DataFrame, emotion: str, max_segments: int = 600) -> str:
    """HTML of the segments in order, each with a background whose strength is its score for ``emotion``."""
    data = df.head(max_segments)
    vmax = float(df[emotion].max()) if emotion in df.columns and len(df) else 1.0
    parts = []
    last_speaker = None
    cols = [c for c in ("text", "speaker", "begin", "segment", emotion) if c in data.columns]
    for rec in data[cols].to_dict("records"):
        text = html.escape(str(rec.get("text") or "").strip() or "·")
        score = float(rec.get(emotion, float("nan")))
        spk = rec.get("speaker")
        if spk != last_speaker and spk not in (None, "unknown"):
            parts.append(f"<br><b style='color:#555'>{html.escape(str(spk))}:</b> ")
            last_speaker = spk
        when = f"{rec['begin']:.2f}s" if pd.notna(rec.get("begin")) else f"#{rec['segment']}"
        parts.append(f"<span title='{when} · {html.escape(emotion)} {score:.3f}' "
                     f"style='background:{_color(score, vmax)};padding:1px 3px;border-radius:3px;"
                     f"line-height:1.9'>{text}</span>")
    more = f"<br><i>… {len(df) - max_segments} more segments</i>" if len(df) > max_segments else ""
    return "<div data-testid='emolens-transcript' style='font-size:1.02rem'>" + " ".join(parts) + more + "</div>"


def segment_table(df: pd.DataFrame, emotion: str, key: str) -> int | None:
    """A table of segments (time, speaker, text, score, top emotion); returns the selected row position."""
    emos = emotion_columns(df)
    view = pd.DataFrame({
        "begin": df["begin"], "end": df["end"], "speaker": df["speaker"], "text": df["text"],
        emotion: df[emotion] if emotion in df.columns else None,
        "top emotion": df[emos].idxmax(axis=1) if emos and len(df) else None,
    })
    if df["begin"].isna().all():
        view = view.drop(columns=["begin", "end"])
    event = st.dataframe(view.reset_index(drop=True), key=key, on_select="rerun", selection_mode="single-row",
                         hide_index=True, width="stretch", height=260,
                         column_config={emotion: st.column_config.ProgressColumn(
                             emotion, min_value=0.0, max_value=float(max(1e-6, view[emotion].max() or 0)),
                             format="%.3f")})
    rows = event.selection.rows if event and hasattr(event, "selection") else []
    return rows[0] if rows else None


def segment_scores(df: pd.DataFrame, pos: int) -> None:
    """All scores of one segment: emotions sorted, plus sentiment and toxicity when present."""
    row = df.iloc[pos]
    when = f"{row['begin']:.2f}–{row['end']:.2f} s" if pd.notna(row.get("begin")) else f"segment {row['segment']}"
    st.markdown(f"**{html.escape(str(row.get('text') or ''))}**  \n{when} · speaker {row['speaker']}")
    emos = emotion_columns(df)
    scores = row[emos].astype(float).sort_values(ascending=False)
    c1, c2 = st.columns([2, 1])
    c1.dataframe(scores.rename("score").to_frame(), height=300, width="stretch",
                 column_config={"score": st.column_config.ProgressColumn("score", min_value=0.0, max_value=1.0,
                                                                         format="%.3f")})
    ev = sentiment_expected(df.iloc[[pos]]).iloc[0]
    if pd.notna(ev):
        c2.metric("Sentiment (expected, 1–9)", f"{ev:.2f}")
    tox = [c for c in ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate") if c in df.columns]
    if tox and row[tox].notna().any():
        c2.dataframe(row[tox].astype(float).rename("toxicity").to_frame(), width="stretch")
