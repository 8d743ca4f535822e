"""Texts measured in pipelined chunks (engine.iter_measure_texts, hume.iter_text_sources, `measure --text-lines`):
the same results, bytes and order as one job, errors still reported per text, nothing lost. Real models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest

from emolens import hume
from emolens.archive import check_predictions
from emolens.engine import api, text
from emolens.engine.options import LanguageOptions, NerOptions, TextOptions
from emolens.errors import ArchiveError
from emolens.measure_cli import Written

ROOT = Path(__file__).resolve().parents[2]
SENTENCE = {"models": {"language": {"granularity": "sentence", "sentiment": {}, "toxicity": {}}}}
BASE = [
    "Thank you so much for your help, I really appreciate it!",
    "I can't believe they cancelled the show. What a disappointment.",
    "This is the worst service I have ever had, you idiots.",
    "I miss the summers we spent at grandma's house as kids.",
    "Not good at all. Honestly, I expected better.",
    "Wow! That is amazing news, congratulations!!",
]


def _texts() -> list[str]:
    # repeats across chunks (dedup and the memo), a text too long (a per-text error) and a non-string
    out: list = [f"{BASE[i % len(BASE)]} ({i % 4})" for i in range(14)]
    out[5] = "x" * (text.MAX_TEXT_CHARS + 1)
    out[9] = 42
    return out


def _flat(chunks) -> list:
    return [r for _, chunk in chunks for r in chunk]


@pytest.mark.parametrize("granularity", ["sentence", "word"])
def test_chunks_give_the_results_of_one_job_in_order(granularity):
    opts = TextOptions(language=LanguageOptions(granularity=granularity, sentiment=True, toxicity=True))
    texts = _texts()
    whole = list(api.iter_measure_texts(texts, opts, chunk=10**6))
    chunked = list(api.iter_measure_texts(texts, opts, chunk=3))
    assert [off for off, _ in whole] == [0]
    assert [off for off, _ in chunked] == list(range(0, len(texts), 3))  # input order, every chunk once
    a, b = _flat(whole), _flat(chunked)
    assert len(a) == len(b) == len(texts)  # no text lost or doubled
    for x, y in zip(a, b, strict=True):
        assert x.text == y.text and x.failed == y.failed
        assert [e.message for e in x.errors] == [e.message for e in y.errors]
        if x.failed:
            continue
        sx, sy = x.models["language"].segments, y.models["language"].segments
        assert [(s.text, s.char_begin, s.char_end) for s in sx] == [(s.text, s.char_begin, s.char_end) for s in sy]
        for p, q in zip(sx, sy, strict=True):
            # the float64 heads' BLAS sums in an order that depends on how many rows a call has: ~1e-16, far
            # below the 6 decimals written (the written scores are compared byte for byte below)
            for u, v in [(p.scores, q.scores), (p.sentiment, q.sentiment), (p.toxicity, q.toxicity)]:
                assert np.abs(u - v).max() <= 1e-12
    assert [hume.text_source(r, i) for i, r in enumerate(a)] == [hume.text_source(r, i) for i, r in enumerate(b)]
    # the bad texts are reported as themselves, by their index in the whole job
    assert b[5].failed and "text 5 has" in b[5].errors[0].message
    assert b[9].failed and "text 9 is int" in b[9].errors[0].message


def test_memo_limit_and_ner_in_chunks(monkeypatch):
    opts = TextOptions(language=LanguageOptions(granularity="sentence", sentiment=True), ner=NerOptions())
    texts = ["Barack Obama met Angela Merkel in Berlin. It went well.", *BASE, "Paris is lovely. Paris is lovely."]
    whole = _flat(api.iter_measure_texts(texts, opts, chunk=10**6))
    monkeypatch.setattr(text, "MEMO_LIMIT", 2)  # the memo starts afresh every few texts: the same results
    chunked = _flat(api.iter_measure_texts(texts, opts, chunk=2))
    ja = [hume.text_source(r, i) for i, r in enumerate(whole)]
    jb = [hume.text_source(r, i) for i, r in enumerate(chunked)]
    assert ja == jb
    assert {e.entity for e in chunked[0].models["ner"].entities} >= {"Barack Obama", "Berlin"}


def test_sources_in_chunks_are_the_bytes_of_one_job_and_written_validates():
    texts = _texts()
    whole = [src for _, c in hume.iter_text_sources(texts, SENTENCE, chunk=10**6) for src in c]
    written = Written()
    got = []
    for offset, sources in hume.iter_text_sources(texts, SENTENCE, chunk=4):
        assert offset == len(got) and [
            s["results"]["predictions"][0]["file"] for s in sources if s["results"]["predictions"]
        ] == [str(offset + i) for i, s in enumerate(sources) if s["results"]["predictions"]]
        got += sources
        written.add(sources)
    written.check()
    assert written.data() == orjson.dumps(whole)
    assert got[5]["results"]["errors"][0]["file"] == "5"  # the per-text error keeps the text's own index
    # a bad source in a later part is reported as check_predictions reports it for the whole payload
    bad = orjson.loads(orjson.dumps(whole))
    bad[6]["results"]["predictions"][0]["models"]["language"]["grouped_predictions"][0]["predictions"][0][
        "emotions"] = "oops"  # fmt: skip
    with pytest.raises(ArchiveError) as whole_error:
        check_predictions(bad, "engine output")
    parts = Written()
    for begin in range(0, len(bad), 4):
        parts.add(bad[begin : begin + 4])
    with pytest.raises(ArchiveError) as parts_error:
        parts.check()
    assert str(parts_error.value) == str(whole_error.value) and "source 6" in str(whole_error.value)


def test_cli_text_lines_over_several_chunks_is_byte_identical(tmp_path):
    n = 2 * api.TEXT_CHUNK + 9  # three chunks
    short = ["Great!", "So sad.", "You idiot.", "Thanks a lot.", "Not good at all."]  # repeats across chunks
    lines = [f"{short[i % len(short)]} {i}" for i in range(n)]
    lines[300] = "y" * (text.MAX_TEXT_CHARS + 1)  # a bad line: reported, the others measured
    src = tmp_path / "lines.txt"
    src.write_text("\n".join(lines[:7]) + "\n\n  \n" + "\n".join(lines[7:]) + "\n", encoding="utf-8")
    out = tmp_path / "out.json"
    env = {**os.environ, "EMOLENS_DATA_DIR": str(tmp_path / "store"), "HF_HUB_OFFLINE": "1"}
    r = subprocess.run(
        [sys.executable, "-m", "emolens", "measure", "--text-lines", str(src), "--models", "language",
         "--granularity", "sentence", "--sentiment", "--toxicity", "--no-progress", "-o", str(out)],
        capture_output=True, env=env, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr.decode()
    assert "text 300: text 300 has 1,000,001 characters" in r.stderr.decode()
    reference = [s for _, c in hume.iter_text_sources(lines, SENTENCE, chunk=10**6) for s in c]
    assert out.read_bytes() == orjson.dumps(reference)  # blank lines skipped, order and every byte kept
