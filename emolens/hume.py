"""The one adapter between Hume's wire format and the engine.

- :func:`media_options` / :func:`text_options`: a ``JobRequest`` -> the engine's option objects.
- :func:`media_source` / :func:`text_source` / :func:`model_json`: engine results -> Hume predictions JSON
  (rounding and key order exactly as Hume's answers: 6 decimals for scores, 3 for prosody times).
- :func:`measure_media` / :func:`measure_text`: the two together, for callers that speak Hume JSON (service,
  CLI, scripts).
- :func:`iter_predictions`: every prediction of a model in a predictions payload, without walking
  ``results.predictions[].models[m].grouped_predictions[]`` by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emolens.emotions import SENTIMENT_LEVELS, TOXICITY_CATEGORIES
from emolens.engine.options import (
    BurstOptions,
    LanguageOptions,
    MediaOptions,
    NerOptions,
    ProsodyOptions,
    SpeakerOptions,
    TextOptions,
    TranscriptionOptions,
    WindowOptions,
)
from emolens.engine.results import MediaResult, ModelOutput, ScoredEntity, ScoredSegment, TextResult
from emolens.errors import ConfigError
from emolens.schema import JobRequest, ModelsConfig, parse_job_request

Progress = Callable[[float, str], None]
_MODEL_KEYS = {"prosody", "language", "ner", "burst", "face", "facemesh"}

# -- JobRequest -> options -------------------------------------------------------------------------------------


def job_request(config: JobRequest | dict[str, Any] | None) -> JobRequest:
    """A validated request from a JobRequest, its JSON dict, a bare ``models`` mapping, or None (= all models)."""
    if config is None:
        return JobRequest()
    if isinstance(config, JobRequest):
        return config
    if isinstance(config, dict):
        if config and not set(config) & set(JobRequest.model_fields) and set(config) <= _MODEL_KEYS:
            config = {"models": config}  # a bare models mapping
        return parse_job_request(config)
    raise ConfigError(f"config must be a JobRequest, a dict or None, not {type(config).__name__}")


def asr_model(request: JobRequest) -> str:
    """The Whisper model asked for in ``transcription.model`` (an emolens extra field), default ``base``."""
    extra = (request.transcription.model_extra or {}) if request.transcription else {}
    return str(extra.get("model") or "base")


def _language(models: ModelsConfig, request: JobRequest) -> LanguageOptions | None:
    cfg = models.language
    if cfg is None:
        return None
    return LanguageOptions(
        granularity=cfg.granularity or "word",
        sentiment=cfg.sentiment is not None,
        toxicity=cfg.toxicity is not None,
        identify_speakers=request.speakers_for("language"),
    )


def _ner(models: ModelsConfig, request: JobRequest) -> NerOptions | None:
    return None if models.ner is None else NerOptions(identify_speakers=request.speakers_for("ner"))


def media_options(request: JobRequest, *, asr: str | None = None) -> MediaOptions:
    """What the engine measures on media for ``request`` (no models = prosody, burst, language and ner).

    ``asr`` overrides ``transcription.model``. Faces and face meshes are not measured (not offered).
    """
    models = request.effective_models()
    prosody = None
    if models.prosody is not None:
        p = models.prosody
        prosody = ProsodyOptions(
            granularity=p.granularity or "utterance",
            window=None if p.window is None else WindowOptions(p.window.length, p.window.step),
            identify_speakers=request.speakers_for("prosody"),
        )
    tr = request.transcription
    transcription = TranscriptionOptions(
        language=tr.language if tr else None,
        confidence_threshold=tr.confidence_threshold if tr else 0.5,
        asr=asr or asr_model(request),  # type: ignore[arg-type]  # unknown names: transcribe says which exist
    )
    speakers = SpeakerOptions()
    if tr is not None:
        speakers = SpeakerOptions(tr.num_speakers, tr.min_speakers, tr.max_speakers)
    return MediaOptions(
        prosody=prosody,
        burst=None if models.burst is None else BurstOptions(identify_speakers=request.speakers_for("burst")),
        language=_language(models, request),
        ner=_ner(models, request),
        transcription=transcription,
        speakers=speakers,
    )


def text_options(request: JobRequest) -> TextOptions:
    """What the engine measures on texts for ``request`` (only language and ner apply; none = both)."""
    models = request.effective_models()
    return TextOptions(language=_language(models, request), ner=_ner(models, request))


# -- results -> Hume JSON --------------------------------------------------------------------------------------


def scores_json(names: Sequence[str], values: np.ndarray) -> list[dict[str, Any]]:
    """Hume's ``[{name, score}]`` list, scores rounded to 6 decimals."""
    # rounded in numpy, then tolist(): Python floats without a round() call and a numpy scalar per value (7x
    # faster for a 68-score segment; the same values as round(v, 6) on 136,000 random scores)
    rounded = np.round(np.asarray(values, dtype=np.float64), 6).tolist()
    return [{"name": n, "score": v} for n, v in zip(names, rounded, strict=False)]


def _prosody_json(s: ScoredSegment, names: Sequence[str]) -> dict[str, Any]:
    return {
        "text": s.text,
        "time": {"begin": round(float(s.begin or 0.0), 3), "end": round(float(s.end or 0.0), 3)},
        "confidence": s.confidence,
        "speaker_confidence": s.speaker_confidence,
        "emotions": scores_json(names, s.scores),
    }


def _language_json(s: ScoredSegment, names: Sequence[str]) -> dict[str, Any]:
    return {
        "text": s.text or "",
        "position": {"begin": s.char_begin or 0, "end": s.char_end or 0},
        "time": None if s.begin is None or s.end is None else {"begin": s.begin, "end": s.end},
        "confidence": s.confidence,
        "speaker_confidence": s.speaker_confidence,
        "emotions": scores_json(names, s.scores),
        "sentiment": None if s.sentiment is None else scores_json(SENTIMENT_LEVELS, s.sentiment),
        "toxicity": None if s.toxicity is None else scores_json(TOXICITY_CATEGORIES, s.toxicity),
    }


def _burst_json(s: ScoredSegment, names: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "time": {"begin": round(float(s.begin or 0.0), 3), "end": round(float(s.end or 0.0), 3)},
        "emotions": scores_json(names, s.scores),
    }
    if s.descriptions is not None:
        out["descriptions"] = [{"name": n, "score": round(float(v), 6)} for n, v in s.descriptions]
    return out


def _entity_json(e: ScoredEntity, names: Sequence[str]) -> dict[str, Any]:
    return {
        "entity": e.entity,
        "position": {"begin": e.char_begin, "end": e.char_end},
        "entity_confidence": None if e.entity_confidence is None else round(e.entity_confidence, 6),
        "support": e.support,
        "uri": e.uri,
        "link_word": e.link_word,
        "time": None if e.begin is None or e.end is None else {"begin": e.begin, "end": e.end},
        "confidence": None if e.confidence is None else round(e.confidence, 6),
        "speaker_confidence": None if e.speaker_confidence is None else round(e.speaker_confidence, 6),
        "emotions": scores_json(names, e.scores),
        # Extension (README, "Entity types"): the entity's spaCy label, after every field of Hume's (so the artifacts
        # zip, which keeps unknown fields last, gives it back in place). Hume's schema has no such field; its
        # clients keep unknown fields (pydantic extra="allow"), and Hume's own results simply lack it.
        "entity_type": e.label,
    }


_SEGMENT_JSON = {"prosody": _prosody_json, "language": _language_json, "burst": _burst_json}


def _group(items: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Hume's grouping: one group per speaker id, in order of first appearance, predictions in order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for speaker, pred in items:
        groups.setdefault(speaker, []).append(pred)
    return [{"id": k, "predictions": v} for k, v in groups.items()]


def model_json(model: str, output: ModelOutput) -> dict[str, Any]:
    """One model's Hume result: ``{"metadata", "grouped_predictions"}``."""
    if model == "ner":
        items = [(e.speaker, _entity_json(e, output.names)) for e in output.entities]
    else:
        fmt = _SEGMENT_JSON[model]
        items = [(s.speaker, fmt(s, output.names)) for s in output.segments]
    return {"metadata": output.metadata, "grouped_predictions": _group(items)}


def media_source(result: MediaResult) -> dict[str, Any]:
    """One media input as a Hume source: ``{"source", "results": {"predictions", "errors"}, "error"}``."""
    name = result.filename or "audio"
    source = {"type": "file", "filename": name, "content_type": result.content_type, "md5sum": result.md5sum}
    errors = []
    for e in result.errors:
        err: dict[str, Any] = {"message": e.message, "file": name}
        if e.file_type:
            err["file_type"] = e.file_type
        errors.append(err)
    preds = []
    if not result.failed:
        models = {m: model_json(m, out) for m, out in result.models.items()}
        preds.append({"file": name, "file_type": result.file_type, "models": models})
    return {"source": source, "results": {"predictions": preds, "errors": errors}, "error": None}


def text_source(result: TextResult, index: int) -> dict[str, Any]:
    """One text as a Hume source; ``index`` is its position in the request (Hume's ``file``)."""
    file = str(index)
    results: dict[str, Any]
    if result.failed:
        results = {"predictions": [], "errors": [{"message": e.message, "file": file} for e in result.errors]}
    else:
        models = {m: model_json(m, out) for m, out in result.models.items()}
        results = {"predictions": [{"file": file, "file_type": "text", "models": models}], "errors": []}
    return {"source": {"type": "text"}, "results": results, "error": None}


# -- both together -----------------------------------------------------------------------------------------------


def measure_media(
    paths: Sequence[str | Path],
    config: JobRequest | dict[str, Any] | None = None,
    progress: Progress | None = None,
    *,
    asr: str = "base",
) -> list[dict[str, Any]]:
    """Measure media files into Hume-format sources (one per file, in input order).

    ``config`` is a Hume job request (only its models and transcription parts matter; no models = all models).
    ``progress(fraction, message)`` follows each stage of each file. ``asr`` picks the Whisper model: "base"
    (multilingual, default) or "tiny.en" (fast, English only).

    >>> measure_media(["talk.wav"], {"models": {"prosody": {"granularity": "sentence"}}})  # doctest: +SKIP
    [{'source': {'type': 'file', 'filename': 'talk.wav', ...}, 'results': {'predictions': [...], 'errors': []}, ...}]
    """
    from emolens.engine.api import measure_audio

    options = media_options(job_request(config), asr=asr)
    options.check()
    n = max(1, len(paths))
    out = []
    for i, p in enumerate(paths):

        def report(frac: float, msg: str, _i: int = i) -> None:
            if progress is not None:
                progress(min(1.0, (_i + min(frac, 1.0)) / n), msg)

        out.append(media_source(measure_audio(Path(p), options, progress=report)))
    if progress is not None:
        progress(1.0, "done")
    return out


def measure_text(
    texts: Sequence[str], config: JobRequest | dict[str, Any] | None = None, progress: Progress | None = None
) -> list[dict[str, Any]]:
    """Measure raw texts: one Hume source per text, in input order (no models configured = language and ner).

    >>> out = measure_text(["Thank you so much!"], {"models": {"language": {"granularity": "sentence"}}})
    >>> out[0]["results"]["predictions"][0]["models"]["language"]["grouped_predictions"][0]["id"]
    'unknown'
    """
    return [src for _, chunk in iter_text_sources(texts, config, progress) for src in chunk]


def iter_text_sources(
    texts: Sequence[str],
    config: JobRequest | dict[str, Any] | None = None,
    progress: Progress | None = None,
    *,
    chunk: int | None = None,
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """:func:`measure_text` in chunks, in input order: (index of the chunk's first text, its Hume sources).

    The engine queues the next chunk before this one is yielded (:func:`emolens.engine.api.iter_measure_texts`),
    so a caller that writes each chunk (JSON, validation) does so while the encoder measures the next one.
    """
    from emolens.engine.api import TEXT_CHUNK, iter_measure_texts

    if isinstance(texts, str):
        texts = [texts]
    options = text_options(job_request(config))
    for offset, results in iter_measure_texts(texts, options, progress, chunk=chunk or TEXT_CHUNK):
        yield offset, [text_source(r, offset + i) for i, r in enumerate(results)]


# -- reading predictions payloads --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PredictionRef:
    """One prediction found in a payload, with where it sits.

    ``source`` is the source's index in the payload, ``file``/``file_type`` those of its file, ``speaker`` the
    group id, ``index`` its position within its file's model result (across groups).
    """

    source: int
    file: Any
    file_type: Any
    model: str
    speaker: Any
    index: int
    prediction: dict[str, Any]


def iter_model_results(archive: Any) -> Iterator[tuple[int, dict[str, Any], str, dict[str, Any]]]:
    """(source index, file prediction, model, model result) for every non-empty model result of a payload.

    Tolerates missing or malformed pieces (they are skipped), so it works on any JSON-ready payload.
    """
    for si, src in enumerate(archive if isinstance(archive, list) else []):
        if not isinstance(src, dict):
            continue
        for pred in (src.get("results") or {}).get("predictions") or []:
            for model, res in (pred.get("models") or {}).items():
                if res:
                    yield si, pred, model, res


def iter_predictions(archive: Any, model: str | None = None) -> Iterator[PredictionRef]:
    """Every prediction of ``model`` (None = all models) in a predictions payload, in payload order."""
    for si, pred, m, res in iter_model_results(archive):
        if model is not None and m != model:
            continue
        k = 0
        for group in res.get("grouped_predictions") or []:
            gid = group.get("id", "unknown")
            for p in group.get("predictions") or []:
                yield PredictionRef(si, pred.get("file"), pred.get("file_type"), m, gid, k, p)
                k += 1
