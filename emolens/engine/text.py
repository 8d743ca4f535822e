"""Text stages: segments of a text or transcript -> ``language`` and ``ner`` model outputs.

Used by :func:`emolens.engine.measure_texts` for raw texts and by :func:`emolens.engine.measure_audio` for
transcripts. All models load lazily, once per process; every batch call deduplicates segment texts before
inference (word-level jobs repeat words a lot).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from emolens.emotions import LANGUAGE_EMOTIONS
from emolens.engine.results import ModelOutput, ScoredEntity, ScoredSegment
from emolens.engine.types import Segment, Word
from emolens.errors import ConfigError

#: Longest text measured in one piece (characters); longer texts get a per-text error asking to split them.
MAX_TEXT_CHARS = 1_000_000


#: Language rows of one segment text: emotions (53,), sentiment (9,) or None, toxicity (6,) or None.
Rows = tuple[np.ndarray, np.ndarray | None, np.ndarray | None]
#: Texts remembered by a :class:`Memo` before it starts afresh (bounds its memory on endless jobs).
MEMO_LIMIT = 200_000


class Memo:
    """Language rows of texts already scored in earlier calls of one job (see :func:`predict_begin`).

    Why: a job measured in chunks (:func:`emolens.engine.api.iter_measure_texts`) would otherwise score again a
    text that an earlier chunk held (word-level jobs repeat words a lot). A text's rows do not depend on the other
    texts of a call, so a remembered row is the row the text would get again. Keyed by model text and, for
    sentiment scored on another text (a word's sentence), by that text.
    """

    def __init__(self) -> None:
        self.text: dict[tuple[str, bool, bool], Rows] = {}
        self.context: dict[str, np.ndarray] = {}

    def trim(self) -> None:
        """Forget everything once over :data:`MEMO_LIMIT` texts."""
        if len(self.text) > MEMO_LIMIT:
            self.text.clear()
        if len(self.context) > MEMO_LIMIT:
            self.context.clear()


def predict_arrays(
    texts: list[str], *, sentiment: bool, toxicity: bool, sentiment_texts: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Emotions (n, 53), sentiment (n, 9) or None, toxicity (n, 6) or None for ``texts``, deduplicated.

    ``sentiment_texts`` (one per text) scores sentiment on other texts than the emotions, e.g. each word's
    sentence for word-level segments (see :func:`sentence_contexts`).
    """
    return predict_begin(texts, sentiment=sentiment, toxicity=toxicity, sentiment_texts=sentiment_texts)()


def predict_begin(
    texts: list[str],
    *,
    sentiment: bool,
    toxicity: bool,
    sentiment_texts: list[str] | None = None,
    memo: Memo | None = None,
) -> Callable[[], tuple[np.ndarray, np.ndarray | None, np.ndarray | None]]:
    """:func:`predict_arrays` in two halves: this call queues the texts on the encoder threads and computes
    everything that needs no embedding (TF-IDF parts, toxicity); calling the result waits for the embeddings and
    finishes. Why: a caller measuring a job in chunks starts chunk k + 1 before finishing chunk k, so the encoder
    threads always have work queued while this thread finishes a chunk (and writes its JSON).

    ``memo``: rows of texts scored by earlier calls of the same job; those texts are not scored again.
    """
    from emolens.engine import language
    from emolens.engine.sentiment import predict_sentiment, sentiment_text_part
    from emolens.engine.toxicity import predict_toxicity

    n = len(texts)
    same_texts = sentiment and sentiment_texts is None
    key = (sentiment and same_texts, toxicity)  # what a remembered row of the text holds
    uniq: dict[str, int] = {}
    known: dict[str, Rows] = {}
    for t in texts:
        if memo is not None and (t, *key) in memo.text:
            known[t] = memo.text[(t, *key)]
        else:
            uniq.setdefault(t, len(uniq))
    clean = [language.clean_for_model(t) for t in uniq]
    # The encoder runs on its threads while this thread computes everything that needs no embedding.
    embedding = language.encode_begin(clean)
    s_uniq: dict[str, int] = {}
    s_known: dict[str, np.ndarray] = {}
    s_clean: list[str] = []
    s_embedding: Callable[[], np.ndarray] | None = None
    if sentiment and sentiment_texts is not None:
        for t in sentiment_texts:
            if memo is not None and t in memo.context:
                s_known[t] = memo.context[t]
            else:
                s_uniq.setdefault(t, len(s_uniq))
        s_clean = [language.clean_for_model(t) for t in s_uniq]
        s_embedding = language.encode_begin(s_clean)  # queued behind the texts' own runs
    chars = language.term_counts(clean) if same_texts else None  # one char n-gram pass for both models
    emo_text = language.emotion_text_logits(clean, chars)
    sent_text = sentiment_text_part(clean, chars) if same_texts else None
    s_text = sentiment_text_part(s_clean) if s_embedding is not None else None
    tox_new = predict_toxicity(clean) if toxicity else None

    def finish() -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        emb = embedding()
        emo_new = language.emotion_scores(clean, emb, emo_text)
        sent_new = predict_sentiment(clean, emb, sent_text) if same_texts else None
        emo = np.empty((n, emo_new.shape[1]))
        tox = np.empty((n, 6)) if toxicity else None
        sent = np.empty((n, 9)) if sentiment else None
        for k, t in enumerate(texts):
            j = uniq.get(t)
            if j is None:
                e_row, s_row, t_row = known[t]
            else:
                e_row = emo_new[j]
                s_row = None if sent_new is None else sent_new[j]
                t_row = None if tox_new is None else tox_new[j]
            emo[k] = e_row
            if tox is not None:
                tox[k] = t_row
            if sent is not None and same_texts:
                sent[k] = s_row
        if s_embedding is not None and sent is not None and sentiment_texts is not None:
            s_new = predict_sentiment(s_clean, s_embedding(), s_text)
            for k, t in enumerate(sentiment_texts):
                j = s_uniq.get(t)
                sent[k] = s_known[t] if j is None else s_new[j]
            if memo is not None:
                memo.context.update((t, s_new[j]) for t, j in s_uniq.items())
        if memo is not None:
            for t, j in uniq.items():
                s_row = None if sent_new is None else sent_new[j]
                memo.text[(t, *key)] = (emo_new[j], s_row, None if tox_new is None else tox_new[j])
            memo.trim()
        return emo, sent, tox

    return finish


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
