"""Prosody v1 (kept for side-by-side evaluation only): 48 scores from prosodic functionals.

An ensemble over 9 acted-emotion classes (RAVDESS + EmoDB) -- the mean of a multinomial logistic regression's
probabilities and those of three small ReLU MLPs (64 hidden units, averaged) -- plus a ridge regression of
valence/arousal, all on standardised :mod:`emolens.engine.features` functionals. Shipped as a plain ``.npz``
evaluated with numpy only (``emolens/weights/prosody``; reproduce with ``python -m emolens.train.prosody_v1``).

From class probabilities ``p`` and predicted ``(valence, arousal)`` every one of the 48 names gets a score:

- names that *are* a trained class (Anger, Sadness, Fear, Disgust, Joy, Calmness, Boredom, Surprise +/-) take
  ``0.7 * p(class) + 0.3 * K``;
- every other name takes ``0.5 * K``;

where ``K = exp(-d^2 / (2 * 0.35^2))`` and ``d`` is the distance between the predicted point and the name's
coordinates in :data:`NAME_AV` (valence, arousal on -1..1, circumplex placement after Russell 1980 and Scherer
2005 — see docs/models.md). Surprise's probability is split into positive/negative by predicted valence.
Scores are independent in 0..1 (like Hume's), not a distribution.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from emolens.emotions import PROSODY_EMOTIONS
from emolens.engine.features import FEATURE_NAMES
from emolens.engine.npz import read_npz

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights" / "prosody"

CLASSES: tuple[str, ...] = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised", "boredom")

#: (valence, arousal) of the training classes: regression targets for the AV head.
CLASS_AV: dict[str, tuple[float, float]] = {
    "neutral": (0.0, 0.0),
    "calm": (0.4, -0.6),
    "happy": (0.8, 0.5),
    "sad": (-0.7, -0.4),
    "angry": (-0.7, 0.8),
    "fearful": (-0.7, 0.7),
    "disgust": (-0.7, 0.4),
    "surprised": (0.1, 0.7),
    "boredom": (-0.4, -0.6),
}

#: (valence, arousal) of each of the 48 names on -1..1 (documented in docs/models.md).
NAME_AV: dict[str, tuple[float, float]] = {
    "Admiration": (0.6, 0.3),
    "Adoration": (0.8, 0.4),
    "Aesthetic Appreciation": (0.6, 0.1),
    "Amusement": (0.7, 0.5),
    "Anger": (-0.7, 0.8),
    "Anxiety": (-0.6, 0.6),
    "Awe": (0.4, 0.6),
    "Awkwardness": (-0.3, 0.3),
    "Boredom": (-0.4, -0.6),
    "Calmness": (0.4, -0.6),
    "Concentration": (0.1, 0.1),
    "Confusion": (-0.3, 0.3),
    "Contemplation": (0.1, -0.3),
    "Contempt": (-0.6, 0.2),
    "Contentment": (0.7, -0.3),
    "Craving": (0.1, 0.5),
    "Desire": (0.5, 0.6),
    "Determination": (0.3, 0.5),
    "Disappointment": (-0.6, -0.2),
    "Disgust": (-0.7, 0.4),
    "Distress": (-0.7, 0.6),
    "Doubt": (-0.3, 0.0),
    "Ecstasy": (0.9, 0.8),
    "Embarrassment": (-0.5, 0.4),
    "Empathic Pain": (-0.6, 0.2),
    "Entrancement": (0.5, 0.2),
    "Envy": (-0.5, 0.3),
    "Excitement": (0.7, 0.8),
    "Fear": (-0.7, 0.7),
    "Guilt": (-0.6, 0.1),
    "Horror": (-0.8, 0.8),
    "Interest": (0.4, 0.4),
    "Joy": (0.8, 0.5),
    "Love": (0.8, 0.3),
    "Nostalgia": (0.2, -0.3),
    "Pain": (-0.8, 0.5),
    "Pride": (0.7, 0.5),
    "Realization": (0.2, 0.4),
    "Relief": (0.6, -0.3),
    "Romance": (0.7, 0.3),
    "Sadness": (-0.7, -0.4),
    "Satisfaction": (0.7, 0.0),
    "Shame": (-0.6, 0.1),
    "Surprise (negative)": (-0.4, 0.7),
    "Surprise (positive)": (0.5, 0.7),
    "Sympathy": (0.1, -0.1),
    "Tiredness": (-0.3, -0.8),
    "Triumph": (0.8, 0.7),
}

#: Names scored directly from a class probability.
DIRECT: dict[str, str] = {
    "Anger": "angry",
    "Sadness": "sad",
    "Fear": "fearful",
    "Disgust": "disgust",
    "Joy": "happy",
    "Calmness": "calm",
    "Boredom": "boredom",
    "Surprise (positive)": "surprised",
    "Surprise (negative)": "surprised",
}

#: Features the model uses: all functionals except absolute loudness, which depends on recording gain.
MODEL_FEATURES: tuple[str, ...] = tuple(n for n in FEATURE_NAMES if n != "loud_mean_db")

_SIGMA = 0.35
_NAME_AV = np.array([NAME_AV[n] for n in PROSODY_EMOTIONS])


WEIGHTS_FILE = "prosody_v1.npz"


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(-1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(-1, keepdims=True)


class ProsodyModel:
    """The shipped model; :meth:`predict` maps feature rows to 48-name score dicts.

    ``arrays`` holds: feature_names, classes, mean, scale, lr_coef (C, d), lr_intercept (C,), mlp_w1 (S, d, h),
    mlp_b1 (S, h), mlp_w2 (S, h, C), mlp_b2 (S, C), lr_weight (scalar), av_coef (2, d), av_intercept (2,).
    """

    def __init__(self, arrays) -> None:
        self.feature_names = tuple(str(n) for n in arrays["feature_names"])
        self.classes = tuple(str(c) for c in arrays["classes"])
        self.mean, self.scale = arrays["mean"], arrays["scale"]
        self.lr_coef, self.lr_intercept = arrays["lr_coef"], arrays["lr_intercept"]
        self.mlp_w1, self.mlp_b1 = arrays["mlp_w1"], arrays["mlp_b1"]
        self.mlp_w2, self.mlp_b2 = arrays["mlp_w2"], arrays["mlp_b2"]
        self.lr_weight = float(arrays["lr_weight"])
        self.av_coef, self.av_intercept = arrays["av_coef"], arrays["av_intercept"]
        self._cols = [FEATURE_NAMES.index(n) for n in self.feature_names]

    @classmethod
    def load(cls, path: Path) -> ProsodyModel:
        """Read weights from a plain ``.npz`` (no pickles)."""
        return cls(read_npz(path, "prosody", "run python -m emolens.train.prosody_v1"))

    def class_probs_and_av(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities (n, classes) and (valence, arousal) (n, 2) for full feature rows ``X``."""
        Z = (np.atleast_2d(X)[:, self._cols] - self.mean) / self.scale
        p_lr = _softmax(Z @ self.lr_coef.T + self.lr_intercept)
        hidden = np.maximum(np.einsum("nd,sdh->snh", Z, self.mlp_w1) + self.mlp_b1[:, None, :], 0.0)
        p_mlp = _softmax(np.einsum("snh,shc->snc", hidden, self.mlp_w2) + self.mlp_b2[:, None, :]).mean(0)
        p = self.lr_weight * p_lr + (1.0 - self.lr_weight) * p_mlp
        av = np.clip(Z @ self.av_coef.T + self.av_intercept, -1.0, 1.0)
        return p, av

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Scores (n, 48) in PROSODY_EMOTIONS order."""
        p, av = self.class_probs_and_av(X)
        d2 = ((av[:, None, :] - _NAME_AV[None, :, :]) ** 2).sum(-1)
        k = np.exp(-d2 / (2 * _SIGMA**2))
        out = 0.5 * k
        cidx = {c: i for i, c in enumerate(self.classes)}
        pos = 1 / (1 + np.exp(-4 * av[:, 0]))  # valence splits surprise into positive/negative
        for j, name in enumerate(PROSODY_EMOTIONS):
            cls = DIRECT.get(name)
            if cls is None:
                continue
            pc = p[:, cidx[cls]]
            if name == "Surprise (positive)":
                pc = pc * pos
            elif name == "Surprise (negative)":
                pc = pc * (1 - pos)
            out[:, j] = 0.7 * pc + 0.3 * k[:, j]
        return np.clip(out, 0.0, 1.0)

    def predict(self, X: np.ndarray) -> list[list[dict[str, Any]]]:
        """Hume-style emotion lists (all 48 names) for each feature row."""
        s = self.scores(X)
        return [[{"name": n, "score": round(float(v), 6)} for n, v in zip(PROSODY_EMOTIONS, row)] for row in s]


@lru_cache(maxsize=1)
def get_model() -> ProsodyModel:
    """The shipped prosody model, loaded once per process."""
    return ProsodyModel.load(WEIGHTS_DIR / WEIGHTS_FILE)
