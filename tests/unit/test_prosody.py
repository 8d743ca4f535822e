"""The shipped prosody model: 48 names, sane scores, and a real speaker-independent check on RAVDESS."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from emolens.emotions import PROSODY_EMOTIONS
from emolens.engine import features as F
from emolens.engine.prosody import (
    CLASS_AV, CLASSES, DIRECT, NAME_AV, WEIGHTS_DIR, WEIGHTS_FILE, ProsodyModel, get_model,
)
from emolens.errors import EngineError

DATASETS = Path(__file__).parents[2].parent / "shared" / "datasets"
RAVDESS = DATASETS / "ravdess_speech"
DIALOGUE = Path(__file__).parents[1] / "data" / "dialogue_slt_rms.flac"


def test_tables_cover_the_48_names():
    assert set(NAME_AV) == set(PROSODY_EMOTIONS)
    assert set(DIRECT) <= set(PROSODY_EMOTIONS) and set(DIRECT.values()) <= set(CLASSES)
    assert set(CLASS_AV) == set(CLASSES)
    for v, a in list(NAME_AV.values()) + list(CLASS_AV.values()):
        assert -1 <= v <= 1 and -1 <= a <= 1


def test_weights_are_plain_npz_and_metrics_recorded():
    z = np.load(WEIGHTS_DIR / WEIGHTS_FILE, allow_pickle=False)  # no pickles
    assert tuple(z["classes"]) == CLASSES
    d = len(z["feature_names"])
    assert z["lr_coef"].shape == (len(CLASSES), d) and z["av_coef"].shape == (2, d)
    s, _, h = z["mlp_w1"].shape
    assert z["mlp_w1"].shape[1] == d and z["mlp_w2"].shape == (s, h, len(CLASSES))
    assert "loud_mean_db" not in set(z["feature_names"])  # absolute level depends on recording gain
    metrics = json.loads((WEIGHTS_DIR / "metrics.json").read_text())
    # Figures of `python -m emolens.train.prosody` (speaker-independent); the datasets README baselines are
    # 0.56 / 0.77 with 84 functionals + logistic regression.
    assert metrics["RAVDESS leave-4-actors-out"]["uar"] > 0.56
    assert metrics["EmoDB leave-one-speaker-out"]["uar"] > 0.77
    for m in metrics.values():
        cm = np.array(m["confusion"])
        assert np.isclose((cm.diagonal() / cm.sum(1)).mean(), m["uar"], atol=1e-3)


def test_missing_weights_raise_engine_error(tmp_path):
    with pytest.raises(EngineError, match="python -m emolens.train.prosody"):
        ProsodyModel.load(tmp_path / "none.npz")


def test_predict_all_48_names_in_range_and_deterministic():
    from emolens.engine.audio import decode

    x = decode(DIALOGUE).samples
    tr = F.tracks(x)
    X = np.vstack([F.functionals(tr, 0, 3.7), F.functionals(tr, 4.8, 10.1), F.functionals(tr, 11.2, 14.7)])
    m = get_model()
    preds = m.predict(X)
    assert len(preds) == 3
    for p in preds:
        assert [e["name"] for e in p] == list(PROSODY_EMOTIONS)
        assert all(0.0 <= e["score"] <= 1.0 for e in p)
    assert preds == m.predict(X)
    probs, av = m.class_probs_and_av(X)
    assert np.allclose(probs.sum(1), 1.0) and (np.abs(av) <= 1).all()
    # One row at a time gives the same as the batch (scores never depend on the batch).
    assert np.allclose(np.vstack([m.class_probs_and_av(x)[0] for x in X]), probs)


def test_scores_follow_valence_arousal():
    import copy

    m = get_model()
    # Push the AV head directly: names near the predicted point score higher than names far away.
    m2 = copy.copy(m)
    for name in ("lr_coef", "lr_intercept", "mlp_w2", "mlp_b2", "av_coef"):  # uniform classes, constant AV point
        setattr(m2, name, np.zeros_like(getattr(m, name)))
    m2.av_intercept = np.array([0.8, 0.7])  # happy, aroused
    s = dict(zip(PROSODY_EMOTIONS, m2.scores(np.zeros((1, len(F.FEATURE_NAMES))))[0]))
    assert s["Excitement"] > s["Calmness"] and s["Triumph"] > s["Sadness"]
    assert s["Surprise (positive)"] > s["Surprise (negative)"]


@pytest.mark.skipif(not (RAVDESS / "labels.csv").is_file(), reason="shared RAVDESS data not present")
def test_speaker_independent_on_ravdess_subset():
    """Fit on 6 actors, test on 2 unseen actors (strong-intensity clips): well above chance (12.5%)."""
    from sklearn.linear_model import LogisticRegression

    from emolens.engine.audio import decode
    from emolens.engine.prosody import MODEL_FEATURES
    from emolens.train.prosody import RAVDESS_CLASSES, _uar

    rows = [r for r in csv.DictReader(open(RAVDESS / "labels.csv")) if int(r["actor"]) <= 8
            and r["intensity"] == "strong" and r["statement"].startswith("Kids")]
    cols = [F.FEATURE_NAMES.index(n) for n in MODEL_FEATURES]
    X = np.vstack([F.extract(decode(RAVDESS / r["file"]).samples)[cols] for r in rows])
    y = np.array([r["emotion"] for r in rows])
    test = np.array([int(r["actor"]) in (7, 8) for r in rows])
    mu, sd = X[~test].mean(0), X[~test].std(0) + 1e-8
    clf = LogisticRegression(C=0.3, max_iter=3000).fit((X[~test] - mu) / sd, y[~test])
    uar, cm = _uar(list(y[test]), list(clf.predict((X[test] - mu) / sd)), RAVDESS_CLASSES[1:])
    print(f"RAVDESS 6->2 actors strong clips UAR {uar:.3f}")
    assert uar > 0.3
