"""Media stages: speakers on transcript words, and prosody scores per segment.

The pipeline that runs them (decode -> transcribe -> diarize -> segment -> prosody / burst / language / ner) is
:func:`emolens.engine.api.measure_audio`; the functions here are the default stage implementations it calls (see
:class:`emolens.engine.api.Stages` to swap one).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emolens.engine.audio import SAMPLE_RATE
from emolens.engine.options import SpeakerOptions
from emolens.engine.types import Segment, Word

MIN_PROSODY_SPAN = 0.3  # seconds: shorter segments (single words) are analysed over a centred 0.3 s span
SPEECH_GAP = 0.3  # words closer than this form one speech region for speaker analysis
TRACK_PAD = 0.5  # seconds of context around analysed spans when computing frame tracks


def speech_regions(words: list[Word]) -> list[tuple[float, float]]:
    """Stretches of speech: words closer than :data:`SPEECH_GAP` joined."""
    regions: list[list[float]] = []
    for w in sorted(words, key=lambda w: w.begin):
        if regions and w.begin - regions[-1][1] < SPEECH_GAP:
            regions[-1][1] = max(regions[-1][1], w.end)
        else:
            regions.append([w.begin, w.end])
    return [(b, e) for b, e in regions]


def diarize_words(samples: np.ndarray, words: list[Word], speakers: SpeakerOptions) -> list[Word]:
    """Default diarizer stage: ``words`` labelled with speakers (:func:`emolens.engine.diarize.diarize`).

    Each word takes the speaker who talks most during it (the nearest turn when it lies outside every turn), so in
    overlapped speech a word goes to one of the overlapping speakers. ``speakers`` fixes or bounds their number.
    When the diarizer hears no speech at all but the transcript has words, they all go to ``spk_0``.
    """
    from emolens.engine.diarize import diarize, speaker_at

    turns = diarize(
        samples,
        num_speakers=speakers.num_speakers,
        min_speakers=speakers.min_speakers,
        max_speakers=speakers.max_speakers,
    )
    out = []
    for w in words:
        spk, conf = speaker_at(turns, w.begin, w.end) if turns else ("spk_0", None)
        out.append(Word(w.text, w.begin, w.end, w.confidence, w.char_begin, w.char_end, spk, conf))
    return out


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


def prosody_features(samples: np.ndarray, segments: list[Segment], duration: float) -> np.ndarray:
    """Feature rows (n, features) of :mod:`emolens.engine.features` for each segment's analysed span."""
    from emolens.engine.features import functionals, tracks

    spans = _spans(segments, duration)
    # Frame tracks (F0, loudness, spectra) only where segments are, with context: a meeting is mostly silence, and
    # pitch tracking of the silence was a third of the pipeline's time on top of transcription.
    rows: list[Any] = [None] * len(spans)
    order = sorted(range(len(spans)), key=lambda i: spans[i])
    k = 0
    for ib, ie in _cover(spans, duration):
        tr = tracks(samples[int(ib * SAMPLE_RATE) : int(ie * SAMPLE_RATE)])
        while k < len(order) and spans[order[k]][1] <= ie + 1e-9:
            b, e = spans[order[k]]
            rows[order[k]] = functionals(tr, b - ib, e - ib)
            k += 1
    return np.vstack(rows)


def score_prosody(samples: np.ndarray, segments: list[Segment], duration: float) -> np.ndarray:
    """Default prosody scorer stage: scores (n, 48) in PROSODY_EMOTIONS order for each segment."""
    from emolens.engine.prosody import get_model

    if not segments:
        return np.zeros((0, 48))
    return get_model().scores(prosody_features(samples, segments, duration))


def measure_media(paths: list[Any], config: Any = None, progress: Any = None, *, asr: str = "base") -> list[dict]:
    """Hume-format wrapper: see :func:`emolens.hume.measure_media`."""
    from emolens import hume

    return hume.measure_media(paths, config, progress, asr=asr)
