"""What to measure: small frozen option objects, one per model, that the engine takes instead of a job request.

A model's option is ``None`` when that model is not requested. The Hume wire format (``JobRequest``) is turned
into these by :func:`emolens.hume.media_options` / :func:`emolens.hume.text_options`; nothing here knows HTTP.

>>> MediaOptions(prosody=ProsodyOptions(granularity="sentence")).requested
('prosody',)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import get_args

from emolens.errors import ConfigError
from emolens.schema import MIN_WINDOW_S, AsrModel, Granularity


@dataclass(frozen=True, slots=True)
class WindowOptions:
    """Sliding windows over the whole file: ``length`` seconds every ``step`` seconds (each at least 0.5)."""

    length: float = 4.0
    step: float = 1.0

    def __post_init__(self) -> None:
        check_window(self.length, self.step)


def check_window(length: float, step: float) -> None:
    """ConfigError unless window ``length`` and ``step`` are each at least :data:`MIN_WINDOW_S` seconds."""
    if length < MIN_WINDOW_S or step < MIN_WINDOW_S:
        raise ConfigError(f"window length and step must each be at least {MIN_WINDOW_S} seconds")


def _check_granularity(granularity: str) -> None:
    if granularity not in get_args(Granularity):
        raise ConfigError(f"unknown granularity {granularity!r}: choose one of {', '.join(get_args(Granularity))}")


@dataclass(frozen=True, slots=True)
class ProsodyOptions:
    """Prosody (48 emotions from the voice) per ``granularity`` segment, or per window when ``window`` is set."""

    granularity: Granularity = "utterance"
    window: WindowOptions | None = None
    identify_speakers: bool = False

    def __post_init__(self) -> None:
        _check_granularity(self.granularity)


@dataclass(frozen=True, slots=True)
class BurstOptions:
    """Vocal bursts (laughs, sighs...): no settings in Hume's API beyond speakers."""

    identify_speakers: bool = False


@dataclass(frozen=True, slots=True)
class LanguageOptions:
    """Language (53 emotions from words) per ``granularity`` segment, optionally with sentiment and toxicity."""

    granularity: Granularity = "word"
    sentiment: bool = False
    toxicity: bool = False
    identify_speakers: bool = False

    def __post_init__(self) -> None:
        _check_granularity(self.granularity)


@dataclass(frozen=True, slots=True)
class NerOptions:
    """Named entities, each with the language emotions of its sentence."""

    identify_speakers: bool = False


@dataclass(frozen=True, slots=True)
class TranscriptionOptions:
    """Speech recognition: ``language`` (BCP-47, None = detect), words below ``confidence_threshold`` dropped."""

    language: str | None = None
    confidence_threshold: float = 0.5
    asr: AsrModel = "base"


@dataclass(frozen=True, slots=True)
class SpeakerOptions:
    """Hints for the diarizer: ``num_speakers`` fixes the number of speakers, ``min_speakers`` / ``max_speakers``
    bound the estimate (None = estimate freely). Counts must be at least 1 and min <= num <= max (ConfigError)."""

    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None

    def __post_init__(self) -> None:
        from emolens.engine.diarize import check_speaker_counts

        check_speaker_counts(self.num_speakers, self.min_speakers, self.max_speakers)


#: The media models in the order they run and appear in results.
MEDIA_MODELS = ("prosody", "burst", "language", "ner")


@dataclass(frozen=True, slots=True)
class MediaOptions:
    """Everything :func:`emolens.engine.measure_audio` needs to know; a model is None when not requested."""

    prosody: ProsodyOptions | None = None
    burst: BurstOptions | None = None
    language: LanguageOptions | None = None
    ner: NerOptions | None = None
    transcription: TranscriptionOptions = field(default_factory=TranscriptionOptions)
    speakers: SpeakerOptions = field(default_factory=SpeakerOptions)

    @property
    def requested(self) -> tuple[str, ...]:
        """Names of the requested models, in :data:`MEDIA_MODELS` order."""
        return tuple(m for m in MEDIA_MODELS if getattr(self, m) is not None)

    def check(self) -> None:
        """Raise ConfigError when no model is requested."""
        if not self.requested:
            raise ConfigError("no media model requested: ask for prosody, burst, language or ner (face is not offered)")

    def speakers_for(self, model: str) -> bool:
        """Whether ``model`` is requested with speakers identified."""
        opts = getattr(self, model)
        return bool(opts is not None and opts.identify_speakers)


@dataclass(frozen=True, slots=True)
class TextOptions:
    """What :func:`emolens.engine.measure_texts` measures; a model is None when not requested."""

    language: LanguageOptions | None = None
    ner: NerOptions | None = None
