"""The Whisper base encoder (every layer; ONNX Runtime and numpy) against CTranslate2 on a real EmoGator dev clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emolens.engine.whisper_layers import N_LAYERS, WIDTH, hidden_states, hidden_states_numpy, read_ct2_variables

CLIP = Path(__file__).parents[1] / "data" / "bursts" / "000010-02-1.opus"


@pytest.fixture(scope="module")
def mel() -> np.ndarray:
    from emolens.engine.audio import decode
    from emolens.engine.burst_features import clip_span, excerpt, whisper_mel

    x = decode(CLIP).samples
    return whisper_mel(excerpt(x, *clip_span(x)))


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_final_layer_is_ctranslate2s_encoder_output(mel):
    import ctranslate2

    from emolens.engine.burst_features import encode
    from emolens.engine.transcribe import model_dir

    hs = hidden_states(mel)
    assert len(hs) == N_LAYERS + 1 and all(h.shape == (mel.shape[1] // 2, WIDTH) for h in hs)
    assert all(h.dtype == np.float32 and np.isfinite(h).all() for h in hs)
    # Same network in float32: equal up to rounding. The shipped int8 compute type: close, not equal.
    f32 = ctranslate2.models.Whisper(str(model_dir("base")), device="cpu", compute_type="float32", intra_threads=1)
    ref = np.asarray(f32.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None])), to_cpu=True))
    assert _rel(hs[-1], ref[0]) < 1e-4
    assert _rel(hs[-1], encode(mel)) < 0.3
    # layers differ from one another (not the same state returned seven times)
    assert min(_rel(hs[i], hs[i + 1]) for i in range(N_LAYERS)) > 0.05


def test_depth_stops_early_with_the_same_states(mel):
    full = hidden_states(mel)
    part = hidden_states(mel, depth=3)
    assert len(part) == 4 and all(np.array_equal(a, b) for a, b in zip(part, full[:4], strict=True))
    with pytest.raises(ValueError):
        hidden_states(mel, depth=7)


def test_reader_lists_named_arrays_and_rejects_garbage(tmp_path):
    from emolens.engine.transcribe import model_dir
    from emolens.errors import EngineError

    v = read_ct2_variables(model_dir("base") / "model.bin", "encoder/conv1/")
    assert set(v) == {"encoder/conv1/weight", "encoder/conv1/bias"}
    assert v["encoder/conv1/weight"].shape == (WIDTH, 80, 3)
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"\x06\x00\x00\x00\xff\xff")
    with pytest.raises(EngineError):
        read_ct2_variables(bad)


def test_onnx_runtime_graph_gives_the_numpy_networks_states(mel):
    from emolens.engine import whisper_layers

    for depth in (2, 3, N_LAYERS):
        assert whisper_layers._runtime(depth) == "onnx"
        got, ref = hidden_states(mel, depth), hidden_states_numpy(mel, depth)
        assert len(got) == len(ref) == depth + 1
        assert all(g.shape == r.shape and g.dtype == np.float32 for g, r in zip(got, ref, strict=True))
        # another summation order, the same network: float rounding only
        assert max(_rel(g, r) for g, r in zip(got, ref, strict=True)) < 1e-5
    # the shortest input the stem takes (two mel frames, one state): same as numpy
    short = np.ascontiguousarray(mel[:, :2])
    assert _rel(hidden_states(short, 2)[2], hidden_states_numpy(short, 2)[2]) < 1e-5
    with pytest.raises(ValueError):
        hidden_states_numpy(mel, depth=-1)


def test_numpy_runtime_when_asked_or_when_the_graph_cannot_build(mel, monkeypatch):
    from emolens.engine import whisper_layers, whisper_onnx
    from emolens.settings import get_settings

    whisper_layers._runtime.cache_clear()
    get_settings.cache_clear()
    try:
        monkeypatch.setenv("EMOLENS_WHISPER_NUMPY", "1")
        assert whisper_layers._runtime(1) == "numpy"
        assert all(np.array_equal(a, b) for a, b in zip(hidden_states(mel, 1), hidden_states_numpy(mel, 1)))
        monkeypatch.delenv("EMOLENS_WHISPER_NUMPY")
        get_settings.cache_clear()
        whisper_layers._runtime.cache_clear()

        def broken(depth: int) -> None:
            raise RuntimeError("no onnxruntime here")

        monkeypatch.setattr(whisper_onnx, "session", broken)
        assert whisper_layers._runtime(1) == "numpy"
        assert all(np.array_equal(a, b) for a, b in zip(hidden_states(mel, 1), hidden_states_numpy(mel, 1)))
    finally:
        get_settings.cache_clear()
        whisper_layers._runtime.cache_clear()
