"""Sentiment as a distribution over Hume's nine levels "1" (most negative) .. "9" (most positive).

Model v3 (``emolens.train.sentiment``; card in docs/models.md), trained on the Stanford Sentiment Treebank's
~159k labelled phrases and its sentences' continuous scores. Three parts, each giving SST's 5-class
log-probabilities and a ridge regression of the continuous score:

- word: TF-IDF over negation-aware word 1-2 grams (:func:`ngrams`) -> logistic regression + ridge;
- char: TF-IDF over character 2-5 grams inside words (the emotion model's analyzer) -> logistic regression + ridge;
- embedding: the MiniLM sentence embedding the emotion model already computes (no extra encoder pass) -> an MLP
  (5 classes) + ridge.

A stacker maps the 18 outputs to the 9 levels (softmax of a linear map), fitted on the parts' out-of-fold
outputs for every training sentence (4 folds over the training trees), against their continuous scores.

Inference is numpy only, float64, one row per text with no batch statistics: a text's distribution does not
depend on the other texts of a call.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from emolens.engine.npz import read_npz
from emolens.errors import EngineError

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "language" / "sentiment.npz"

# "isn't" -> is, n't (as SST's "is n't"); "can't" -> ca, n't (SST: "ca n't"); clitics 's 're 've kept; ! and ?.
_TOKEN_RE = re.compile(r"\w+(?=n't)|n't|'\w+|\w+|[!?]")


def ngrams(text: str) -> list[str]:
    """Lower-cased negation-aware word tokens and their bigrams (the word analyzer, at training and run time)."""
    toks = _TOKEN_RE.findall(text.lower().replace("\u2019", "'"))
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)]


def char_grams(text: str) -> list[str]:
    """Character 2-5 grams inside word boundaries, lower-cased (the char analyzer; language.char_ngrams)."""
    from emolens.engine.language import char_ngrams

    return char_ngrams(text, 2, 5)


#: The three parts, in the stacker's feature order (each: 5 log-probabilities, then 4 x its ridge value).
PARTS = ("word", "char", "mlp")


@lru_cache(maxsize=1)
def _model() -> dict[str, Any]:
    from emolens.engine.language import TfidfBlock

    m: dict[str, Any] = read_npz(WEIGHTS, "sentiment", "run python -m emolens.train.sentiment")
    if "char_vocab" not in m:
        raise EngineError(f"{WEIGHTS} is an older sentiment model: run python -m emolens.train.sentiment")
    m["word"] = TfidfBlock(str(m.pop("word_vocab")).split("\n"), m.pop("word_idf"), ngrams)
    m["char"] = TfidfBlock(str(m.pop("char_vocab")).split("\n"), m.pop("char_idf"), char_grams)
    # float64 throughout: see language._emotion_model (BLAS summation order must not move the 6th decimal)
    for k in ("word_w", "word_b", "char_w", "char_b", "mlp_w1", "mlp_b1", "mlp_w2", "mlp_b2", "mlp_ridge_w"):
        m[k] = m[k].astype(np.float64)
    for k in ("stack_w", "stack_b", "mlp_ridge_b"):
        m[k] = m[k].astype(np.float64)
    return m


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _part(out: np.ndarray) -> np.ndarray:
    """A part's raw outputs (n, 6): 5 class scores + ridge value -> its stacker features (5 log-probs, 4 x ridge)."""
    return np.hstack([_log_softmax(out[:, :5]), 4.0 * out[:, 5:6]])


def sentiment_text_part(texts: list[str], char_counts: list[Counter[str]] | None = None) -> np.ndarray:
    """The TF-IDF parts' stacker features (n, 12): they need no embedding (run beside the encoder).
    ``char_counts``: language.term_counts of the texts (the char analyzer is the emotion model's), when computed."""
    from emolens.engine.language import sparse_dot

    m = _model()
    word = _part(sparse_dot(m["word"].rows(texts), m["word_w"]) + m["word_b"])
    char = _part(sparse_dot(m["char"].rows(texts, char_counts), m["char_w"]) + m["char_b"])
    return np.hstack([word, char])


def embedding_part(embeddings: np.ndarray) -> np.ndarray:
    """The embedding part's stacker features (n, 6): MLP log-probabilities and 4 x the ridge value."""
    m = _model()
    e = embeddings.astype(np.float64)
    hidden = np.maximum(e @ m["mlp_w1"] + m["mlp_b1"], 0.0)
    ridge = e @ m["mlp_ridge_w"] + m["mlp_ridge_b"]
    return np.hstack([_log_softmax(hidden @ m["mlp_w2"] + m["mlp_b2"]), 4.0 * ridge[:, None]])


def predict_sentiment(texts: list[str], embeddings: np.ndarray, text_part: np.ndarray | None = None) -> np.ndarray:
    """(n, 9) probabilities over levels 1..9 from texts and their MiniLM embeddings (see language.encode);
    ``text_part``: :func:`sentiment_text_part` of the same texts, when already computed."""
    m = _model()
    if not texts:
        return np.zeros((0, 9))
    tp = sentiment_text_part(texts) if text_part is None else text_part
    z = np.hstack([tp, embedding_part(embeddings)]) @ m["stack_w"] + m["stack_b"]
    return np.exp(_log_softmax(z))
