"""Import CSVs that are not emolens artifact CSVs by sniffing their headers.

Recognised: emolens's own tidy wide frames (``frame --wide`` / CSV export) and third-party per-segment tables
whose columns include emotion names spelled as in Hume plus time or position columns under common spellings
(``begin``/``Begin Time``/``start``, ``end``/``End Time``/``stop``, ``text``/``Text``, ``speaker``/``id``).
The model is the ``model`` column when present, else inferred: a language-only name (e.g. Gratitude) means
language, ``entity`` means ner, ``frame`` means face, otherwise prosody.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

from emolens.emotions import (
    LANGUAGE_EMOTIONS,
    LANGUAGE_ONLY_EMOTIONS,
    PROSODY_EMOTIONS,
    SENTIMENT_COLUMNS,
    SENTIMENT_LEVELS,
    TOXICITY_CATEGORIES,
)
from emolens.errors import ArchiveError

_ALIASES = {
    "begin": ("begin", "begintime", "start", "starttime", "timebegin", "begin_s"),
    "end": ("end", "endtime", "stop", "stoptime", "timeend", "end_s"),
    "text": ("text", "word", "transcript", "sentence", "utterance", "entity"),
    "speaker": ("speaker", "id", "speakerid", "groupid"),
    "file": ("file", "filename", "path"),
    "position_begin": ("position_begin", "positionbegin", "charbegin"),
    "position_end": ("position_end", "positionend", "charend"),
    "confidence": ("confidence",),
    "speaker_confidence": ("speaker_confidence", "speakerconfidence"),
    "file_type": ("file_type", "filetype"),
    "model": ("model",),
    "source": ("source",),
}


def _norm(col: str) -> str:
    return re.sub(r"[^a-z_]", "", col.strip().lower().replace(" ", ""))


def _value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return v


def sniff_csv(text: str, name: str) -> list[dict[str, Any]]:
    """Turn one sniffed CSV into Hume sources (one source per distinct ``source``/file)."""
    import pandas as pd

    try:
        df = pd.read_csv(io.StringIO(text), keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
        raise ArchiveError(f"cannot parse CSV ({str(e).splitlines()[0]})", name) from None
    cols = {_norm(c): c for c in df.columns}
    found = {key: next((cols[a] for a in al if a in cols), None) for key, al in _ALIASES.items()}
    emotion_cols = [c for c in df.columns if c in LANGUAGE_EMOTIONS]
    if not emotion_cols:
        raise ArchiveError(
            "CSV has no emotion columns named as in Hume (e.g. 'Joy', 'Surprise (negative)'); not a results table", name
        )
    if found["begin"] is None and found["position_begin"] is None and "frame" not in cols:
        raise ArchiveError("CSV has emotion columns but no time ('begin'/'end') or position columns", name)
    has_lang_only = any(c in LANGUAGE_ONLY_EMOTIONS for c in emotion_cols)
    default_model = (
        "ner"
        if "entity" in cols
        else "face"
        if "frame" in cols
        else ("language" if has_lang_only or found["position_begin"] else "prosody")
    )
    sent_cols = [c for c in SENTIMENT_COLUMNS if c in df.columns]
    tox_cols = [c for c in TOXICITY_CATEGORIES if c in df.columns]
    file_col, model_col, src_col = found["file"], found["model"], found["source"]
    sources: dict[Any, dict[str, Any]] = {}
    for rec in df.to_dict("records"):
        model = str(rec[model_col]) if model_col and _value(rec[model_col]) else default_model
        if model not in ("prosody", "language", "ner", "burst", "face"):
            continue
        file = str(_value(rec[file_col]) or name) if file_col else name
        skey = _value(rec[src_col]) if src_col else file
        src = sources.setdefault(
            skey,
            {"source": {"type": "file", "filename": file}, "results": {"predictions": [], "errors": []}, "error": None},
        )
        preds = src["results"]["predictions"]
        entry = next((p for p in preds if p["file"] == file), None)
        if entry is None:
            entry = {"file": file, "models": {}}
            if found["file_type"] and _value(rec[found["file_type"]]):
                entry["file_type"] = str(rec[found["file_type"]])
            preds.append(entry)
        res = entry["models"].setdefault(model, {"metadata": None, "grouped_predictions": []})
        speaker = str(_value(rec[found["speaker"]]) or "unknown") if found["speaker"] else "unknown"
        group = next((g for g in res["grouped_predictions"] if g["id"] == speaker), None)
        if group is None:
            group = {"id": speaker, "predictions": []}
            res["grouped_predictions"].append(group)
        names = PROSODY_EMOTIONS if model in ("prosody", "burst", "face") else LANGUAGE_EMOTIONS
        emotions = [
            {"name": n, "score": float(rec[n])} for n in emotion_cols if n in names and _value(rec[n]) is not None
        ]
        p: dict[str, Any] = {"emotions": emotions}
        cell: Any = _value(rec[found["text"]]) if found["text"] else None
        begin = _value(rec[found["begin"]]) if found["begin"] else None
        end = _value(rec[found["end"]]) if found["end"] else None
        time = {"begin": float(begin), "end": float(end if end is not None else begin)} if begin is not None else None
        pos = None
        if found["position_begin"] and _value(rec[found["position_begin"]]) is not None:
            pos = {"begin": int(rec[found["position_begin"]]), "end": int(rec[found["position_end"]])}
        for key in ("confidence", "speaker_confidence"):
            if found[key]:
                p[key] = _value(rec[found[key]])
        if model == "prosody":
            if time is None:
                raise ArchiveError("prosody rows need begin/end times", name)
            p.update(text=None if cell is None else str(cell), time=time)
        elif model in ("language", "ner"):
            cell = "" if cell is None else str(cell)
            p["position"] = pos or {"begin": 0, "end": len(cell)}
            p["time"] = time
            if model == "language":
                p["text"] = cell
                if sent_cols and any(_value(rec[c]) is not None for c in sent_cols):
                    p["sentiment"] = [
                        {"name": lvl, "score": float(rec[f"sentiment_{lvl}"])}
                        for lvl in SENTIMENT_LEVELS
                        if f"sentiment_{lvl}" in df.columns
                    ]
                if tox_cols and any(_value(rec[c]) is not None for c in tox_cols):
                    p["toxicity"] = [{"name": c, "score": float(rec[c])} for c in tox_cols]
            else:
                p["entity"] = cell
        elif model == "burst":
            if time is None:
                raise ArchiveError("burst rows need begin/end times", name)
            p["time"] = time
        elif model == "face":
            p["frame"] = int(rec.get("frame", rec.get(cols.get("frame"), 0)) or 0)
            p["time"] = None if begin is None else float(begin)
        group["predictions"].append(p)
    if not sources:
        raise ArchiveError("CSV rows name no known model", name)
    return list(sources.values())
