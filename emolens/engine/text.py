"""Text stages: segments of a text or transcript -> ``language`` and ``ner`` model outputs.

Used by :func:`emolens.engine.measure_texts` for raw texts and by :func:`emolens.engine.measure_audio` for
transcripts. All models load lazily, once per process; every batch call deduplicates segment texts before
inference (word-level jobs repeat words a lot).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from emolens.emotions import LANGUAGE_EMOTIONS
from emolens.engine.results import ModelOutput, ScoredEntity, ScoredSegment
from emolens.engine.types import Segment, Word
from emolens.errors import ConfigError

#: Longest text measured in one piece (characters); longer texts get a per-text error asking to split them.
MAX_TEXT_CHARS = 1_000_000


def predict_arrays(
    texts: list[str], *, sentiment: bool, toxicity: bool, sentiment_texts: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Emotions (n, 53), sentiment (n, 9) or None, toxicity (n, 6) or None for ``texts``, deduplicated.

    ``sentiment_texts`` (one per text) scores sentiment on other texts than the emotions, e.g. each word's
    sentence for word-level segments (see :func:`sentence_contexts`).
    """
    from emolens.engine import language
    from emolens.engine.sentiment import predict_sentiment, sentiment_text_part
    from emolens.engine.toxicity import predict_toxicity

    uniq: dict[str, int] = {}
    pos = [uniq.setdefault(t, len(uniq)) for t in texts]
    clean = [language.clean_for_model(t) for t in uniq]
    # The encoder runs on its threads while this thread computes everything that needs no embedding.
    embedding = language.encode_begin(clean)
    same_texts = sentiment and sentiment_texts is None
    chars = language.term_counts(clean) if same_texts else None  # one char n-gram pass for both models
    emo_text = language.emotion_text_logits(clean, chars)
    sent_text = sentiment_text_part(clean, chars) if same_texts else None
    tox = predict_toxicity(clean)[pos] if toxicity else None
    emb = embedding()
    emo = language.emotion_scores(clean, emb, emo_text)[pos]
    sent = None
    if sentiment:
        if sentiment_texts is None:
            sent = predict_sentiment(clean, emb, sent_text)[pos]
        else:
            s_uniq: dict[str, int] = {}
            s_pos = [s_uniq.setdefault(t, len(s_uniq)) for t in sentiment_texts]
            s_clean = [language.clean_for_model(t) for t in s_uniq]
            s_embedding = language.encode_begin(s_clean)
            s_text = sentiment_text_part(s_clean)
            sent = predict_sentiment(s_clean, s_embedding(), s_text)[s_pos]
    return emo, sent, tox


def sentence_contexts(words: Sequence[Segment], sentences: Sequence[Segment]) -> list[str]:
    """For each word segment, the text of the sentence segment holding it (by character offset), else the word.

    Why: a bare word carries little sentiment ("good" in "not good at all"); word-level sentiment is that of the
    word in its sentence. Both lists come from the same text or transcript, in order.
    """
    out: list[str] = []
    j = 0
    for w in words:
        c = w.char_begin
        if c is None:
            out.append(w.text or "")
            continue
        while j < len(sentences) and (sentences[j].char_end or 0) <= c:
            j += 1
        k = j
        if k >= len(sentences) or (sentences[k].char_begin or 0) > c:  # not in order: search all
            k = next((i for i, s in enumerate(sentences) if (s.char_begin or 0) <= c < (s.char_end or 0)), -1)
        out.append((sentences[k].text or w.text or "") if k >= 0 else (w.text or ""))
    return out


def scored_segments(
    segments: Sequence[Segment], emo: np.ndarray, sent: np.ndarray | None, tox: np.ndarray | None
) -> list[ScoredSegment]:
    """Segments paired with their rows of language scores."""
    return [
        ScoredSegment.of(seg, emo[k], None if sent is None else sent[k], None if tox is None else tox[k])
        for k, seg in enumerate(segments)
    ]


def language_output(
    segments: list[Segment], *, sentiment: bool, toxicity: bool, contexts: Sequence[Segment] | None = None
) -> ModelOutput:
    """The ``language`` output for ``segments`` (of a text or transcript); segments without text are skipped.

    ``contexts``: the sentence segments of the same text, for word-level segments: sentiment then comes from the
    word's sentence (:func:`sentence_contexts`); emotions and toxicity stay the word's own.
    """
    segs = [s for s in segments if s.text and s.text.strip()]
    if not segs:
        return ModelOutput(LANGUAGE_EMOTIONS)
    emo, sent, tox = predict_arrays(
        [s.text or "" for s in segs],
        sentiment=sentiment,
        toxicity=toxicity,
        sentiment_texts=sentence_contexts(segs, contexts) if sentiment and contexts is not None else None,
    )
    return ModelOutput(LANGUAGE_EMOTIONS, scored_segments(segs, emo, sent, tox))


def ner_outputs(texts: list[str], words_list: Sequence[list[Word] | None]) -> list[ModelOutput]:
    """The ``ner`` output of each text.

    With ``words`` (a transcript), each entity takes time from the words it overlaps, confidence = mean word
    confidence and the majority speaker of those words; otherwise time/confidence/speaker_confidence are None.
    Scores are the emotions of the sentence holding the entity; ``support`` is how many times the entity's text
    occurs in the whole text (case-insensitive); ``uri`` is None (no knowledge base is linked).
    """
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
            item = ScoredEntity(
                entity=e.text,
                label=e.label,
                char_begin=e.begin,
                char_end=e.end,
                entity_confidence=e.confidence,
                support=float(max(1, low.count(e.text.lower()))),
                link_word=e.link_word,
                begin=None,
                end=None,
                confidence=None,
                speaker="unknown",
                speaker_confidence=None,
                scores=emo[k],
            )
            hit = [w for w in words or () if w.char_begin < e.end and w.char_end > e.begin]
            if hit:
                item.begin, item.end = min(w.begin for w in hit), max(w.end for w in hit)
                item.confidence = float(np.mean([w.confidence for w in hit]))
                names = [w.speaker for w in hit]
                item.speaker = max(dict.fromkeys(names), key=names.count)
                sc = [
                    w.speaker_confidence for w in hit if w.speaker == item.speaker and w.speaker_confidence is not None
                ]
                item.speaker_confidence = float(np.mean(sc)) if sc else None
            items.append(item)
            k += 1
        out.append(ModelOutput(LANGUAGE_EMOTIONS, entities=items))
    return out


def check_text(text: Any, i: int) -> str:
    """``text`` if it can be measured; ConfigError (reported per text) if it is not a string or too long."""
    if not isinstance(text, str):
        raise ConfigError(f"text {i} is {type(text).__name__}, not a string")
    if len(text) > MAX_TEXT_CHARS:
        raise ConfigError(
            f"text {i} has {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}: split it into several texts"
        )
    return text


# -- Hume-format conveniences (kept for callers of the pre-seam API; the adapter lives in emolens.hume) ----------


def language_result(text: str, segments: list[Segment], *, sentiment: bool, toxicity: bool) -> dict[str, Any]:
    """Hume ``language`` model result for ``segments`` of ``text``, grouped by speaker (first-appearance order)."""
    from emolens import hume

    return hume.model_json("language", language_output(segments, sentiment=sentiment, toxicity=toxicity))


def ner_result(text: str, words: list[Word] | None = None) -> dict[str, Any]:
    """Hume ``ner`` model result for ``text`` (see :func:`ner_outputs`)."""
    from emolens import hume

    return hume.model_json("ner", ner_outputs([text], [words])[0])


def measure_text(texts: list[str], config: Any = None, progress: Any = None) -> list[dict[str, Any]]:
    """Hume-format wrapper: see :func:`emolens.hume.measure_text`."""
    from emolens import hume

    return hume.measure_text(texts, config, progress)
