"""Toxicity (six Jigsaw categories): tox-block's BiLSTM, forward pass in numpy.

Weights come from tox-block 0.1.2 (MIT) via :mod:`emolens.train.toxicity`. Tokenisation reproduces keras'
``Tokenizer.texts_to_sequences`` (lower-case, filter punctuation, split on spaces, drop words outside the
20,000-word vocabulary) and ``pad_sequences(maxlen=100)`` (pre-padding with 0, keep the last 100 tokens).
The embedding has no mask, so padding steps run through the LSTM exactly as in Keras.
Scores are the model's sigmoid outputs (probabilities in [0, 1]); tox-block's optional min-max rescaling is not
applied, so scores keep their probability meaning.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from emolens.engine.npz import read_npz

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "language" / "toxicity.npz"


@lru_cache(maxsize=1)
def _model() -> dict[str, Any]:
    m: dict[str, Any] = read_npz(WEIGHTS, "toxicity", "run python -m emolens.train.toxicity")
    words = str(m.pop("words")).split("\n")
    m["index"] = {w: i + 1 for i, w in enumerate(words)}
    m["table"] = str.maketrans({c: " " for c in str(m.pop("filters"))})
    # Precompute the input projection of every vocabulary row: x_t @ kernel is then a table lookup.
    for d in ("forward", "backward"):
        m[f"{d}_proj"] = (m["embedding"] @ m[f"{d}_kernel"] + m[f"{d}_bias"]).astype(np.float64)
    # float64 throughout: in float32, BLAS summation order (which depends on the batch size) moved the 6th
    # decimal of a score with the batch; in float64 a text scores the same alone or among others.
    for k in ("forward_recurrent", "backward_recurrent", "dense_w", "dense_b", "out_w", "out_b"):
        m[k] = m[k].astype(np.float64)
    return m


def sequences(texts: list[str]) -> np.ndarray:
    """Token ids (n, 100), as keras texts_to_sequences + pad_sequences would give."""
    m = _model()
    max_len = int(m["max_len"])
    index, table = m["index"], m["table"]
    out = np.zeros((len(texts), max_len), dtype=np.int64)
    for row, text in enumerate(texts):
        ids = [i for w in text.lower().translate(table).split(" ") if w and (i := index.get(w)) is not None]
        ids = ids[-max_len:]
        if ids:
            out[row, max_len - len(ids) :] = ids
    return out


def _step(z: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One LSTM step from the gate pre-activations ``z`` (n, 4u) and cell state ``c`` (n, u): new (h, c).

    The same float operations as keras (hard sigmoid = clip(0.2 x + 0.5, 0, 1), gate order i, f, c, o), element by
    element, so every value is bit-identical to the plain formulation; the hard sigmoid runs once over all of ``z``
    in place (one pass over contiguous memory instead of three over strided gate slices; the candidate gate's
    copy is simply unused)."""
    u = c.shape[1]
    g = np.tanh(z[:, 2 * u : 3 * u])
    s = np.multiply(z, 0.2, out=z)
    s += 0.5
    np.maximum(s, 0.0, out=s)
    np.minimum(s, 1.0, out=s)
    c = s[:, u : 2 * u] * c + s[:, :u] * g
    return s[:, 3 * u :] * np.tanh(c), c


def _lstm_max(
    proj: np.ndarray,
    recurrent: np.ndarray,
    reverse: bool,
    state: tuple[np.ndarray, ...] | None = None,
    padding: tuple[np.ndarray, int] | None = None,
) -> np.ndarray:
    """Run one LSTM direction over (T, n, 4u) input projections (time first); return the max over time of the
    hidden states.

    ``state``: (h, c, running max) to start from, the same for every row (the forward direction after the
    all-padding prefix, run once: :func:`_padding_prefix`); else zeros.
    ``padding``: (the padding token's projection (4u,), k): the reverse direction then runs k more steps on it
    after ``proj`` (the batch's all-padding prefix: the same sums as k gathered copies of that row, without
    gathering them).
    """
    steps, n, four_u = proj.shape
    u = four_u // 4
    if state is None:
        h = np.zeros((n, u), dtype=np.float64)
        c = np.zeros((n, u), dtype=np.float64)
        best = np.full((n, u), -np.inf, dtype=np.float64)
    else:
        h, c, best = (np.repeat(x[None, :], n, axis=0) for x in state)
    z = np.empty((n, four_u), dtype=np.float64)
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    inputs = [proj[t] for t in order] + ([padding[0]] * padding[1] if padding is not None else [])
    for x in inputs:
        np.add(x, h @ recurrent, out=z)
        h, c = _step(z, c)
        np.maximum(best, h, out=best)
    return best


@lru_cache(maxsize=1)
def _padding_prefix() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Forward-direction (h, c, running max) after t = 0..max_len steps of padding (token 0) from the zero state.

    Sequences are pre-padded, so the forward direction of every text starts with the same padding steps: their
    states are computed once here, and a batch starts at its first real token (the same arithmetic, row by row).
    """
    m = _model()
    u = m["forward_recurrent"].shape[0]
    pad = m["forward_proj"][0][None, :]
    h, c, best = np.zeros((1, u)), np.zeros((1, u)), np.full((1, u), -np.inf)
    out = [(h[0].copy(), c[0].copy(), best[0].copy())]
    for _ in range(int(m["max_len"])):
        h, c = _step(pad + h @ m["forward_recurrent"], c)
        best = np.maximum(best, h)
        out.append((h[0].copy(), c[0].copy(), best[0].copy()))
    return out


def predict_toxicity(texts: list[str], batch_size: int = 256) -> np.ndarray:
    """Probabilities (n, 6) in TOXICITY_CATEGORIES order.

    Texts run in batches of similar length (a text's scores do not depend on its batch), the forward direction
    from its first real token (:func:`_padding_prefix`), with BLAS on one thread: the matrices are small, and
    BLAS worker threads spinning beside the encoder's threads cost more than they gave (several times the whole
    model's time on a busy machine).
    """
    from threadpoolctl import threadpool_limits

    out = np.zeros((len(texts), 6), dtype=np.float64)
    if not texts:
        return out
    with threadpool_limits(limits=1, user_api="blas"):  # also around loading: its products then do not vary
        m = _model()
        prefix = _padding_prefix()
        ids_all = sequences(texts)
        order = np.argsort((ids_all != 0).sum(axis=1), kind="stable")
        steps = ids_all.shape[1]
        for begin in range(0, len(texts), batch_size):
            rows = order[begin : begin + batch_size]
            ids = ids_all[rows]
            # first step holding a real token in any row (token 0 inside a text would be padding to keras too)
            first = int(np.argmax((ids != 0).any(axis=0))) if (ids != 0).any() else steps
            # time-first gathers: each step then reads one contiguous (n, 4u) block
            fw = _lstm_max(m["forward_proj"][ids[:, first:].T], m["forward_recurrent"], False, prefix[first])
            bw = _lstm_max(
                m["backward_proj"][ids[:, first:].T],
                m["backward_recurrent"],
                reverse=True,
                padding=(m["backward_proj"][0], first),
            )
            hidden = np.maximum(np.concatenate([fw, bw], axis=1) @ m["dense_w"] + m["dense_b"], 0.0)
            out[rows] = 1.0 / (1.0 + np.exp(-(hidden @ m["out_w"] + m["out_b"])))
    return out
