"""Transcript coloured on an absolute scale, the segment card, and a clickable segment table.

Colours are absolute: a score of 0.05 is nearly transparent and 0.9 nearly opaque, whatever the file's maximum.
"By top emotion" colours each segment with its top emotion's fixed colour (emolens.charts.EMOTION_COLORS).
Every segment is a ``<span data-i data-b data-e>`` so the media player can mark the word being played.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import streamlit as st

from emolens.charts import emotion_color
from emolens.emotions import TOXICITY_CATEGORIES
from emolens.frames import emotion_columns, sentiment_expected, top_k

TOP = "top emotion"
#: At most this many segments of a long transcript are drawn at once (a window around the selected segment).
WINDOW = 600


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:.2f})"


def _ink(hex_color: str, alpha: float) -> str:
    """Text colour readable on ``hex_color`` at ``alpha`` over white: white on dark backgrounds."""
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) / 255 for i in (0, 2, 4))
    lum = alpha * (0.2126 * r + 0.7152 * g + 0.0722 * b) + (1 - alpha)
    return "#fff" if lum < 0.5 else "#111"


def _alpha(score: float) -> float:
    """Absolute opacity: 0 -> 0.04 (a faint box), 1 -> 0.85."""
    return 0.04 if not np.isfinite(score) else 0.04 + 0.81 * float(min(1.0, max(0.0, score)))


def transcript_window(n: int, pos: int | None, size: int = WINDOW) -> tuple[int, int]:
    """[start, stop) of the segments to draw: the whole transcript when short, else ``size`` around ``pos``."""
    if n <= size:
        return 0, n
    centre = pos if pos is not None else 0
    start = max(0, min(n - size, centre - size // 2))
    return start, start + size


def coloured_transcript(
    df: pd.DataFrame,
    colour_by: str,
    selected: int | None = None,
    query: str = "",
    window: tuple[int, int] | None = None,
) -> tuple[str, int]:
    """HTML of the segments in order and the number of search matches.

    ``colour_by``: an emotion (its fixed colour, opacity = score) or TOP (each segment its top emotion's colour,
    opacity = that score). ``selected`` is a row position, outlined; segments containing ``query`` are underlined.
    """
    start, stop = window or (0, len(df))
    data = df.iloc[start:stop]
    q = query.strip().lower()
    texts = data["text"].fillna("").astype(str).tolist() if "text" in data.columns else [""] * len(data)
    if colour_by == TOP:
        tops = top_k(data, 1)
        names, scores = tops["top1"].tolist(), tops["top1_score"].tolist()
    else:
        names = [colour_by] * len(data)
        scores = data[colour_by].astype(float).tolist() if colour_by in data.columns else [np.nan] * len(data)
    begins = data["begin"].tolist() if "begin" in data.columns else [None] * len(data)
    ends = data["end"].tolist() if "end" in data.columns else [None] * len(data)
    speakers = data["speaker"].tolist() if "speaker" in data.columns else [None] * len(data)
    parts = [f"<i>… {start} earlier segments</i> "] if start else []
    last_speaker = None
    matches = 0
    for k, (text, name, score, b, e, spk) in enumerate(zip(texts, names, scores, begins, ends, speakers, strict=True)):
        i = start + k
        if spk != last_speaker and spk not in (None, "unknown"):
            parts.append(f"<br><b style='color:#555'>{html.escape(str(spk))}:</b> ")
            last_speaker = spk
        timed = b is not None and pd.notna(b)
        when = f"{b:.2f}s" if timed else f"#{i}"
        hit = bool(q) and q in text.lower()
        matches += hit
        color, alpha = emotion_color(str(name)), _alpha(score)
        style = f"background:{_rgba(color, alpha)};color:{_ink(color, alpha)};padding:1px 3px;border-radius:3px"
        if i == selected:
            style += ";outline:2px solid #111;outline-offset:1px"
        if hit:
            style += ";border-bottom:3px solid #E45756"
        attrs = f"data-i='{i}'" + (f" data-b='{b:.3f}' data-e='{(e if pd.notna(e) else b):.3f}'" if timed else "")
        label = html.escape(f"{when} · {name} {score:.3f}" if np.isfinite(score) else when)
        parts.append(
            f"<span class='emolens-seg{' emolens-selected' if i == selected else ''}' {attrs} "
            f"title='{label}' style='{style};line-height:1.95'>{html.escape(text.strip()) or '·'}</span>"
        )
    if stop < len(df):
        parts.append(f"<br><i>… {len(df) - stop} more segments</i>")
    body = "<div data-testid='emolens-transcript' style='font-size:1.02rem'>" + " ".join(parts) + "</div>"
    return body, matches


def colour_legend(df: pd.DataFrame, colour_by: str, max_items: int = 16) -> str:
    """HTML legend: the absolute 0-1 scale of one emotion, or the top emotions present with their colours."""
    if colour_by != TOP:
        c = emotion_color(colour_by)
        return (
            f"<div style='font-size:.85rem'>{html.escape(colour_by)}: 0 "
            f"<span style='display:inline-block;width:160px;height:10px;vertical-align:middle;"
            f"background:linear-gradient(90deg,{_rgba(c, 0.04)},{_rgba(c, 0.85)})'></span> 1 "
            f"(absolute scale)</div>"
        )
    counts = top_k(df, 1)["top1"].value_counts()
    chips = [
        f"<span style='background:{_rgba(emotion_color(str(n)), 0.8)};padding:0 6px;border-radius:3px;"
        f"margin-right:4px'>{html.escape(str(n))} {int(v)}</span>"
        for n, v in counts.head(max_items).items()
    ]
    more = f" +{len(counts) - max_items} more" if len(counts) > max_items else ""
    return (
        "<div style='font-size:.85rem;line-height:1.9'>Top emotion per segment (opacity = its score): "
        + " ".join(chips)
        + more
        + "</div>"
    )


def segment_card_html(df: pd.DataFrame, pos: int, k: int = 5) -> str:
    """The selected segment: text, speaker, time, top-k emotions as bars, sentiment and toxicity."""
    row = df.iloc[pos]
    timed = "begin" in df.columns and pd.notna(row.get("begin"))
    when = f"{row['begin']:.2f}–{row['end']:.2f} s" if timed else f"segment {pos + 1}"
    emos = emotion_columns(df)
    scores = row[emos].astype(float).sort_values(ascending=False).head(k) if emos else pd.Series(dtype=float)
    bars = "".join(
        # a gap, and a long name cut with an ellipsis (its full name on hover): in the narrow card at 1024 px,
        # "Embarrassment" ran into its score
        f"<div style='font-size:.85rem;margin:3px 0'><div style='display:flex;justify-content:space-between;gap:6px'>"
        f"<span style='overflow:hidden;text-overflow:ellipsis;white-space:nowrap;min-width:0' "
        f"title='{html.escape(n)}'>{html.escape(n)}</span><span style='flex:none'>{v:.2f}</span></div>"
        f"<div style='background:#eee;border-radius:3px;height:9px'><div style='height:9px;border-radius:3px;"
        f"width:{100 * max(0.0, min(1.0, v)):.1f}%;background:{emotion_color(n)}'></div></div></div>"
        for n, v in scores.items()
    )
    extra = []
    ev = sentiment_expected(df.iloc[[pos]]).iloc[0]
    if pd.notna(ev):
        extra.append(
            f"<div style='font-size:.85rem;margin-top:6px'><b>Sentiment</b> {ev:.2f} / 9 "
            f"<span style='display:inline-block;position:relative;width:110px;height:10px;"
            f"vertical-align:middle;background:linear-gradient(90deg,#b2182b,#d9d9d9,#2166ac);"
            f"border-radius:3px'><span style='position:absolute;left:{(ev - 1) / 8 * 100:.0f}%;top:-3px;"
            f"width:3px;height:16px;background:#111'></span></span></div>"
        )
    tox = [c for c in TOXICITY_CATEGORIES if c in df.columns and pd.notna(row.get(c))]
    if tox:
        worst = sorted(tox, key=lambda c: -float(row[c]))[:3]
        extra.append(
            "<div style='font-size:.85rem;margin-top:4px'><b>Toxicity</b> "
            + ", ".join(
                f"<span style='color:{'#b2182b' if float(row[c]) >= 0.5 else '#444'}'>{c} {float(row[c]):.2f}</span>"
                for c in worst
            )
            + "</div>"
        )
    text = html.escape(str(row.get("text") or "").strip()) or "<i>(no text)</i>"
    return (
        f"<div data-testid='emolens-segment-card'>"
        f"<div style='font-size:.8rem;color:#666'>Segment {pos + 1} of {len(df)} · {when} · "
        f"speaker {html.escape(str(row.get('speaker')))}</div>"
        f"<div style='font-size:1.05rem;font-weight:600;margin:4px 0 6px;max-height:7.5em;overflow:auto'>"
        f"{text}</div>{bars}{''.join(extra)}</div>"
    )


def segment_table(df: pd.DataFrame, emotion: str, key: str, selected: int | None = None, on_select=None) -> None:
    """A table of segments (time, speaker, text, score, top emotion); the selected row is marked (and shaded when
    the table is small). Row clicks call ``on_select`` (a callback reading st.session_state[key])."""
    emos = emotion_columns(df)
    tops = top_k(df, 1)
    view = pd.DataFrame(
        {
            "": np.where(np.arange(len(df)) == (selected if selected is not None else -1), "▶", ""),
            "begin": df["begin"],
            "end": df["end"],
            "speaker": df["speaker"],
            "text": df["text"],
            emotion: df[emotion] if emotion in df.columns else None,
            "top emotion": tops["top1"] if emos and len(df) else None,
            "top score": tops["top1_score"] if emos and len(df) else None,
        }
    ).reset_index(drop=True)
    if df["begin"].isna().all():
        view = view.drop(columns=["begin", "end"])
    data = view
    if selected is not None and len(view) <= 2000:
        data = view.style.apply(lambda r: ["background-color: #FFF3B0" if r.name == selected else ""] * len(r), axis=1)
    config = {"top score": st.column_config.NumberColumn(format="%.3f")}
    if emotion in view.columns:
        config[emotion] = st.column_config.ProgressColumn(emotion, min_value=0.0, max_value=1.0, format="%.3f")
    st.dataframe(
        data,
        key=key,
        on_select=on_select or "rerun",
        selection_mode="single-row",
        hide_index=True,
        width="stretch",
        height=300,
        column_config=config,
    )
