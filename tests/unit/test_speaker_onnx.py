"""The ONNX Runtime copies of the speaker networks: same outputs as PyTorch, and a cache that heals itself."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from emolens.engine import campplus, segmentation, speaker_onnx
from emolens.engine.audio import decode
from emolens.engine.diarize import der, diarize, read_rttm, timeline

ROOT = Path(__file__).parents[2]
DATASETS = Path(os.environ.get("EMOLENS_DATASETS") or ROOT.parent / "shared" / "datasets")
SAMPLE = DATASETS / "diarization" / "sample"
needs_shared = pytest.mark.skipif(not (SAMPLE / "sample.flac").is_file(), reason="shared diarization data absent")


@pytest.fixture(scope="module")
def dialogue() -> np.ndarray:
    return decode(ROOT / "tests" / "data" / "dialogue_slt_rms.flac").samples


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty cache folder, and no session loaded yet (restored afterwards)."""
    saved = dict(speaker_onnx._SESSIONS)
    speaker_onnx.clear()
    monkeypatch.setattr(speaker_onnx, "cache_folder", lambda: tmp_path / "speakers")
    yield tmp_path / "speakers"
    speaker_onnx.clear()
    speaker_onnx._SESSIONS.update(saved)


def test_segmentation_onnx_matches_torch(dialogue):
    # 20 s: several chunks share one sinc pass; 7 s: one zero-padded chunk; 20 s + 0.3 s: an unaligned last chunk
    for x in (dialogue, dialogue[: 7 * 16000], np.concatenate([dialogue, dialogue[:4801]])):
        t = segmentation.segment(x, step=5.0, backend="torch")
        o = segmentation.segment(x, step=5.0, backend="onnx")
        assert np.array_equal(t.starts, o.starts)
        assert (t.activity == o.activity).all(-1).mean() >= 0.995


def test_campplus_onnx_matches_torch(dialogue):
    feats = []
    for a, b in ((0, 300), (500, 620)):
        f = campplus.fbank(dialogue[a * 160 : b * 160 + 240]).numpy()
        feats.append(f - f.mean(0, keepdims=True))
    t, o = campplus.embed(feats, backend="torch"), campplus.embed(feats, backend="onnx")
    assert np.min(np.sum(t * o, axis=1)) > 0.9999


@needs_shared
def test_sample_call_same_turns_with_onnx_and_torch():
    a = decode(SAMPLE / "sample.flac")
    t, o = diarize(a.samples, backend="torch"), diarize(a.samples, backend="onnx")
    assert [x.speaker for x in t] == [x.speaker for x in o]
    assert max(max(abs(x.begin - y.begin), abs(x.end - y.end)) for x, y in zip(t, o, strict=True)) <= 0.05
    ref = read_rttm(SAMPLE / "sample.rttm")["sample"]
    assert der(ref, timeline(o), (0.0, a.duration))["der"] <= 0.15


def test_export_is_cached_and_a_corrupt_file_heals(fresh_cache):
    assert speaker_onnx.session("sinc") is not None
    (path,) = fresh_cache.glob("sinc-*.onnx")
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 3])  # a torn write / disk fault
    speaker_onnx.clear()
    sess = speaker_onnx.session("sinc")  # the same process: no restart needed
    assert sess is not None and path.read_bytes() == good
    assert speaker_onnx.runtime() == "onnx"
    x = np.random.default_rng(0).standard_normal((1, 1, 4000)).astype(np.float32)
    assert sess.run(None, {"x": x})[0].shape == (1, 80, (4000 - 251) // 10 + 1)


def test_unwritable_cache_keeps_the_export_in_memory(fresh_cache):
    fresh_cache.parent.mkdir(parents=True, exist_ok=True)
    fresh_cache.write_text("not a folder")  # mkdir fails: the export is used from memory
    assert speaker_onnx.session("sinc") is not None
    assert fresh_cache.read_text() == "not a folder"


def test_failed_export_falls_back_to_torch(fresh_cache, monkeypatch, dialogue):
    def broken(name):
        raise RuntimeError("no exporter here")

    monkeypatch.setattr(speaker_onnx, "_export", broken)
    assert speaker_onnx.session("segmentation") is None
    assert speaker_onnx.runtime() == "torch"
    auto = segmentation.segment(dialogue, step=5.0)  # "auto": PyTorch runs it
    assert speaker_onnx.runtime() == "torch"  # the sinc front failed the same way
    assert np.array_equal(auto.activity, segmentation.segment(dialogue, step=5.0, backend="torch").activity)
    with pytest.raises(Exception, match="could not be exported"):
        segmentation.segment(dialogue, step=5.0, backend="onnx")
