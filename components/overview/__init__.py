"""The overview heatmap as a light canvas chart (a components-v2 element, static JS/CSS in this folder).

Every emotion over time on the absolute 0-1 scale, drawn on a canvas from emolens.charts.overview_grid: no
plotly.js is needed, so a fresh tab shows it as soon as the script's first elements arrive (plotly.js is ~4.7 MB
for the browser to load and compile, most of the time to a first plotly chart). Hover shows the emotion, the cell's
span and its score; a click reports the cell's span as the trigger ``pick`` ({"x0", "x1"}, seconds, or segment
numbers for untimed text). The media player draws its playhead and selection band on it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

_HERE = Path(__file__).resolve().parent

_component = st.components.v2.component(
    "emolens_overview",
    js=(_HERE / "overview.js").read_text(),
    css=(_HERE / "overview.css").read_text(),
    isolate_styles=False,  # the player positions its playhead inside this element
)


def _plotly_chunk() -> str | None:
    """The file name of Streamlit's plotly.js chunk (named by its build hash), or None when it cannot be found."""
    js = Path(st.__file__).resolve().parent / "static" / "static" / "js"
    found = sorted(js.glob("PlotlyChart.*.js"))
    return found[0].name if len(found) == 1 else None


_PLOTLY_CHUNK = _plotly_chunk()


def overview_chart(
    grid: dict[str, Any],
    *,
    key: str,
    on_pick: Callable[[], None] | None = None,
    on_drawn: Callable[[], None] | None = None,
) -> Any:
    """Mount the overview of ``grid`` (charts.overview_grid). ``on_pick`` reads ``st.session_state[key]["pick"]``.
    With ``on_drawn``, the chart reports (trigger ``drawn``) once it is painted: a page can send a light first
    screen and draw the rest after it (the browser then starts loading plotly.js, which the rest needs)."""
    light = on_drawn is not None
    return _component(
        key=key,
        data={**grid, "notify": light, "preload": _PLOTLY_CHUNK if light else None},
        on_pick_change=on_pick or (lambda: None),
        on_drawn_change=on_drawn or (lambda: None),
        height="content",
    )
