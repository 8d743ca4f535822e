"""What the engine returns: plain dataclasses with numpy score arrays (no JSON, no pydantic).

:mod:`emolens.hume` turns these into Hume's predictions JSON; the engine never builds wire dicts. Scores are kept
unrounded; the adapter rounds them as Hume's format does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emolens.engine.types import Segment, Transcript


@dataclass(slots=True)
class ScoredSegment:
    """One prediction: a segment (word, sentence, utterance, turn, window, burst) and its scores.

    ``begin``/``end`` are seconds (None for text); ``char_begin``/``char_end`` index the transcript or text (end
    exclusive; None for windows without speech). ``scores`` is aligned with the model's ``names``; ``sentiment``
    (9 levels) and ``toxicity`` (6 categories) are set when asked for; ``descriptions`` is for vocal bursts.
    """

    text: str | None
    begin: float | None
    end: float | None
    char_begin: int | None
    char_end: int | None
    confidence: float | None
    speaker: str
    speaker_confidence: float | None
    scores: np.ndarray
    sentiment: np.ndarray | None = None
    toxicity: np.ndarray | None = None
    descriptions: list[tuple[str, float]] | None = None

    @classmethod
    def of(
        cls,
        seg: Segment,
        scores: np.ndarray,
        sentiment: np.ndarray | None = None,
        toxicity: np.ndarray | None = None,
    ) -> ScoredSegment:
        """A segment with its scores (everything else copied from the segment)."""
        return cls(
            text=seg.text,
            begin=seg.begin,
            end=seg.end,
            char_begin=seg.char_begin,
            char_end=seg.char_end,
            confidence=seg.confidence,
            speaker=seg.speaker,
            speaker_confidence=seg.speaker_confidence,
            scores=scores,
            sentiment=sentiment,
            toxicity=toxicity,
        )


@dataclass(slots=True)
class ScoredEntity:
    """One named entity with the language emotions of the sentence holding it.

    ``support`` is how often the entity's text occurs in the whole text; ``begin``/``end``/``confidence`` come
    from the transcript words it overlaps (None for text).
    """

    entity: str
    label: str
    char_begin: int
    char_end: int
    entity_confidence: float | None
    support: float
    link_word: str
    begin: float | None
    end: float | None
    confidence: float | None
    speaker: str
    speaker_confidence: float | None
    scores: np.ndarray
    uri: str | None = None


@dataclass(slots=True)
class ModelOutput:
    """The output of one model on one input: segments in time/text order (entities for ``ner``).

    ``names`` label the columns of every segment's ``scores``; ``metadata`` is Hume's per-model metadata
    (transcript confidence, detected language) or None.
    """

    names: tuple[str, ...]
    segments: list[ScoredSegment] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    entities: list[ScoredEntity] = field(default_factory=list)


@dataclass(slots=True)
class MeasureError:
    """A problem with one input or one model: ``message`` for users; ``file_type`` as Hume reports it."""

    message: str
    file_type: str | None = None


@dataclass(slots=True)
class MediaResult:
    """Everything measured on one audio/video input.

    ``failed`` means the input could not be measured at all (``errors`` says why; ``models`` is empty); otherwise
    ``errors`` lists models that failed while the others ran.
    """

    filename: str | None
    content_type: str | None
    md5sum: str | None
    file_type: str | None
    duration: float
    transcript: Transcript | None
    models: dict[str, ModelOutput] = field(default_factory=dict)
    errors: list[MeasureError] = field(default_factory=list)
    failed: bool = False


@dataclass(slots=True)
class TextResult:
    """Everything measured on one text; ``failed`` means it could not be measured (``errors`` says why)."""

    text: str
    models: dict[str, ModelOutput] = field(default_factory=dict)
    errors: list[MeasureError] = field(default_factory=list)
    failed: bool = False
