"""Playback of stored media from a chosen segment."""

from __future__ import annotations

import streamlit as st

from emolens.engine.audio import content_type_for
from emolens.store import ResultRow, Store

VIDEO = {".mp4", ".webm", ".mov", ".mkv"}


def media_player(store: Store, result: ResultRow, file: str, start: float | None, key: str) -> bool:
    """Play ``file`` of ``result`` from ``start`` seconds if the store has its media; return whether it did."""
    sha = result.media.get(file) or next((s for f, s in result.media.items() if f.rsplit("/", 1)[-1] == file), None)
    if not sha:
        return False
    path = store.media_path(sha)
    if not path.exists():
        st.warning(f"The media of {file} is missing from the data directory ({path}).")
        return False
    mime = content_type_for(file)  # the engine's table: knows .m4a/.webm/.opus where mimetypes may not
    if not mime.startswith(("audio/", "video/")):
        mime = "audio/wav"
    start_s = int(max(0.0, start or 0.0))
    suffix = "." + file.rsplit(".", 1)[-1].lower() if "." in file else ""
    if suffix in VIDEO or mime.startswith("video/"):
        st.video(str(path), format=mime, start_time=start_s)
    else:
        st.audio(str(path), format=mime, start_time=start_s)
    st.caption(f"Playing {file} from {start_s} s" + (" (the selected segment)" if start else ""))
    return True
