"""Pure chart functions: tidy frame in, plotly Figure out (shaped like plotly express calls).

Every function accepts a wide frame (emolens.frames.wide_frame) and never mutates it. Long results are drawn
downsampled (display only, never exports). Timelines stay SVG: at most MAX_DISPLAY_POINTS per line, one SVG path per
trace, draws faster than WebGL's start-up (a software renderer without a GPU); point clouds (the expression map) with
thousands of markers use WebGL (Scattergl).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from emolens.emotions import (
    LANGUAGE_EMOTIONS,
    PROSODY_EMOTIONS,
    SENTIMENT_COLUMNS,
    SENTIMENT_LEVELS,
    TOXICITY_CATEGORIES,
)
from emolens.frames import emotion_columns, mean_sentiment, projection_2d, sentiment_expected, time_bins, top_k

#: Above this many points a chart of markers uses WebGL.
WEBGL_THRESHOLD = 1000
#: At most this many points per timeline trace are drawn (bin means, about one per pixel of a wide plot); exports
#: always use every segment.
MAX_DISPLAY_POINTS = 1000
#: The absolute score scale of every heatmap and transcript: 0.05 never looks as strong as 0.9.
SCORE_SCALE = "Viridis"
PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D", "#BAB0AC"]

_ALL_EMOTIONS = list(dict.fromkeys(PROSODY_EMOTIONS + LANGUAGE_EMOTIONS))
_EMOTION_PALETTE = list(
    dict.fromkeys(c.upper() for c in qualitative.Dark24 + qualitative.Alphabet + qualitative.Light24)
)
#: One fixed colour per emotion name (48 prosody + 5 language-only), the same in every chart, file and session.
EMOTION_COLORS: dict[str, str] = {e: _EMOTION_PALETTE[i % len(_EMOTION_PALETTE)] for i, e in enumerate(_ALL_EMOTIONS)}


def emotion_color(name: str) -> str:
    """The fixed colour of an emotion (names outside the known lists get a stable colour from their spelling)."""
    if name in EMOTION_COLORS:
        return EMOTION_COLORS[name]
    return _EMOTION_PALETTE[sum(map(ord, name)) % len(_EMOTION_PALETTE)]


def _highlight(fig: go.Figure, span: tuple[float, float] | None, **where) -> None:
    """Shade the selected segment's time span (at least a sliver wide, so a 0.2-s word stays visible)."""
    if span is None or not all(np.isfinite(span)):
        return
    b, e = span
    fig.add_vrect(
        x0=b,
        x1=max(e, b + 0.15),
        fillcolor="#FFD400",
        opacity=0.35,
        line_width=1,
        line_color="#B08F00",
        layer="above",
        name="selected",
        **where,
    )


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
    cols = [(tops[f"top{j}"].tolist(), tops[f"top{j}_score"].tolist()) for j in range(1, 4) if f"top{j}" in tops]
    out = []
    for i, (t, spk) in enumerate(zip(texts, speakers, strict=True)):
        top = ", ".join(f"{names[i]} {scores[i]:.2f}" for names, scores in cols)
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


def _display_points(x: np.ndarray, ys: list[np.ndarray], max_points: int):
    """At most ``max_points`` per trace: bin means over x for display. Returns x, ys and, per point, the row
    position that names it (the first segment of its bin)."""
    n = len(x)
    if n <= max_points:
        return x, ys, np.arange(n)
    edges = np.linspace(np.nanmin(x), np.nanmax(x) + 1e-9, max_points + 1)
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, max_points - 1)
    counts = np.bincount(idx, minlength=max_points).astype(float)
    keep = counts > 0
    first = np.full(max_points, -1)
    first[idx[::-1]] = np.arange(n)[::-1]  # the first row of each bin
    xb = (np.bincount(idx, weights=x, minlength=max_points) / np.where(keep, counts, 1))[keep]
    yb = [
        (np.bincount(idx, weights=np.nan_to_num(y), minlength=max_points) / np.where(keep, counts, 1))[keep] for y in ys
    ]
    return xb, yb, first[keep]


def emotion_timeline(
    df: pd.DataFrame,
    emotions: Sequence[str],
    title: str = "Emotion timeline",
    x_range: tuple[float, float] | None = None,
    height: int = 380,
    smooth: int = 1,
    highlight: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    max_points: int = MAX_DISPLAY_POINTS,
    colors: dict[str, str] | None = None,
) -> go.Figure:
    """Chosen emotions over time (or segment order for raw text); hover shows the text and the top-3 emotions.

    ``smooth`` > 1 draws a centred rolling mean over that many segments (word-level results are spiky); the hover
    still shows each segment's own top-3. The legend sits at the right and scrolls, so 48 emotions never squash the
    plot. Long results are drawn as at most ``max_points`` bin means per trace (display only). ``highlight`` shades
    the selected segment's span; ``y_range`` fixes the score axis (comparisons share it).
    """
    emotions = [e for e in emotions if e in df.columns]
    if df.empty or not emotions:
        return _empty(title, "No segments to show: pick a file and at least one emotion.")
    data = df.sort_values(["begin", "segment"] if "begin" in df.columns else ["segment"], kind="stable")
    x, xlabel = time_axis(data)
    spans = _span_strokes(data) if xlabel == "time (s)" and len(data) <= 500 else None
    ys = []
    for emo in emotions:
        y = data[emo]
        if smooth > 1:
            y = y.rolling(smooth, center=True, min_periods=1).mean()
        ys.append(y.to_numpy(dtype=float))
    xd, yd, rows = _display_points(x.to_numpy(dtype=float), ys, max_points)
    labels = data.index.to_numpy()[rows]
    hover_d = _hover_text(data.iloc[rows])  # only for the points drawn
    # display arrays as float32: half the figure's JSON, far below a pixel's precision
    xd = xd.astype(np.float32)
    yd = [y.astype(np.float32) for y in yd]
    fig = go.Figure()
    for i, emo in enumerate(emotions):
        color = (colors or {}).get(emo) or PALETTE[i % len(PALETTE)]
        fig.add_trace(
            go.Scatter(
                x=xd,
                y=yd[i],
                name=emo,
                mode="lines+markers" if len(xd) < 400 else "lines",
                line={"color": color, "width": 2},
                marker={"size": 5},
                legendgroup=emo,
                # long results: the text and top-3 ride on the first trace only (the figure stays small)
                text=hover_d if i == 0 or len(xd) * len(emotions) <= 2000 else None,
                hovertemplate=("%{text}<br>" if i == 0 or len(xd) * len(emotions) <= 2000 else "")
                + emo
                + ": %{y:.3f}<extra></extra>",
                customdata=labels,  # the frame's row label: a click on a point names its segment
            )
        )
        if spans is not None:
            # Each segment's extent as a faint stroke: utterances and turns last seconds, not an instant.
            fig.add_trace(
                go.Scatter(
                    x=spans[0],
                    y=np.repeat(ys[i], 3).astype(float) * spans[1],
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
        yaxis_title="score" + (f" (rolling mean of {smooth})" if smooth > 1 else ""),
        yaxis={"rangemode": "tozero"},
        # a vertical legend beside the plot scrolls when long; a horizontal one below grew and squashed the plot
        legend={"orientation": "v", "x": 1.01, "y": 1, "yanchor": "top", "font": {"size": 11}},
        margin={"l": 50, "r": 10, "t": 50, "b": 40},
        hovermode="closest",
        uirevision="timeline",
    )
    if x_range is not None:
        fig.update_xaxes(range=list(x_range))
    if y_range is not None:
        fig.update_yaxes(range=list(y_range))
    if xlabel == "time (s)":
        _highlight(fig, highlight)
    return fig


def overview_heatmap(
    df: pd.DataFrame,
    title: str = "Overview: every emotion over time",
    max_bins: int = 600,
    highlight: tuple[float, float] | None = None,
    x_range: tuple[float, float] | None = None,
) -> go.Figure:
    """Time x emotion heatmap of all emotions on the absolute 0-1 scale, rows ordered by mean score (highest on
    top), with a band of speakers above. Long results are binned for display (see frames.time_bins)."""
    emos = emotion_columns(df)
    if df.empty or not emos:
        return _empty(title, "No emotion scores.")
    data = df.sort_values(["begin", "segment"] if "begin" in df.columns else ["segment"], kind="stable")
    order = data[emos].mean().sort_values(ascending=True).index.tolist()  # plotly draws the first row at the bottom
    x, z, speakers = time_bins(data, order, max_bins=max_bins)
    timed = "begin" in data.columns and data["begin"].notna().any()
    xlabel = "time (s)" if timed else "segment"
    names = sorted({s for s in speakers if s is not None})
    multi = len(names) > 1
    fig = make_subplots(
        rows=2 if multi else 1,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.01,
        row_heights=[0.05, 0.95] if multi else None,
    )
    heat_row = 2 if multi else 1
    if multi:
        code = {s: i for i, s in enumerate(names)}
        zs = np.array([[code[s] if s is not None else np.nan for s in speakers]], dtype=float)
        colors = [PALETTE[i % len(PALETTE)] for i in range(len(names))]
        scale = [[i / max(1, len(names) - 1), c] for i, c in enumerate(colors)] if len(names) > 1 else colors[0]
        fig.add_trace(
            go.Heatmap(
                z=zs,
                x=x,
                y=["speaker"],
                colorscale=scale,
                zmin=0,
                zmax=max(1, len(names) - 1),
                showscale=False,
                customdata=np.array([[s or "" for s in speakers]]),
                hovertemplate="%{customdata} @ %{x:.1f}<extra></extra>",
                name="speakers",
            ),
            row=1,
            col=1,
        )
    fig.add_trace(
        go.Heatmap(
            z=z.T,
            x=x,
            y=order,
            colorscale=SCORE_SCALE,
            zmin=0,
            zmax=1,
            colorbar={"title": "score", "len": 0.9, "thickness": 12},
            hovertemplate="%{y} @ %{x:.1f}: %{z:.3f}<extra></extra>",
            name="scores",
        ),
        row=heat_row,
        col=1,
    )
    fig.update_layout(
        title=title + (" · speakers on top" if multi else ""),
        height=max(320, 10 * len(order) + 130),
        margin={"l": 150, "r": 10, "t": 50, "b": 40},
        uirevision="overview",
    )
    fig.update_yaxes(tickfont={"size": 8}, tickmode="array", tickvals=order, row=heat_row, col=1)  # every name
    fig.update_xaxes(title_text=xlabel, row=heat_row, col=1)
    if x_range is not None:
        fig.update_xaxes(range=list(x_range))
    if timed:
        _highlight(fig, highlight, row=heat_row, col=1)
    return fig


def overview_grid(df: pd.DataFrame, title: str = "Overview: every emotion over time", max_bins: int = 600) -> dict:
    """The overview heatmap as plain data for a light canvas chart (components/overview): the same content as
    overview_heatmap (every emotion, rows by mean score with the highest on top, absolute 0-1 scale, the speaker
    band, long results binned for display) without plotly, so it draws before plotly.js has even loaded.

    Returns {"title", "xlabel", "timed", "edges" (n+1 cell edges on the x axis), "rows" (top to bottom), "z"
    (base64 of little-endian uint16 per mille, row-major rows x cells; 65535 = no segment), "speakers" (names),
    "speaker" (per cell: index into speakers, -1 none), "speaker_colors", "colors" (256-entry score scale),
    "height"}; {"title", "empty": message} when there is nothing to draw.
    """
    import base64

    from plotly.colors import sample_colorscale

    emos = emotion_columns(df)
    if df.empty or not emos:
        return {"title": title, "empty": "No emotion scores."}
    timed = bool("begin" in df.columns and df["begin"].notna().any())
    # timed: in time order; text keeps the reading order it was given (cell i = the i-th segment)
    data = df.sort_values(["begin", "segment"], kind="stable") if timed else df
    order = data[emos].mean().sort_values(ascending=False).index.tolist()  # drawn top to bottom
    x, z, speakers = time_bins(data, order, max_bins=max_bins)
    if len(x) > 1:  # cells meet halfway between centres (as plotly draws a heatmap), the ends mirror their neighbour
        mid = (x[1:] + x[:-1]) / 2
        edges = np.concatenate([[x[0] - (mid[0] - x[0])], mid, [x[-1] + (x[-1] - mid[-1])]])
    else:
        edges = np.array([x[0] - 0.5, x[0] + 0.5]) if len(x) else np.array([0.0, 1.0])
    permille = np.where(np.isfinite(z), np.clip(np.rint(np.nan_to_num(z) * 1000), 0, 1000), 65535).astype("<u2")
    names = sorted({s for s in speakers if s is not None})
    code = {s: i for i, s in enumerate(names)}
    scale = [
        "#{:02x}{:02x}{:02x}".format(*(int(v) for v in c[4:-1].split(",")))
        for c in sample_colorscale(SCORE_SCALE, list(np.linspace(0, 1, 256)))
    ]
    return {
        "title": title + (" · speakers on top" if len(names) > 1 else ""),
        "xlabel": "time (s)" if timed else "segment",
        "timed": timed,
        "edges": np.round(edges, 3).tolist(),
        "rows": order,
        "z": base64.b64encode(np.ascontiguousarray(permille.T).tobytes()).decode("ascii"),
        "speakers": names if len(names) > 1 else [],
        "speaker": [code[s] if s is not None else -1 for s in speakers] if len(names) > 1 else [],
        "speaker_colors": [PALETTE[i % len(PALETTE)] for i in range(len(names))],
        "colors": scale,
        "height": max(320, 10 * len(order) + 130),
    }


def expression_map(
    df: pd.DataFrame, title: str = "Expression map", highlight: int | None = None, max_points: int = 6000
) -> go.Figure:
    """Segments as points of a 2-D PCA projection of their emotion vectors (frames.projection_2d), coloured by
    their top emotion with the fixed palette (EMOTION_COLORS); hover shows the text; customdata is the row label,
    so a click names the segment. ``highlight`` (a row label) rings the selected segment."""
    emos = emotion_columns(df)
    if len(df) < 3 or not emos:
        return _empty(title, "The expression map needs at least three segments.")
    data = df
    if len(data) > max_points:  # display only: an even subsample keeps the shape of the cloud
        step = int(np.ceil(len(data) / max_points))
        keep = np.zeros(len(data), dtype=bool)
        keep[::step] = True
        if highlight is not None and highlight in data.index:
            keep[data.index.get_loc(highlight)] = True
        data = data[keep]
    xy, share, labels = projection_2d(df, emos)
    pos = df.index.get_indexer(data.index)
    xy = xy[pos]
    tops = top_k(data, 1)
    hover = _hover_text(data)
    trace = go.Scattergl if len(data) > WEBGL_THRESHOLD else go.Scatter
    fig = go.Figure()
    top = tops["top1"].to_numpy()
    counts = pd.Series(top).value_counts()
    for emo in counts.index:  # most frequent top emotion first in the legend
        m = top == emo
        fig.add_trace(
            trace(
                x=xy[m, 0],
                y=xy[m, 1],
                mode="markers",
                name=f"{emo} ({int(counts[emo])})",
                marker={"color": emotion_color(emo), "size": 7 if len(data) < 2000 else 4, "opacity": 0.8},
                text=[hover[i] for i in np.nonzero(m)[0]],
                customdata=data.index.to_numpy()[m],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    if highlight is not None and highlight in data.index:
        i = data.index.get_loc(highlight)
        fig.add_trace(
            go.Scatter(
                x=[xy[i, 0]],
                y=[xy[i, 1]],
                mode="markers",
                name="selected",
                showlegend=False,
                marker={"size": 18, "color": "rgba(0,0,0,0)", "line": {"color": "#111", "width": 3}},
                hoverinfo="skip",
            )
        )
    fig.update_layout(
        title=title,
        height=460,
        xaxis={"title": f"PC1 {share[0]:.0%}: {labels[0]}", "zeroline": False},
        yaxis={"title": f"PC2 {share[1]:.0%}: {labels[1]}", "zeroline": False},
        legend={"orientation": "v", "x": 1.01, "y": 1, "title": {"text": "top emotion"}, "font": {"size": 11}},
        margin={"l": 60, "r": 10, "t": 50, "b": 50},
        hovermode="closest",
    )
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


#: What spaCy's English labels (OntoNotes 5) name: the legend of the entity chart.
ENTITY_TYPES = {
    "PERSON": "people",
    "NORP": "nationalities, religious or political groups",
    "FAC": "buildings, airports, roads, bridges",
    "ORG": "companies, agencies, institutions",
    "GPE": "countries, cities, states",
    "LOC": "other locations: mountains, waters",
    "PRODUCT": "objects, vehicles, foods",
    "EVENT": "named events: storms, battles, games",
    "WORK_OF_ART": "titles of books, songs...",
    "LAW": "named laws and documents",
    "LANGUAGE": "languages",
    "DATE": "dates and periods",
    "TIME": "times of day",
    "PERCENT": "percentages",
    "MONEY": "sums of money",
    "QUANTITY": "measurements",
    "ORDINAL": "ordinals: first, second...",
    "CARDINAL": "other numbers",
}


def entities_chart(ner: pd.DataFrame, title: str = "Entities") -> go.Figure:
    """Mentions per entity (bars, the 25 most mentioned), coloured by entity type when the result carries one
    (emolens' ``entity_type`` extension; Hume results have none) with the types in the legend; hover shows the type
    and the top emotions of the sentences holding the entity."""
    if ner.empty or "text" not in ner.columns:
        return _empty(title, "No entities found.")
    emos = emotion_columns(ner)
    kinds = ner["entity_type"] if "entity_type" in ner.columns else pd.Series(None, index=ner.index, dtype=object)
    kinds = kinds.map(lambda k: k if isinstance(k, str) and k else None)
    # the entity's type next to its name ("Paris · GPE"): the same text with two types is two entities
    keyed = ner.assign(
        _entity=ner["text"].astype(str) + kinds.map(lambda k: f" · {k}" if k else ""),
        _type=kinds.fillna(""),
    )
    counts = keyed.groupby("_entity").size().sort_values(ascending=True, kind="stable").tail(25)
    types = keyed.groupby("_entity")["_type"].first().reindex(counts.index)
    mean_scores = keyed.groupby("_entity")[emos].mean() if emos else None
    hover = []
    for name in counts.index:
        top = mean_scores.loc[name].sort_values(ascending=False).head(3) if mean_scores is not None else pd.Series()
        kind = types[name]
        what = f"{kind}: {ENTITY_TYPES[kind]}<br>" if kind in ENTITY_TYPES else (f"{kind}<br>" if kind else "")
        hover.append(what + ", ".join(f"{k} {v:.2f}" for k, v in top.items()))
    hover_s = pd.Series(hover, index=counts.index)
    fig = go.Figure()
    typed = bool(types.ne("").any())
    # one trace per type (most mentioned type first in the legend); bars keep the overall order on the y axis
    order = counts.groupby(types).sum().sort_values(ascending=False, kind="stable").index if typed else [""]
    for i, kind in enumerate(order):
        rows = counts.index[types.to_numpy() == kind] if typed else counts.index
        fig.add_trace(
            go.Bar(
                x=counts[rows].to_numpy(),
                y=rows.tolist(),
                orientation="h",
                name=(f"{kind} ({ENTITY_TYPES[kind]})" if kind in ENTITY_TYPES else kind or "no type"),
                marker_color=PALETTE[i % len(PALETTE)] if typed else PALETTE[2],
                customdata=hover_s[rows].tolist(),
                hovertemplate="%{y}: %{x} mention(s)<br>%{customdata}<extra></extra>",
                showlegend=typed,
            )
        )
    fig.update_layout(
        title=title,
        height=max(240, 26 * len(counts) + 90),
        xaxis={"title": "mentions", "tick0": 0, "dtick": max(1, int(np.ceil(counts.max() / 8))), "rangemode": "tozero"},
        yaxis={"categoryorder": "array", "categoryarray": counts.index.tolist()},
        legend={"title": {"text": "entity type"}, "orientation": "v", "x": 1.01, "y": 1, "font": {"size": 11}},
        margin={"l": 160, "r": 20, "t": 50, "b": 40},
        barmode="overlay",
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
    return difference_bars(b[emos].mean() - a[emos].mean(), title, k)


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


def _time_series_layout(fig: go.Figure, title: str, height: int, y_title: str) -> None:
    """The Compare charts' shared frame: seconds on x, legend beside the plot, one unified hover per time."""
    fig.update_layout(
        title=title,
        height=height,
        xaxis_title="time (s)",
        yaxis_title=y_title,
        legend={"orientation": "v", "x": 1.01, "y": 1, "font": {"size": 11}},
        margin={"l": 50, "r": 10, "t": 50, "b": 40},
        hovermode="x unified",
    )


def compare_overlay(
    a: pd.DataFrame,
    b: pd.DataFrame,
    emotions: Sequence[str],
    label_a: str = "A",
    label_b: str = "B",
    title: str = "A and B on one time grid",
    y_range: tuple[float, float] | None = None,
) -> go.Figure:
    """A (solid) and B (dashed) on one chart, one colour per emotion. ``a``/``b``: scores on a common time grid
    (frames.resample: index = time in seconds, one column per emotion)."""
    emotions = [e for e in emotions if e in a.columns and e in b.columns]
    if a.empty or b.empty or not emotions:
        return _empty(title, "Both sides need timed segments and shared emotions.")
    trace = go.Scattergl if len(a) * len(emotions) > WEBGL_THRESHOLD else go.Scatter
    fig = go.Figure()
    for emo in emotions:
        color = emotion_color(emo)
        for side, data, dash in ((label_a, a, "solid"), (label_b, b, "dash")):
            fig.add_trace(
                trace(
                    x=data.index.to_numpy(dtype=float),
                    y=data[emo].to_numpy(dtype=float),
                    mode="lines",
                    name=f"{emo} · {side}",
                    legendgroup=emo,
                    line={"color": color, "width": 2, "dash": dash},
                    hovertemplate=f"{emo} · {side}: " + "%{y:.3f} @ %{x:.1f}s<extra></extra>",
                )
            )
    _time_series_layout(fig, title, 380, "score")
    if y_range is not None:
        fig.update_yaxes(range=list(y_range))
    return fig


def difference_curve(
    diff: pd.DataFrame, emotions: Sequence[str], title: str = "B - A over time (common time grid)"
) -> go.Figure:
    """B - A per emotion on a common time grid (index = seconds); gaps where either side has no segment."""
    emotions = [e for e in emotions if e in diff.columns]
    if diff.empty or not emotions or diff[emotions].isna().all().all():
        return _empty(title, "The time-aligned difference needs both sides timed, over the same stretch of time.")
    trace = go.Scattergl if len(diff) * len(emotions) > WEBGL_THRESHOLD else go.Scatter
    fig = go.Figure()
    for emo in emotions:
        fig.add_trace(
            trace(
                x=diff.index.to_numpy(dtype=float),
                y=diff[emo].to_numpy(dtype=float),
                mode="lines",
                name=emo,
                line={"color": emotion_color(emo), "width": 2},
                hovertemplate=emo + ": %{y:+.3f} @ %{x:.1f}s<extra></extra>",
            )
        )
    fig.add_hline(y=0, line_color="black", line_width=1)
    _time_series_layout(fig, title, 320, "B - A")
    return fig


def difference_bars(diff: pd.Series, title: str, k: int = 20) -> go.Figure:
    """Diverging bars of per-emotion differences (the k largest in absolute value)."""
    diff = diff.dropna()
    if diff.empty:
        return _empty(title, "No shared emotion scores.")
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


def burst_markers(fig: go.Figure, bursts: pd.DataFrame, label: str = "vocal bursts") -> go.Figure:
    """Mark vocal bursts on a time-axis figure: a shaded band per burst and a marker naming its top emotion.

    ``bursts`` is a wide ``burst`` frame (begin, end, 48 emotion columns). Returns a new figure; ``fig`` is
    untouched. An empty frame or one without times returns a copy of ``fig``.
    """
    out = go.Figure(fig)
    if bursts.empty or "begin" not in bursts.columns or not bursts["begin"].notna().any():
        return out
    data = bursts[bursts["begin"].notna()].sort_values("begin", kind="stable")
    emos = emotion_columns(data)
    end = data["end"].fillna(data["begin"]).to_numpy(float)
    begin = data["begin"].to_numpy(float)
    for b, e in zip(begin, end, strict=True):
        out.add_vrect(x0=b, x1=max(e, b + 0.05), fillcolor="#B279A2", opacity=0.15, line_width=0, layer="below")
    if emos:
        scores = data[emos].to_numpy(float)
        top = [emos[i] for i in scores.argmax(1)]
        hover = [
            f"<b>burst {b:.2f}-{e:.2f} s</b><br>{t} {s:.2f}"
            for b, e, t, s in zip(begin, end, top, scores.max(1), strict=True)
        ]
    else:
        top, hover = [""] * len(data), [f"burst {b:.2f}-{e:.2f} s" for b, e in zip(begin, end, strict=True)]
    out.add_trace(
        go.Scatter(
            x=(begin + end) / 2,
            y=np.zeros(len(data)),
            mode="markers+text",
            text=top,
            textposition="top center",
            textfont={"size": 10, "color": "#B279A2"},
            marker={"symbol": "star", "size": 11, "color": "#B279A2"},
            name=label,
            hovertext=hover,
            hoverinfo="text",
        )
    )
    return out


def burst_timeline(bursts: pd.DataFrame, k: int = 3, title: str = "Vocal bursts") -> go.Figure:
    """The burst model's own timeline: one bar per burst (its span), stacked by its top-``k`` emotions."""
    if bursts.empty or "begin" not in bursts.columns or not bursts["begin"].notna().any():
        return _empty(title, "No vocal bursts in this file.")
    data = bursts[bursts["begin"].notna()].sort_values("begin", kind="stable")
    emos = emotion_columns(data)
    scores = data[emos].to_numpy(float)
    order = np.argsort(-scores, axis=1)[:, :k]
    begin = data["begin"].to_numpy(float)
    width = np.maximum(data["end"].fillna(data["begin"]).to_numpy(float) - begin, 0.05)
    fig = go.Figure()
    shown: set[str] = set()
    for rank in range(min(k, len(emos))):
        for j, emo in enumerate(emos):
            rows = np.nonzero(order[:, rank] == j)[0]
            if not rows.size:
                continue
            fig.add_trace(
                go.Bar(
                    x=begin[rows] + width[rows] / 2,
                    y=scores[rows, j],
                    width=width[rows],
                    name=emo,
                    legendgroup=emo,
                    showlegend=emo not in shown,
                    marker={"color": PALETTE[j % len(PALETTE)]},
                    hovertemplate=emo + ": %{y:.3f}<extra></extra>",
                )
            )
            shown.add(emo)
    fig.update_layout(
        title=title,
        barmode="stack",
        height=300,
        xaxis_title="time (s)",
        yaxis_title="score (top emotions)",
        legend={"orientation": "h", "y": -0.3},
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
    )
    return fig
