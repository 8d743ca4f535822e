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


def settings_label(config: dict[str, Any] | None, model: str | None = None) -> str:
    """The settings a result was measured with, short: "prosody utterance · language word +sentiment · speakers".

    ``model`` narrows the label to one model (what a comparison of two granularities needs). Imported archives
    (no request config) give "".
    """
    models = (config or {}).get("models") or {}
    if not isinstance(models, dict):
        return ""
    parts = []
    speakers = False
    for name in [model] if model else list(models):
        m = models.get(name)
        if not isinstance(m, dict):
            continue
        unit = ""
        if isinstance(m.get("window"), dict):
            w = m["window"]
            unit = f" window {w.get('length', 4):g}/{w.get('step', 1):g} s"
        elif m.get("granularity"):
            unit = f" {m['granularity']}"
        extras = "".join(f" +{k}" for k in ("sentiment", "toxicity") if m.get(k) is not None)
        parts.append(f"{name}{unit}{extras}")
        speakers = speakers or bool(m.get("identify_speakers"))
    tr = (config or {}).get("transcription") or {}
    speakers = speakers or bool(isinstance(tr, dict) and tr.get("identify_speakers"))
    if isinstance(tr, dict) and tr.get("model") and tr.get("model") != "base":
        parts.append(f"asr {tr['model']}")
    return " · ".join(parts + (["speakers"] if speakers else []))


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or "name (2)", "name (3)"… so that no two Library results share a name."""
    if name not in taken:
        return name
    i = 2
    while f"{name} ({i})" in taken:
        i += 1
    return f"{name} ({i})"


def content_keys(predictions: list[dict[str, Any]]) -> list[str]:
    """One key per file of a payload naming its content, so two results of the same input pair up whatever the
    file was called: the md5 of a file, the URL, or the start of a raw text."""
    out = []
    for src in predictions if isinstance(predictions, list) else []:
        source = (src or {}).get("source") or {}
        for pred in ((src or {}).get("results") or {}).get("predictions") or []:
            if source.get("md5sum"):
                out.append("md5:" + str(source["md5sum"]))
            elif source.get("url"):
                out.append("url:" + str(source["url"]))
            else:
                models = pred.get("models") or {}
                first = next((m for m in ("language", "prosody", *models) if models.get(m)), None)
                texts = [
                    str(p.get("text") or "")
                    for g in (models.get(first) or {}).get("grouped_predictions") or []
                    for p in sorted(g.get("predictions") or [], key=lambda p: (p.get("position") or {}).get("begin", 0))
                ]
                out.append("text:" + " ".join(" ".join(texts).split())[:200] if texts else f"file:{pred.get('file')}")
    return out


def result_name(request: dict[str, Any]) -> str:
    """A readable Library name for a measured job: first file, URL or text, and how many more inputs."""
    names = [f.get("filename") or "file" for f in request.get("files") or []]
    names += [u.rstrip("/").rsplit("/", 1)[-1] or u for u in request.get("urls") or []]
    names += ["text: " + (t.strip().splitlines() or [""])[0][:40] for t in request.get("text") or []]
    if not names:
        return "measured job"
    return names[0] + (f" (+{len(names) - 1} more)" if len(names) > 1 else "")
