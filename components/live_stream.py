"""Live streaming helpers: stream replies -> rows of a wide frame (the shape emolens.frames and charts use)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from emolens.emotions import TOXICITY_CATEGORIES
from emolens.frames import SEGMENT_COLUMNS


def prosody_rows(reply: dict[str, Any], offset: float, start_index: int) -> list[dict[str, Any]]:
    """Rows for the prosody predictions of one audio payload, shifted by the payload's start time."""
    rows = []
    for i, p in enumerate(((reply.get("prosody") or {}).get("predictions")) or []):
        row = {"model": "prosody", "speaker": "live", "segment": start_index + i, "text": None,
               "begin": offset + p["time"]["begin"], "end": offset + p["time"]["end"]}
        row.update({e["name"]: e["score"] for e in p["emotions"]})
        rows.append(row)
    return rows


def burst_rows(reply: dict[str, Any], offset: float, start_index: int) -> list[dict[str, Any]]:
    """Rows for the vocal bursts of one audio payload, shifted by the payload's start time."""
    rows = []
    for i, p in enumerate(((reply.get("burst") or {}).get("predictions")) or []):
        row = {"model": "burst", "speaker": "live", "segment": start_index + i, "text": None,
               "begin": offset + p["time"]["begin"], "end": offset + p["time"]["end"]}
        row.update({e["name"]: e["score"] for e in p["emotions"]})
        rows.append(row)
    return rows


def language_rows(reply: dict[str, Any], start_index: int, offset: float | None = None) -> list[dict[str, Any]]:
    """Rows for language predictions (raw text has no times: the timeline uses the segment order)."""
    rows = []
    for i, p in enumerate(((reply.get("language") or {}).get("predictions")) or []):
        row = {"model": "language", "speaker": "live", "segment": start_index + i, "text": p.get("text"),
               "begin": offset, "end": offset}
        row.update({e["name"]: e["score"] for e in p["emotions"]})
        for s in p.get("sentiment") or []:
            row[f"sentiment_{s['name']}"] = s["score"]
        for s in p.get("toxicity") or []:
            row[s["name"]] = s["score"]
        rows.append(row)
    return rows


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A wide frame from rows (segment columns first); empty rows give an empty frame with those columns."""
    df = pd.DataFrame(rows)
    for c in SEGMENT_COLUMNS:
        if c not in df.columns:
            df[c] = None
    cols = SEGMENT_COLUMNS + [c for c in df.columns if c not in SEGMENT_COLUMNS]
    df = df[cols]
    if df["begin"].isna().all():
        df = df.drop(columns=["begin", "end"])
    return df


def warnings_of(reply: dict[str, Any]) -> list[str]:
    """Warnings nested in a reply's model sections (Hume style: {"warning", "code"})."""
    return [f"{m}: {v['warning']}" for m, v in reply.items() if isinstance(v, dict) and v.get("warning")]


def line_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One line per streamed text prediction: its text, top-3 emotions, expected sentiment (1-9) and the highest
    toxicity category, where the stream returned them."""
    from emolens.frames import sentiment_expected, top_k

    df = frame(rows)
    if df.empty:
        return pd.DataFrame(columns=["text", "top 3"])
    tops = top_k(df, 3)
    out = pd.DataFrame({"text": df["text"]})
    out["top 3"] = [
        ", ".join(f"{tops.iloc[i][f'top{j}']} {tops.iloc[i][f'top{j}_score']:.2f}" for j in (1, 2, 3)
                  if f"top{j}" in tops)
        for i in range(len(df))
    ]
    ev = sentiment_expected(df)
    if ev.notna().any():
        out["sentiment (1-9)"] = ev.round(2)
    tox = [c for c in TOXICITY_CATEGORIES if c in df.columns]
    if tox and df[tox].notna().any().any():
        worst = df[tox].astype(float).idxmax(axis=1)
        out["toxicity"] = [f"{w} {df.loc[i, w]:.2f}" if isinstance(w, str) else "" for i, w in worst.items()]
    return out


def live_payload(language: list[dict[str, Any]], prosody: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """Streamed predictions as a Hume predictions payload the Library stores: typed text as one text source
    (language), streamed audio as one file (prosody, times on the recording's clock)."""
    out: list[dict[str, Any]] = []
    if language:
        out.append({"source": {"type": "text"}, "results": {"predictions": [{
            "file": "0", "file_type": "text",
            "models": {"language": {"metadata": None, "grouped_predictions": [{"id": "unknown",
                                                                              "predictions": language}]}},
        }], "errors": []}})
    if prosody:
        out.append({"source": {"type": "file", "filename": name}, "results": {"predictions": [{
            "file": name, "file_type": "audio",
            "models": {"prosody": {"metadata": None, "grouped_predictions": [{"id": "unknown",
                                                                             "predictions": prosody}]}},
        }], "errors": []}})
    return out
