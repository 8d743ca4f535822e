"""Explore one file of a result: every emotion at a glance, then the detail of chosen emotions and segments.

Layout: an overview heatmap of all emotions over time and the detailed timeline on the left; a sticky segment card
with synced playback on the right (it stays in view while scrolling); below, one view at a time (transcript,
expression map, segment table, sentiment and toxicity, entities, summary) so a large result draws quickly.
Selecting a segment anywhere (a chart point, a table row, the player, the keyboard) selects it everywhere.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from components.bursts import burst_panel, with_burst_markers
from components.data import file_frame, frame, get_store, store_key
from components.media_sync import media_file, media_sync, media_url
from components.overview import overview_chart
from components.picker import pick
from components.transcript import (
    TOP,
    colour_legend,
    coloured_transcript,
    segment_card_html,
    segment_table,
    transcript_window,
)
from emolens import charts
from emolens.errors import EmolensError
from emolens.frames import durations, emotion_columns, means, peaks, top_emotions

POS = "explore_selected"  # the selected segment: its label in the file's frame (sorted, 0..n-1)
#: Set after this session's first script run of Explore. That first run is light: the pickers, the card and the
#: canvas overview only (no plotly.js, ~4.7 MB for a fresh tab to load and compile); the overview, once painted,
#: asks for the rest (the timeline and the views), so a shared URL shows its first chart without waiting on plotly.
SEEN = "explore_seen"
VIEWS = ["Transcript", "Expression map", "Segments", "Sentiment & toxicity", "Entities", "Summary"]
STICKY_CSS = """<style>
div[data-testid="stColumn"]:has(.st-key-explore_card) {
  position: sticky; top: 3.75rem; align-self: flex-start; max-height: calc(100vh - 4.5rem); overflow-y: auto;
}
.st-key-explore_card { background: var(--st-background-color, #fff); }
</style>"""


def init_state() -> None:
    st.session_state.setdefault("explore_threshold", 0.5)


# -- selection ---------------------------------------------------------------------------------------------------


def _select(label) -> None:
    if label is not None:
        st.session_state[POS] = int(label)


def _on_chart(key: str) -> None:
    """A click on a timeline or map point: its customdata is the segment's label."""
    event = st.session_state.get(key) or {}
    points = (event.get("selection") or {}).get("points") or []
    if points and points[0].get("customdata") is not None:
        cd = points[0]["customdata"]
        _select(cd[0] if isinstance(cd, list) else cd)


def _on_table(key: str, labels: list[int]) -> None:
    rows = ((st.session_state.get(key) or {}).get("selection") or {}).get("rows") or []
    if rows and rows[0] < len(labels):
        _select(labels[rows[0]])


def _on_step(key: str, labels: list[int]) -> None:
    step = (st.session_state.get(key) or {}).get("step")
    if not step or not labels:
        return
    current = st.session_state.get(POS)
    i = labels.index(current) if current in labels else -1
    _select(labels[int(np.clip(i + int(step), 0, len(labels) - 1))])


def _on_position(key: str, begins: list[float], labels: list[int]) -> None:
    t = (st.session_state.get(key) or {}).get("position")
    if t is None or not begins:
        return
    i = int(np.searchsorted(np.asarray(begins), float(t), side="right")) - 1
    _select(labels[max(0, i)])


def _on_match(key: str) -> None:
    _select(st.session_state.get(key))


def _on_overview(key: str, xs: list[float], labels: list[int]) -> None:
    """A click on an overview cell ({"x0", "x1"} on its x axis): open the first segment in it, else the nearest."""
    pick = (st.session_state.get(key) or {}).get("pick") or {}
    if "x0" not in pick or not xs:
        return
    x = np.asarray(xs, dtype=float)
    x0, x1 = float(pick["x0"]), float(pick["x1"])
    inside = np.nonzero((x >= x0) & (x < x1))[0]
    i = int(inside[0]) if inside.size else int(np.nanargmin(np.abs(x - (x0 + x1) / 2)))
    _select(labels[i])


# -- controls ----------------------------------------------------------------------------------------------------


def filters(df: pd.DataFrame, key: str) -> tuple[pd.DataFrame, list[str]]:
    """Emotion, speaker and confidence filters (emotions and speakers shared through the URL)."""
    emos = emotion_columns(df)
    default = top_emotions(df, 5)
    qp = [e for e in st.query_params.get("emotions", "").split(",") if e in emos]
    c1, c2, c3 = st.columns([3, 2, 1])
    chosen = c1.multiselect(
        "Emotions (detailed timeline)",
        emos,
        default=qp or default,
        key=f"explore_emotions_{key}",
        help="Default: the five emotions with the highest mean score in this file. The overview "
        "above the timeline always shows every emotion.",
    )
    speakers = sorted(df["speaker"].astype(str).unique())
    qs = [s for s in st.query_params.get("speakers", "").split(",") if s in speakers]
    chosen_spk = c2.multiselect("Speakers", speakers, default=qs or speakers, key=f"explore_speakers_{key}")
    min_conf = 0.0
    if df["confidence"].notna().any():
        min_conf = c3.slider("Min. confidence", 0.0, 1.0, 0.0, 0.05, key=f"explore_conf_{key}")
    st.query_params["emotions"] = ",".join(chosen)
    st.query_params["speakers"] = ",".join(chosen_spk) if len(chosen_spk) < len(speakers) else ""
    spk = tuple(chosen_spk) if len(chosen_spk) < len(speakers) else None
    return filtered(df, spk, min_conf), chosen, spk, min_conf


def filtered(df: pd.DataFrame, speakers: tuple[str, ...] | None, min_conf: float) -> pd.DataFrame:
    """The segments of the chosen speakers at or above the confidence threshold (labels kept)."""
    if speakers is None and min_conf <= 0:
        return df
    mask = df["speaker"].astype(str).isin(speakers) if speakers is not None else pd.Series(True, index=df.index)
    if min_conf > 0:
        mask &= df["confidence"].fillna(1.0) >= min_conf
    return df[mask]


# The two top charts depend only on the data and the view settings, never on the selected segment (the player
# shades it in the browser): they are built once per setting, and a click or an arrow key redraws nothing heavy.
# The overview is plain data for a canvas chart (components/overview): a fresh tab draws it without plotly.js.
@st.cache_data(show_spinner=False, max_entries=32)
def overview_data(data_dir: str, rid: str, model: str, source: int, file: str, speakers, min_conf: float) -> dict:
    df = filtered(file_frame(data_dir, rid, model, source, file), speakers, min_conf)
    return charts.overview_grid(df)


# cache_resource, not cache_data: the cached Figure itself, read-only (st.plotly_chart only serialises it;
# with_burst_markers copies it). cache_data unpickled a copy on every rerun, and rebuilding a plotly Figure
# validates every trace: 0.27 s of each click and switch for an hour of words.
@st.cache_resource(show_spinner=False, max_entries=32)
def timeline_figure(
    data_dir: str,
    rid: str,
    model: str,
    source: int,
    file: str,
    speakers,
    min_conf: float,
    chosen: tuple[str, ...],
    smooth: int,
):
    df = filtered(file_frame(data_dir, rid, model, source, file), speakers, min_conf)
    return charts.emotion_timeline(
        df,
        list(chosen),
        title=f"Emotion timeline · {model}",
        smooth=smooth,
        colors={e: charts.emotion_color(e) for e in chosen},
    )


def _qp_int(name: str, default: int, lo: int, hi: int) -> int:
    value = st.query_params.get(name, "")
    return int(np.clip(int(value), lo, hi)) if value.isdigit() else default


def is_word_level(df: pd.DataFrame) -> bool:
    """Short, many segments (words): spiky, so smoothing is on by default."""
    if df["begin"].notna().any():
        return len(df) > 50 and float(np.median(durations(df))) < 0.8
    return len(df) > 200


# -- views -------------------------------------------------------------------------------------------------------


def transcript_view(df: pd.DataFrame, chosen: list[str], pos: int | None, fkey: str) -> None:
    emos = emotion_columns(df)
    options = [TOP] + (chosen or []) + [e for e in emos if e not in (chosen or [])]
    qp = st.query_params.get("colour")
    c1, c2, c3 = st.columns([2, 2, 2])
    colour_by = c1.selectbox(
        "Colour by",
        options,
        index=options.index(qp) if qp in options else 0,
        key=f"explore_colour_by_{fkey}",
        help="Top emotion: each segment in its top emotion's fixed colour. An emotion: its "
        "colour, on an absolute 0-1 scale (0.05 stays faint, 0.9 is strong).",
    )
    st.query_params["colour"] = colour_by
    query = c2.text_input("Search the transcript", key=f"explore_search_{fkey}", placeholder="a word or phrase")
    matches = []
    if query.strip():
        hits = df["text"].fillna("").astype(str).str.contains(query.strip(), case=False, regex=False)
        matches = df.index[hits.to_numpy()].tolist()
        c3.selectbox(
            f"{len(matches)} match(es): open",
            matches,
            index=None,
            key=f"explore_match_{fkey}",
            format_func=lambda lbl: f"{_when(df.loc[lbl])} {str(df.loc[lbl, 'text'])[:40]}",
            on_change=_on_match,
            args=(f"explore_match_{fkey}",),
            placeholder="choose a match",
        )
    # st.html, not st.markdown: hundreds of coloured spans are set as HTML by the browser in one go, where the
    # markdown pipeline parsed them into React elements one by one (a visible share of a switch's time)
    st.html(colour_legend(df, colour_by))
    where = df.index.get_loc(pos) if pos in df.index else None
    window = transcript_window(len(df), where)
    body, _ = coloured_transcript(df, colour_by, selected=where, query=query, window=window)
    st.html(body)


def _when(row: pd.Series) -> str:
    return f"{row['begin']:.1f}s" if pd.notna(row.get("begin")) else f"#{int(row.name) + 1}"


def summary_view(df: pd.DataFrame) -> None:
    c1, c2 = st.columns(2)
    with c1:
        st.plotly_chart(charts.top_k_bars(df, 10), key="explore_topk")
    with c2:
        if df["speaker"].nunique() > 1:
            per = means(df, "speaker")
            tops = per[emotion_columns(df)].apply(
                lambda r: ", ".join(r.sort_values(ascending=False).head(3).index), axis=1
            )
            st.markdown("**Top emotions per speaker**")
            st.dataframe(tops.rename("top 3").to_frame(), width="stretch")
        threshold = st.slider("Peak threshold", 0.0, 1.0, key="explore_threshold", step=0.05)
        pk = peaks(df, threshold=threshold)
        st.markdown(f"**Peaks ≥ {threshold:.2f}** ({len(pk)})")
        st.dataframe(
            pk[["emotion", "score", "begin", "speaker", "text"]].head(200),
            hide_index=True,
            width="stretch",
            height=240,
            column_config={"score": st.column_config.NumberColumn(format="%.3f")},
        )


def _on_overview_drawn() -> None:
    """The light first screen is painted: the rerun this trigger starts draws the whole page."""
    st.session_state[SEEN] = True


def main() -> None:
    init_state()
    light = not st.session_state.get(SEEN)
    st.session_state[SEEN] = True  # any later run (the overview's report, a click) draws the whole page
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
    df = file_frame(key, sel.result.id, sel.model, sel.source, sel.file)
    if df.empty:
        st.warning(f"No {sel.model} predictions for {sel.file}.")
        return
    if sel.model == "ner":
        st.plotly_chart(charts.entities_chart(df), key="explore_entities_only")
        cols = [
            c
            for c in (
                "text",
                "entity_type",
                "position_begin",
                "position_end",
                "begin",
                "end",
                "entity_confidence",
                "support",
                "uri",
                "link_word",
            )
            if c in df.columns
        ]
        st.dataframe(df[cols], hide_index=True, width="stretch")
        return
    fkey = f"{sel.result.id}_{sel.source}_{sel.file}_{sel.model}"
    df, chosen, spk, min_conf = filters(df, fkey)
    view_args = (key, sel.result.id, sel.model, sel.source, sel.file, spk, min_conf)
    if df.empty:
        st.warning("No segment passes the filters: widen the speaker or confidence filter.")
        return
    timed = bool(df["begin"].notna().any())
    dur = df["end"].max() if timed else None
    st.caption(
        f"{len(df)} segment(s) · {df['speaker'].nunique()} speaker(s)" + (f" · {dur:.1f} s" if dur is not None else "")
    )

    # the selected segment: kept per file (a new file starts at its URL's segment, else the first)
    if st.session_state.get("explore_selected_file") != fkey:
        st.session_state["explore_selected_file"] = fkey
        qp_seg = st.query_params.get("segment", "")
        st.session_state[POS] = int(qp_seg) if qp_seg.isdigit() else None
    labels = df.index.tolist()
    pos = st.session_state.get(POS)
    if pos not in df.index:
        pos = labels[0]
    st.session_state[POS] = pos  # what the next step / click moves from
    st.query_params["segment"] = str(pos)
    row = df.loc[pos]
    span = (float(row["begin"]), float(row["end"] if pd.notna(row["end"]) else row["begin"])) if timed else None
    where = labels.index(pos)

    st.markdown(STICKY_CSS, unsafe_allow_html=True)
    left, right = st.columns([5, 2], gap="medium")
    with left:  # the overview first: the first chart a fresh tab draws
        xs = (
            ((df["begin"] + df["end"].fillna(df["begin"])) / 2).tolist() if timed else list(range(len(df)))
        )  # each segment's place on the overview's x axis (as frames.time_bins places it)
        overview_chart(
            overview_data(*view_args),
            key="explore_overview",
            on_pick=partial(_on_overview, "explore_overview", xs, labels),
            on_drawn=_on_overview_drawn if light else None,
        )
    with right, st.container(key="explore_card", border=True):
        st.markdown(segment_card_html(df, where), unsafe_allow_html=True)
        media = media_file(store, sel.result, sel.file) if timed else None
        src = media_url(media[0], media[1], "explore") if media else None
        player_key = "explore_player"
        media_sync(
            key=player_key,
            src=src,
            kind=media[2] if media else "audio",
            selected={"key": f"{fkey}:{pos}", "begin": span[0] if span else None, "end": span[1] if span else None},
            has_prev=where > 0,
            has_next=where < len(labels) - 1,
            charts=["explore_overview", "explore_timeline"],
            on_step=partial(_on_step, player_key, labels),
            on_position=partial(_on_position, player_key, df["begin"].tolist() if timed else [], labels),
        )
        if media is None and timed:
            st.caption("No stored media for this file (archived result): playback is not available.")
        st.caption("← → previous/next segment · space plays it · click a chart point or a row to open a segment.")

    with left:
        if light:
            with st.container(height=450, border=False):  # the timeline's place, so nothing jumps when it comes
                st.caption("Drawing the timeline…")
            return
        smooth_default = 5 if is_word_level(df) else 1
        # the URL's smoothing is the shared view of the file it opened; another file starts at its own default
        opened = st.session_state.setdefault("explore_opened", fkey) == fkey
        smooth = st.slider(
            "Smoothing (rolling mean over N segments)",
            1,
            25,
            _qp_int("smooth", smooth_default, 1, 25) if opened else smooth_default,
            key=f"explore_smooth_{fkey}",
            help="Word-level results are spiky: smoothing is on by default for them.",
        )
        st.query_params["smooth"] = str(smooth)
        st.plotly_chart(
            with_burst_markers(timeline_figure(*view_args, tuple(chosen), smooth), key, sel),
            key="explore_timeline",
            on_select=partial(_on_chart, "explore_timeline"),
            selection_mode="points",
        )
        burst_panel(df, sel)

    views = [
        v
        for v in VIEWS
        if (v != "Sentiment & toxicity" or sel.model == "language") and (v != "Entities" or "ner" in sel.models)
    ]
    qv = st.query_params.get("view")
    view = st.radio(
        "View",
        views,
        index=views.index(qv) if qv in views else 0,
        horizontal=True,
        key=f"explore_view_{fkey}",
        label_visibility="collapsed",
    )
    st.query_params["view"] = view
    if view == "Transcript":
        transcript_view(df, chosen, pos, fkey)
    elif view == "Expression map":
        st.caption(
            "Each point is a segment: PCA of its emotion scores (centred on the file's mean) onto the two "
            "directions of largest variance; axis titles name the emotions that load most on each. Colour: "
            "the segment's top emotion. Click a point to open the segment."
        )
        st.plotly_chart(
            charts.expression_map(df, highlight=pos),
            key="explore_map",
            on_select=partial(_on_chart, "explore_map"),
            selection_mode="points",
        )
    elif view == "Segments":
        tkey = f"explore_segments_{fkey}"
        focus = chosen[0] if chosen else top_emotions(df, 1)[0]
        segment_table(df, focus, key=tkey, selected=where, on_select=partial(_on_table, tkey, labels))
    elif view == "Sentiment & toxicity":
        c1, c2 = st.columns(2)
        c1.plotly_chart(charts.sentiment_distribution(df), key="explore_sentiment")
        c2.plotly_chart(charts.sentiment_by_segment(df), key="explore_sentiment_segments")
        st.plotly_chart(charts.toxicity_heatmap(df, threshold=0.5), key="explore_toxicity")
    elif view == "Entities":
        ner = frame(key, sel.result.id, "ner")
        ner = ner[(ner["source"] == sel.source) & (ner["file"] == sel.file)]
        st.plotly_chart(charts.entities_chart(ner), key="explore_entities")
    else:
        summary_view(df)


main()
