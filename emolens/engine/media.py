"""Media entry point: files -> Hume-format sources with prosody, language and ner predictions.

Per file: decode (PyAV) -> transcribe (faster-whisper, Silero VAD) -> speakers (resemblyzer, only when asked) ->
segment -> prosodic features once per file -> 48 prosody scores per segment; language and ner run on the
transcript through :mod:`emolens.engine.text`. A bad file yields a per-file error; the other files still run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from emolens.engine.audio import SAMPLE_RATE, content_type_for, decode, md5sum
from emolens.engine.segment import segment_words, window_segments, windows
from emolens.engine.types import Segment, Word
from emolens.errors import ConfigError, EmolensError, EngineError, MediaError
from emolens.schema import JobRequest, ModelsConfig, Transcription, parse_job_request

Progress = Callable[[float, str], None]
MIN_PROSODY_SPAN = 0.3  # seconds: shorter segments (single words) are analysed over a centred 0.3 s span
SPEECH_GAP = 0.3  # words closer than this form one speech region for speaker analysis
TRACK_PAD = 0.5  # seconds of context around analysed spans when computing frame tracks

# Share of one file's work per stage, for the progress callback.
_STAGES = {"decode": 0.05, "transcribe": 0.55, "speakers": 0.15, "prosody": 0.1, "language": 0.1, "ner": 0.05}


def _request(config: JobRequest | dict | None) -> JobRequest:
    if config is None:
        return JobRequest()
    if isinstance(config, JobRequest):
        return config
    return parse_job_request(config)


def _speech_regions(words: list[Word]) -> list[tuple[float, float]]:
    regions: list[list[float]] = []
    for w in sorted(words, key=lambda w: w.begin):
        if regions and w.begin - regions[-1][1] < SPEECH_GAP:
            regions[-1][1] = max(regions[-1][1], w.end)
        else:
            regions.append([w.begin, w.end])
    return [(b, e) for b, e in regions]


def _with_speakers(words: list[Word], samples: np.ndarray) -> list[Word]:
    from emolens.engine.diarize import diarize, speaker_at

    turns = diarize(samples, _speech_regions(words))
    out = []
    for w in words:
        spk, conf = speaker_at(turns, w.begin, w.end)
        out.append(Word(w.text, w.begin, w.end, w.confidence, w.char_begin, w.char_end, spk, conf))
    return out


def _group(preds: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for speaker, p in preds:
        groups.setdefault(speaker, []).append(p)
    return [{"id": k, "predictions": v} for k, v in groups.items()]


def _spans(segments: list[Segment], duration: float) -> list[tuple[float, float]]:
    """The analysed span of each segment: its time, widened to MIN_PROSODY_SPAN around short ones (words)."""
    out = []
    for s in segments:
        b, e = float(s.begin or 0.0), float(s.end if s.end is not None else duration)
        if e - b < MIN_PROSODY_SPAN:
            mid = (b + e) / 2
            b, e = max(0.0, mid - MIN_PROSODY_SPAN / 2), min(duration, mid + MIN_PROSODY_SPAN / 2)
        out.append((b, e))
    return out


def _cover(spans: list[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    """Disjoint intervals covering every span plus TRACK_PAD of context on each side."""
    merged: list[list[float]] = []
    for b, e in sorted(spans):
        b, e = max(0.0, b - TRACK_PAD), min(duration, e + TRACK_PAD)
        if merged and b <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([b, e])
    return [(b, e) for b, e in merged]


def _prosody(samples: np.ndarray, segments: list[Segment], duration: float) -> list[dict[str, Any]]:
    from emolens.engine.features import functionals, tracks
    from emolens.engine.prosody import get_model

    if not segments:
        return []
    spans = _spans(segments, duration)
    # Frame tracks (F0, loudness, spectra) only where segments are, with context: a meeting is mostly silence, and
    # pitch tracking of the silence was a third of the pipeline's time on top of transcription.
    rows: list[np.ndarray | None] = [None] * len(spans)
    order = sorted(range(len(spans)), key=lambda i: spans[i])
    intervals = _cover(spans, duration)
    k = 0
    for ib, ie in intervals:
        tr = tracks(samples[int(ib * SAMPLE_RATE) : int(ie * SAMPLE_RATE)])
        while k < len(order) and spans[order[k]][1] <= ie + 1e-9:
            b, e = spans[order[k]]
            rows[order[k]] = functionals(tr, b - ib, e - ib)
            k += 1
    emotions = get_model().predict(np.vstack(rows))
    preds = []
    for s, em in zip(segments, emotions):
        preds.append(
            (
                s.speaker,
                {
                    "text": s.text,
                    "time": {"begin": round(float(s.begin or 0.0), 3), "end": round(float(s.end or 0.0), 3)},
                    "confidence": s.confidence,
                    "speaker_confidence": s.speaker_confidence,
                    "emotions": em,
                },
            )
        )
    return _group(preds)


def _text_engine():
    try:
        from emolens.engine import text
    except ImportError as e:
        raise EngineError(f"the language engine (emolens.engine.text) is not available: {e}") from e
    return text


def _measure_one(
    path: Path, req: JobRequest, models: ModelsConfig, asr: str, report: Callable[[float, str], None]
) -> dict[str, Any]:
    from emolens.engine.transcribe import transcribe

    name = path.name
    source: dict[str, Any] = {"type": "file", "filename": name, "content_type": content_type_for(path)}
    try:
        source["md5sum"] = md5sum(path)
    except OSError:
        source["md5sum"] = ""
    done = 0.0

    def step(stage: str, msg: str) -> None:
        nonlocal done
        done += _STAGES[stage]
        report(done, f"{name}: {msg}")

    try:
        report(0.0, f"{name}: decoding")
        audio = decode(path)
        step("decode", "transcribing")
        tr_cfg = req.transcription or Transcription()
        transcript = transcribe(
            audio.samples,
            model=asr,
            language=tr_cfg.language,
            confidence_threshold=tr_cfg.confidence_threshold,
            progress=lambda f: report(done + _STAGES["transcribe"] * f, f"{name}: transcribing"),
        )
        step("transcribe", "speakers")
        words = transcript.words
        wanted = [m for m in ("prosody", "language", "ner") if getattr(models, m) is not None]
        spk_words = words
        if words and any(req.speakers_for(m) for m in wanted):
            spk_words = _with_speakers(words, audio.samples)
        step("speakers", "prosody")
        pick = {m: (spk_words if req.speakers_for(m) else words) for m in wanted}
        out_models: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        conf = float(np.mean([w.confidence for w in words])) if words else None
        meta = {"confidence": None if conf is None else round(conf, 4), "detected_language": transcript.language}
        if models.prosody is not None:
            gran = models.prosody.effective_granularity
            if gran == "window":
                win = models.prosody.window
                segs = window_segments(pick["prosody"], windows(audio.duration, win.length, win.step))
            else:
                segs = segment_words(pick["prosody"], gran)
            out_models["prosody"] = {
                "metadata": dict(meta),
                "grouped_predictions": _prosody(audio.samples, segs, audio.duration),
            }
        step("prosody", "language")
        for model in ("language", "ner"):
            cfg = getattr(models, model)
            if cfg is not None:
                try:
                    out_models[model] = _text_model(model, cfg, transcript.text, pick[model], meta)
                except EngineError as e:
                    errors.append({"message": f"{model}: {e}", "file": name})
            step(model, "done" if model == "ner" else "entities")
        prediction = {"file": name, "file_type": audio.file_type, "models": out_models}
        return {"source": source, "results": {"predictions": [prediction], "errors": errors}, "error": None}
    except ConfigError:
        raise  # a bad request is the caller's error for every file, not this file's
    except EmolensError as e:
        err: dict[str, Any] = {"message": str(e), "file": name}
        if isinstance(e, MediaError) and e.file_type:
            err["file_type"] = e.file_type
        report(1.0, f"{name}: failed")
        return {"source": source, "results": {"predictions": [], "errors": [err]}, "error": None}


def _text_model(model: str, cfg: Any, text: str, words: list[Word], meta: dict[str, Any]) -> dict[str, Any]:
    if not words:
        return {"metadata": dict(meta), "grouped_predictions": []}
    engine = _text_engine()
    if model == "language":
        segs = segment_words(words, cfg.effective_granularity)
        result = engine.language_result(
            text, segs, sentiment=cfg.sentiment is not None, toxicity=cfg.toxicity is not None
        )
    else:
        result = engine.ner_result(text, words)
    result = dict(result)
    result["metadata"] = dict(meta)
    return result


def measure_media(
    paths: list[str | Path],
    config: JobRequest | dict | None = None,
    progress: Progress | None = None,
    *,
    asr: str = "base",
) -> list[dict]:
    """Measure media files into Hume-format sources (one dict per file, in input order).

    ``config`` is a Hume job request (only its models and transcription parts matter; no models = all models).
    ``progress(fraction, message)`` is called as each stage of each file proceeds. ``asr`` picks the Whisper
    model: "base" (multilingual, default) or "tiny.en" (fast, English only).

    >>> measure_media(["talk.wav"], {"models": {"prosody": {"granularity": "sentence"}}})  # doctest: +SKIP
    [{'source': {'type': 'file', 'filename': 'talk.wav', ...}, 'results': {'predictions': [...], 'errors': []}, ...}]
    """
    req = _request(config)
    models = req.effective_models()
    if models.prosody is None and models.language is None and models.ner is None:
        raise ConfigError("no media model requested: ask for prosody, language or ner (burst/face are not offered)")
    n = max(1, len(paths))
    out = []
    for i, p in enumerate(paths):

        def report(frac: float, msg: str, _i: int = i) -> None:
            if progress is not None:
                progress(min(1.0, (_i + min(frac, 1.0)) / n), msg)

        out.append(_measure_one(Path(p), req, models, asr, report))
    if progress is not None:
        progress(1.0, "done")
    return out
