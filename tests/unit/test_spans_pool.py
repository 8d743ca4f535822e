"""The span thread pool: order kept, errors handed back, no deadlock from inside, and the prosody and burst
stages' outputs bit-identical with one thread or two (real speech and real EmoGator bursts)."""

from __future__ import annotations

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
