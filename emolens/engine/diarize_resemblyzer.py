"""The first speaker diarization (kept as the baseline of ``python -m emolens.eval.diarization``): resemblyzer
d-vectors over sliding windows on speech, agglomerative clustering. The pipeline uses :mod:`emolens.engine.diarize`.

1. Speech regions come from the caller (word spans from transcription, or Silero VAD).
2. Each region is cut into 1.6 s windows every :data:`STEP` s (regions shorter than that give one window of
   their own length); resemblyzer's GE2E encoder (weights inside its wheel, Apache-2.0) embeds all windows.
3. Average-linkage agglomerative clustering on cosine distance with a threshold (:data:`THRESHOLD`, tuned on the
   train part of pyannote's debug protocol) estimates the number of speakers; clusters covering too little
   speech are merged into their nearest neighbour, since a real speaker rarely speaks for under a second.
4. Speakers are named ``spk_0``, ``spk_1``... in order of first appearance. A window's speaker confidence is the
   softmax (temperature 0.05) of its cosine similarity to each speaker centroid.

Overlapped speech gets a single speaker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from emolens.errors import EngineError

SR = 16_000
WINDOW_FRAMES = 160  # resemblyzer partial: 160 mel frames of 10 ms
STEP = 0.5
THRESHOLD = 0.38
_TEMP = 0.05


@dataclass(frozen=True, slots=True)
class Turn:
    """A diarized stretch: ``speaker`` ("spk_0"...) from ``begin`` to ``end`` s with a confidence in 0..1."""

    begin: float
    end: float
    speaker: str
    confidence: float


@lru_cache(maxsize=1)
def get_encoder():
    """resemblyzer's VoiceEncoder on CPU, loaded once per process."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see transcribe.get_model: idle threads must not spin
    try:
        import torch
        from resemblyzer import VoiceEncoder
    except ImportError as e:
        raise EngineError("speaker identification needs resemblyzer: pip install resemblyzer") from e
    from emolens.settings import get_settings

    if get_settings().threads > 0:
        torch.set_num_threads(get_settings().threads)
    return VoiceEncoder("cpu", verbose=False)


def _windows(regions: list[tuple[float, float]]) -> list[tuple[float, float]]:
    win_s = WINDOW_FRAMES / 100
    out = []
    for b, e in regions:
        if e - b <= win_s:
            out.append((b, e))
            continue
        t = b
        while t + win_s < e:
            out.append((t, t + win_s))
            t += STEP
        out.append((e - win_s, e))
    return out


def embed_windows(samples: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    """L2-normalised d-vectors (n, 256) for each ``(begin, end)`` span of 16 kHz ``samples``.

    Spans of equal length are stacked: one multichannel mel spectrogram call and one encoder batch per 64 spans.
    Each span is still analysed on its own (a centred STFT of the span alone, as resemblyzer does), so the
    embeddings are those of one-by-one processing, at a quarter of the time.
    """
    import torch
    from resemblyzer.audio import normalize_volume, wav_to_mel_spectrogram

    enc = get_encoder()
    wav = normalize_volume(samples.astype(np.float32), -30, increase_only=True)
    out = np.zeros((len(spans), 256), np.float32)
    pieces = [wav[int(b * SR) : int(e * SR)] for b, e in spans]
    by_length: dict[int, list[int]] = {}
    for i, piece in enumerate(pieces):
        if len(piece):
            by_length.setdefault(len(piece), []).append(i)
    with torch.no_grad():
        for idx_all in by_length.values():
            for k in range(0, len(idx_all), 64):
                idx = idx_all[k : k + 64]
                # librosa treats leading axes as channels; resemblyzer's .T turns (n, 40, frames) into
                # (frames, 40, n), so move the span axis back to the front: (n, frames, 40)
                stacked = wav_to_mel_spectrogram(np.stack([pieces[i] for i in idx]))
                mels = np.ascontiguousarray(stacked.transpose(2, 0, 1))
                out[idx] = enc(torch.from_numpy(mels)).numpy()
    return out


def _cluster(emb: np.ndarray, spans: list[tuple[float, float]], threshold: float) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering

    if len(emb) <= 1:
        return np.zeros(len(emb), int)
    labels = AgglomerativeClustering(
        n_clusters=None, distance_threshold=threshold, metric="cosine", linkage="average"
    ).fit_predict(emb)
    # Merge clusters with too little speech into the nearest big one (by centroid cosine).
    from emolens.engine.diarize import merge_small_speakers

    return merge_small_speakers(labels, emb, np.array([e - b for b, e in spans]))


def diarize(samples: np.ndarray, regions: list[tuple[float, float]], *, threshold: float = THRESHOLD) -> list[Turn]:
    """Label speech ``regions`` of ``samples`` with speakers; returns one Turn per analysis window.

    Windows overlap (step :data:`STEP`); use :func:`speaker_at` to look up the speaker of a time.
    """
    regions = [(b, e) for b, e in regions if e - b >= 0.1]
    if not regions:
        return []
    spans = _windows(regions)
    emb = embed_windows(samples, spans)
    labels = _cluster(emb, spans, threshold)
    ids = list(dict.fromkeys(labels[np.argsort([b for b, _ in spans], kind="stable")]))
    names = {c: f"spk_{i}" for i, c in enumerate(ids)}
    cents = np.stack([emb[labels == c].mean(0) for c in ids])
    cents /= np.linalg.norm(cents, axis=1, keepdims=True) + 1e-9
    sims = emb @ cents.T
    p = np.exp((sims - sims.max(1, keepdims=True)) / _TEMP)
    p /= p.sum(1, keepdims=True)
    col = {c: i for i, c in enumerate(ids)}
    return [
        Turn(round(b, 3), round(e, 3), names[c], round(float(p[i, col[c]]), 4))
        for i, ((b, e), c) in enumerate(zip(spans, labels, strict=False))
    ]


def speaker_at(turns: list[Turn], begin: float, end: float) -> tuple[str, float | None]:
    """Speaker (and confidence) of the span ``begin..end``: the window whose centre is nearest its centre."""
    if not turns:
        return "unknown", None
    mid = (begin + end) / 2
    best = min(turns, key=lambda t: (abs((t.begin + t.end) / 2 - mid), -(min(t.end, end) - max(t.begin, begin))))
    return best.speaker, best.confidence


def frame_labels(
    turns: list[Turn], regions: list[tuple[float, float]], duration: float
) -> list[tuple[float, float, str]]:
    """Flatten overlapping window turns into non-overlapping ``(begin, end, speaker)`` within speech regions."""
    step = 0.01
    n = int(np.ceil(duration / step))
    lab = np.full(n, -1)
    names = sorted({t.speaker for t in turns})
    if not names:
        return []
    centres = np.array([(t.begin + t.end) / 2 for t in turns])
    tid = np.array([names.index(t.speaker) for t in turns])
    for b, e in regions:
        i0, i1 = int(b / step), min(n, int(np.ceil(e / step)))
        t = (np.arange(i0, i1) + 0.5) * step
        if t.size:
            lab[i0:i1] = tid[np.abs(centres[None, :] - t[:, None]).argmin(1)]
    out = []
    d = np.flatnonzero(np.diff(np.concatenate([[-2], lab, [-2]])))
    for s, e in zip(d[:-1], d[1:], strict=False):
        if lab[s] >= 0:
            out.append((s * step, e * step, names[lab[s]]))
    return out
