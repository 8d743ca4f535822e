"""Prosodic features on synthetic signals with known answers and on real (synthetic-voice) speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emolens.engine import features as F
from emolens.engine.audio import decode

SR = 16_000
DIALOGUE = Path(__file__).parents[1] / "data" / "dialogue_slt_rms.flac"


def harmonic(f0: np.ndarray, amp: float = 0.3, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """A voice-like harmonic signal following the per-sample frequency track ``f0``."""
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum((amp / k) * np.sin(k * phase) for k in range(1, 8))
    return (x + noise * np.random.default_rng(seed).standard_normal(len(x))).astype(np.float32)


def feat(x: np.ndarray) -> dict[str, float]:
    return dict(zip(F.FEATURE_NAMES, F.extract(x)))


def test_names_match_vector():
    v = F.extract(harmonic(np.full(SR, 150.0)))
    assert v.shape == (len(F.FEATURE_NAMES),) and np.isfinite(v).all()


def test_pitch_level_and_slope():
    flat = feat(harmonic(np.full(SR * 2, 200.0)))
    # 200 Hz is 12 semitones above the 100 Hz reference.
    assert flat["f0_p50_st"] == pytest.approx(12.0, abs=0.3)
    assert flat["f0_range_st"] < 0.5 and flat["voiced_frac"] > 0.9
    rising = feat(harmonic(np.linspace(120, 240, SR * 2)))
    assert rising["f0_slope_st_s"] == pytest.approx(6.0, abs=1.0)  # one octave over 2 s
    assert rising["f0_range_st"] > 8
    # One voiced run: its own slope matches, and nearly every frame-to-frame step rises.
    assert rising["f0_run_slope_mean"] == pytest.approx(6.0, abs=1.0)
    assert rising["f0_rise_frac"] > 0.8 and flat["f0_run_slope_abs"] < 1.0


def test_contour_shape_per_voiced_run():
    # Two 0.6 s syllables, one rising and one falling by 4 semitones, separated by 0.3 s of silence.
    up = harmonic(150 * 2 ** (np.linspace(0, 4, int(0.6 * SR)) / 12))
    down = harmonic(150 * 2 ** (np.linspace(4, 0, int(0.6 * SR)) / 12))
    x = np.concatenate([up, np.zeros(int(0.3 * SR), np.float32), down])
    f = feat(x)
    assert f["f0_run_slope_abs"] == pytest.approx(4 / 0.6, rel=0.25)  # each run moves 4 st in 0.6 s
    assert abs(f["f0_run_slope_mean"]) < 1.5  # ... in opposite directions
    assert f["f0_run_range_st"] == pytest.approx(4.0, abs=1.0)
    assert f["voiced_run_s"] == pytest.approx(0.6, abs=0.1)


def test_band_energies_follow_spectral_balance():
    t = np.arange(SR) / SR
    low = feat((0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32))
    high = feat((0.3 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32))
    assert low["band0_mean_db"] > -1.0 > low["band3_mean_db"] + 20  # nearly all power below 500 Hz
    assert high["band3_mean_db"] > -1.0 > high["band0_mean_db"] + 20


def test_gain_invariance_except_level():
    x = decode(DIALOGUE).samples[: 4 * SR] * 0.2  # real speech, so every spectral band carries energy
    a, b = feat(x), feat(x * 4)
    # Absolute level follows the gain (less than 12 dB on average: the digital silence between turns stays floored).
    assert 8 < b["loud_mean_db"] - a["loud_mean_db"] <= 20 * np.log10(4) + 0.1
    for name in ("f0_p50_st", "alpha_ratio_db_mean", "hammarberg_db_mean", "hnr_mean_db", "mfcc3_mean", "jitter",
                 "loud_rel_p50_db", "loud_range_db", "band2_mean_db", "mfcc3_dstd", "alpha_ratio_db_voiced"):
        assert a[name] == pytest.approx(b[name], rel=0.05, abs=0.05), name


def test_hnr_drops_with_noise():
    clean = feat(harmonic(np.full(SR, 180.0)))
    noisy = feat(harmonic(np.full(SR, 180.0), noise=0.08))
    assert clean["hnr_mean_db"] > noisy["hnr_mean_db"] + 3


def test_jitter_rises_with_perturbed_periods():
    rng = np.random.default_rng(1)
    steady = feat(harmonic(np.full(SR, 150.0)))
    wobble = np.repeat(150 * (1 + 0.04 * rng.standard_normal(SR // 80)), 80)
    shaky = feat(harmonic(wobble))
    assert shaky["jitter"] > 2 * steady["jitter"]


def test_silence_is_finite_and_unvoiced():
    v = feat(np.zeros(SR, np.float32))
    assert v["voiced_frac"] == 0.0 and all(np.isfinite(list(v.values())))
    tiny = F.extract(np.zeros(100, np.float32))  # shorter than one frame
    assert np.isfinite(tiny).all()


def test_pauses_and_segments_on_real_speech():
    a = decode(DIALOGUE)
    tr = F.tracks(a.samples)
    assert tr.n == pytest.approx(a.duration * 100, abs=2)
    female = dict(zip(F.FEATURE_NAMES, F.functionals(tr, 0.0, 3.7)))  # slt
    male = dict(zip(F.FEATURE_NAMES, F.functionals(tr, 4.8, 10.1)))  # rms
    assert female["f0_p50_st"] > male["f0_p50_st"] + 4
    assert 1.0 < female["syllable_rate"] < 9.0
    both = dict(zip(F.FEATURE_NAMES, F.functionals(tr, 0.0, 10.1)))
    assert both["pause_rate"] > 0 and both["pause_frac"] > 0.05  # the 1 s silence between turns


def test_any_span_is_finite():
    """Spans of any length, including empty ones and ones past the end of the file, give finite vectors."""
    tr = F.tracks(decode(DIALOGUE).samples)
    rng = np.random.default_rng(0)
    for b in [0.0, 19.99, 25.0, *rng.uniform(0, 20, 40)]:
        for d in (0.0, 0.01, 0.05, 0.3, 2.0):
            v = F.functionals(tr, b, b + d)
            assert v.shape == (len(F.FEATURE_NAMES),) and np.isfinite(v).all(), (b, d)
