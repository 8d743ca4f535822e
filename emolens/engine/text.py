"""Text entry point: raw texts -> Hume-format sources with ``language`` and ``ner`` results.

Also serves transcripts for the media engine through :func:`language_result` and :func:`ner_result`.
All models load lazily, once per process; every batch call deduplicates segment texts before inference
(word-level jobs repeat words a lot).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from emolens.emotions import LANGUAGE_EMOTIONS, SENTIMENT_LEVELS, TOXICITY_CATEGORIES
from emolens.engine.types import Segment, Word
from emolens.errors import ConfigError, EmolensError
from emolens.schema import JobRequest, parse_job_request

Progress = Callable[[float, str], None]

#: Longest text measured in one piece (characters); longer texts get a per-text error asking to split them.
MAX_TEXT_CHARS = 1_000_000


def _scores(names: Sequence[str], values: np.ndarray) -> list[dict[str, Any]]:
    return [{"name": n, "score": round(float(v), 6)} for n, v in zip(names, values)]


def predict_arrays(
    texts: list[str], *, sentiment: bool, toxicity: bool
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Emotions (n, 53), sentiment (n, 9) or None, toxicity (n, 6) or None for ``texts``, deduplicated."""
    from emolens.engine import language

    uniq: dict[str, int] = {}
    pos = [uniq.setdefault(t, len(uniq)) for t in texts]
    clean = [language.clean_for_model(t) for t in uniq]
    emb = language.encode(clean)
    emo = language.emotion_scores(clean, emb)[pos]
    sent = tox = None
    if sentiment:
        from emolens.engine.sentiment import predict_sentiment

        sent = predict_sentiment(clean, emb)[pos]
    if toxicity:
        from emolens.engine.toxicity import predict_toxicity

        tox = predict_toxicity(clean)[pos]
    return emo, sent, tox


def _group(items: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for speaker, pred in items:
        groups.setdefault(speaker, []).append(pred)
    return [{"id": k, "predictions": v} for k, v in groups.items()]


def _language_from_arrays(
    segments: list[Segment], emo: np.ndarray, sent: np.ndarray | None, tox: np.ndarray | None
) -> dict[str, Any]:
    items = []
    for k, seg in enumerate(segments):
        items.append(
            (
                seg.speaker,
                {
                    "text": seg.text or "",
                    "position": {"begin": seg.char_begin or 0, "end": seg.char_end or 0},
                    "time": None if seg.begin is None or seg.end is None else {"begin": seg.begin, "end": seg.end},
                    "confidence": seg.confidence,
                    "speaker_confidence": seg.speaker_confidence,
                    "emotions": _scores(LANGUAGE_EMOTIONS, emo[k]),
                    "sentiment": None if sent is None else _scores(SENTIMENT_LEVELS, sent[k]),
                    "toxicity": None if tox is None else _scores(TOXICITY_CATEGORIES, tox[k]),
                },
            )
        )
    return {"metadata": None, "grouped_predictions": _group(items)}


def language_result(text: str, segments: list[Segment], *, sentiment: bool, toxicity: bool) -> dict[str, Any]:
    """Hume ``language`` model result for ``segments`` of ``text``, grouped by speaker (first-appearance order).

    Segments with no text (e.g. media windows without speech) are skipped.
    """
    segs = [s for s in segments if s.text and s.text.strip()]
    if not segs:
        return {"metadata": None, "grouped_predictions": []}
    emo, sent, tox = predict_arrays([s.text or "" for s in segs], sentiment=sentiment, toxicity=toxicity)
    return _language_from_arrays(segs, emo, sent, tox)


def ner_result(text: str, words: list[Word] | None = None) -> dict[str, Any]:
    """Hume ``ner`` model result for ``text``.

    With ``words`` (a transcript), each entity takes time from the words it overlaps, confidence = mean word
    confidence and the majority speaker of those words; otherwise time/confidence/speaker_confidence are null.
    ``emotions`` are those of the sentence holding the entity; ``support`` is how many times the entity's text
    occurs in the whole text (case-insensitive); ``uri`` is null (no knowledge base is linked).
    """
    return _ner_many([text], [words])[0]


def _ner_many(texts: list[str], words_list: list[list[Word] | None]) -> list[dict[str, Any]]:
    from emolens.engine.ner import find_entities
    from emolens.engine.textseg import segment_text

    ents_all = find_entities(texts)
    holders: list[list[Segment]] = []
    sent_texts: list[str] = []
    for text, ents in zip(texts, ents_all):
        sents = segment_text(text, "sentence") if ents else []
        per = []
        for e in ents:
            s = next((s for s in sents if s.char_begin <= e.begin < s.char_end), None)  # type: ignore[operator]
            per.append(s or Segment(text=e.text, char_begin=e.begin, char_end=e.end))
        holders.append(per)
        sent_texts.extend(s.text or "" for s in per)
    emo = predict_arrays(sent_texts, sentiment=False, toxicity=False)[0] if sent_texts else np.zeros((0, 53))
    out, k = [], 0
    for text, ents, words in zip(texts, ents_all, words_list):
        low = text.lower()
        items = []
        for e in ents:
            pred: dict[str, Any] = {
                "entity": e.text,
                "position": {"begin": e.begin, "end": e.end},
                "entity_confidence": None if e.confidence is None else round(e.confidence, 6),
                "support": float(max(1, low.count(e.text.lower()))),
                "uri": None,
                "link_word": e.link_word,
                "time": None,
                "confidence": None,
                "speaker_confidence": None,
                "emotions": _scores(LANGUAGE_EMOTIONS, emo[k]),
            }
            speaker = "unknown"
            hit = [w for w in words or () if w.char_begin < e.end and w.char_end > e.begin]
            if hit:
                pred["time"] = {"begin": min(w.begin for w in hit), "end": max(w.end for w in hit)}
                pred["confidence"] = round(float(np.mean([w.confidence for w in hit])), 6)
                names = [w.speaker for w in hit]
                speaker = max(dict.fromkeys(names), key=names.count)
                sc = [w.speaker_confidence for w in hit if w.speaker == speaker and w.speaker_confidence is not None]
                pred["speaker_confidence"] = round(float(np.mean(sc)), 6) if sc else None
            items.append((speaker, pred))
            k += 1
        out.append({"metadata": None, "grouped_predictions": _group(items)})
    return out


def _request(config: JobRequest | dict[str, Any] | None) -> JobRequest:
    if config is None:
        return JobRequest()
    if isinstance(config, JobRequest):
        return config
    if isinstance(config, dict):
        known = set(JobRequest.model_fields)
        if (
            config
            and not set(config) & known
            and set(config) <= {"prosody", "language", "ner", "burst", "face", "facemesh"}
        ):
            config = {"models": config}  # a bare models mapping
        return parse_job_request(config)
    raise ConfigError(f"config must be a JobRequest, a dict or None, not {type(config).__name__}")


def _check_text(text: Any, i: int) -> str:
    if not isinstance(text, str):
        raise ConfigError(f"text {i} is {type(text).__name__}, not a string")
    if len(text) > MAX_TEXT_CHARS:
        raise ConfigError(
            f"text {i} has {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}: split it into several texts"
        )
    return text


def measure_text(
    texts: list[str], config: JobRequest | dict[str, Any] | None = None, progress: Progress | None = None
) -> list[dict[str, Any]]:
    """Measure raw texts: one Hume source dict per text, in input order.

    Only ``language`` and ``ner`` apply to text (no models configured = both). A text that cannot be measured
    (too long, no ``Name:`` turns for conversational_turn) gets an entry in its ``results.errors``.

    >>> out = measure_text(["Thank you so much!"], {"models": {"language": {"granularity": "sentence"}}})
    >>> out[0]["results"]["predictions"][0]["models"]["language"]["grouped_predictions"][0]["id"]
    'unknown'
    """
    from emolens.engine.textseg import segment_text

    if isinstance(texts, str):
        texts = [texts]
    req = _request(config)
    models = req.effective_models()
    lang_cfg, ner_cfg = models.language, models.ner
    report = progress or (lambda f, m: None)
    out: list[dict[str, Any]] = []
    segs_all: list[list[Segment] | None] = []
    errors: list[str | None] = []
    for i, text in enumerate(texts):
        try:
            text = _check_text(text, i)
            segs = None
            if lang_cfg is not None:
                segs = segment_text(
                    text, lang_cfg.effective_granularity, identify_speakers=req.speakers_for("language")
                )
            segs_all.append(segs)
            errors.append(None)
        except EmolensError as e:
            segs_all.append(None)
            errors.append(str(e))
    report(0.05, "segmenting")
    lang_results: dict[int, dict[str, Any]] = {}
    if lang_cfg is not None:
        flat = [(i, s) for i, segs in enumerate(segs_all) if segs for s in segs]
        sentiment, toxicity = lang_cfg.sentiment is not None, lang_cfg.toxicity is not None
        emo, sent, tox = (
            predict_arrays([s.text or "" for _, s in flat], sentiment=sentiment, toxicity=toxicity)
            if flat
            else (np.zeros((0, 53)), None, None)
        )
        rows = np.arange(len(flat))
        owner = np.array([i for i, _ in flat], dtype=int)
        for i in range(len(texts)):
            if errors[i] is None:
                r = rows[owner == i]
                lang_results[i] = _language_from_arrays(
                    [flat[j][1] for j in r], emo[r], None if sent is None else sent[r], None if tox is None else tox[r]
                )
        report(0.7, "language done")
    ner_results: dict[int, dict[str, Any]] = {}
    if ner_cfg is not None:
        ok = [i for i in range(len(texts)) if errors[i] is None]
        for i, res in zip(ok, _ner_many([texts[i] for i in ok], [None] * len(ok))):
            ner_results[i] = res
        report(0.95, "ner done")
    for i in range(len(texts)):
        if errors[i] is not None:
            results = {"predictions": [], "errors": [{"message": errors[i], "file": str(i)}]}
        else:
            m: dict[str, Any] = {}
            if i in lang_results:
                m["language"] = lang_results[i]
            if i in ner_results:
                m["ner"] = ner_results[i]
            results = {"predictions": [{"file": str(i), "file_type": "text", "models": m}], "errors": []}
        out.append({"source": {"type": "text"}, "results": results, "error": None})
    report(1.0, "done")
    return out
