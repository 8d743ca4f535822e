"""The shipped prosody v2 model: 48 names, sane scores, derived names follow their parents, real clips."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from emolens.emotions import PROSODY_EMOTIONS
from emolens.engine import features as F
from emolens.engine.prosody import (
    CLASSES,
    DERIVED,
    INPUT_NAMES,
    LEARNED,
    NEUTRAL,
    WEIGHTS_DIR,
    WEIGHTS_FILE,
    ProsodyModel,
    get_model,
    input_rows,
)
from emolens.engine.prosody_v1 import NAME_AV
from emolens.errors import EngineError

DATASETS = Path(__file__).parents[2].parent / "shared" / "datasets"
RAVDESS = DATASETS / "ravdess_speech"
DIALOGUE = Path(__file__).parents[1] / "data" / "dialogue_slt_rms.flac"


def test_tables_cover_the_48_names():
    assert set(NAME_AV) == set(PROSODY_EMOTIONS)
    assert set(LEARNED) | set(DERIVED) == set(PROSODY_EMOTIONS) and not set(LEARNED) & set(DERIVED)
    assert all(p in LEARNED for ps in DERIVED.values() for p in ps)
    assert CLASSES == LEARNED + (NEUTRAL,) and NEUTRAL not in PROSODY_EMOTIONS


def test_weights_are_plain_npz_and_metrics_recorded():
    z = np.load(WEIGHTS_DIR / WEIGHTS_FILE, allow_pickle=False)  # no pickles
    assert tuple(z["classes"]) == CLASSES
    d = len(z["input_names"])
    assert set(z["input_names"]) <= set(INPUT_NAMES) and "loud_mean_db" not in set(z["input_names"])
    assert z["coef"].shape == (len(CLASSES), d) and z["av_coef"].shape == (2, d) and 0.3 < z["temperature"] < 5
    metrics = json.loads((WEIGHTS_DIR / "metrics.json").read_text())
    figs = metrics["figures"]
    # Figures of `python -m emolens.eval.prosody` (speaker- and corpus-disjoint); v1 is measured alongside.
    assert figs
    for key, f in figs.items():
        chance = 1 / len(metrics["confusion"][f"{key.split(' (')[0]} / v2"]["classes"])
        assert f["v2 clean"] > chance + 0.1, key  # corpus- or speaker-disjoint, well above chance
    for m in metrics["confusion"].values():
        cm = np.array(m["confusion"])
        assert cm.shape == (len(m["classes"]),) * 2 and cm.sum() > 0


def test_missing_weights_raise_engine_error(tmp_path):
    with pytest.raises(EngineError, match="python -m emolens.train.prosody"):
        ProsodyModel.load(tmp_path / "none.npz")


@pytest.fixture(scope="module")
def dialogue_rows():
    from emolens.engine.audio import decode

    x = decode(DIALOGUE).samples
    return input_rows(x, [(0, 3.7), (4.8, 10.1), (11.2, 14.7), (12.0, 12.2)])


def test_predict_all_48_names_in_range_and_deterministic(dialogue_rows):
    m = get_model()
    X = dialogue_rows
    assert X.shape == (4, len(INPUT_NAMES)) and np.isfinite(X).all()
    preds = m.predict(X)
    assert len(preds) == 4
    for p in preds:
        assert [e["name"] for e in p] == list(PROSODY_EMOTIONS)
        assert all(0.0 <= e["score"] <= 1.0 for e in p)
    assert preds == m.predict(X)
    probs, av = m.class_probs_and_av(X)
    assert np.allclose(probs.sum(1), 1.0) and (np.abs(av) <= 1).all()
    # One row at a time gives the same as the batch (scores never depend on the batch).
    assert np.allclose(np.vstack([m.class_probs_and_av(x)[0] for x in X]), probs)
    # Learned names score their class probability; Neutral (not a Hume name) is the rest.
    s = m.scores(X)
    learned = [PROSODY_EMOTIONS.index(n) for n in LEARNED]
    assert np.allclose(s[:, learned].sum(1) + probs[:, -1], 1.0)


def test_derived_names_follow_their_parents(dialogue_rows):
    import copy

    m = get_model()
    m2 = copy.copy(m)
    m2.coef = np.zeros_like(m.coef)
    m2.intercept = np.zeros_like(m.intercept)
    m2.intercept[CLASSES.index("Fear")] = 5.0  # the classifier is sure it hears fear
    m2.temperature = 1.0  # (the shipped temperature would soften that certainty)
    s = dict(zip(PROSODY_EMOTIONS, m2.scores(dialogue_rows[:1])[0], strict=True))
    assert s["Fear"] > 0.8
    assert s["Anxiety"] > s["Excitement"] and s["Horror"] > s["Love"]  # both have Fear as a parent


@pytest.mark.skipif(not (RAVDESS / "labels.csv").is_file(), reason="shared RAVDESS data not present")
def test_speaker_independent_on_ravdess_subset():
    """Fit on 6 actors, test on 2 unseen actors (strong-intensity clips): well above chance (12.5%)."""
    from sklearn.linear_model import LogisticRegression

    from emolens.engine.audio import decode
    from emolens.engine.prosody_v1 import MODEL_FEATURES
    from emolens.train.prosody_v1 import RAVDESS_CLASSES, _uar

    rows = [
        r
        for r in csv.DictReader(open(RAVDESS / "labels.csv"))
        if int(r["actor"]) <= 8 and r["intensity"] == "strong" and r["statement"].startswith("Kids")
    ]
    cols = [F.FEATURE_NAMES.index(n) for n in MODEL_FEATURES]
    X = np.vstack([F.extract(decode(RAVDESS / r["file"]).samples)[cols] for r in rows])
    y = np.array([r["emotion"] for r in rows])
    test = np.array([int(r["actor"]) in (7, 8) for r in rows])
    mu, sd = X[~test].mean(0), X[~test].std(0) + 1e-8
    clf = LogisticRegression(C=0.3, max_iter=3000).fit((X[~test] - mu) / sd, y[~test])
    uar, cm = _uar(list(y[test]), list(clf.predict((X[test] - mu) / sd)), RAVDESS_CLASSES[1:])
    print(f"RAVDESS 6->2 actors strong clips UAR {uar:.3f}")
    assert uar > 0.3


def test_span_stats_encode_runs_once_and_isolated_spans_as_clips():
    from emolens.engine.audio import decode
    from emolens.engine.embed import span_stats, whisper_stats

    x = decode(DIALOGUE).samples
    a, b = span_stats(x, [(0.5, 2.9), (4.1, 6.0)])
    assert np.array_equal(a, whisper_stats(x[8000:46400], trimmed=True))  # no overlap: encoded exactly as a clip
    w1, w2, whole = span_stats(x, [(4.1, 5.1), (4.6, 6.0), (7.0, 7.5)])  # two overlapping words: one encoder call
    assert w1.shape == (1024,) and not np.allclose(w1, w2) and np.isfinite(whole).all()


def test_whisper_stats_pool_the_chosen_middle_layer():
    """The Whisper block is layer LAYER's states (not CTranslate2's final layer), gain-normalised: x0.25 moves
    nothing but float rounding."""
    from emolens.engine.audio import decode
    from emolens.engine.embed import LAYER, _encode, whisper_stats
    from emolens.engine.transcribe import get_model
    from emolens.engine.whisper_layers import hidden_states

    x = decode(DIALOGUE).samples[8000:46400]
    h = _encode(get_model("base"), x)
    mel = get_model("base").feature_extractor(x * (10 ** (-23 / 20) / np.sqrt(np.mean(x.astype(np.float64) ** 2))))
    assert 0 < LAYER < 6 and np.allclose(h, hidden_states(mel[:, : mel.shape[1] // 2 * 2], LAYER)[LAYER], atol=1e-4)
    a, b = whisper_stats(x, trimmed=True), whisper_stats(x * 0.25, trimmed=True)
    assert np.array_equal(a, np.concatenate([h.mean(0), h.std(0)]).astype(np.float32))
    assert np.abs(a - b).max() < 1e-3 * np.abs(a).max()


def test_permissive_variant_is_selected_by_setting(monkeypatch):
    from emolens.settings import get_settings

    default = get_model()
    try:
        monkeypatch.setenv("EMOLENS_PROSODY_WEIGHTS", "permissive")
        get_settings.cache_clear()
        get_model.cache_clear()
        permissive = get_model()
        assert permissive.classes == default.classes and not np.array_equal(permissive.coef, default.coef)
        monkeypatch.setenv("EMOLENS_PROSODY_WEIGHTS", "nonsense")
        get_settings.cache_clear()
        get_model.cache_clear()
        with pytest.raises(ValueError, match="permissive"):
            get_model()
    finally:
        monkeypatch.delenv("EMOLENS_PROSODY_WEIGHTS")
        get_settings.cache_clear()
        get_model.cache_clear()


def test_only_noise_robust_functionals_are_kept():
    """``train.prosody.robust_functionals``: a functional whose noisy-copy values follow the clean ones survives, one
    that noise scrambles (in any one corpus) is left out, and without noisy copies every functional is kept."""
    from emolens.train.prosody import FUNC_COLS, Corpus, robust_functionals

    rng = np.random.default_rng(0)
    n, nf = 200, len(F.FEATURE_NAMES)

    def corpus(name: str, X: np.ndarray, variant: str = "clean") -> Corpus:
        ids = np.array([f"{name}{i}" for i in range(n)])
        return Corpus(name, ids, np.array(["x"] * n), ids, np.array([""] * n), X, np.zeros((n, 1024)), variant)

    good, bad = FUNC_COLS[0], FUNC_COLS[1]
    Xa, Xb = rng.standard_normal((n, nf)), rng.standard_normal((n, nf))
    Ya, Yb = Xa + 0.1 * rng.standard_normal((n, nf)), Xb + 0.1 * rng.standard_normal((n, nf))
    Yb[:, bad] = rng.standard_normal(n)  # noise scrambles this one in corpus b only
    parts = [corpus("a", Xa), corpus("b", Xb), corpus("a", Ya, "noise20"), corpus("b", Yb, "noise20")]
    kept = robust_functionals(parts, 0.8)
    assert good in kept and bad not in kept and len(kept) == len(FUNC_COLS) - 1
    assert robust_functionals(parts[:2], 0.8) == list(FUNC_COLS)
    # the noisy copy is matched to its clean clips by id, whatever its order
    rev = corpus("b", Yb[::-1].copy(), "noise20")
    rev.ids = rev.ids[::-1].copy()
    assert robust_functionals([parts[0], parts[1], parts[2], rev], 0.8) == kept
