"""Key facts of a predictions payload, for listings (Library page, `emolens list`)."""

from __future__ import annotations

from typing import Any


def summarize(predictions: list[dict[str, Any]]) -> dict[str, Any]:
    """Count sources, files, models, speakers, predictions and errors; measure the media duration.

    Works on raw (JSON-ready) payloads and tolerates missing pieces: a summary never fails.
    """
    files: list[str] = []
    models: set[str] = set()
    speakers: set[str] = set()
    n_predictions = 0
    n_errors = 0
    duration = 0.0
    for src in predictions if isinstance(predictions, list) else []:
        if not isinstance(src, dict):
            continue
        if src.get("error"):
            n_errors += 1
        results = src.get("results") or {}
        n_errors += len(results.get("errors") or [])
        for pred in results.get("predictions") or []:
            files.append(str(pred.get("file", "")))
            for model, res in (pred.get("models") or {}).items():
                if not res:
                    continue
                models.add(model)
                for group in res.get("grouped_predictions") or []:
                    gid = group.get("id")
                    if gid and gid != "unknown" and model in ("prosody", "language", "ner"):
                        speakers.add(str(gid))
                    for p in group.get("predictions") or []:
                        n_predictions += 1
                        t = p.get("time")
                        if isinstance(t, dict) and isinstance(t.get("end"), (int, float)):
                            duration = max(duration, float(t["end"]))
                        elif isinstance(t, (int, float)):
                            duration = max(duration, float(t))
    order = ["prosody", "language", "ner", "burst", "face", "facemesh"]
    return {
        "sources": len(predictions) if isinstance(predictions, list) else 0,
        "files": len(files),
        "file_names": files[:50],
        "models": sorted(models, key=lambda m: order.index(m) if m in order else 99),
        "speakers": sorted(speakers),
        "predictions": n_predictions,
        "errors": n_errors,
        "duration_s": round(duration, 3),
    }


def error_messages(predictions: list[dict[str, Any]]) -> list[str]:
    """Every error of a payload as "where: message" (a source's own error, and each file's error), in order."""
    out: list[str] = []
    for src in predictions if isinstance(predictions, list) else []:
        if not isinstance(src, dict):
            continue
        where = (src.get("source") or {}).get("url") or (src.get("source") or {}).get("filename") or "input"
        if src.get("error"):
            out.append(f"{where}: {src['error']}")
        for err in (src.get("results") or {}).get("errors") or []:
            out.append(f"{err.get('file') or where}: {err.get('message') or 'failed'}")
    return out
