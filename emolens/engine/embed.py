"""Whisper-base encoder statistics of a speech span: the learned half of the prosody v2 representation.

The clip is trimmed of leading/trailing silence, RMS-normalised to -23 dBFS (so recording gain cannot move the
log-mel input), turned into Whisper's 80-band log-mel spectrogram *without* the 30 s padding (the encoder accepts
any even number of frames up to 3000, and a 3 s clip costs a tenth of a padded window), run through the first
:data:`LAYER` blocks of the encoder (:func:`emolens.engine.whisper_layers.hidden_states`, float32, weights read
from the ``base`` Whisper model that emolens ships for transcription, so nothing new is downloaded or shipped), and
summarised as mean ++ standard deviation over its 20 ms frames (1024 values). A middle layer, not the final one:
trained on the other corpora and tested on a whole unseen corpus, layer 2's statistics transfer far better than the
last layer's (docs/models.md, "Which encoder layer"); they carry more of the voice and less of the words. It is run
on the segment's own samples rather than reusing the transcription pass's states, because those see 30 s of
context, are not gain-normalised, and come from the last layer only (measured in docs/models.md).
"""

from __future__ import annotations

import numpy as np

SR = 16_000
TRIM_DB = 35  # leading/trailing frames more than this below the clip's loudest frame are silence
TARGET_DBFS = -23.0
MAX_FRAMES = 3000  # Whisper's 30 s of 10 ms mel frames
DIM = 1024
LAYER = 2  # pooled encoder states: the residual stream after block LAYER (0 = conv stem, 6 = CTranslate2's output)


def trim(y: np.ndarray) -> np.ndarray:
    """``y`` without leading/trailing silence (the clip itself when less than 0.1 s would remain)."""
    import librosa

    t, _ = librosa.effects.trim(y, top_db=TRIM_DB, frame_length=400, hop_length=160)
    return t if len(t) >= SR // 10 else y


def _encode(model, y: np.ndarray) -> np.ndarray:
    from emolens.engine.whisper_layers import hidden_states

    rms = float(np.sqrt(np.mean(y.astype(np.float64) ** 2))) + 1e-9
    z = np.clip((y * (10 ** (TARGET_DBFS / 20) / rms)).astype(np.float32), -1, 1)
    mel = model.feature_extractor(z)
    n = max(2, min(MAX_FRAMES, mel.shape[1] // 2 * 2))
    if mel.shape[1] < n:
        mel = np.pad(mel, ((0, 0), (0, n - mel.shape[1])))
    return hidden_states(np.ascontiguousarray(mel[:, :n], dtype=np.float32), LAYER)[LAYER]


def whisper_stats(y: np.ndarray, *, trimmed: bool = False) -> np.ndarray:
    """Mean ++ std of Whisper-base encoder layer :data:`LAYER` states over the (silence-trimmed) clip ``y``
    (16 kHz mono): (1024,).

    Clips longer than 30 s are encoded in 30 s pieces whose frames are pooled together.
    """
    from emolens.engine.transcribe import get_model

    model = get_model("base")
    yt = y if trimmed else trim(y)
    step = MAX_FRAMES * 160
    states = [_encode(model, yt[i : i + step]) for i in range(0, max(len(yt), 1), step)]
    h = np.vstack(states)
    return np.concatenate([h.mean(0), h.std(0)]).astype(np.float32)


FRAME_S = 0.02  # one encoder frame


def stat_groups(spans: list[tuple[float, float]]) -> list[list[int]]:
    """Indices of ``spans`` in stretches of overlapping spans (each stretch is one encoder call of
    :func:`group_stats`), in time order."""
    order = sorted(range(len(spans)), key=lambda i: spans[i])
    groups: list[list[int]] = []
    end = -1.0
    for i in order:
        b, e = spans[i]
        if groups and b < end:
            groups[-1].append(i)
            end = max(end, e)
        else:
            groups.append([i])
            end = e
    return groups


def group_stats(samples: np.ndarray, spans: list[tuple[float, float]], group: list[int], sr: int = SR) -> np.ndarray:
    """Rows (len(group), 1024) of :func:`span_stats` for the spans ``group`` (one of :func:`stat_groups`)."""
    from emolens.engine.transcribe import get_model

    model = get_model("base")
    piece = MAX_FRAMES * 160
    gb = min(spans[i][0] for i in group)
    ge = max(spans[i][1] for i in group)
    y = samples[int(round(gb * sr)) : max(int(round(ge * sr)), int(round(gb * sr)) + 160)]
    h = np.vstack([_encode(model, y[k : k + piece]) for k in range(0, len(y), piece)])
    out = np.zeros((len(group), DIM), np.float32)
    for j, i in enumerate(group):
        b, e = spans[i]
        lo = min(int((b - gb) / FRAME_S), len(h) - 1)
        hi = max(lo + 1, min(len(h), int(np.ceil((e - gb) / FRAME_S))))
        out[j] = np.concatenate([h[lo:hi].mean(0), h[lo:hi].std(0)])
    return out


def span_stats(samples: np.ndarray, spans: list[tuple[float, float]], sr: int = SR) -> np.ndarray:
    """:func:`whisper_stats`-like rows (n, 1024) for (begin, end) spans of one file, each stretch of overlapping
    spans encoded once: a run of words is one encoder call (in 30 s pieces) whose frames each word then pools, so
    word granularity costs what the utterance does. A span that overlaps no other is encoded exactly as a clip
    (without the silence trim, as segments are word-bounded already)."""
    out = np.zeros((len(spans), DIM), np.float32)
    for g in stat_groups(spans):
        out[g] = group_stats(samples, spans, g, sr)
    return out
