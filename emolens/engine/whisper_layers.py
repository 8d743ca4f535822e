"""Every layer of Whisper base's encoder, from the CTranslate2 weights the transcription stage ships.

CTranslate2's ``encode()`` returns only the final layer; for paralinguistics (bursts, prosody) the middle layers
carry more of the voice. This module reads the encoder's variables straight out of the CTranslate2 ``model.bin``
(see :func:`read_ct2_variables`: a small binary header, then named arrays; the shipped file stores float16) and
runs the same network in float32 (ONNX Runtime, :mod:`emolens.engine.whisper_onnx`; numpy as the reference and
the fallback):

- conv1 (80 -> 512, k=3, pad 1) + GELU, conv2 (512 -> 512, k=3, stride 2, pad 1) + GELU, + sinusoidal positions;
- 6 pre-LayerNorm transformer blocks (8 heads, fused QKV, GELU feed-forward 2048);
- a final LayerNorm.

:func:`hidden_states` returns ``[h0, h1, ..., h6]``: h0 is the conv stem output with positions, h1..h5 the residual
stream after each block, and h6 the final layer *after* the last LayerNorm, i.e. what CTranslate2's ``encode()``
returns (they agree to about 1e-2 relative error: CTranslate2 runs the weights in int8). ``depth`` stops early, so a
caller that needs layer 3 pays for 3 blocks. Input is any even number of 10 ms log-mel frames (at most 3000), as
:func:`emolens.engine.burst_features.whisper_mel` makes; no padding to 30 s.

The network loads lazily, once per process and depth (a depth-2 graph holds about 30 MB of float32).
"""

from __future__ import annotations

import logging
import mmap
import struct
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from emolens.errors import EngineError

log = logging.getLogger(__name__)

N_LAYERS = 6
WIDTH = 512
_DTYPES: dict[int, type] = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def read_ct2_variables(path: Path, prefix: str = "") -> dict[str, np.ndarray]:
    """The named arrays of a CTranslate2 ``model.bin`` whose names start with ``prefix`` (copies, native dtype).

    Layout (CTranslate2 binary version >= 4, little-endian): uint32 version, string spec name, uint32 spec revision,
    uint32 variable count, then per variable: string name, uint8 rank, uint32 dims[rank], uint8 dtype, uint32 byte
    count, raw bytes; strings are uint16 length + NUL-terminated bytes. Aliases after the variables are ignored.
    """
    out: dict[str, np.ndarray] = {}
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            pos = 0

            def take(fmt: str) -> tuple:
                nonlocal pos
                v = struct.unpack_from("<" + fmt, buf, pos)
                pos += struct.calcsize("<" + fmt)
                return v

            def string() -> str:
                nonlocal pos
                (n,) = take("H")
                s = bytes(buf[pos : pos + n]).rstrip(b"\0").decode()
                pos += n
                return s

            (version,) = take("I")
            if version < 4:
                raise EngineError(f"unsupported CTranslate2 model version {version} in {path}")
            string()
            take("I")
            (count,) = take("I")
            for _ in range(count):
                name = string()
                (rank,) = take("B")
                dims = take("I" * rank)
                (dtype,) = take("B")
                (nbytes,) = take("I")
                if name.startswith(prefix):
                    if dtype not in _DTYPES:
                        raise EngineError(f"unsupported dtype {dtype} of {name} in {path}")
                    out[name] = np.frombuffer(buf, _DTYPES[dtype], nbytes // np.dtype(_DTYPES[dtype]).itemsize, pos)
                    out[name] = out[name].reshape(dims).copy()
                pos += nbytes
    except (OSError, struct.error, ValueError) as e:
        raise EngineError(f"cannot read the Whisper encoder weights from {path}: {e}") from e
    return out


def raw_weights() -> dict[str, np.ndarray]:
    """The encoder's variables as stored (linear weights (out, in), conv kernels (out, in, 3)), as float32, names
    without the ``encoder/`` prefix, plus ``num_heads``. Read afresh on each call (the runtimes keep their own copy)."""
    from emolens.engine.transcribe import model_dir

    raw = read_ct2_variables(model_dir("base") / "model.bin", "encoder/")
    w = {k.removeprefix("encoder/"): v.astype(np.float32) for k, v in raw.items() if v.dtype != np.int16}
    w["num_heads"] = np.asarray(int(raw["encoder/num_heads"]))
    return w


@lru_cache(maxsize=1)
def _weights() -> dict[str, np.ndarray]:
    w = raw_weights()
    # conv kernels as (out, in * 3) for an im2col product; linear weights transposed to (in, out).
    for c in ("conv1", "conv2"):
        k = w.pop(f"{c}/weight")
        w[f"{c}/weight"] = np.ascontiguousarray(k.transpose(0, 2, 1).reshape(k.shape[0], -1).T)
    for name in list(w):
        if name.endswith("/weight") and not name.startswith("conv"):
            w[name] = np.ascontiguousarray(w[name].T)
    return w


def load(depth: int = N_LAYERS) -> None:
    """Make the encoder to ``depth`` ready now (once per process; otherwise the first :func:`hidden_states` call
    at that depth does)."""
    _runtime(depth)


@cache
def _runtime(depth: int) -> str:
    """ "onnx" when the ONNX Runtime graph of this depth builds and opens, else "numpy" (logged once)."""
    from emolens.settings import get_settings

    if get_settings().whisper_numpy:
        _weights()
        return "numpy"
    try:
        from emolens.engine.whisper_onnx import session

        session(depth)
        return "onnx"
    except Exception as e:  # noqa: BLE001 - the numpy network gives the same states within float rounding
        log.warning("Whisper encoder layers run in numpy: the ONNX Runtime graph failed (%s)", e)
        _weights()
        return "numpy"


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x * np.float32(0.7071067811865476)))


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * gamma + beta


def _conv(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, stride: int) -> np.ndarray:
    """Conv1d, kernel 3, padding 1 over time of x (T, C_in) -> (T', C_out) as one im2col product."""
    p = np.pad(x, ((1, 1), (0, 0)))
    n = (len(x) - 1) // stride + 1
    cols = np.concatenate([p[k : k + stride * (n - 1) + 1 : stride] for k in range(3)], axis=1)
    return cols @ kernel + bias


def _block(h: np.ndarray, w: dict[str, np.ndarray], i: int, heads: int) -> np.ndarray:
    p = f"layer_{i}/"
    t, d = h.shape
    a = _layer_norm(h, w[p + "self_attention/layer_norm/gamma"], w[p + "self_attention/layer_norm/beta"])
    qkv = a @ w[p + "self_attention/linear_0/weight"] + w[p + "self_attention/linear_0/bias"]
    q, k, v = (qkv[:, j * d : (j + 1) * d].reshape(t, heads, d // heads).transpose(1, 0, 2) for j in range(3))
    s = q @ k.transpose(0, 2, 1) * np.float32(1.0 / np.sqrt(d // heads))
    s = np.exp(s - s.max(-1, keepdims=True))
    s /= s.sum(-1, keepdims=True)
    ctx = (s @ v).transpose(1, 0, 2).reshape(t, d)
    h = h + ctx @ w[p + "self_attention/linear_1/weight"] + w[p + "self_attention/linear_1/bias"]
    f = _layer_norm(h, w[p + "ffn/layer_norm/gamma"], w[p + "ffn/layer_norm/beta"])
    f = _gelu(f @ w[p + "ffn/linear_0/weight"] + w[p + "ffn/linear_0/bias"])
    return h + f @ w[p + "ffn/linear_1/weight"] + w[p + "ffn/linear_1/bias"]


def hidden_states(mel: np.ndarray, depth: int = N_LAYERS) -> list[np.ndarray]:
    """Encoder states ``[h0, ..., h_depth]`` (each (n/2, 512), float32) of a log-mel ``mel`` (80, n).

    h0: conv stem + positions; h1..h5: residual stream after each block; h6: after the last block and the final
    LayerNorm (CTranslate2's ``encode()``). ``depth`` < 6 stops after that many blocks. Runs the ONNX Runtime
    graph of :mod:`emolens.engine.whisper_onnx` (one thread), or :func:`hidden_states_numpy` where that cannot
    load or ``EMOLENS_WHISPER_NUMPY`` is set; the two agree to about 1e-6 relative.
    """
    if not 0 <= depth <= N_LAYERS:
        raise ValueError(f"depth must be 0..{N_LAYERS}, got {depth}")
    if _runtime(depth) == "onnx":
        from emolens.engine.whisper_onnx import hidden_states as onnx_states

        return onnx_states(mel, depth)
    return hidden_states_numpy(mel, depth)


def hidden_states_numpy(mel: np.ndarray, depth: int = N_LAYERS) -> list[np.ndarray]:
    """:func:`hidden_states` in float32 numpy (the reference network; the fallback runtime)."""
    if not 0 <= depth <= N_LAYERS:
        raise ValueError(f"depth must be 0..{N_LAYERS}, got {depth}")
    w = _weights()
    x = np.asarray(mel, dtype=np.float32).T
    h = _gelu(_conv(x, w["conv1/weight"], w["conv1/bias"], 1))
    h = _gelu(_conv(h, w["conv2/weight"], w["conv2/bias"], 2))
    h = (h + w["position_encodings/encodings"][: len(h)]).astype(np.float32)
    out = [h]
    heads = int(w["num_heads"])
    for i in range(depth):
        h = _block(h, w, i, heads)
        out.append(h if i < N_LAYERS - 1 else _layer_norm(h, w["layer_norm/gamma"], w["layer_norm/beta"]))
    return out
