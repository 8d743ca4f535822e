"""Vocal bursts in Explore: markers on the main timeline and the burst model's own timeline."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from components.data import file_frame
from emolens import charts


def file_bursts(data_key: str, sel):
    """The selected file's ``burst`` rows (an empty frame when the file has no burst model)."""
    if "burst" not in sel.models:
        return None
    return file_frame(data_key, sel.result.id, "burst", sel.source, sel.file)


def with_burst_markers(fig: go.Figure, data_key: str, sel) -> go.Figure:
    """``fig`` (a time-axis timeline) with the file's vocal bursts marked, unless it is the burst model's own."""
    if sel.model == "burst":
        return fig
    bursts = file_bursts(data_key, sel)
    return fig if bursts is None or bursts.empty else charts.burst_markers(fig, bursts)


def burst_panel(df, sel) -> None:
    """For the burst model: each burst's span and top emotions, plus a short count."""
    if sel.model != "burst":
        return
    st.plotly_chart(charts.burst_timeline(df), key="explore_burst_timeline")
    st.caption(f"{len(df)} vocal burst(s). Bursts are non-word vocalisations (laughs, sighs, gasps, cries...).")
