"""Compare two results, or two models / granularities of one input, like for like.

- Pairing: B's file defaults to the one with A's content (md5 of the file, its URL, or the start of a raw text),
  whatever the files were called.
- Side by side: each result at its own granularity, on one time axis and one score axis.
- Overlay and B - A: both resampled to a common time grid (the score of the segment covering each instant), then
  smoothed over the same number of seconds, so words and utterances compare point by point.
- Means are duration-weighted: a 5-s utterance counts 25 times a 0.2-s word.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from components.data import file_frame, files_of, get_store, predictions, store_key
from components.picker import pick
from emolens import charts
from emolens.errors import EmolensError
from emolens.frames import emotion_columns, resample, top_emotions, weighted_means
from emolens.summary import content_keys, settings_label

MODES = ["Side by side", "Overlay", "B - A over time"]


def content_key(data_dir: str, rid: str, source: int, file: str) -> str | None:
    """The content key of one file of a result (see emolens.summary.content_keys)."""
    preds = predictions(data_dir, rid)
    keys = content_keys(preds)
    entries = [
        (si, str(p.get("file")))
        for si, s in enumerate(preds)
        for p in (s.get("results") or {}).get("predictions") or []
    ]
    return keys[entries.index((source, file))] if (source, file) in entries else None


def matching_file_label(data_dir: str, rid: str, key: str | None) -> str | None:
    """The picker label of the file of result ``rid`` with content ``key`` (None when it has no such file)."""
    if key is None:
        return None
    for si, f, _models, label in files_of(data_dir, rid):
        if content_key(data_dir, rid, si, f) == key:
            return label
    return None


def side(store, prefix: str, default: str | None, label: str):
    sel = pick(store, prefix=prefix, default_result=default, label=label)
    if sel is None:
        return None, None, None
    df = file_frame(store_key(store), sel.result.id, sel.model, sel.source, sel.file)
    settings = settings_label(sel.result.config, sel.model)
    name = f"{sel.result.name} · {settings or sel.model}"
    return df, name, sel


def default_pair(data_dir: str, rows) -> list[str | None]:
    """The newest two results that share an input (the usual granularity comparison), else the newest two."""
    keys = {r.id: set(content_keys(predictions(data_dir, r.id))) for r in rows[:20]}
    for i, a in enumerate(rows[:20]):
        for b in rows[i + 1 : 20]:
            if keys[a.id] & keys[b.id]:
                return [b.id, a.id]
    return [rows[1].id, rows[0].id] if len(rows) >= 2 else [None, None]


def grid_for(a: pd.DataFrame, b: pd.DataFrame, max_points: int = 3000) -> np.ndarray:
    """A common time grid over both sides' span: at most ``max_points`` instants, at least 20 per second for
    short files (words last ~0.2 s)."""
    rng = charts.shared_range(a, b)
    if rng is None:
        return np.array([])
    lo, hi = rng
    step = max(0.05, (hi - lo) / max_points)
    return np.arange(lo, hi + step / 2, step)


def smooth_grid(df: pd.DataFrame, seconds: float, step: float) -> pd.DataFrame:
    """Centred rolling mean over ``seconds`` of a grid frame (NaN gaps stay gaps where nothing is near)."""
    n = int(round(seconds / step)) if step > 0 else 1
    if n <= 1:
        return df
    return df.rolling(n, center=True, min_periods=max(1, n // 3)).mean()


def main() -> None:
    st.title("Compare")
    st.caption(
        "Two results, or two models / granularities of one input, like for like: one time axis, one score "
        "axis, a common time grid for the difference, duration-weighted means. Run one input at several "
        "granularities from Measure to compare segmentation settings."
    )
    try:
        store = get_store()
    except EmolensError as e:
        st.error(str(e))
        return
    key = store_key(store)
    preset = st.session_state.pop("compare_results", None) or [None, None]
    if preset == [None, None] and "a_result" not in st.query_params:
        preset = default_pair(key, store.list_results())
    left, right = st.columns(2)
    with left:
        a, name_a, sel_a = side(store, "a_", preset[0], "Result A")
    if sel_a is not None and "b_file" not in st.query_params:
        # B opens on A's input: matched by content, not by file name
        b_rid = st.session_state.get("b_pick_result") or preset[1] or st.query_params.get("b_result")
        match = (
            matching_file_label(key, b_rid, content_key(key, sel_a.result.id, sel_a.source, sel_a.file))
            if b_rid
            else None
        )
        if match is not None:
            st.query_params["b_file"] = match
    with right:
        b, name_b, sel_b = side(store, "b_", preset[1] if len(preset) > 1 else None, "Result B")
    if a is None or b is None:
        return
    if a.empty or b.empty:
        st.warning("One side has no predictions for the chosen file and model.")
        return
    same = content_key(key, sel_a.result.id, sel_a.source, sel_a.file) == content_key(
        key, sel_b.result.id, sel_b.source, sel_b.file
    )
    if same:
        st.success(
            "A and B measured the same input: differences come from the settings "
            f"({settings_label(sel_a.result.config, sel_a.model) or sel_a.model} vs "
            f"{settings_label(sel_b.result.config, sel_b.model) or sel_b.model}).",
            icon=":material/link:",
        )
    else:
        st.warning("A and B are different inputs: the time-aligned difference compares different recordings.")
    shared = [e for e in emotion_columns(a) if e in set(emotion_columns(b))]
    if not shared:
        st.warning("The two sides share no emotion names (e.g. face vs. language): pick comparable models.")
        return
    both = pd.concat([a[shared], b[shared]])
    qp = [e for e in st.query_params.get("cmp_emotions", "").split(",") if e in shared]
    c1, c2, c3 = st.columns([3, 2, 2])
    chosen = c1.multiselect("Emotions", shared, default=qp or top_emotions(both, 4, by=shared), key="compare_emotions")
    st.query_params["cmp_emotions"] = ",".join(chosen)
    timed = bool(a["begin"].notna().any() and b["begin"].notna().any())
    modes = MODES if timed else MODES[:1]
    qm = st.query_params.get("cmp_mode")
    mode = c2.radio("Show", modes, index=modes.index(qm) if qm in modes else 0, key="compare_mode", horizontal=False)
    st.query_params["cmp_mode"] = mode
    qs = st.query_params.get("cmp_smooth", "")
    smooth_s = c3.slider(
        "Smoothing (s)",
        0.0,
        10.0,
        float(qs) if qs.replace(".", "", 1).isdigit() else 2.0,
        0.5,
        key="compare_smooth",
        disabled=not timed,
        help="A centred rolling mean over this many seconds, the same for both sides.",
    )
    st.query_params["cmp_smooth"] = f"{smooth_s:g}"

    grid = grid_for(a, b) if timed else np.array([])
    step = float(grid[1] - grid[0]) if len(grid) > 1 else 1.0
    ra = smooth_grid(resample(a, shared, grid), smooth_s, step) if timed else None
    rb = smooth_grid(resample(b, shared, grid), smooth_s, step) if timed else None
    if ra is not None and rb is not None:
        ymax = float(np.nanmax([ra[chosen].max().max(), rb[chosen].max().max(), 0.05])) if chosen else 1.0
    else:
        ymax = float(np.nanmax([a[chosen].max().max(), b[chosen].max().max(), 0.05])) if chosen else 1.0
    y_range = (0.0, min(1.0, ymax * 1.08))
    if mode == "Side by side":
        # each side at its own granularity; one time axis and one score axis
        rng = charts.shared_range(a, b) if timed else None
        smooth_n = 1
        p1, p2 = st.columns(2)
        raw_max = float(np.nanmax([a[chosen].max().max(), b[chosen].max().max(), 0.05])) if chosen else 1.0
        ya = (0.0, min(1.0, raw_max * 1.05))  # one score axis for both sides
        colors = {e: charts.emotion_color(e) for e in chosen}
        for col, letter, frame, name in ((p1, "A", a, name_a), (p2, "B", b, name_b)):
            col.plotly_chart(
                charts.emotion_timeline(
                    frame,
                    chosen,
                    title=f"{letter}: {name}",
                    x_range=rng,
                    height=340,
                    smooth=smooth_n,
                    y_range=ya,
                    colors=colors,
                ),
                key=f"compare_timeline_{letter.lower()}",
            )
    elif mode == "Overlay":
        st.plotly_chart(
            charts.compare_overlay(
                ra, rb, chosen, "A", "B", y_range=y_range, title=f"A (solid): {name_a} · B (dashed): {name_b}"
            ),
            key="compare_overlay",
        )
    else:
        diff = rb[chosen] - ra[chosen]
        st.plotly_chart(
            charts.difference_curve(diff, chosen, title=f"B - A over time · B: {name_b} · A: {name_a}"),
            key="compare_diff_curve",
        )
        st.caption(
            f"Both sides resampled every {step:.2f} s (each instant takes the score of the segment covering "
            f"it), smoothed over {smooth_s:g} s; gaps where either side has no segment."
        )

    wa, wb = weighted_means(a, shared), weighted_means(b, shared)
    st.plotly_chart(
        charts.difference_bars(wb - wa, "Difference of duration-weighted means (B - A)"), key="compare_diff"
    )
    table = pd.DataFrame(
        {
            "mean A": wa,
            "mean B": wb,
            "B - A": wb - wa,
            "mean A (unweighted)": a[shared].mean(),
            "mean B (unweighted)": b[shared].mean(),
        }
    )
    st.markdown(
        f"**Segments:** A {len(a)}, B {len(b)} · **mean length:** A {_mean_len(a)}, B {_mean_len(b)} · "
        "means weighted by segment duration" + ("" if timed else " (untimed text: by segment)")
    )
    st.dataframe(
        table.sort_values("B - A", key=abs, ascending=False),
        width="stretch",
        height=320,
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in table.columns},
    )


def _mean_len(df: pd.DataFrame) -> str:
    if df["begin"].notna().any():
        return f"{(df['end'] - df['begin']).mean():.2f} s"
    return f"{df['text'].fillna('').str.len().mean():.0f} chars"


main()
