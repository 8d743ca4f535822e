"""Predictions -> tidy pandas frames.

- wide: one row per segment: source, file, file_type, model, speaker, segment, text, begin, end, position_begin,
  position_end, confidence, speaker_confidence, [ner: entity_confidence, support, uri, link_word], one column per
  emotion named exactly as in Hume, sentiment_1..sentiment_9, then the six toxicity categories.
- long: one row per segment x emotion (``emotion``, ``score``), the segment columns repeated.

Frames are built from plain JSON-ready dicts (not pydantic objects) with column lists and one numpy block per
score family: a one-hour word-level result (10,000 words x 68 scores) takes a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from emolens.emotions import (
    SENTIMENT_COLUMNS,
    SENTIMENT_LEVELS,
    TOXICITY_CATEGORIES,
    emotions_for,
    sentiment_expected_value,
)

SEGMENT_COLUMNS = [
    "source",
    "file",
    "file_type",
    "model",
    "speaker",
    "segment",
    "text",
    "begin",
    "end",
    "position_begin",
    "position_end",
    "confidence",
    "speaker_confidence",
]
NER_COLUMNS = ["entity_confidence", "support", "uri", "link_word"]
FRAME_MODELS = ("prosody", "language", "ner", "burst", "face")


def _scores_block(items: list[list[dict[str, Any]] | None], names: Sequence[str]) -> np.ndarray:
    """Scores of many predictions as an (n, len(names)) float array; NaN where a name or the list is missing."""
    n, k = len(items), len(names)
    out = np.full((n, k), np.nan)
    names_t = list(names)
    index = {name: j for j, name in enumerate(names_t)}
    for i, scores in enumerate(items):
        if not scores:
            continue
        # Fast path: the usual case is every prediction listing the names in the same order.
        if len(scores) == k and scores[0]["name"] == names_t[0] and scores[-1]["name"] == names_t[-1]:
            try:
                out[i] = [s["score"] for s in scores]
                continue
            except (TypeError, ValueError):
                pass
        for s in scores:
            j = index.get(s.get("name"))
            if j is not None and isinstance(s.get("score"), (int, float)):
                out[i, j] = s["score"]
    return out


def _model_frame(predictions: list[dict[str, Any]], model: str) -> pd.DataFrame | None:
    cols: dict[str, list[Any]] = {c: [] for c in SEGMENT_COLUMNS}
    ner_cols: dict[str, list[Any]] = {c: [] for c in NER_COLUMNS}
    emos: list[Any] = []
    sents: list[Any] = []
    toxs: list[Any] = []
    seen_names: list[str] | None = None
    for si, src in enumerate(predictions):
        for pred in (src.get("results") or {}).get("predictions") or []:
            res = (pred.get("models") or {}).get(model)
            if not res:
                continue
            file, file_type = pred.get("file"), pred.get("file_type")
            seg = 0
            for group in res.get("grouped_predictions") or []:
                gid = group.get("id", "unknown")
                for p in group.get("predictions") or []:
                    time = p.get("time")
                    pos = p.get("position")
                    if isinstance(time, dict):
                        begin, end = time.get("begin"), time.get("end")
                    elif isinstance(time, (int, float)):  # face: a single timestamp
                        begin = end = time
                    else:
                        begin = end = None
                    cols["source"].append(si)
                    cols["file"].append(file)
                    cols["file_type"].append(file_type)
                    cols["model"].append(model)
                    cols["speaker"].append(gid)
                    cols["segment"].append(seg)
                    cols["text"].append(p.get("entity") if model == "ner" else p.get("text"))
                    cols["begin"].append(begin)
                    cols["end"].append(end)
                    cols["position_begin"].append(pos.get("begin") if isinstance(pos, dict) else None)
                    cols["position_end"].append(pos.get("end") if isinstance(pos, dict) else None)
                    cols["confidence"].append(p.get("confidence", p.get("prob")))
                    cols["speaker_confidence"].append(p.get("speaker_confidence"))
                    if model == "ner":
                        for c in NER_COLUMNS:
                            ner_cols[c].append(p.get(c))
                    e = p.get("emotions")
                    if seen_names is None and e:
                        seen_names = [x.get("name") for x in e]
                    emos.append(e)
                    sents.append(p.get("sentiment"))
                    toxs.append(p.get("toxicity"))
                    seg += 1
    if not cols["source"]:
        return None
    names = list(emotions_for(model))
    if seen_names:  # keep names outside the canonical list (newer models) rather than dropping them
        names += [n for n in seen_names if n not in names]
    frame: dict[str, Any] = {}
    for c in SEGMENT_COLUMNS:
        frame[c] = cols[c]
    if model == "ner":
        frame.update(ner_cols)
    block = _scores_block(emos, names)
    for j, n in enumerate(names):
        frame[n] = block[:, j]
    if any(s is not None for s in sents):
        sblock = _scores_block(sents, SENTIMENT_LEVELS)
        for j, c in enumerate(SENTIMENT_COLUMNS):
            frame[c] = sblock[:, j]
    if any(t is not None for t in toxs):
        tblock = _scores_block(toxs, TOXICITY_CATEGORIES)
        for j, c in enumerate(TOXICITY_CATEGORIES):
            frame[c] = tblock[:, j]
    df = pd.DataFrame(frame)
    for c in ("begin", "end", "confidence", "speaker_confidence"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    for c in ("position_begin", "position_end"):
        df[c] = pd.array(df[c].tolist(), dtype="Int64") if df[c].notna().any() else df[c].astype("Int64")
    return df


def wide_frame(predictions: list[dict[str, Any]], model: str | None = None) -> pd.DataFrame:
    """One row per segment (see module doc). ``model=None`` stacks every model present (columns unioned).

    >>> wide_frame([]).columns[:4].tolist()
    ['source', 'file', 'file_type', 'model']
    """
    models = [model] if model else list(FRAME_MODELS)
    frames = [f for m in models if (f := _model_frame(predictions, m)) is not None]
    if not frames:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=object if c in ("file", "file_type", "model", "speaker", "text") else float)
                for c in SEGMENT_COLUMNS
            }
        )
    if len(frames) == 1:
        return frames[0]
    df = pd.concat(frames, ignore_index=True, sort=False)
    # Order: segment columns, ner extras, emotions, sentiment, toxicity.
    fixed = SEGMENT_COLUMNS + [c for c in NER_COLUMNS if c in df.columns]
    tail = [c for c in SENTIMENT_COLUMNS if c in df.columns] + [c for c in TOXICITY_CATEGORIES if c in df.columns]
    emos = [c for c in df.columns if c not in fixed and c not in tail]
    return df[fixed + emos + tail]


def emotion_columns(df: pd.DataFrame) -> list[str]:
    """The emotion columns of a wide frame, in order."""
    skip = set(SEGMENT_COLUMNS) | set(NER_COLUMNS) | set(SENTIMENT_COLUMNS) | set(TOXICITY_CATEGORIES)
    return [c for c in df.columns if c not in skip]


def long_frame(wide: pd.DataFrame | list[dict[str, Any]], model: str | None = None) -> pd.DataFrame:
    """One row per segment x emotion: the segment columns, then ``emotion`` and ``score``."""
    if not isinstance(wide, pd.DataFrame):
        wide = wide_frame(wide, model=model)
    emos = emotion_columns(wide)
    seg_cols = [c for c in SEGMENT_COLUMNS if c in wide.columns]
    n, k = len(wide), len(emos)
    out = {c: np.repeat(wide[c].to_numpy(), k) for c in seg_cols}
    out["emotion"] = np.tile(np.array(emos, dtype=object), n)
    out["score"] = wide[emos].to_numpy(dtype=float).reshape(-1)
    df = pd.DataFrame(out)
    return df[df["score"].notna()].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------------------
# Helpers


def top_emotions(df: pd.DataFrame, k: int = 5, by: Iterable[str] | None = None) -> list[str]:
    """The k emotions with the highest mean score over the frame (or a subset of its columns)."""
    cols = list(by) if by is not None else emotion_columns(df)
    if df.empty or not cols:
        return cols[:k]
    return df[cols].mean().sort_values(ascending=False).head(k).index.tolist()


def top_k(df: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """Per segment: the k highest emotions as columns top1..topk and top1_score..topk_score."""
    emos = emotion_columns(df)
    if df.empty or not emos:
        return pd.DataFrame(index=df.index)
    values = np.nan_to_num(df[emos].to_numpy(dtype=float), nan=-1.0)
    k = min(k, len(emos))
    idx = np.argsort(-values, axis=1)[:, :k]
    names = np.array(emos, dtype=object)[idx]
    scores = np.take_along_axis(values, idx, axis=1)
    out = {}
    for j in range(k):
        out[f"top{j + 1}"] = names[:, j]
        out[f"top{j + 1}_score"] = scores[:, j]
    return pd.DataFrame(out, index=df.index)


def means(df: pd.DataFrame, by: str | list[str] = "file") -> pd.DataFrame:
    """Mean of every score column per group (``file``, ``speaker``, or a list such as ["file", "speaker"])."""
    score_cols = emotion_columns(df) + [c for c in (*SENTIMENT_COLUMNS, *TOXICITY_CATEGORIES) if c in df.columns]
    return df.groupby(by, dropna=False, sort=True)[score_cols].mean()


def sentiment_expected(df: pd.DataFrame) -> pd.Series:
    """Expected sentiment level (1..9) per segment; NaN where the segment has no sentiment."""
    if not all(c in df.columns for c in SENTIMENT_COLUMNS):
        return pd.Series(np.nan, index=df.index, name="sentiment_expected")
    probs = df[list(SENTIMENT_COLUMNS)].to_numpy(dtype=float)
    total = probs.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ev = (probs * np.arange(1, 10)).sum(axis=1) / total
    ev[~np.isfinite(ev)] = np.nan
    return pd.Series(ev, index=df.index, name="sentiment_expected")


def mean_sentiment(df: pd.DataFrame) -> tuple[np.ndarray, float] | None:
    """Mean 9-level distribution over segments and its expected value, or None when there is no sentiment."""
    if not all(c in df.columns for c in SENTIMENT_COLUMNS):
        return None
    block = df[list(SENTIMENT_COLUMNS)].dropna(how="all")
    if block.empty:
        return None
    dist = block.mean().to_numpy(dtype=float)
    return dist, sentiment_expected_value(list(dist))


def peaks(df: pd.DataFrame, emotions: Iterable[str] | None = None, threshold: float = 0.5) -> pd.DataFrame:
    """Segments where an emotion scores at or above ``threshold``: one row per (segment, emotion), highest first."""
    emos = [e for e in (emotions or emotion_columns(df)) if e in df.columns]
    if df.empty or not emos:
        return pd.DataFrame(columns=["file", "speaker", "segment", "text", "begin", "end", "emotion", "score"])
    keep = ["source", "file", "model", "speaker", "segment", "text", "begin", "end"]
    long = df[keep + emos].melt(id_vars=keep, var_name="emotion", value_name="score")
    out = long[long["score"] >= threshold].sort_values("score", ascending=False)
    return out.reset_index(drop=True)


def file_options(predictions: list[dict[str, Any]]) -> list[tuple[int, str, list[str]]]:
    """(source index, file, models present) for every file of a payload, in order."""
    out = []
    for si, src in enumerate(predictions):
        for pred in (src.get("results") or {}).get("predictions") or []:
            models = [
                m
                for m, r in (pred.get("models") or {}).items()
                if r and m in FRAME_MODELS and any(g.get("predictions") for g in r.get("grouped_predictions") or [])
            ]
            out.append((si, str(pred.get("file")), models))
    return out
