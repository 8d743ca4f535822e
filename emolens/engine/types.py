"""Small shared types passed between pipeline stages (plain dataclasses: no pydantic inside hot loops)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Word:
    """One transcribed word. ``char_begin``/``char_end`` index the transcript text (end exclusive)."""

    text: str
    begin: float
    end: float
    confidence: float
    char_begin: int
    char_end: int
    speaker: str = "unknown"
    speaker_confidence: float | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """A unit of prediction: a word, sentence, utterance, turn, window or passage.

    For text, ``char_begin``/``char_end`` index the original text exactly (end exclusive) and times are None.
    For media, times are seconds and chars index the transcript text (None for windows with no speech).
    """

    text: str | None
    char_begin: int | None
    char_end: int | None
    begin: float | None = None
    end: float | None = None
    confidence: float | None = None
    speaker: str = "unknown"
    speaker_confidence: float | None = None


@dataclass(frozen=True, slots=True)
class Transcript:
    """Words (with char offsets into ``text``), the transcript text, and the language Whisper used."""

    words: list[Word]
    text: str
    language: str
    language_probability: float
    dropped_words: int = 0
