"""Cached access to the store and to frames of stored results (all caching lives in UI code)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from emolens.frames import file_labels, file_options, wide_frame
from emolens.settings import get_settings
from emolens.store import Store

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "data" / "samples"


def get_store() -> Store:
    """The store of the configured data dir (seeded with the sample results on first use when empty)."""
    settings = get_settings()
    return _store_for(str(settings.data_dir), settings.seed_samples)


@st.cache_resource(show_spinner=False)
def _store_for(data_dir: str, seed: bool) -> Store:
    store = Store(data_dir)
    if seed:
        seed_samples(store)
    return store


def seed_samples(store: Store) -> list[str]:
    """Import data/samples/*.json (and the media they name) into an empty store; return the new ids."""
    if store.list_results() or not SAMPLES_DIR.is_dir():
        return []
    ids = []
    manifest_path = SAMPLES_DIR / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    for path in sorted(SAMPLES_DIR.glob("*.json")):
        if path.name == "manifest.json":
            continue
        info = manifest.get(path.name, {})
        media = {}
        for filename, rel in info.get("media", {}).items():
            media_path = SAMPLES_DIR.parent / rel
            if media_path.is_file():
                media[filename] = store.put_media(media_path)
        ids.append(store.add_result(info.get("name", path.stem), json.loads(path.read_text()),
                                    origin=info.get("origin", "measured"), config=info.get("config"),
                                    media=media))
    return ids


# Results are immutable once stored, so the caches are keyed by result id. cache_resource hands out the cached
# object itself: no copy of a one-hour result's ~30 MB of predictions (or its frames) on every rerun, which is what
# made switching files slow with cache_data. Callers treat these objects as read-only.
@st.cache_resource(show_spinner=False, max_entries=8)
def predictions(data_dir: str, result_id: str) -> list[dict[str, Any]]:
    """A result's predictions (shared, read-only)."""
    return Store(data_dir).get_predictions(result_id)


@st.cache_data(show_spinner=False, max_entries=64)
def files_of(data_dir: str, result_id: str) -> list[tuple[int, str, list[str], str]]:
    """(source index, file, models, label) of every file that has predictions, labelled for pickers."""
    preds = predictions(data_dir, result_id)
    return [(si, f, models, label) for (si, f, models), label in zip(file_options(preds), file_labels(preds),
                                                                    strict=True) if models]


@st.cache_resource(show_spinner=False, max_entries=16)
def frame(data_dir: str, result_id: str, model: str) -> pd.DataFrame:
    """The wide frame of one model of a result (all files; shared, read-only)."""
    return wide_frame(predictions(data_dir, result_id), model=model)


@st.cache_resource(show_spinner=False, max_entries=16)
def file_frame(data_dir: str, result_id: str, model: str, source: int, file: str) -> pd.DataFrame:
    """One file's segments in reading order (time, else text position), labelled 0..n-1 (shared, read-only)."""
    full = frame(data_dir, result_id, model)
    df = full[(full["source"] == source) & (full["file"] == file)]
    order = "begin" if df["begin"].notna().any() else "position_begin"
    # groups come speaker by speaker; a conversation reads in time (or text) order
    return df.sort_values([order, "segment"], kind="stable", na_position="last").reset_index(drop=True)


def store_key(store: Store) -> str:
    return str(store.data_dir)
