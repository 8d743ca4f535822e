"""Pure chart functions: tidy frame in, plotly Figure out (shaped like plotly express calls).

Every function accepts a wide frame (emolens.frames.wide_frame) and never mutates it. Large inputs switch to WebGL
traces (Scattergl) so thousands of words stay smooth in the browser.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from emolens.emotions import SENTIMENT_COLUMNS, SENTIMENT_LEVELS, TOXICITY_CATEGORIES
from emolens.frames import emotion_columns, mean_sentiment, sentiment_expected, top_k

#: Above this many points a timeline uses WebGL.
WEBGL_THRESHOLD = 1000
PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D", "#BAB0AC"]


def _empty(title: str, message: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        title=title,
        xaxis={"visible": False},
        yaxis={"visible": False},
        height=260,
        annotations=[{"text": message, "showarrow": False, "font": {"size": 14}}],
    )
    return fig


def time_axis(df: pd.DataFrame) -> tuple[pd.Series, str]:
    """x values for a frame: segment midpoints in seconds when timed, else the segment index (raw text)."""
    if "begin" in df.columns and df["begin"].notna().any():
        end = df["end"].fillna(df["begin"])
        return (df["begin"] + end) / 2, "time (s)"
    return pd.Series(np.arange(len(df)), index=df.index, dtype=float), "segment"


def _hover_text(df: pd.DataFrame) -> list[str]:
    tops = top_k(df, 3)
    texts = df["text"].fillna("").astype(str).str.slice(0, 120).tolist() if "text" in df.columns else [""] * len(df)
    speakers = df["speaker"].astype(str).tolist() if "speaker" in df.columns else [""] * len(df)
    out = []
    for i, (t, spk) in enumerate(zip(texts, speakers, strict=True)):
        top = ", ".join(
            f"{tops.iloc[i][f'top{j}']} {tops.iloc[i][f'top{j}_score']:.2f}"
            for j in range(1, 4)
            if f"top{j}" in tops.columns
        )
        out.append(f"<b>{t}</b><br>speaker: {spk}<br>top-3: {top}")
    return out


def _span_strokes(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """x as [begin, end, gap] per segment and a mask (1, 1, NaN) that breaks the line between segments.

    None when segments are instants (face frames) or word-short on average (strokes would only add clutter).
    """
    dur = (df["end"] - df["begin"]).to_numpy(dtype=float)
    if not np.isfinite(dur).any() or np.nanmean(dur) < 0.8:
        return None
    x = np.column_stack([df["begin"].to_numpy(float), df["end"].to_numpy(float), np.full(len(df), np.nan)])
    mask = np.tile([1.0, 1.0, np.nan], len(df))
    return x.reshape(-1), mask


def emotion_timeline(
    df: pd.DataFrame,
    emotions: Sequence[str],
    title: str = "Emotion timeline",
    x_range: tuple[float, float] | None = None,
    height: int = 380,
    smooth: int = 1,
) -> go.Figure:
    """Chosen emotions over time (or segment order for raw text); hover shows the text and the top-3 emotions.

    ``smooth`` > 1 draws a centred rolling mean over that many segments (word-level results are spiky); the hover
    still shows each segment's own top-3.
    """
    emotions = [e for e in emotions if e in df.columns]
    if df.empty or not emotions:
        return _empty(title, "No segments to show: pick a file and at least one emotion.")
    data = df.sort_values(["begin", "segment"] if "begin" in df.columns else ["segment"], kind="stable")
    x, xlabel = time_axis(data)
    hover = _hover_text(data)
    trace = go.Scattergl if len(data) * len(emotions) > WEBGL_THRESHOLD else go.Scatter
    spans = _span_strokes(data) if xlabel == "time (s)" and len(data) <= 500 else None
    fig = go.Figure()
    for i, emo in enumerate(emotions):
        y = data[emo]
        if smooth > 1:
            y = y.rolling(smooth, center=True, min_periods=1).mean()
        color = PALETTE[i % len(PALETTE)]
        fig.add_trace(
            trace(
                x=x.to_numpy(),
                y=y.to_numpy(),
                name=emo,
                mode="lines+markers" if len(data) < 400 else "lines",
                line={"color": color, "width": 2},
                marker={"size": 5},
                legendgroup=emo,
                text=hover,
                hovertemplate="%{text}<br>" + emo + ": %{y:.3f}<extra></extra>",
                customdata=data.index.to_numpy(),  # the frame's row label: a click on a point names its segment
            )
        )
        if spans is not None:
            # Each segment's extent as a faint stroke: utterances and turns last seconds, not an instant.
            fig.add_trace(
                go.Scatter(
                    x=spans[0],
                    y=np.repeat(y.to_numpy(), 3).astype(float) * spans[1],
                    mode="lines",
                    line={"color": color, "width": 6},
                    opacity=0.35,
                    legendgroup=emo,
                    showlegend=False,
                    hoverinfo="skip",
                    name=f"{emo} span",
                )
            )
    fig.update_layout(
        title=title,
        height=height,
        xaxis_title=xlabel,
        yaxis_title="score",
        yaxis={"rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        hovermode="closest",
    )
    if x_range is not None:
        fig.update_xaxes(range=list(x_range))
    return fig


def top_k_bars(df: pd.DataFrame, k: int = 10, title: str = "Top emotions (mean score)") -> go.Figure:
    """Horizontal bars of the k emotions with the highest mean score."""
    emos = emotion_columns(df)
    if df.empty or not emos:
        return _empty(title, "No emotion scores.")
    means = df[emos].mean().sort_values(ascending=False).head(k)[::-1]
    fig = go.Figure(
        go.Bar(
            x=means.to_numpy(),
            y=means.index.tolist(),
            orientation="h",
            marker_color=PALETTE[0],
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        height=max(260, 28 * len(means) + 80),
        xaxis_title="mean score",
        margin={"l": 160, "r": 20, "t": 50, "b": 40},
    )
    return fig


def speaker_lanes(df: pd.DataFrame, emotion: str, title: str | None = None) -> go.Figure:
    """One lane per speaker: each segment a bar spanning its time, coloured by ``emotion``'s score."""
    title = title or f"Speakers: {emotion}"
    if df.empty or emotion not in df.columns or df["begin"].isna().all():
        return _empty(title, "Speaker lanes need timed segments (audio results).")
    data = df.dropna(subset=["begin"])
    end = data["end"].fillna(data["begin"])
    fig = go.Figure(
        go.Bar(
            base=data["begin"].to_numpy(),
            x=(end - data["begin"]).clip(lower=0.05).to_numpy(),
            y=data["speaker"].astype(str).to_numpy(),
            orientation="h",
            marker={
                "color": data[emotion].to_numpy(),
                "colorscale": "Viridis",
                "cmin": 0,
                "cmax": float(max(df[emotion].max(), 1e-6)),
                "colorbar": {"title": "score"},
            },
            text=data["text"].fillna("").astype(str).str.slice(0, 80).to_numpy(),
            textposition="none",
            hovertemplate="%{y} %{base:.2f}s<br>%{text}<br>" + emotion + ": %{marker.color:.3f}<extra></extra>",
        )
    )
    n = data["speaker"].nunique()
    fig.update_layout(
        title=title,
        height=140 + 50 * n,
        xaxis_title="time (s)",
        yaxis_title="speaker",
        margin={"l": 80, "r": 20, "t": 50, "b": 40},
        bargap=0.3,
    )
    return fig


def emotion_heatmap(
    df: pd.DataFrame, emotions: Sequence[str] | None = None, title: str = "Segments x emotions"
) -> go.Figure:
    """Heatmap of segments (x, in order) against emotions (y)."""
    emos = [e for e in (emotions or emotion_columns(df)) if e in df.columns]
    if df.empty or not emos:
        return _empty(title, "No emotion scores.")
    x, xlabel = time_axis(df)
    z = df[emos].to_numpy(dtype=float).T
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=x.to_numpy(),
            y=emos,
            colorscale="Viridis",
            zmin=0,
            hovertemplate="%{y} @ %{x:.2f}: %{z:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        height=max(300, 16 * len(emos) + 120),
        xaxis_title=xlabel,
        margin={"l": 170, "r": 20, "t": 50, "b": 40},
    )
    return fig


def sentiment_distribution(
    df: pd.DataFrame, title: str = "Sentiment (1 = most negative, 9 = most positive)"
) -> go.Figure:
    """Mean 9-level distribution over segments as bars, with the expected value marked."""
    mean = mean_sentiment(df)
    if mean is None:
        return _empty(title, "No sentiment in this result (enable sentiment in the language model).")
    dist, ev = mean
    colors = ["#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#d9d9d9", "#d1e5f0", "#92c5de", "#4393c3", "#2166ac"]
    fig = go.Figure(
        go.Bar(
            x=list(SENTIMENT_LEVELS),
            y=dist,
            marker_color=colors,
            name="mean probability",
            hovertemplate="level %{x}: %{y:.3f}<extra></extra>",
        )
    )
    fig.add_vline(
        x=ev - 1, line_dash="dash", line_color="black", annotation_text=f"expected {ev:.2f}", annotation_position="top"
    )
    fig.update_layout(
        title=title,
        height=320,
        xaxis_title="sentiment level",
        yaxis_title="mean probability",
        margin={"l": 50, "r": 20, "t": 60, "b": 40},
        xaxis={"type": "category"},
    )
    return fig


def sentiment_by_segment(df: pd.DataFrame, title: str = "Sentiment per segment") -> go.Figure:
    """Per-segment distributions as a heatmap (levels x segments) with the expected value line on top."""
    if (
        df.empty
        or not all(c in df.columns for c in SENTIMENT_COLUMNS)
        or df[list(SENTIMENT_COLUMNS)].isna().all().all()
    ):
        return _empty(title, "No sentiment in this result.")
    data = df.dropna(subset=list(SENTIMENT_COLUMNS), how="all")
    x, xlabel = time_axis(data)
    fig = go.Figure(
        go.Heatmap(
            z=data[list(SENTIMENT_COLUMNS)].to_numpy(dtype=float).T,
            x=x.to_numpy(),
            # numeric levels on a linear axis: the expected value (a real number in 1..9) then sits on its level
            # (level names "1".."9" were read as numbers by plotly while the line was drawn at EV - 1)
            y=[int(level) for level in SENTIMENT_LEVELS],
            colorscale="Blues",
            zmin=0,
            name="probability",
            hovertemplate="level %{y} @ %{x:.2f}: %{z:.3f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x.to_numpy(),
            y=sentiment_expected(data).to_numpy(),
            mode="lines",
            name="expected",
            line={"color": "#E45756", "width": 2},
        )
    )
    fig.update_layout(
        title=title,
        height=320,
        xaxis_title=xlabel,
        yaxis={"title": "level", "type": "linear", "range": [0.5, 9.5], "dtick": 1},
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def toxicity_heatmap(df: pd.DataFrame, threshold: float = 0.5, title: str = "Toxicity") -> go.Figure:
    """Segments x the six categories; cells at or above ``threshold`` are outlined in red."""
    cats = [c for c in TOXICITY_CATEGORIES if c in df.columns]
    if df.empty or not cats or df[cats].isna().all().all():
        return _empty(title, "No toxicity in this result (enable toxicity in the language model).")
    data = df.dropna(subset=cats, how="all")
    x, xlabel = time_axis(data)
    z = data[cats].to_numpy(dtype=float).T
    text = data["text"].fillna("").astype(str).str.slice(0, 80).tolist()
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=x.to_numpy(),
            y=cats,
            colorscale="Reds",
            zmin=0,
            zmax=1,
            customdata=np.array([text] * len(cats)),
            hovertemplate="%{y}: %{z:.3f}<br>%{customdata}<extra></extra>",
        )
    )
    hot_r, hot_c = np.nonzero(np.nan_to_num(z) >= threshold)
    fig.add_trace(
        go.Scatter(
            x=x.to_numpy()[hot_c],
            y=[cats[r] for r in hot_r],
            mode="markers",
            name=f">= {threshold:g}",
            marker={"symbol": "square-open", "size": 14, "color": "#b2182b", "line": {"width": 2}},
            hoverinfo="skip",
        )
    )
    fig.update_layout(
        title=f"{title} (outlined: score >= {threshold:g})",
        height=300,
        xaxis_title=xlabel,
        margin={"l": 110, "r": 20, "t": 50, "b": 40},
        showlegend=False,
    )
    return fig


def entities_chart(ner: pd.DataFrame, title: str = "Entities") -> go.Figure:
    """Mentions per entity (bars), hover shows the top emotions of the sentences holding it."""
    if ner.empty or "text" not in ner.columns:
        return _empty(title, "No entities found.")
    emos = emotion_columns(ner)
    keyed = ner.assign(_entity=ner["text"].astype(str))
    counts = keyed.groupby("_entity").size().sort_values(ascending=True).tail(25)
    mean_scores = keyed.groupby("_entity")[emos].mean() if emos else None
    hover = []
    for name in counts.index:
        top = mean_scores.loc[name].sort_values(ascending=False).head(3) if emos else pd.Series(dtype=float)
        hover.append(", ".join(f"{k} {v:.2f}" for k, v in top.items()))
    fig = go.Figure(
        go.Bar(
            x=counts.to_numpy(),
            y=counts.index.tolist(),
            orientation="h",
            marker_color=PALETTE[2],
            customdata=hover,
            hovertemplate="%{y}: %{x} mention(s)<br>%{customdata}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        height=max(240, 26 * len(counts) + 90),
        xaxis_title="mentions",
        margin={"l": 160, "r": 20, "t": 50, "b": 40},
    )
    return fig


def difference_of_means(
    a: pd.DataFrame, b: pd.DataFrame, label_a: str = "A", label_b: str = "B", k: int = 20, title: str | None = None
) -> go.Figure:
    """Per-emotion difference of means (B - A), the k largest absolute differences, diverging bars."""
    title = title or f"Difference of means ({label_b} - {label_a})"
    emos = [e for e in emotion_columns(a) if e in b.columns]
    if a.empty or b.empty or not emos:
        return _empty(title, "Both sides need emotion scores over shared names.")
    diff = (b[emos].mean() - a[emos].mean()).dropna()
    diff = diff.reindex(diff.abs().sort_values(ascending=False).head(k).index)[::-1]
    fig = go.Figure(
        go.Bar(
            x=diff.to_numpy(),
            y=diff.index.tolist(),
            orientation="h",
            marker_color=["#E45756" if v < 0 else "#4C78A8" for v in diff.to_numpy()],
            hovertemplate="%{y}: %{x:+.3f}<extra></extra>",
        )
    )
    fig.add_vline(x=0, line_color="black", line_width=1)
    fig.update_layout(
        title=title,
        height=max(300, 24 * len(diff) + 90),
        xaxis_title="difference of mean score",
        margin={"l": 170, "r": 20, "t": 50, "b": 40},
    )
    return fig


def shared_range(*frames: pd.DataFrame) -> tuple[float, float] | None:
    """The time span covering every frame (for side-by-side charts on one axis); None when none is timed."""
    spans = [
        (f["begin"].min(), f["end"].fillna(f["begin"]).max())
        for f in frames
        if not f.empty and "begin" in f.columns and f["begin"].notna().any()
    ]
    if not spans:
        return None
    return float(min(s[0] for s in spans)), float(max(s[1] for s in spans))
