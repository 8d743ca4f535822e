"""Transcription: WER on real LibriVox speech (Debian pocketsphinx-testdata), word times, confidence, languages."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from emolens.engine.audio import decode
from emolens.engine.transcribe import transcribe, whisper_language
from emolens.errors import ConfigError

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
DATA = Path(__file__).parents[1] / "data"

needs_librivox = pytest.mark.skipif(
    not (LIBRIVOX / "transcription").is_file(),
    reason="LibriVox clips missing: apt-get install -y pocketsphinx-testdata",
)

_NUM = {"mr": "mister", "mrs": "missus"}


def normalise(text: str) -> list[str]:
    words = re.sub(r"[^a-z' ]+", " ", text.lower().replace("-", " ")).split()
    return [_NUM.get(w, w) for w in words]


def wer(ref: list[str], hyp: list[str]) -> float:
    d = np.arange(len(hyp) + 1)
    for i, r in enumerate(ref, 1):
        prev, d = d, np.empty_like(d)
        d[0] = i
        for j, h in enumerate(hyp, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r != h))
    return float(d[-1]) / max(1, len(ref))


def librivox() -> list[tuple[Path, str]]:
    out = []
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        m = re.match(r"<s>(.*)</s>\s*\((.*)\)", line.strip())
        if m:
            out.append((LIBRIVOX / f"{m.group(2)}.wav", m.group(1).strip()))
    return out


def test_wer_helper():
    assert wer(["a", "b", "c"], ["a", "x", "c"]) == pytest.approx(1 / 3)
    assert wer(["a", "b"], []) == 1.0
    assert normalise("Mr. Dashwood, ill-disposed!") == ["mister", "dashwood", "ill", "disposed"]


@needs_librivox
def test_librivox_wer_tiny_en():
    ref_words, hyp_words, errors = 0, 0, 0.0
    for path, ref in librivox():
        tr = transcribe(decode(path).samples, model="tiny.en", language="en")
        r = normalise(ref)
        errors += wer(r, normalise(tr.text)) * len(r)
        ref_words += len(r)
        hyp_words += len(tr.words)
        # Word times are ordered, inside the clip, and char offsets index the text.
        for w in tr.words:
            assert 0 <= w.begin <= w.end <= decode(path).duration + 0.1
            assert tr.text[w.char_begin: w.char_end] == w.text
            assert 0 <= w.confidence <= 1
    corpus_wer = errors / ref_words
    print(f"LibriVox tiny.en corpus WER {corpus_wer:.3f} over {ref_words} words")
    assert corpus_wer < 0.2


@needs_librivox
def test_base_detects_english_and_is_deterministic():
    path, ref = librivox()[0]
    x = decode(path).samples
    a = transcribe(x, model="base")
    b = transcribe(x, model="base")
    assert a.language == "en" and a.language_probability > 0.5
    assert a == b  # same input -> same output
    assert wer(normalise(ref), normalise(a.text)) < 0.2


@needs_librivox
def test_confidence_threshold_drops_words():
    path, _ = librivox()[0]
    x = decode(path).samples
    all_words = transcribe(x, model="tiny.en", confidence_threshold=0.0)
    strict = transcribe(x, model="tiny.en", confidence_threshold=0.9)
    assert len(strict.words) + strict.dropped_words == len(all_words.words)
    assert all(w.confidence >= 0.9 for w in strict.words)
    assert strict.dropped_words > 0


def test_silence_gives_no_words():
    tr = transcribe(np.zeros(16000 * 3, np.float32), model="tiny.en")
    assert tr.words == [] and tr.text == ""


def test_language_tags():
    assert whisper_language(None, "base") is None
    assert whisper_language(None, "tiny.en") == "en"
    assert whisper_language("en-US", "base") == "en"
    assert whisper_language("pt-BR", "base") == "pt"
    assert whisper_language("nb", "base") == "no"
    with pytest.raises(ConfigError, match="English-only"):
        whisper_language("de", "tiny.en")
    with pytest.raises(ConfigError, match="not supported"):
        whisper_language("xx", "base")
    with pytest.raises(ConfigError, match="unknown ASR model"):
        transcribe(np.zeros(1600, np.float32), model="large")
