"""Media stages: speakers on transcript words, and prosody scores per segment.

The pipeline that runs them (decode -> transcribe -> diarize -> segment -> prosody / burst / language / ner) is
:func:`emolens.engine.api.measure_audio`; the functions here are the default stage implementations it calls (see
:class:`emolens.engine.api.Stages` to swap one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from emolens.engine.audio import SAMPLE_RATE
from emolens.engine.options import SpeakerOptions
from emolens.engine.types import Segment, Word

if TYPE_CHECKING:
    from emolens.engine.diarize import Turn

SPEECH_GAP = 0.3  # words closer than this form one speech region for speaker analysis


def speech_regions(words: list[Word]) -> list[tuple[float, float]]:
    """Stretches of speech: words closer than :data:`SPEECH_GAP` joined."""
    regions: list[list[float]] = []
    for w in sorted(words, key=lambda w: w.begin):
        if regions and w.begin - regions[-1][1] < SPEECH_GAP:
            regions[-1][1] = max(regions[-1][1], w.end)
        else:
            regions.append([w.begin, w.end])
    return [(b, e) for b, e in regions]


def speaker_turns(samples: np.ndarray, speakers: SpeakerOptions) -> list[Turn]:
    """Who speaks when in ``samples`` (:func:`emolens.engine.diarize.diarize`); ``speakers`` fixes or bounds the count.

    It needs no transcript, so :func:`emolens.engine.api.measure_audio` runs it while Whisper transcribes.
    """
    from emolens.engine.diarize import diarize

    return diarize(
        samples,
        num_speakers=speakers.num_speakers,
        min_speakers=speakers.min_speakers,
        max_speakers=speakers.max_speakers,
    )


def label_words(words: list[Word], turns: list[Turn]) -> list[Word]:
    """``words`` labelled with the speaker who talks most during each (the nearest turn outside every turn).

    In overlapped speech a word goes to one of the overlapping speakers. Without turns (no speech heard) but with
    words, they all go to ``spk_0``.
    """
    from emolens.engine.diarize import speaker_at

    out = []
    for w in words:
        spk, conf = speaker_at(turns, w.begin, w.end) if turns else ("spk_0", None)
        out.append(Word(w.text, w.begin, w.end, w.confidence, w.char_begin, w.char_end, spk, conf))
    return out


def diarize_words(samples: np.ndarray, words: list[Word], speakers: SpeakerOptions) -> list[Word]:
    """Default diarizer stage: ``words`` labelled with speakers (:func:`speaker_turns` then :func:`label_words`).

    Each word takes the speaker who talks most during it (the nearest turn when it lies outside every turn), so in
    overlapped speech a word goes to one of the overlapping speakers. ``speakers`` fixes or bounds their number.
    When the diarizer hears no speech at all but the transcript has words, they all go to ``spk_0``.
    """
    return label_words(words, speaker_turns(samples, speakers))


def prosody_features(samples: np.ndarray, segments: list[Segment], duration: float) -> np.ndarray:
    """Model input rows (n, :data:`emolens.engine.prosody.INPUT_NAMES`) for each segment: see
    :func:`emolens.engine.prosody.input_rows` (segments under 1 s are analysed over a 1 s window around them)."""
    from emolens.engine.prosody import input_rows

    spans = [(float(s.begin or 0.0), float(s.end if s.end is not None else duration)) for s in segments]
    return input_rows(samples[: int(round(duration * SAMPLE_RATE))] if duration else samples, spans)


def score_prosody(samples: np.ndarray, segments: list[Segment], duration: float) -> np.ndarray:
    """Default prosody scorer stage: scores (n, 48) in PROSODY_EMOTIONS order for each segment (prosody v2)."""
    from emolens.engine.prosody import get_model

    if not segments:
        return np.zeros((0, 48))
    return get_model().scores(prosody_features(samples, segments, duration))


def measure_media(paths: list[Any], config: Any = None, progress: Any = None, *, asr: str = "base") -> list[dict]:
    """Hume-format wrapper: see :func:`emolens.hume.measure_media`."""
    from emolens import hume

    return hume.measure_media(paths, config, progress, asr=asr)
