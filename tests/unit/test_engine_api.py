"""The engine seam: samples or a path in, dataclasses out; swappable stages; the Hume adapter both ways."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emolens import hume
from emolens.emotions import LANGUAGE_EMOTIONS, PROSODY_EMOTIONS
from emolens.engine import (
    LanguageOptions,
    MediaOptions,
    NerOptions,
    ProsodyOptions,
    SpeakerOptions,
    Stages,
    TextOptions,
    TranscriptionOptions,
    WindowOptions,
    decode_path,
    measure_audio,
    measure_texts,
)
from emolens.errors import ConfigError
from emolens.schema import parse_job_request

DIALOGUE = Path(__file__).parents[1] / "data" / "dialogue_slt_rms.flac"
TINY = TranscriptionOptions(asr="tiny.en")


@pytest.fixture(scope="module")
def samples() -> np.ndarray:
    return decode_path(DIALOGUE).samples


def test_samples_and_path_give_the_same_result(samples):
    opts = MediaOptions(prosody=ProsodyOptions(granularity="sentence"), transcription=TINY)
    from_path = measure_audio(DIALOGUE, opts)
    from_samples = measure_audio(samples, opts)
    assert from_path.filename == "dialogue_slt_rms.flac" and from_path.md5sum and not from_path.failed
    assert from_samples.filename is None and from_samples.md5sum is None
    assert from_path.duration == pytest.approx(from_samples.duration) == pytest.approx(20.025, abs=0.01)
    a, b = from_path.models["prosody"], from_samples.models["prosody"]
    assert a.names == PROSODY_EMOTIONS and len(a.segments) >= 4 and len(a.segments) == len(b.segments)
    for x, y in zip(a.segments, b.segments, strict=True):
        assert x.text == y.text and x.begin == y.begin and np.array_equal(x.scores, y.scores)
        assert x.scores.shape == (48,)
    assert from_path.transcript is not None and "Friday" in from_path.transcript.text


def test_stages_are_swappable(samples):
    calls: list[int] = []

    def flat_scorer(x: np.ndarray, segments, duration: float) -> np.ndarray:
        calls.append(len(segments))
        return np.full((len(segments), len(PROSODY_EMOTIONS)), 0.25)

    def one_speaker(x, words, speakers):
        return [type(w)(w.text, w.begin, w.end, w.confidence, w.char_begin, w.char_end, "solo", 1.0) for w in words]

    opts = MediaOptions(
        prosody=ProsodyOptions(window=WindowOptions(5.0, 5.0), identify_speakers=True), transcription=TINY
    )
    res = measure_audio(samples, opts, stages=Stages(prosody=flat_scorer, diarize=one_speaker))
    segs = res.models["prosody"].segments
    assert calls == [len(segs)] and [(s.begin, s.end) for s in segs][:2] == [(0.0, 5.0), (5.0, 10.0)]
    assert all(s.speaker in ("solo", "unknown") for s in segs) and any(s.speaker == "solo" for s in segs)
    assert all(float(s.scores[0]) == 0.25 for s in segs)
    # without a burst detector stage, asking for bursts reports it and the other models still run
    from emolens.engine import BurstOptions

    opts = MediaOptions(prosody=ProsodyOptions(), burst=BurstOptions(), transcription=TINY)
    res = measure_audio(samples, opts, stages=Stages(burst=None))
    assert "prosody" in res.models and [e.message for e in res.errors] == ["burst: no vocal burst model is installed"]


def test_bad_input_and_bad_options():
    with pytest.raises(ConfigError, match="no media model"):
        measure_audio(DIALOGUE, MediaOptions())
    with pytest.raises(ConfigError, match="granularity"):
        ProsodyOptions(granularity="paragraph")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="0.5"):
        WindowOptions(0.2, 1.0)
    res = measure_audio(Path("/nonexistent/x.wav"), MediaOptions(prosody=ProsodyOptions()))
    assert res.failed and res.models == {} and "not found" in res.errors[0].message


def test_measure_texts_and_adapter_round_trip():
    opts = TextOptions(language=LanguageOptions(granularity="sentence", sentiment=True), ner=NerOptions())
    ok, bad = measure_texts(["I love Paris. I hate rain.", "x" * 1_000_001], opts)
    lang = ok.models["language"]
    assert lang.names == LANGUAGE_EMOTIONS and [s.text for s in lang.segments] == ["I love Paris.", "I hate rain."]
    assert lang.segments[0].sentiment is not None and lang.segments[0].toxicity is None
    assert any(e.entity == "Paris" for e in ok.models["ner"].entities)
    assert bad.failed and "limit" in bad.errors[0].message
    # the adapter: JobRequest -> the same options; results -> the Hume JSON of measure_text
    req = parse_job_request({"models": {"language": {"granularity": "sentence", "sentiment": {}}, "ner": {}}})
    assert hume.text_options(req) == opts
    src = hume.text_source(ok, 0)
    assert src == hume.measure_text(["I love Paris. I hate rain."], req)[0]
    refs = list(hume.iter_predictions([src], "language"))
    assert [r.prediction["text"] for r in refs] == ["I love Paris.", "I hate rain."] and refs[1].index == 1


def test_media_options_from_requests():
    req = parse_job_request(
        {
            "models": {"prosody": {"window": {"length": 2, "step": 1}}, "ner": {}},
            "transcription": {"identify_speakers": True, "language": "en", "model": "tiny.en"},
        }
    )
    opts = hume.media_options(req)
    assert opts.prosody == ProsodyOptions(window=WindowOptions(2.0, 1.0), identify_speakers=True)
    assert opts.language is None and opts.ner == NerOptions(identify_speakers=True)
    assert opts.transcription == TranscriptionOptions(language="en", asr="tiny.en")
    # no models: all of them, vocal bursts included (Hume's rule)
    assert hume.media_options(parse_job_request({})).requested == ("prosody", "burst", "language", "ner")
    assert hume.media_options(parse_job_request({"models": {"burst": {}}})).requested == ("burst",)


def test_speaker_counts_reach_the_options_and_are_checked():
    req = parse_job_request(
        {"models": {"prosody": {"identify_speakers": True}}, "transcription": {"min_speakers": 2, "max_speakers": 3}}
    )
    assert hume.media_options(req).speakers == SpeakerOptions(min_speakers=2, max_speakers=3)
    assert hume.media_options(parse_job_request({})).speakers == SpeakerOptions()
    with pytest.raises(ConfigError, match="must not exceed"):
        SpeakerOptions(min_speakers=3, max_speakers=2)
    with pytest.raises(ConfigError, match="at least 1"):
        SpeakerOptions(num_speakers=0)


def test_speakers_found_during_transcription_match_the_sequential_stage(samples):
    """The default diarizer runs in a worker thread beside Whisper; the result equals running it afterwards."""
    from emolens.engine.media import diarize_words

    opts = MediaOptions(prosody=ProsodyOptions(granularity="sentence", identify_speakers=True), transcription=TINY)
    overlapped = measure_audio(samples, opts)
    sequential = measure_audio(samples, opts, stages=Stages(diarize=lambda x, w, o: diarize_words(x, w, o)))
    a, b = overlapped.models["prosody"].segments, sequential.models["prosody"].segments
    assert len({s.speaker for s in a}) == 2 and len(a) == len(b)
    assert [(s.speaker, s.speaker_confidence, s.begin) for s in a] == [
        (s.speaker, s.speaker_confidence, s.begin) for s in b
    ]
