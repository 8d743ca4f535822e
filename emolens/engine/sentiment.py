"""Sentiment as a distribution over Hume's nine levels "1" (most negative) .. "9" (most positive).

A multinomial logistic regression over [MiniLM sentence embedding (384) | VADER neg, neu, pos, compound (4)],
trained on Stanford Sentiment Treebank sentences whose continuous positivity (0..1) is binned into nine equal
bins (``emolens.train.sentiment``). VADER (MIT, Hutto & Gilbert 2014) adds lexicon knowledge of negation,
intensifiers, emoticons and capitals that SST's movie-review sentences cover poorly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from emolens.errors import EngineError

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "language" / "sentiment.npz"


@lru_cache(maxsize=1)
def _vader() -> Any:
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError as e:  # pragma: no cover - dependency missing
        raise EngineError("sentiment needs VADER: pip install vaderSentiment") from e
    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=1)
def _weights() -> tuple[np.ndarray, np.ndarray]:
    if not WEIGHTS.exists():
        raise EngineError(f"missing {WEIGHTS}: run python -m emolens.train.sentiment")
    with np.load(WEIGHTS) as z:
        return z["w"].astype(np.float64), z["b"].astype(np.float64)  # float64: see language._emotion_model


def vader_features(texts: list[str]) -> np.ndarray:
    """(n, 4) VADER polarity scores: neg, neu, pos, compound."""
    sia = _vader()
    out = np.zeros((len(texts), 4), dtype=np.float32)
    for i, t in enumerate(texts):
        s = sia.polarity_scores(t[:5000])  # VADER is quadratic-ish in length; the head carries the polarity
        out[i] = (s["neg"], s["neu"], s["pos"], s["compound"])
    return out


def predict_sentiment(texts: list[str], embeddings: np.ndarray) -> np.ndarray:
    """(n, 9) probabilities over levels 1..9 from texts and their MiniLM embeddings (see language.encode)."""
    w, b = _weights()
    x = np.concatenate([embeddings.astype(np.float64), vader_features(texts)], axis=1)
    z = x @ w + b
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)
