"""Compare two results, or two models/granularities of one file, on a shared time axis."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.data import frame, get_store, store_key
from components.picker import pick
from emolens import charts
from emolens.errors import EmolensError
from emolens.frames import emotion_columns, top_emotions


def side(store, prefix: str, default: str | None, label: str):
    sel = pick(store, prefix=prefix, default_result=default, label=label)
    if sel is None:
        return None, None
    full = frame(store_key(store), sel.result.id, sel.model)
    df = full[(full["source"] == sel.source) & (full["file"] == sel.file)].reset_index(drop=True)
    gran = (sel.result.config or {}).get("models", {}).get(sel.model, {}) if sel.result.config else {}
    desc = gran.get("granularity") or ("window" if gran.get("window") else "")
    name = f"{sel.result.name} · {sel.model}" + (f" · {desc}" if desc else "")
    return df, name


def default_pair(rows) -> list[str | None]:
    """The newest two results that share a file (the usual granularity comparison), else the newest two."""
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            if set(a.summary.get("file_names", [])) & set(b.summary.get("file_names", [])):
                return [b.id, a.id]
    return [rows[1].id, rows[0].id] if len(rows) >= 2 else [None, None]


def main() -> None:
    st.title("Compare")
    st.caption("Two results, or two models / granularities of one file, side by side on one time axis. "
               "Run the same input at several granularities from Measure to compare segmentation settings.")
    try:
        store = get_store()
    except EmolensError as e:
        st.error(str(e))
        return
    preset = st.session_state.pop("compare_results", None) or [None, None]
    if preset == [None, None] and "a_result" not in st.query_params:
        preset = default_pair(store.list_results())
    left, right = st.columns(2)
    with left:
        a, name_a = side(store, "a_", preset[0], "Result A")
    with right:
        b, name_b = side(store, "b_", preset[1] if len(preset) > 1 else None, "Result B")
    if a is None or b is None:
        return
    if a.empty or b.empty:
        st.warning("One side has no predictions for the chosen file and model.")
        return
    shared = [e for e in emotion_columns(a) if e in set(emotion_columns(b))]
    if not shared:
        st.warning("The two sides share no emotion names (e.g. face vs. language): pick comparable models.")
        return
    both = pd.concat([a[shared], b[shared]])
    chosen = st.multiselect("Emotions", shared, default=top_emotions(both, 4, by=shared), key="compare_emotions")
    timed = a["begin"].notna().any() and b["begin"].notna().any()
    rng = charts.shared_range(a, b) if timed else None  # one time axis only when both sides are timed
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.emotion_timeline(a, chosen, title=f"A: {name_a}", x_range=rng, height=340),
                    key="compare_timeline_a")
    c2.plotly_chart(charts.emotion_timeline(b, chosen, title=f"B: {name_b}", x_range=rng, height=340),
                    key="compare_timeline_b")
    st.plotly_chart(charts.difference_of_means(a[shared], b[shared], "A", "B"), key="compare_diff")
    table = pd.DataFrame({"mean A": a[shared].mean(), "mean B": b[shared].mean()})
    table["B - A"] = table["mean B"] - table["mean A"]
    st.markdown(f"**Segments:** A {len(a)}, B {len(b)} · **mean length:** "
                f"A {_mean_len(a)}, B {_mean_len(b)}")
    st.dataframe(table.sort_values("B - A", key=abs, ascending=False), width="stretch", height=320)


def _mean_len(df: pd.DataFrame) -> str:
    if df["begin"].notna().any():
        return f"{(df['end'] - df['begin']).mean():.2f} s"
    return f"{df['text'].fillna('').str.len().mean():.0f} chars"


main()
