"""Cached access to the store and to frames of stored results (all caching lives in UI code)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from functools import cache
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


# The frames (and the pickers' file list) of a result are also kept on disk, in Arrow IPC files under the data dir:
# building them means decompressing and parsing the whole predictions JSON (~30 MB for an hour of words) and
# gathering ~700,000 scores, 1-3 s on this machine, which made the first open of a result (and every open after a
# restart) miss a 1 s switch; reading the files back takes milliseconds. Results are immutable once stored (ids are
# never reused), so a result's files never go stale; the directory is named by a hash of the code that builds the
# frames, so a new emolens never reads an older one's layout. Arrow files hold no code (unlike pickles). Any read or
# write problem (a corrupt file, a full or read-only disk) falls back to building the frame: the cache is optional.
CACHE_DIR = "frames-cache"


@cache
def _code_version() -> str:
    """A hash of the modules that decide a frame's columns and types (frames, columns, emotion names, pandas)."""
    import emolens.emotions
    import emolens.frame_columns
    import emolens.frames

    h = hashlib.sha256(pd.__version__.encode())
    for mod in (emolens.frames, emolens.frame_columns, emolens.emotions):
        h.update(Path(mod.__file__ or "").read_bytes())
    return h.hexdigest()[:16]


def cache_path(data_dir: str, result_id: str, name: str) -> Path:
    """Where the on-disk copy ``name`` of a result's derived data lives."""
    return Path(data_dir) / CACHE_DIR / _code_version() / result_id / name


def drop_cached(data_dir: str, result_id: str) -> None:
    """Forget a deleted result's on-disk frames (every code version's)."""
    root = Path(data_dir) / CACHE_DIR
    for d in root.glob(f"*/{result_id}") if root.is_dir() else ():
        shutil.rmtree(d, ignore_errors=True)


def _write_atomic(path: Path, write) -> None:
    """``write(tmp_path)``, then rename into place (readers never see half a file); failures are ignored."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except Exception:  # an optional cache: a full or read-only disk must not break the page
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # the directory itself could not be made
            pass


def _read_frame(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_feather(path)
    except Exception:  # a corrupt or foreign file: rebuilt from the predictions
        return None


def _files(preds: list[dict[str, Any]]) -> list[tuple[int, str, list[str], str]]:
    return [(si, f, models, label) for (si, f, models), label in zip(file_options(preds), file_labels(preds),
                                                                    strict=True) if models]


@st.cache_data(show_spinner=False, max_entries=64)
def files_of(data_dir: str, result_id: str) -> list[tuple[int, str, list[str], str]]:
    """(source index, file, models, label) of every file that has predictions, labelled for pickers."""
    path = cache_path(data_dir, result_id, "files.json")
    try:
        return [(si, f, list(models), label) for si, f, models, label in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError):
        pass
    files = _files(predictions(data_dir, result_id))
    _write_atomic(path, lambda tmp: tmp.write_text(json.dumps(files)))
    return files


@st.cache_resource(show_spinner=False, max_entries=16)
def frame(data_dir: str, result_id: str, model: str) -> pd.DataFrame:
    """The wide frame of one model of a result (all files; shared, read-only)."""
    path = cache_path(data_dir, result_id, f"{model}.arrow")
    df = _read_frame(path)
    if df is None:
        df = wide_frame(predictions(data_dir, result_id), model=model)
        if not df.empty:  # an absent model costs nothing to rebuild once the predictions are in memory
            _write_atomic(path, df.to_feather)
    return df


def warm(data_dir: str, result_id: str, preds: list[dict[str, Any]] | None = None) -> None:
    """Write a new result's frames and file list to disk now (after an import or a measurement, while the user
    waits anyway), so that its first open in Explore reads them instead of parsing the predictions."""
    preds = preds if preds is not None else Store(data_dir).get_predictions(result_id)
    files = _files(preds)
    _write_atomic(cache_path(data_dir, result_id, "files.json"), lambda tmp: tmp.write_text(json.dumps(files)))
    for model in sorted({m for _, _, models, _ in files for m in models}):
        df = wide_frame(preds, model=model)
        if not df.empty:
            _write_atomic(cache_path(data_dir, result_id, f"{model}.arrow"), df.to_feather)


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
