"""The span thread pool: order kept, errors handed back, no deadlock from inside, and the prosody and burst
stages' outputs bit-identical with one thread or two (real speech and real EmoGator bursts)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from emolens.engine import spans_pool

CLIPS = Path(__file__).parents[1] / "data" / "bursts"
DIALOGUE = Path(__file__).parents[1] / "data" / "dialogue_slt_rms.flac"


def _threads(monkeypatch, n: int) -> None:
    from emolens.settings import get_settings

    monkeypatch.setenv("EMOLENS_THREADS", str(n))
    get_settings.cache_clear()


def test_pmap_keeps_order_and_uses_the_pool(monkeypatch):
    _threads(monkeypatch, 2)
    names: set[str] = set()

    def work(x: int) -> int:
        names.add(threading.current_thread().name)
        return x * x

    assert spans_pool.pmap(work, range(50)) == [x * x for x in range(50)]
    assert any(n.startswith("emolens-spans") for n in names)


def test_one_thread_means_no_pool(monkeypatch):
    _threads(monkeypatch, 1)
    assert spans_pool.pmap(lambda x: threading.current_thread().name, [1, 2]) == [threading.current_thread().name] * 2
    assert spans_pool.submit(lambda: threading.current_thread().name).result() == threading.current_thread().name


def test_errors_come_back_through_the_future(monkeypatch):
    for n in (1, 2):
        _threads(monkeypatch, n)
        with pytest.raises(ZeroDivisionError):
            spans_pool.submit(lambda: 1 / 0).result()
        with pytest.raises(ZeroDivisionError):
            spans_pool.pmap(lambda x: 1 / x, [1, 0])


def test_a_task_that_maps_again_runs_serially_instead_of_deadlocking(monkeypatch):
    _threads(monkeypatch, 2)
    # every worker busy with a task that itself maps: with a nested pool.map this would wait forever
    out = spans_pool.pmap(lambda x: sum(spans_pool.pmap(lambda y: y, range(x))), range(8))
    assert out == [sum(range(x)) for x in range(8)]


def test_prosody_rows_and_burst_scores_are_identical_with_one_or_two_threads(monkeypatch):
    from emolens.engine.audio import decode
    from emolens.engine.burst import classify_spans
    from emolens.engine.prosody import input_rows

    speech = decode(DIALOGUE).samples
    spans = [(0.2, 1.4), (1.0, 2.6), (3.0, 3.25), (4.1, 6.0)]
    bursts = np.concatenate([decode(p).samples for p in sorted(CLIPS.glob("*.opus"))])
    b_spans = [(0.0, 0.8), (0.9, 1.9), (2.0, 2.6)]
    got = {}
    for n in (1, 2):
        _threads(monkeypatch, n)
        got[n] = (input_rows(speech, spans), classify_spans(bursts, b_spans))
    assert np.array_equal(got[1][0], got[2][0])
    assert np.array_equal(got[1][1], got[2][1])


def _nice() -> int:
    import os

    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread niceness is Linux's")
def test_background_pool_threads_run_below_normal_priority_and_map_into_a_pool_of_their_own(monkeypatch):
    _threads(monkeypatch, 2)
    base = _nice()
    pool = spans_pool.shared_pool("emolens-test-bg", 1, nice=5)

    def inside() -> tuple[int, int, list[tuple[str, int]]]:
        inner = spans_pool.pmap(lambda _: (threading.current_thread().name, _nice()), range(6))
        return spans_pool.current_nice(), _nice(), inner

    level, nice, inner = pool.submit(inside).result()
    assert level == 5 and nice == min(19, base + 5)
    # span work mapped from a background thread stays in the background: a span pool of the same priority
    assert all(name.startswith("emolens-spans-nice5") and n == min(19, base + 5) for name, n in inner)
    # the main thread and the normal span pool are untouched
    assert _nice() == base and spans_pool.current_nice() == 0
    assert {n for _, n in (spans_pool.pmap(lambda _: ("", _nice()), range(6)))} == {base}


def test_the_speaker_stage_runs_in_the_background_and_the_text_models_do_not():
    from emolens.engine import api

    assert api.SPEAKER_NICE > 0
    assert api._speaker_pool().submit(spans_pool.current_nice).result() == api.SPEAKER_NICE
    assert api._text_pool().submit(spans_pool.current_nice).result() == 0


def test_speaker_networks_give_the_same_outputs_with_one_or_two_threads(monkeypatch):
    from emolens.engine import campplus, segmentation, speaker_onnx
    from emolens.engine.audio import decode

    front, tail = speaker_onnx.session("sinc"), speaker_onnx.session("segmentation")
    if front is None or campplus_session() is None or tail is None:
        pytest.skip("the speaker networks could not be exported to ONNX here")
    speech = decode(DIALOGUE).samples
    speech = np.concatenate([speech] * 4)  # several chunk batches
    starts = segmentation.chunk_starts(len(speech) / 16000, 1.0)
    rng = np.random.default_rng(0)
    feats = [rng.normal(size=(120 + 13 * i, 80)).astype(np.float32) for i in range(7)]
    got = {}
    for n in (1, 2):
        _threads(monkeypatch, n)
        got[n] = (
            segmentation._segment_onnx(speech, starts, front, tail, 4),
            campplus.embed(feats, backend="onnx"),
        )
    assert len(starts) > 8
    assert np.array_equal(got[1][0], got[2][0])
    assert np.array_equal(got[1][1], got[2][1])


def campplus_session():
    from emolens.engine import speaker_onnx

    return speaker_onnx.session("campplus")
