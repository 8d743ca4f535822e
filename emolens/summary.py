"""Key facts of a predictions payload, for listings (Library page, `emolens list`)."""

from __future__ import annotations

from typing import Any


def summarize(predictions: list[dict[str, Any]]) -> dict[str, Any]:
    """Count sources, files, models, speakers, predictions and errors; measure the media duration.

    Works on raw (JSON-ready) payloads and tolerates missing pieces: a summary never fails.
    """
    from emolens.hume import iter_model_results, iter_predictions

    files: list[str] = []
    n_errors = 0
    for src in predictions if isinstance(predictions, list) else []:
        if not isinstance(src, dict):
            continue
        if src.get("error"):
            n_errors += 1
        results = src.get("results") or {}
        n_errors += len(results.get("errors") or [])
        files += [str(pred.get("file", "")) for pred in results.get("predictions") or []]
    models = {model for _, _, model, _ in iter_model_results(predictions)}
    speakers: set[str] = set()
    n_predictions = 0
    duration = 0.0
    for ref in iter_predictions(predictions):
        if ref.speaker and ref.speaker != "unknown" and ref.model in ("prosody", "language", "ner"):
            speakers.add(str(ref.speaker))
        n_predictions += 1
        t = ref.prediction.get("time")
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
