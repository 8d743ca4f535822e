"""Synced playback: a small Streamlit components-v2 component (static JS/CSS in this folder, no build step).

st.audio cannot report where it is, nor seek below a second. This component holds an HTML5 audio/video element
that seeks to the selected segment (sub-second), plays one segment, moves a playhead across the named plotly charts
and marks the transcript word being played (all in the browser, no rerun per frame), handles the keyboard
(left/right: previous/next segment, space: play/pause the segment) and reports back:

- trigger ``step`` (+1/-1): the previous/next button or arrow key;
- state ``position`` (seconds): where playback was paused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from emolens.media_types import content_type_for
from emolens.store import ResultRow, Store

_HERE = Path(__file__).resolve().parent
VIDEO = {".mp4", ".webm", ".mov", ".mkv"}

_component = st.components.v2.component(
    "emolens_media_sync",
    js=(_HERE / "media_sync.js").read_text(),
    css=(_HERE / "media_sync.css").read_text(),
    isolate_styles=False,  # the playhead and word marks are styled outside the component's own element
)


def media_file(store: Store, result: ResultRow, file: str) -> tuple[Path, str, str] | None:
    """(path, mime type, "audio"|"video") of a file's stored media, or None when the store has none."""
    sha = result.media.get(file) or next((s for f, s in result.media.items() if f.rsplit("/", 1)[-1] == file), None)
    if not sha:
        return None
    path = store.media_path(sha)
    if not path.exists():
        return None
    mime = content_type_for(file)  # emolens' table: knows .m4a/.webm/.opus where mimetypes may not
    if not mime.startswith(("audio/", "video/")):
        mime = "audio/wav"
    suffix = "." + file.rsplit(".", 1)[-1].lower() if "." in file else ""
    kind = "video" if suffix in VIDEO or mime.startswith("video/") else "audio"
    return path, mime, kind


def media_url(path: Path, mime: str, key: str) -> str | None:
    """A URL the browser can stream with Range requests (Streamlit's media endpoint), or None outside a server."""
    try:
        from streamlit.runtime import get_instance

        return get_instance().media_file_mgr.add(str(path), mime, f"emolens-media-{key}")
    except Exception:  # noqa: BLE001 - AppTest and bare mode have no media endpoint; playback is then off
        return None


def media_sync(
    *,
    key: str,
    src: str | None,
    kind: str = "audio",
    selected: dict[str, Any] | None = None,
    has_prev: bool = False,
    has_next: bool = False,
    play_nonce: int = 0,
    charts: list[str] | None = None,
    on_step: Callable[[], None] | None = None,
    on_position: Callable[[], None] | None = None,
) -> Any:
    """Mount the player. ``selected``: {"key", "begin", "end"} of the selected segment (seconds); ``charts``: keys
    of st.plotly_chart elements that get the playhead. Callbacks read ``st.session_state[key]["step"|"position"]``.
    """
    return _component(
        key=key,
        data={
            "src": src,
            "kind": kind,
            "selected": selected,
            "has_prev": has_prev,
            "has_next": has_next,
            "play_nonce": play_nonce,
            "charts": charts or [],
        },
        on_step_change=on_step or (lambda: None),
        on_position_change=on_position or (lambda: None),
        height="content",
    )
