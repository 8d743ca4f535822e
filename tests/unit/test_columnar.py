"""The ``emolens frame --wide`` fast path (emolens.columnar): the same bytes as the general path, or None.

The rule tested: whenever the fast path answers, the general path (load_archive + wide_csv) accepts every source
without a problem and writes exactly those bytes; whatever the general path rejects or warns about, the fast path
refuses (None), so errors and warnings come from one place.
"""

from __future__ import annotations

import copy
import json
import random

import pytest

from emolens.archive import load_archive
from emolens.columnar import repr_floats, wide_csv_bytes
from emolens.errors import ArchiveError
from emolens.frames import wide_csv
from tests import synth


def _general(data: bytes, model: str) -> tuple[bytes | None, list[str]]:
    try:
        report = load_archive(data, name="x.json")
    except ArchiveError as e:
        return None, [str(e)]
    return wide_csv(report.predictions, model=model), report.problems


def _check(payload: object, model: str) -> bytes | None:
    data = json.dumps(payload).encode()
    fast = wide_csv_bytes(data, model)
    if fast is not None:
        want, problems = _general(data, model)
        assert not problems and fast == want
    return fast


def _lang(payload: list) -> list:
    return payload[0]["results"]["predictions"][0]["models"]["language"]["grouped_predictions"]


@pytest.mark.parametrize("model", ["language", "prosody"])
def test_word_level_result_gives_the_general_paths_bytes(model):
    assert _check(synth.word_level_result(80, seed=5), model) is not None


def test_score_cells_are_repr_text():
    rows = [
        [0.0, -0.0, 1.0, 1e-5, 5.6e-05, -5.6e-05, 1e-4, 9.99e-05, 10.00001, 100.00005, 2e-8, 1.5e-300],
        [1e16, 1.5e22, 123456.789, None, 0.1, 1 / 3],
        [None],
        [],
    ]
    assert repr_floats(rows) == [",".join("" if v is None else repr(v) for v in r).encode() for r in rows]
    rng = random.Random(0)
    rows = [[rng.random() * 10 ** rng.uniform(-12, 18) for _ in range(40)] for _ in range(300)]
    assert repr_floats(rows) == [",".join(map(repr, r)).encode() for r in rows]


def _mutations():
    base = synth.word_level_result(12, seed=2)

    def m(fn):
        p = copy.deepcopy(base)
        fn(p)
        return p

    first = lambda p: _lang(p)[0]["predictions"][0]  # noqa: E731
    pros = lambda p: p[0]["results"]["predictions"][0]["models"]["prosody"]["grouped_predictions"][0]  # noqa: E731
    yield "sentiment missing on one", m(lambda p: first(p).pop("sentiment"))
    yield (
        "sentiment null everywhere",
        m(lambda p: [q.update(sentiment=None) for g in _lang(p) for q in g["predictions"]]),
    )
    yield "toxicity absent everywhere", m(lambda p: [q.pop("toxicity") for g in _lang(p) for q in g["predictions"]])
    yield "int scores", m(lambda p: first(p)["emotions"][0].update(score=1))
    yield (
        "tiny and huge",
        m(lambda p: [first(p)["emotions"][i].update(score=v) for i, v in enumerate((3e-7, 5e-5, 2e17))]),
    )
    yield "quoted text", m(lambda p: first(p).update(text='say "hi",\nthen go'))
    yield "no time", m(lambda p: first(p).update(time=None))
    yield "confidence absent", m(lambda p: first(p).pop("confidence"))
    yield "extra keys", m(lambda p: first(p).update(extra={"a": [1, 2]}))
    yield "prob instead of confidence", m(lambda p: (first(p).pop("confidence"), first(p).update(prob=0.5)))
    yield "shuffled emotions", m(lambda p: first(p)["emotions"].reverse())
    yield "partial emotions", m(lambda p: first(p)["emotions"].pop())
    yield "empty emotions", m(lambda p: first(p).update(emotions=[]))
    yield "unknown emotion name", m(lambda p: first(p)["emotions"][0].update(name="Zest"))
    yield "string score", m(lambda p: first(p)["emotions"][0].update(score="0.5"))
    yield "bool score", m(lambda p: first(p)["emotions"][0].update(score=True))
    yield "null score", m(lambda p: first(p)["emotions"][0].update(score=None))
    yield "bad score in the other model", m(lambda p: pros(p)["predictions"][0]["emotions"][0].update(score="x"))
    yield "bad sentiment outside the schema", m(lambda p: pros(p)["predictions"][0].update(sentiment="bad"))
    yield "float position", m(lambda p: first(p)["position"].update(begin=1.0))
    yield "string position", m(lambda p: first(p)["position"].update(begin="1"))
    yield "missing text", m(lambda p: first(p).pop("text"))
    yield "group without id", m(lambda p: _lang(p)[0].pop("id"))
    yield "file not a string", m(lambda p: p[0]["results"]["predictions"][0].update(file=3))
    yield "source without type", m(lambda p: p[0]["source"].pop("type"))
    yield "second source broken", m(lambda p: p.append({"source": {"type": "text"}, "results": {"predictions": 3}}))
    yield "second source fine", m(lambda p: p.append(copy.deepcopy(p[0])))
    yield "legacy", [{"source": {"type": "file"}, "results": {"files": [{"file": "a.wav", "models": {}}]}}]
    yield "results null", m(lambda p: p.append({"source": {"type": "url", "url": "u"}, "results": None, "error": "e"}))
    yield "single object", base[0]
    yield "empty list", []
    yield "face present", synth.awkward_result()


@pytest.mark.parametrize(("name", "payload"), list(_mutations()), ids=[n for n, _ in _mutations()])
@pytest.mark.parametrize("model", ["language", "prosody"])
def test_fast_path_answers_only_with_the_general_paths_bytes(name, payload, model):
    fast = _check(payload, model)
    data = json.dumps(payload).encode()
    want, problems = _general(data, model)
    if problems or want is None:
        assert fast is None, name  # rejected or warned about: only the general path speaks


def test_common_variants_stay_on_the_fast_path():
    """The shapes emolens itself writes (sentiment and toxicity optional) do not fall back."""
    for name, payload in _mutations():
        if name in (
            "sentiment missing on one",
            "sentiment null everywhere",
            "toxicity absent everywhere",
            "int scores",
            "tiny and huge",
            "quoted text",
            "no time",
            "confidence absent",
            "extra keys",
        ):
            assert _check(payload, "language") is not None, name


def test_bad_bytes_fall_back():
    good = json.dumps(synth.word_level_result(5, seed=1)).encode()
    for data in (good[:-10], b"\xef\xbb\xbf" + good, good.replace(b'"text"', b'"te\xffxt"', 1), b"[1, 2]", b"[]"):
        assert wide_csv_bytes(data, "language") is None
    assert wide_csv_bytes(good, "ner") is None and wide_csv_bytes(good, "face") is None
