"""Prosodic features: frame tracks computed once per file, functionals per segment.

Frame tracks (10 ms hop) cover pitch (pyworld DIO + StoneMask, BSD-licensed WORLD), energy, spectral balance,
five band energies relative to the frame total, MFCCs and a per-frame harmonics-to-noise ratio. :func:`functionals`
summarises any time span into a fixed vector (:data:`FEATURE_NAMES`, 114 values): pitch level/percentiles/range/
skew and contour shape per voiced run (slopes, ranges, rise fraction), loudness dynamics relative to the segment's
own loud frames (percentiles, skew, rise/fall speed), speaking rate, pauses and voiced/unvoiced run lengths, voice
quality (jitter, shimmer, HNR), spectral balance over speech and over voiced frames, MFCC 1-12 means/stds/delta
stds/voiced means. Everything except ``loud_mean_db`` is invariant to recording gain. The whole-file pass costs
about 0.007 x real time, so per-segment features are nearly free. (praat-parselmouth is GPLv3 and openSMILE
non-commercial: neither is used.)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SR = 16_000
HOP = 160  # 10 ms
WIN = 400  # 25 ms
NFFT = 512
FRAME_S = HOP / SR
FEATURE_VERSION = "3"  # bump when any feature's computation changes (invalidates training feature caches)
_CHUNK_FRAMES = 6000  # spectral analysis in 60 s chunks bounds memory on hour-long files

_F0_STATS = ("mean", "std", "p05", "p25", "p50", "p75", "p95", "range", "skew")
_BANDS = ((50, 500), (500, 1000), (1000, 2000), (2000, 4000), (4000, 8000))
_SPECTRAL = ("centroid_hz", "alpha_ratio_db", "hammarberg_db", "spectral_slope", "flux", "rolloff_hz")

FEATURE_NAMES: tuple[str, ...] = (
    tuple(f"f0_{s}_st" for s in _F0_STATS)
    + (
        "f0_slope_st_s",
        "f0_delta_st",
        "f0_delta_std_st",
        "f0_rise_frac",
        "f0_run_slope_mean",
        "f0_run_slope_std",
        "f0_run_slope_abs",
        "f0_run_range_st",
        "voiced_frac",
    )
    + (
        "loud_mean_db",
        "loud_rel_mean_db",
        "loud_std_db",
        "loud_rel_p10_db",
        "loud_rel_p50_db",
        "loud_range_db",
        "loud_skew",
        "loud_slope_db_s",
        "loud_delta_db",
        "loud_delta_std_db",
        "loud_rise_db",
        "loud_fall_db",
        "loud_voiced_minus_all_db",
    )
    + ("syllable_rate", "pause_frac", "pause_rate", "voiced_run_s", "voiced_run_std_s", "unvoiced_run_s")
    + ("jitter", "shimmer_db", "hnr_mean_db", "hnr_std_db", "hnr_p90_db")
    + tuple(f"{n}_{s}" for n in _SPECTRAL for s in ("mean", "std"))
    + tuple(f"{n}_voiced" for n in _SPECTRAL[1:4])
    + tuple(f"band{i}_{s}_db" for i in range(len(_BANDS)) for s in ("mean", "std"))
    + tuple(f"mfcc{i}_mean" for i in range(1, 13))
    + tuple(f"mfcc{i}_std" for i in range(1, 13))
    + tuple(f"mfcc{i}_dstd" for i in range(1, 13))
    + tuple(f"mfcc{i}_vmean" for i in range(1, 13))
)


@dataclass(slots=True)
class Tracks:
    """Frame-level tracks of one file (index ``i`` is the frame starting at ``i * 10 ms``)."""

    f0: np.ndarray  # Hz, 0 where unvoiced
    loud: np.ndarray  # dB (RMS)
    hnr: np.ndarray  # dB, nan where unvoiced
    centroid: np.ndarray
    alpha: np.ndarray
    hammarberg: np.ndarray
    slope: np.ndarray
    flux: np.ndarray
    rolloff: np.ndarray
    bands: np.ndarray  # (5, frames) dB of each band relative to the frame's total power (gain-free)
    mfcc: np.ndarray  # (13, frames)

    @property
    def n(self) -> int:
        return len(self.loud)


def _frames(x: np.ndarray, n_frames: int) -> np.ndarray:
    pad = np.pad(x, (WIN // 2, WIN // 2 + NFFT))
    idx = np.arange(NFFT)[None, :] + HOP * np.arange(n_frames)[:, None]
    return pad[idx]


_FREQS = np.fft.rfftfreq(NFFT, 1 / SR)
_WINDOW = np.hanning(WIN)
_WINDOW_PAD = np.pad(_WINDOW, (0, NFFT - WIN))
_BAND_MASK = np.stack([(_FREQS >= lo) & (_FREQS < hi) for lo, hi in _BANDS]).astype(np.float64)
_WIN_AC = np.fft.irfft(np.abs(np.fft.rfft(_WINDOW_PAD, 2 * NFFT)) ** 2)[:NFFT]


@lru_cache(maxsize=1)
def _mel_basis() -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=SR, n_fft=NFFT, n_mels=40, fmin=50, fmax=7600)


def _spectral(x: np.ndarray, f0: np.ndarray, n: int) -> dict[str, np.ndarray]:
    from scipy.fft import dct

    mel = _mel_basis()
    lo = (_FREQS >= 50) & (_FREQS < 1000)
    hi = (_FREQS >= 1000) & (_FREQS < 5000)
    b02 = (_FREQS > 0) & (_FREQS < 2000)
    b25 = (_FREQS >= 2000) & (_FREQS < 5000)
    logf = np.log(np.maximum(_FREQS, 1.0))
    out: dict[str, list[np.ndarray]] = {
        k: [] for k in ("loud", "hnr", "centroid", "alpha", "hammarberg", "slope", "flux", "rolloff", "bands", "mfcc")
    }
    prev_last = None
    for start in range(0, n, _CHUNK_FRAMES):
        m = min(_CHUNK_FRAMES, n - start)
        seg = x[start * HOP : (start + m) * HOP + WIN + NFFT]
        fr = _frames(seg, m)[:, :NFFT].copy()
        fr[:, :WIN] *= _WINDOW
        fr[:, WIN:] = 0.0
        spec = np.fft.rfft(fr, axis=1)
        power = (spec.real**2 + spec.imag**2).astype(np.float64)
        energy = fr[:, :WIN].astype(np.float64)
        rms = np.sqrt(np.mean(energy**2, axis=1) / np.mean(_WINDOW**2) + 1e-12)
        out["loud"].append(20 * np.log10(rms + 1e-6))
        tot = power.sum(axis=1) + 1e-12
        out["centroid"].append((power * _FREQS).sum(axis=1) / tot)
        out["alpha"].append(10 * np.log10((power[:, hi].sum(1) + 1e-10) / (power[:, lo].sum(1) + 1e-10)))
        out["hammarberg"].append(10 * np.log10((power[:, b02].max(1) + 1e-10) / (power[:, b25].max(1) + 1e-10)))
        logp = 10 * np.log10(power[:, 1:] + 1e-10)
        lf = logf[1:] - logf[1:].mean()
        out["slope"].append(((logp - logp.mean(1, keepdims=True)) * lf).sum(1) / (lf**2).sum())
        cum = np.cumsum(power, axis=1)
        out["rolloff"].append(_FREQS[np.argmax(cum >= 0.85 * cum[:, -1:], axis=1)])
        out["bands"].append(10 * np.log10((_BAND_MASK @ power.T + 1e-10) / tot[None, :]))
        mag = np.sqrt(power)
        mag = mag / (mag.sum(1, keepdims=True) + 1e-10)
        first = prev_last if prev_last is not None else mag[:1]
        out["flux"].append(np.sqrt((np.diff(np.vstack([first, mag]), axis=0) ** 2).sum(1)))
        prev_last = mag[-1:]
        melspec = np.log(mel @ power.T + 1e-10)
        out["mfcc"].append(dct(melspec, type=2, axis=0, norm="ortho")[:13])
        # HNR from the normalised autocorrelation at the pitch period (Boersma 1993's window correction).
        # Only voiced frames have a pitch period: the autocorrelation is computed for them alone.
        f0c = f0[start : start + m]
        hnr = np.full(m, np.nan)
        v = np.nonzero(f0c > 0)[0]
        if v.size:
            ac = np.fft.irfft(np.abs(np.fft.rfft(fr[v], 2 * NFFT, axis=1)) ** 2, axis=1)[:, :NFFT]
            lag = np.clip(np.round(SR / f0c[v]).astype(int), 1, NFFT - 1)
            r = ac[np.arange(v.size), lag] / (ac[:, 0] + 1e-12) / (_WIN_AC[lag] / _WIN_AC[0])
            r = np.clip(r, 1e-4, 0.9999)
            hnr[v] = 10 * np.log10(r / (1 - r))
        out["hnr"].append(hnr)
    rows = {"mfcc": 13, "bands": len(_BANDS)}
    return {
        k: (np.concatenate(v, axis=-1) if v else np.zeros((rows[k], 0) if k in rows else 0)) for k, v in out.items()
    }


def tracks(samples: np.ndarray, sr: int = SR) -> Tracks:
    """Compute frame tracks for 16 kHz mono ``samples`` (pitch with pyworld DIO + StoneMask)."""
    import pyworld

    if sr != SR:
        raise ValueError(f"features expect {SR} Hz audio, got {sr}")
    x = np.asarray(samples, dtype=np.float64)
    n = max(1, int(np.ceil(len(x) / HOP)))
    if len(x) < WIN:
        x = np.pad(x, (0, WIN - len(x)))
    # speed=2 analyses at 8 kHz internally: half the cost, same voicing and (after StoneMask) the same F0.
    f0, t = pyworld.dio(x, SR, f0_floor=60.0, f0_ceil=600.0, frame_period=FRAME_S * 1000, speed=2)
    f0 = pyworld.stonemask(x, f0, t, SR)
    f0 = np.pad(f0, (0, max(0, n - len(f0))))[:n]
    spec = _spectral(x, f0, n)
    return Tracks(f0=f0, **spec)


def _slope(y: np.ndarray) -> float:
    if y.size < 3:
        return 0.0
    t = np.arange(y.size) * FRAME_S
    t = t - t.mean()
    return float((t * (y - y.mean())).sum() / ((t**2).sum() + 1e-12))


def _skew(y: np.ndarray) -> float:
    if y.size < 3:
        return 0.0
    sd = y.std()
    return float(((y - y.mean()) ** 3).mean() / sd**3) if sd > 1e-9 else 0.0


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]))


def _ms(y: np.ndarray) -> list[float]:
    return [float(y.mean()), float(y.std())] if y.size else [0.0, 0.0]


def functionals(tr: Tracks, begin: float = 0.0, end: float | None = None) -> np.ndarray:
    """Summarise ``tr`` between ``begin`` and ``end`` seconds into a vector ordered like :data:`FEATURE_NAMES`."""
    from scipy.signal import find_peaks

    a = min(max(0, int(begin / FRAME_S)), tr.n - 1)  # a span past the end still gets its last frame
    b = tr.n if end is None else min(tr.n, max(a + 1, int(np.ceil(end / FRAME_S))))
    f0, loud = tr.f0[a:b], tr.loud[a:b]
    dur = max((b - a) * FRAME_S, FRAME_S)
    voiced = f0 > 0
    vruns_idx = _runs(voiced)
    feats: list[float] = []
    # Pitch in semitones re 100 Hz over voiced frames; contour shape per voiced run (a run is roughly a syllable).
    if voiced.sum() >= 3:
        st = 12 * np.log2(f0[voiced] / 100.0)
        p = np.percentile(st, [5, 25, 50, 75, 95])
        feats += [st.mean(), st.std(), *p, p[4] - p[0], _skew(st)]
        runs = [12 * np.log2(f0[s:e] / 100.0) for s, e in vruns_idx if e - s > 1]
        dst = np.concatenate([np.diff(r) for r in runs]) if runs else np.zeros(1)
        rs = np.array([_slope(r) for r in runs if r.size >= 5] or [0.0])
        rr = np.array([np.ptp(r) for r in runs] or [0.0])
        feats += [
            _slope(st),
            float(np.abs(dst).mean()),
            float(dst.std()),
            float((dst > 0).mean()),
            float(rs.mean()),
            float(rs.std()),
            float(np.abs(rs).mean()),
            float(rr.mean()),
        ]
    else:
        feats += [0.0] * (len(_F0_STATS) + 8)
    feats.append(float(voiced.mean()))
    # Loudness relative to the segment's own loud frames, so recording gain does not matter (except loud_mean_db).
    ref = np.percentile(loud, 95)
    rel = loud - ref
    speech = rel > -25.0
    ls = rel[speech]
    lv = loud[voiced] if voiced.any() else loud
    lp10, lp50, lp90 = np.percentile(ls, [10, 50, 90])
    dl = np.diff(loud) if loud.size > 1 else np.zeros(1)
    feats += [
        float(loud.mean()),
        float(rel.mean()),
        float(ls.std()),
        float(lp10),
        float(lp50),
        float(lp90 - lp10),
        _skew(ls),
        _slope(ls) if ls.size > 2 else 0.0,
        float(np.abs(dl).mean()),
        float(dl.std()),
        float(dl[dl > 0].mean()) if (dl > 0).any() else 0.0,
        float(-dl[dl < 0].mean()) if (dl < 0).any() else 0.0,
        float(lv.mean() - loud.mean()),
    ]
    # Syllable nuclei: prominent loudness peaks in voiced frames, at least 100 ms apart.
    env = np.where(voiced, loud, ref - 60.0)
    if env.size >= 5:
        env = np.convolve(env, np.ones(5) / 5, mode="same")
    peaks, _ = find_peaks(env, prominence=2.0, distance=10, height=ref - 20.0)
    pauses = [(s, e) for s, e in _runs(~speech) if (e - s) * FRAME_S >= 0.15 and s > 0 and e < len(speech)]
    vr = np.array([(e - s) * FRAME_S for s, e in vruns_idx] or [0.0])
    ur = np.array([(e - s) * FRAME_S for s, e in _runs(~voiced) if s > 0 and e < len(voiced)] or [0.0])
    speech_s = max(speech.sum() * FRAME_S, FRAME_S)
    feats += [
        len(peaks) / speech_s,
        float(sum(e - s for s, e in pauses) * FRAME_S / dur),
        len(pauses) / dur,
        float(vr.mean()),
        float(vr.std()),
        float(ur.mean()),
    ]
    # Voice quality over voiced runs: frame-level jitter (period perturbation) and shimmer (dB), HNR.
    jit, shim = [], []
    for s, e in vruns_idx:
        if e - s > 2:
            per = 1.0 / f0[s:e]
            jit.append(np.abs(np.diff(per)).mean() / per.mean())
            shim.append(np.abs(np.diff(loud[s:e])).mean())
    hnr = tr.hnr[a:b]
    hnr = hnr[~np.isnan(hnr)]
    feats += [
        float(np.mean(jit)) if jit else 0.0,
        float(np.mean(shim)) if shim else 0.0,
        *_ms(hnr),
        float(np.percentile(hnr, 90)) if hnr.size else 0.0,
    ]
    sel = speech if speech.any() else np.ones_like(speech)
    vsel = voiced if voiced.any() else sel
    spectral = (tr.centroid, tr.alpha, tr.hammarberg, tr.slope, tr.flux, tr.rolloff)
    for t in spectral:
        feats += _ms(t[a:b][sel])
    for t in spectral[1:4]:
        feats.append(float(t[a:b][vsel].mean()))
    for band in tr.bands[:, a:b]:
        feats += _ms(band[vsel])
    mf = tr.mfcc[1:13, a:b]
    ms = mf[:, sel]
    dm = np.diff(ms, axis=1) if ms.shape[1] > 1 else np.zeros((12, 1))
    feats += list(ms.mean(axis=1)) + list(ms.std(axis=1)) + list(dm.std(axis=1)) + list(mf[:, vsel].mean(axis=1))
    out = np.asarray(feats, dtype=np.float64)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def extract(samples: np.ndarray, sr: int = SR) -> np.ndarray:
    """Functionals over a whole clip (convenience for training and tests)."""
    return functionals(tracks(samples, sr))
