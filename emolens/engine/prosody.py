"""Prosody v2: 48 speech-emotion scores from how something is said, learned for Hume's names.

Input per segment: the gain-invariant prosodic functionals of :mod:`emolens.engine.features` that the weights name
(those that survive noise, see :data:`emolens.train.prosody.ROBUST_R`; never ``loud_mean_db``) ++ Whisper-base
encoder layer-2 mean/std statistics of :mod:`emolens.engine.embed` (1024), each column standardised with the
training mean/std. A multinomial logistic regression ("masked softmax": each corpus's clips only compete among the
classes that corpus names, so a class no corpus shares cannot be learnt as "sounds like corpus X") maps it to the
:data:`LEARNED` classes: 30 Hume names that the training data name (EmoGator's 27 as they stand, Joy from
happy/happiness/elation, Calmness from calm/serenity, Romance from romantic love, Boredom from EmoDB) plus an
internal Neutral that is never output. A ridge head predicts valence and arousal (acted labels' circumplex
coordinates, BAVED's arousal levels).

Scores (independent 0..1, like Hume's):
- a learned name scores its calibrated class probability ``softmax(logits / T)`` (T fitted on dev clips);
- each of the 18 other names scores ``mean(parents) * (0.5 + 0.5 * K)`` over its :data:`DERIVED` parents (learned
  names), where ``K = exp(-d^2 / (2 * 0.5^2))`` and ``d`` is the distance of the predicted (valence, arousal) point
  to the name's coordinates in :data:`NAME_AV`.

Neutral is the mass the model gives to no emotion: ``1 - sum`` of the 30 learned names' scores.
Weights are a plain ``.npz`` evaluated with numpy only; reproduce them with ``python -m emolens.train.prosody``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np

from emolens.emotions import PROSODY_EMOTIONS
from emolens.engine.embed import DIM as EMBED_DIM
from emolens.engine.features import FEATURE_NAMES
from emolens.engine.npz import read_npz
from emolens.engine.prosody_v1 import NAME_AV
from emolens.errors import EngineError

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights" / "prosody"
WEIGHTS_FILE = "prosody_v2.npz"

#: Full input row: every functional, then the Whisper statistics.
INPUT_NAMES: tuple[str, ...] = (
    FEATURE_NAMES + tuple(f"wb_mean{i}" for i in range(512)) + tuple(f"wb_std{i}" for i in range(512))
)
assert len(INPUT_NAMES) == len(FEATURE_NAMES) + EMBED_DIM

#: Internal class for "no particular emotion" (acted neutral); not one of Hume's names, never output.
NEUTRAL = "Neutral"

#: Names scored from learned classes, and the parents of every other name (documented in docs/models.md).
DERIVED: dict[str, tuple[str, ...]] = {
    "Admiration": ("Adoration", "Awe"),
    "Aesthetic Appreciation": ("Awe", "Contentment"),
    "Anxiety": ("Fear", "Distress"),
    "Awkwardness": ("Embarrassment", "Confusion"),
    "Concentration": ("Interest", "Calmness"),
    "Contemplation": ("Interest", "Calmness"),
    "Craving": ("Desire",),
    "Determination": ("Pride", "Triumph", "Anger"),
    "Doubt": ("Confusion", "Contempt"),
    "Empathic Pain": ("Sympathy", "Pain"),
    "Entrancement": ("Awe", "Calmness"),
    "Envy": ("Contempt", "Disappointment"),
    "Excitement": ("Ecstasy", "Joy"),
    "Horror": ("Fear", "Disgust"),
    "Love": ("Adoration", "Romance"),
    "Nostalgia": ("Contentment", "Sadness"),
    "Satisfaction": ("Contentment", "Relief"),
    "Tiredness": ("Boredom", "Sadness"),
}
LEARNED: tuple[str, ...] = tuple(n for n in PROSODY_EMOTIONS if n not in DERIVED)
assert len(LEARNED) == 30 and all(p in LEARNED for ps in DERIVED.values() for p in ps)
CLASSES: tuple[str, ...] = LEARNED + (NEUTRAL,)

_SIGMA = 0.5
_NAME_AV = np.array([NAME_AV[n] for n in PROSODY_EMOTIONS])


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(-1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(-1, keepdims=True)


class ProsodyModel:
    """The shipped v2 model; :meth:`scores` maps input rows (:data:`INPUT_NAMES`) to 48 scores.

    ``arrays`` holds: input_names (the columns used), classes, mean, scale, coef (C, d), intercept (C,),
    temperature (scalar), av_coef (2, d), av_intercept (2,).
    """

    def __init__(self, arrays) -> None:
        self.input_names = tuple(str(n) for n in arrays["input_names"])
        self.classes = tuple(str(c) for c in arrays["classes"])
        if self.classes != CLASSES:
            raise EngineError("prosody weights do not match this emolens version: run python -m emolens.train.prosody")
        self.mean, self.scale = arrays["mean"], arrays["scale"]
        self.coef, self.intercept = arrays["coef"], arrays["intercept"]
        self.temperature = float(arrays["temperature"])
        self.av_coef, self.av_intercept = arrays["av_coef"], arrays["av_intercept"]
        self._cols = np.array([INPUT_NAMES.index(n) for n in self.input_names])
        self._learned = np.array([PROSODY_EMOTIONS.index(n) for n in LEARNED])
        self._parents = [
            (PROSODY_EMOTIONS.index(n), np.array([self.classes.index(p) for p in ps])) for n, ps in DERIVED.items()
        ]

    @classmethod
    def load(cls, path: Path) -> ProsodyModel:
        """Read weights from a plain ``.npz`` (no pickles)."""
        return cls(read_npz(path, "prosody", "run python -m emolens.train.prosody"))

    def arrays(self) -> dict[str, np.ndarray]:
        """The weights as saved (inverse of the constructor)."""
        return {
            "input_names": np.array(self.input_names),
            "classes": np.array(self.classes),
            "mean": self.mean,
            "scale": self.scale,
            "coef": self.coef,
            "intercept": self.intercept,
            "temperature": np.array(self.temperature),
            "av_coef": self.av_coef,
            "av_intercept": self.av_intercept,
        }

    def _z(self, X: np.ndarray) -> np.ndarray:
        return (np.atleast_2d(X)[:, self._cols] - self.mean) / self.scale

    def class_probs_and_av(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated class probabilities (n, :data:`CLASSES`) and (valence, arousal) (n, 2) for input rows."""
        Z = self._z(X)
        p = _softmax((Z @ self.coef.T + self.intercept) / self.temperature)
        av = np.clip(Z @ self.av_coef.T + self.av_intercept, -1.0, 1.0)
        return p, av

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Scores (n, 48) in PROSODY_EMOTIONS order."""
        p, av = self.class_probs_and_av(X)
        out = np.zeros((len(p), len(PROSODY_EMOTIONS)))
        out[:, self._learned] = p[:, : len(LEARNED)]
        k = np.exp(-((av[:, None, :] - _NAME_AV[None, :, :]) ** 2).sum(-1) / (2 * _SIGMA**2))
        for j, parents in self._parents:
            out[:, j] = p[:, parents].mean(1) * (0.5 + 0.5 * k[:, j])
        return np.clip(out, 0.0, 1.0)

    def predict(self, X: np.ndarray) -> list[list[dict[str, Any]]]:
        """Hume-style emotion lists (all 48 names) for each input row."""
        s = self.scores(X)
        return [
            [{"name": n, "score": round(float(v), 6)} for n, v in zip(PROSODY_EMOTIONS, row, strict=True)] for row in s
        ]


#: Segments shorter than this are scored over a window of this length centred on them (single words carry too
#: little voice for a stable estimate; training clips are 1-5 s utterances and bursts).
MIN_SPAN = 1.0
TRACK_PAD = 0.5  # seconds of context around analysed spans when computing frame tracks


def analysed_spans(spans: list[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    """Each (begin, end) widened to :data:`MIN_SPAN` around its midpoint when shorter (kept inside the file)."""
    out = []
    for b, e in spans:
        if e - b < MIN_SPAN:
            mid = (b + e) / 2
            b, e = max(0.0, mid - MIN_SPAN / 2), min(duration, mid + MIN_SPAN / 2)
            if e - b < MIN_SPAN:  # at a file edge: extend the other way
                b, e = max(0.0, e - MIN_SPAN), min(duration, b + MIN_SPAN)
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


#: Relative CPU cost per second of a span pool task, to start the longest first: a second of speech through the
#: Whisper encoder costs about three seconds of frame tracks (bench/audio.py's 3 minutes: 1.0 vs 0.4 CPU-s).
_ENCODER_COST, _TRACKS_COST = 3.0, 1.0


def input_rows(samples: np.ndarray, spans: list[tuple[float, float]], sr: int = 16_000) -> np.ndarray:
    """Model input rows (:data:`INPUT_NAMES`) for each (begin, end) span of a 16 kHz file, after
    :func:`analysed_spans` widening: functionals from frame tracks computed only around the spans (a meeting is
    mostly silence), and Whisper statistics (:func:`emolens.engine.embed.span_stats`)."""
    from threadpoolctl import threadpool_limits

    from emolens.engine import spans_pool
    from emolens.engine.embed import group_stats, stat_groups
    from emolens.engine.features import functionals, tracks

    duration = len(samples) / sr
    spans = analysed_spans(spans, duration)
    rows = np.zeros((len(spans), len(INPUT_NAMES)))
    n_feat = len(FEATURE_NAMES)

    def functional_rows(cover: tuple[float, float]) -> None:
        ib, ie = cover
        tr = tracks(samples[int(ib * sr) : int(ie * sr)])
        for i in inside[cover]:
            b, e = spans[i]
            rows[i, :n_feat] = functionals(tr, b - ib, e - ib)

    def stat_rows(group: list[int]) -> None:
        rows[group, n_feat:] = group_stats(samples, spans, group, sr)

    # every span belongs to the first cover interval that reaches its end (the intervals are disjoint, in order)
    order = sorted(range(len(spans)), key=lambda i: spans[i])
    inside: dict[tuple[float, float], list[int]] = {}
    k = 0
    for cover in _cover(spans, duration):
        inside[cover] = []
        while k < len(order) and spans[order[k]][1] <= cover[1] + 1e-9:
            inside[cover].append(order[k])
            k += 1
    # Independent tasks (frame tracks of each cover interval, the encoder pass of each stretch of spans), spread
    # over the span pool's threads longest first; each writes its own rows, computed exactly as alone.
    tasks: list[tuple[float, Callable[[], None]]] = [
        (_TRACKS_COST * (c[1] - c[0]), partial(functional_rows, c)) for c in inside
    ]
    for g in stat_groups(spans):
        cost = _ENCODER_COST * (max(spans[i][1] for i in g) - min(spans[i][0] for i in g))
        tasks.append((cost, partial(stat_rows, g)))
    tasks.sort(key=lambda t: -t[0])
    # One BLAS thread: these products are small (a few hundred frames), and OpenBLAS's spinning worker threads cost
    # 2-3x the CPU of the work itself (bench/audio.py's 3 minutes: 3.6-5.2 -> 1.5 CPU-s); the text models run
    # beside this stage on the other core. It also makes the products' summation order fixed.
    with threadpool_limits(limits=1, user_api="blas"):
        spans_pool.pmap(lambda t: t[1](), tasks)
    return rows


#: ``EMOLENS_PROSODY_WEIGHTS=permissive`` selects the commercial-friendly variant (EmoDB CC0 + EmoGator Apache-2.0
#: only); the default weights also learn from RAVDESS (CC BY-NC-SA 4.0), ASED and BAVED (no license: research use).
VARIANTS = {"default": WEIGHTS_FILE, "permissive": "permissive_" + WEIGHTS_FILE}


@lru_cache(maxsize=1)
def get_model() -> ProsodyModel:
    """The shipped prosody model (variant from ``EMOLENS_PROSODY_WEIGHTS``), loaded once per process."""
    from emolens.settings import get_settings

    variant = get_settings().prosody_weights or "default"
    if variant not in VARIANTS:
        from emolens.errors import ConfigError

        raise ConfigError(f"EMOLENS_PROSODY_WEIGHTS={variant!r}: choose one of {', '.join(VARIANTS)}")
    return ProsodyModel.load(WEIGHTS_DIR / VARIANTS[variant])
