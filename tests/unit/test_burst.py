"""The vocal burst stage: detection rule, 48-name scores, Hume JSON with descriptions, on real EmoGator dev clips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emolens.emotions import PROSODY_EMOTIONS
from emolens.engine.burst import (
    CATEGORIES,
    DERIVED,
    DESCRIPTIONS,
    MAX_STRETCH,
    WEIGHTS_DIR,
    WEIGHTS_FILE,
    BurstModel,
    candidates,
    detect,
    hume_scores,
)
from emolens.engine.burst_features import MEL_STATS_DIM, hand_feature_names, pool
from emolens.engine.types import Word
from emolens.errors import EngineError

CLIPS = Path(__file__).parents[1] / "data" / "bursts"
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav")


def _read(path: Path) -> np.ndarray:
    from emolens.engine.audio import decode

    return decode(path).samples


@pytest.fixture(scope="module")
def clips() -> dict[str, np.ndarray]:
    return {p.stem: _read(p) for p in sorted(CLIPS.glob("*.opus"))}


def test_mapping_covers_the_48_names_and_categories():
    assert set(DERIVED) == set(PROSODY_EMOTIONS)
    used = {c for ws in DERIVED.values() for c in ws}
    assert used <= set(CATEGORIES) and len(CATEGORIES) == 30
    assert DERIVED["Romance"] == {"Romantic Love": 1.0} and DERIVED["Calmness"]["Serenity"] == 1.0
    assert DERIVED["Joy"]["Elation"] == 1.0 and DERIVED["Excitement"]["Elation"] == 1.0
    assert not any("Neutral" in ws and ws["Neutral"] > 0.3 for ws in DERIVED.values())  # neutral lowers all
    # a certain neutral burst scores low everywhere; a certain amusement burst puts Amusement first
    neutral = np.eye(30)[CATEGORIES.index("Neutral")]
    assert hume_scores(neutral).max() <= 0.3
    amused = hume_scores(np.eye(30)[CATEGORIES.index("Amusement")])[0]
    assert PROSODY_EMOTIONS[int(amused.argmax())] == "Amusement"
    assert DESCRIPTIONS == ()  # no vocal-type labels in the training data: none are claimed


def test_weights_are_plain_npz_with_recorded_figures():
    z = np.load(WEIGHTS_DIR / WEIGHTS_FILE, allow_pickle=False)
    m = BurstModel({k: z[k] for k in z.files})
    assert m.a["h_lr_coef"].shape[0] == 30 and m.a["e_lr_coef"].shape[:2] == (len(m.layers), 30)  # a head a layer
    assert m.emb_dim == len(m.layers) * len(pool(np.zeros((10, 512), np.float32))) and max(m.layers) <= 6
    assert m.a["pre_w1"].shape[0] == MEL_STATS_DIM and m.a["det_coef"].shape == (MEL_STATS_DIM + 1024,)
    assert 0 < m.threshold < 1 and 0 < m.pre_threshold < 1 and m.temperature > 0 and 0 <= m.head_weight <= 1
    assert "loud_mean_db" not in [hand_feature_names()[i] for i in m.hand_cols]  # depends on recording gain
    report = json.loads((WEIGHTS_DIR / "metrics.json").read_text())
    # dev figures of `python -m emolens.eval.burst` (speaker-disjoint from train); chance UAR is 1/30
    assert report["scores_dev"]["top1_uar"] > 0.24 and report["scores_dev"]["top5_acc"] > 0.58
    assert report["detection_dev_sessions"]["recall"] > 0.9 and report["false_bursts"]["librivox"]["per_minute"] <= 1
    with pytest.raises(EngineError, match="unreadable"):
        BurstModel.load(WEIGHTS_DIR / "missing.npz")


def test_regressions_and_mlps_are_pooled_geometrically_and_older_weights_average():
    z = np.load(WEIGHTS_DIR / WEIGHTS_FILE, allow_pickle=False)
    arrays = {k: z[k] for k in z.files}
    m = BurstModel(arrays)
    assert m.geometric  # the shipped weights pool log-linearly (chosen on train folds, docs/models.md)
    x = np.random.default_rng(0).standard_normal((8, len(m.hand_cols) + m.emb_dim))
    w = m.lr_weight

    def at(model: BurstModel, weight: float) -> np.ndarray:
        model.lr_weight = weight
        return model.logits(x)

    log_lr, log_mlp = at(BurstModel(arrays), 1.0), at(BurstModel(arrays), 0.0)
    np.testing.assert_allclose(m.logits(x), w * log_lr + (1 - w) * log_mlp, rtol=1e-12, atol=1e-12)
    older = BurstModel({k: v for k, v in arrays.items() if k != "geometric"})  # weights from before the flag
    assert not older.geometric
    mixed = np.log(w * np.exp(log_lr) + (1 - w) * np.exp(log_mlp))
    np.testing.assert_allclose(older.logits(x), mixed, atol=1e-6)
    assert 0 < w < 1 and not np.allclose(m.logits(x), older.logits(x))  # the rule matters


def test_a_burst_clip_yields_one_burst_with_48_scores(clips):
    for name, x in clips.items():
        bursts = detect(x)
        assert len(bursts) == 1, name
        b = bursts[0]
        assert 0.0 <= b.begin < b.end <= len(x) / 16000 + 1e-6
        assert b.scores.shape == (48,) and ((b.scores >= 0) & (b.scores <= 1)).all()
        assert np.isclose(b.categories.sum(), 1.0)


def test_laugh_scores_amusement_among_its_top_names(clips):
    b = detect(clips["000010-02-1"])[0]
    top5 = [PROSODY_EMOTIONS[i] for i in np.argsort(-b.scores)[:5]]
    assert "Amusement" in top5


def test_silence_and_quiet_noise_yield_nothing():
    rng = np.random.default_rng(0)
    assert detect(np.zeros(32000, dtype=np.float32)) == []
    assert detect((rng.standard_normal(48000) * 1e-4).astype(np.float32)) == []


def test_words_remove_speech_but_not_interjections(clips):
    x = clips["000010-02-1"]
    (b, e), *_ = candidates(x, None)
    word = Word("hello", b, e, 0.9, 0, 5)
    assert candidates(x, [word]) == []  # a confident word covers it: speech, not a burst
    for token in ("haha", "Aaah!", "Eeeh!", "hmmm...", "아..."):  # interjections (stretched, other scripts)
        assert candidates(x, [Word(token, b, e, 0.9, 0, len(token))]) != [], token
    assert candidates(x, [Word("hello", b, e, 0.2, 0, 5)]) != []  # a word Whisper doubts does not count


def test_an_unbroken_voiced_stretch_longer_than_max_stretch_is_not_a_candidate():
    t = np.arange(int(16000 * (MAX_STRETCH + 1))) / 16000
    voice = (0.1 * np.sin(2 * np.pi * 150 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)
    gap = np.zeros(16000, dtype=np.float32)
    assert candidates(np.concatenate([gap, voice, gap]), None) == []  # speech the transcript missed, not a burst
    short = np.concatenate([gap, voice[: 16000 * 3], gap])
    assert len(candidates(short, None)) == 2  # 3 s: two pieces of at most MAX_BURST s


def test_gain_does_not_change_detection(clips):
    x = clips["000010-22-1"]
    assert len(detect(x * 0.25)) == 1


@pytest.mark.skipif(not LIBRIVOX.is_file(), reason="Debian package pocketsphinx-testdata not installed")
def test_read_speech_has_no_or_few_bursts():
    from emolens.engine.transcribe import transcribe

    x = _read(LIBRIVOX)
    words = transcribe(x, model="tiny.en").words
    assert len(words) > 5
    assert len(detect(x, words)) <= 1


def test_measure_audio_and_hume_json_round_trip(clips):
    from emolens import hume
    from emolens.engine import BurstOptions, MediaOptions, TranscriptionOptions, measure_audio
    from emolens.schema import parse_predictions

    gap = np.zeros(16000, dtype=np.float32)
    x = np.concatenate([gap, clips["000010-02-1"], gap, clips["000010-28-3"], gap])
    res = measure_audio(x, MediaOptions(burst=BurstOptions(), transcription=TranscriptionOptions(asr="tiny.en")))
    assert res.errors == [] and "burst" in res.models
    segs = res.models["burst"].segments
    assert 1 <= len(segs) <= 3 and all(s.descriptions == [] for s in segs)
    src = hume.media_source(res)
    preds = src["results"]["predictions"][0]["models"]["burst"]["grouped_predictions"][0]["predictions"]
    assert set(preds[0]) == {"time", "emotions", "descriptions"} and preds[0]["descriptions"] == []
    assert [e["name"] for e in preds[0]["emotions"]] == list(PROSODY_EMOTIONS)
    payload = {"source": src["source"], "results": src["results"]}
    parsed = parse_predictions([payload])
    burst = parsed[0].results.predictions[0].models.burst
    assert burst is not None and burst.grouped_predictions[0].predictions[0].descriptions == []
    # with descriptions present they survive the round trip too
    preds[0]["descriptions"] = [{"name": "Laugh", "score": 0.9}]
    again = parse_predictions([payload])[0].results.predictions[0].models.burst
    assert again.grouped_predictions[0].predictions[0].descriptions[0].name == "Laugh"
