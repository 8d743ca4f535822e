"""Sentiment: a 9-level distribution that orders clear cases, and a dev check on real SST sentences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emolens.engine.language import encode
from emolens.engine.sentiment import predict_sentiment

DATASETS = Path(__file__).parents[2].parent / "shared" / "datasets"


def _ev(texts: list[str]) -> np.ndarray:
    p = predict_sentiment(texts, encode(texts))
    assert p.shape == (len(texts), 9)
    assert np.allclose(p.sum(1), 1.0, atol=1e-5) and (p >= 0).all()
    return p @ np.arange(1, 10)


def test_clear_cases_are_ordered() -> None:
    pos, neutral, neg = _ev([
        "This is the best day of my life, I love it!",
        "The meeting is at 3 pm.",
        "This movie was terrible, a complete waste of time.",
    ])
    assert pos > 7.0 and neg < 3.0 and neg < neutral < pos


def test_negation_is_understood() -> None:
    good, not_good = _ev(["The food was good.", "The food was not good at all."])
    assert good - not_good > 1.5


@pytest.mark.skipif(not (DATASETS / "sst").exists(), reason="needs ../shared/datasets/sst")
def test_sst_dev_sample_correlates() -> None:
    from scipy.stats import spearmanr

    from emolens.train.sentiment import load_sst

    texts, values = load_sst("dev", DATASETS)
    texts, values = texts[::5], values[::5]  # a spread sample of 221 sentences
    rho = spearmanr(_ev(texts), values).statistic
    assert rho > 0.55  # full dev: 0.67 (docs/models.md)
