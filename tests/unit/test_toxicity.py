"""Toxicity: the numpy BiLSTM reproduces keras tokenisation and scores real cases sensibly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emolens.emotions import TOXICITY_CATEGORIES
from emolens.engine.toxicity import predict_toxicity, sequences

DATASETS = Path(__file__).parents[2].parent / "shared" / "datasets"
INSULT = TOXICITY_CATEGORIES.index("insult")
THREAT = TOXICITY_CATEGORIES.index("threat")


def test_keras_style_sequences() -> None:
    seq = sequences(["The, THE the!", ""])
    assert seq.shape == (2, 100)
    assert seq[0, -3:].tolist() == [1, 1, 1] and (seq[0, :-3] == 0).all()  # 'the' is index 1; pre-padding
    assert (seq[1] == 0).all()
    long = sequences([" ".join(["the"] * 150 + ["to"])])
    assert long[0, -1] == 2 and (long[0, :-1] == 1).all()  # keeps the last 100 tokens


def test_insult_threat_and_polite_text() -> None:
    p = predict_toxicity(["You are a stupid idiot", "I will kill you", "Thank you for your help, have a nice day"])
    assert p.shape == (3, 6) and ((p >= 0) & (p <= 1)).all()
    assert p[0, INSULT] > 0.8 and p[0, 0] > 0.9
    assert p[1, THREAT] > 0.5
    assert p[2].max() < 0.1


def test_batching_does_not_change_scores() -> None:
    texts = ["you are dumb", "nice work", "go away, jerk"] * 3
    assert np.allclose(predict_toxicity(texts, batch_size=2), predict_toxicity(texts), atol=1e-6)


def _keras_reference(texts: list[str]) -> np.ndarray:
    """The plain formulation, one text at a time: both directions over all 100 steps, padding included."""
    from emolens.engine import toxicity

    m = toxicity._model()
    out = []
    for ids in sequences(texts):
        states = []
        for d, steps in (("forward", ids), ("backward", ids[::-1])):
            u = m[f"{d}_recurrent"].shape[0]
            h, c, best = np.zeros((1, u)), np.zeros((1, u)), np.full((1, u), -np.inf)
            for t in steps:
                h, c = toxicity._step(m[f"{d}_proj"][t][None, :] + h @ m[f"{d}_recurrent"], c)
                best = np.maximum(best, h)
            states.append(best)
        hidden = np.maximum(np.concatenate(states, axis=1) @ m["dense_w"] + m["dense_b"], 0.0)
        out.append(1.0 / (1.0 + np.exp(-(hidden @ m["out_w"] + m["out_b"])))[0])
    return np.array(out)


def test_padding_shortcuts_give_the_plain_lstm_bits() -> None:
    """The forward direction starts from the precomputed padding prefix and the reverse one runs its padding tail
    on the padding row without gathering it: the scores are those of the plain 100-step loops (to 1e-12: BLAS
    rounds a one-row product and a many-row one differently, ~1e-16 here)."""
    texts = ["you are dumb", "", "nice work, thank you so much for all of it", "go " * 120 + "away jerk", "ok"]
    reference = _keras_reference(texts)
    assert np.abs(predict_toxicity(texts) - reference).max() < 1e-12
    assert np.abs(predict_toxicity(texts, batch_size=2) - reference).max() < 1e-12


@pytest.mark.skipif(not (DATASETS / "jigsaw_toxic_dev").exists(), reason="needs ../shared/datasets/jigsaw_toxic_dev")
def test_jigsaw_sample_auc() -> None:
    from emolens.train.toxicity import load_jigsaw, roc_auc

    texts, y = load_jigsaw(DATASETS / "jigsaw_toxic_dev" / "train_head.csv")
    texts, y = texts[:800], y[:800]
    p = predict_toxicity(texts)
    assert roc_auc(y[:, 0], p[:, 0]) > 0.95  # in tox-block's training data: a fidelity check (0.987 on all rows)
