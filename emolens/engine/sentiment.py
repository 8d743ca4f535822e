"""Sentiment as a distribution over Hume's nine levels "1" (most negative) .. "9" (most positive).

Model v2 (``emolens.train.sentiment``; card in docs/models.md), trained on the Stanford Sentiment Treebank's
~159k labelled phrases and its sentences' continuous scores:

- a TF-IDF logistic regression over negation-aware word 1-2 grams (:func:`ngrams`), 5 SST classes;
- an MLP over the MiniLM sentence embedding the emotion model already computes (no extra encoder pass), 5 classes;
- their log-probabilities blended, then mapped to the 9 levels by a multinomial calibration fitted on held-out
  training sentences' continuous scores.

Inference is numpy only, float64, one row per text with no batch statistics: a text's distribution does not
depend on the other texts of a call.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from emolens.errors import EngineError

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "language" / "sentiment.npz"

# "isn't" -> is, n't (as SST's "is n't"); "can't" -> ca, n't (SST: "ca n't"); clitics 's 're 've kept; ! and ?.
_TOKEN_RE = re.compile(r"\w+(?=n't)|n't|'\w+|\w+|[!?]")


def ngrams(text: str) -> list[str]:
    """Lower-cased negation-aware word tokens and their bigrams (the TF-IDF analyzer, at training and run time)."""
    toks = _TOKEN_RE.findall(text.lower().replace("\u2019", "'"))
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)]


@lru_cache(maxsize=1)
def _model() -> dict[str, Any]:
    from emolens.engine.language import TfidfBlock

    if not WEIGHTS.exists():
        raise EngineError(f"missing {WEIGHTS}: run python -m emolens.train.sentiment")
    with np.load(WEIGHTS) as z:
        m = {k: z[k] for k in z.files}
    if "tfidf_vocab" not in m:
        raise EngineError(f"{WEIGHTS} is the old sentiment model: run python -m emolens.train.sentiment")
    m["block"] = TfidfBlock(str(m.pop("tfidf_vocab")).split("\n"), m.pop("tfidf_idf"), ngrams)
    # float64 throughout: see language._emotion_model (BLAS summation order must not move the 6th decimal)
    for k in ("tfidf_w", "tfidf_b", "mlp_w1", "mlp_b1", "mlp_w2", "mlp_b2", "cal_w", "cal_b"):
        m[k] = m[k].astype(np.float64)
    m["blend"] = float(m["blend"])
    return m


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def sentiment_text_logp(texts: list[str]) -> np.ndarray:
    """The TF-IDF model's 5-class log-probabilities (n, 5): needs no embedding (runs beside the encoder)."""
    from emolens.engine.language import sparse_dot

    m = _model()
    return _log_softmax(sparse_dot(m["block"].rows(texts), m["tfidf_w"]) + m["tfidf_b"])


def predict_sentiment(texts: list[str], embeddings: np.ndarray, text_logp: np.ndarray | None = None) -> np.ndarray:
    """(n, 9) probabilities over levels 1..9 from texts and their MiniLM embeddings (see language.encode);
    ``text_logp``: :func:`sentiment_text_logp` of the same texts, when already computed."""
    m = _model()
    if not texts:
        return np.zeros((0, 9))
    lt = sentiment_text_logp(texts) if text_logp is None else text_logp
    hidden = np.maximum(embeddings.astype(np.float64) @ m["mlp_w1"] + m["mlp_b1"], 0.0)
    lm = _log_softmax(hidden @ m["mlp_w2"] + m["mlp_b2"])
    a = m["blend"]
    z = (a * lt + (1 - a) * lm) @ m["cal_w"] + m["cal_b"]
    return np.exp(_log_softmax(z))
