"""measure_media end to end on real (synthetic-voice) speech with tiny.en: shape, granularities, speakers, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from emolens.emotions import PROSODY_EMOTIONS
from emolens.engine.media import measure_media
from emolens.errors import ConfigError
from emolens.schema import parse_job_request, parse_predictions

DATA = Path(__file__).parents[1] / "data"
DIALOGUE = DATA / "dialogue_slt_rms.flac"
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav")
TURNS = [(0.0, 3.725), (4.725, 10.18), (11.18, 14.755), (15.755, 20.025)]


def has_text_engine() -> bool:
    try:
        from emolens.engine import text  # noqa: F401
    except ImportError:
        return False
    return True


def prosody_of(result: dict) -> dict:
    return result["results"]["predictions"][0]["models"]["prosody"]


def all_preds(model: dict) -> list[dict]:
    return [p for g in model["grouped_predictions"] for p in g["predictions"]]


@pytest.fixture(scope="module")
def utterances() -> list[dict]:
    return measure_media([DIALOGUE], {"models": {"prosody": {}}}, asr="tiny.en")


def test_utterance_default_shape(utterances):
    parse_predictions(utterances)  # validates against the wire schema
    (res,) = utterances
    assert res["source"]["type"] == "file" and res["source"]["filename"] == DIALOGUE.name
    assert res["source"]["content_type"] == "audio/flac" and len(res["source"]["md5sum"]) == 32
    assert res["error"] is None and res["results"]["errors"] == []
    pred = res["results"]["predictions"][0]
    assert pred["file"] == DIALOGUE.name and pred["file_type"] == "audio"
    assert set(pred["models"]) == {"prosody"}  # only what was asked
    pm = prosody_of(res)
    assert pm["metadata"]["detected_language"] == "en" and 0 < pm["metadata"]["confidence"] <= 1
    assert [g["id"] for g in pm["grouped_predictions"]] == ["unknown"]
    preds = all_preds(pm)
    # Four sentences separated by 1 s pauses; each turn holds two short sentences with a shorter gap.
    assert 4 <= len(preds) <= 8
    for p in preds:
        assert [e["name"] for e in p["emotions"]] == list(PROSODY_EMOTIONS)
        assert p["text"] and p["time"]["begin"] < p["time"]["end"] and p["speaker_confidence"] is None
    # No utterance spans a 1 s pause between turns.
    for p in preds:
        assert any(b - 0.3 <= p["time"]["begin"] and p["time"]["end"] <= e + 0.3 for b, e in TURNS)


@pytest.mark.parametrize("granularity", ["word", "sentence"])
def test_word_and_sentence(granularity):
    (res,) = measure_media([DIALOGUE], {"models": {"prosody": {"granularity": granularity}}}, asr="tiny.en")
    preds = all_preds(prosody_of(res))
    parse_predictions([res])
    if granularity == "word":
        assert len(preds) > 35 and all(" " not in p["text"] for p in preds)
    else:
        # One or two sentences per turn (Whisper may join a turn's two sentences with a comma).
        assert 4 <= len(preds) <= 8
        assert preds[0]["text"].endswith("?") and all(p["text"][-1] in ".?!" for p in preds)


def test_turns_with_speakers_and_windows():
    cfg = {"models": {"prosody": {"granularity": "conversational_turn", "identify_speakers": True}}}
    (res,) = measure_media([DIALOGUE], cfg, asr="tiny.en")
    groups = prosody_of(res)["grouped_predictions"]
    assert [g["id"] for g in groups] == ["spk_0", "spk_1"]
    turns = sorted(all_preds(prosody_of(res)), key=lambda p: p["time"]["begin"])
    assert len(turns) == 4
    for p, (b, e) in zip(turns, TURNS):
        assert abs(p["time"]["begin"] - b) < 0.6 and abs(p["time"]["end"] - e) < 0.6
        assert 0 < p["speaker_confidence"] <= 1
    assert [len(g["predictions"]) for g in groups] == [2, 2]

    (win,) = measure_media([DIALOGUE], {"models": {"prosody": {"window": {"length": 4.0, "step": 2.0}}}},
                           asr="tiny.en")
    wp = all_preds(prosody_of(win))
    assert wp[0]["time"] == {"begin": 0.0, "end": 4.0}
    assert wp[-1]["time"]["end"] == pytest.approx(20.025, abs=0.01)
    assert len(wp) == 10 and all(len(p["emotions"]) == 48 for p in wp)


def test_conversational_turn_needs_speakers():
    with pytest.raises(ConfigError, match="identify_speakers"):
        measure_media([DIALOGUE], {"models": {"prosody": {"granularity": "conversational_turn"}}}, asr="tiny.en")


def test_bad_files_do_not_stop_good_ones(tmp_path):
    import av

    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"\x00garbage" * 100)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    novid = tmp_path / "video.mp4"
    out = av.open(str(novid), "w")
    vs = out.add_stream("mpeg4", rate=10)
    vs.width, vs.height, vs.pix_fmt = 32, 32, "yuv420p"
    for _ in range(5):
        for pkt in vs.encode(av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")):
            out.mux(pkt)
    for pkt in vs.encode(None):
        out.mux(pkt)
    out.close()
    silence = tmp_path / "silence.wav"
    shutil.copy(DIALOGUE, tmp_path / "good.flac")
    import soundfile as sf

    sf.write(silence, np.zeros(16000 * 2, np.float32), 16000)
    seen: list[tuple[float, str]] = []
    res = measure_media([bad, tmp_path / "good.flac", empty, novid, silence], {"models": {"prosody": {}}},
                        progress=lambda f, m: seen.append((f, m)), asr="tiny.en")
    parse_predictions(res)
    assert [r["source"]["filename"] for r in res] == ["bad.mp3", "good.flac", "empty.wav", "video.mp4",
                                                      "silence.wav"]
    for r in (res[0], res[2], res[3]):
        assert r["results"]["predictions"] == [] and len(r["results"]["errors"]) == 1
        assert r["results"]["errors"][0]["file"] == r["source"]["filename"]
    assert res[3]["results"]["errors"][0]["file_type"] == "video_no_audio"
    assert "empty" in res[2]["results"]["errors"][0]["message"]
    assert len(all_preds(prosody_of(res[1]))) >= 4
    # Silence: a valid result with no segments.
    assert res[4]["results"]["errors"] == [] and all_preds(prosody_of(res[4])) == []
    # Progress: fine-grained, monotone, ends at 1.
    fr = [f for f, _ in seen]
    assert len(seen) >= 15 and fr == sorted(fr) and fr[-1] == 1.0 and 0 <= fr[0] <= 0.05
    assert any("transcribing" in m for _, m in seen)


def test_deterministic():
    cfg = {"models": {"prosody": {"granularity": "sentence"}}}
    assert measure_media([DIALOGUE], cfg, asr="tiny.en") == measure_media([DIALOGUE], cfg, asr="tiny.en")


def test_config_objects_and_unknown_asr():
    req = parse_job_request({"models": {"prosody": {"granularity": "utterance"}},
                             "transcription": {"language": "en", "confidence_threshold": 0.99}})
    (res,) = measure_media([DIALOGUE], req, asr="tiny.en")
    strict = all_preds(prosody_of(res))
    assert all(p["confidence"] >= 0.99 for p in strict)
    with pytest.raises(ConfigError, match="unknown ASR model"):
        measure_media([DIALOGUE], None, asr="huge")


@pytest.mark.skipif(not has_text_engine(), reason="emolens.engine.text (language engine) not present yet")
def test_all_models_with_language_and_ner():
    cfg = {"models": {"prosody": {}, "language": {"granularity": "sentence", "sentiment": {}, "toxicity": {}},
                      "ner": {}}, "transcription": {"identify_speakers": True}}
    (res,) = measure_media([DIALOGUE], cfg, asr="tiny.en")
    parse_predictions([res])
    models = res["results"]["predictions"][0]["models"]
    assert set(models) == {"prosody", "language", "ner"}, res["results"]["errors"]
    lang = [p for g in models["language"]["grouped_predictions"] for p in g["predictions"]]
    assert {g["id"] for g in models["language"]["grouped_predictions"]} <= {"spk_0", "spk_1"}
    assert len(lang) >= 4 and all(p["time"] is not None and p["sentiment"] and p["toxicity"] for p in lang)
    text = " ".join(p["text"] for p in sorted(lang, key=lambda p: p["position"]["begin"]))
    assert "Friday" in text
    ents = [p for g in models["ner"]["grouped_predictions"] for p in g["predictions"]]
    friday = [p for p in ents if p["entity"] == "Friday"]
    assert friday and friday[0]["time"]["begin"] > 15.0  # entities carry media times


@pytest.mark.skipif(not LIBRIVOX.is_file(), reason="apt-get install -y pocketsphinx-testdata")
def test_no_models_means_all_models():
    res = measure_media([LIBRIVOX], None, asr="tiny.en")
    models = res[0]["results"]["predictions"][0]["models"]
    if has_text_engine():
        assert set(models) == {"prosody", "burst", "language", "ner"}
    else:
        assert set(models) == {"prosody", "burst"}
        assert {e["message"].split(":")[0] for e in res[0]["results"]["errors"]} == {"language", "ner"}


def test_tracks_only_where_segments_are_match_whole_file_tracks():
    """Prosody analyses frame tracks around segments only (with context); scores stay those of whole-file tracks."""
    import numpy as np

    from emolens.engine import prosody
    from emolens.engine.audio import decode
    from emolens.engine.features import FEATURE_NAMES, functionals, tracks

    a = decode(DATA / "dialogue_slt_rms.flac")
    raw = [(0.5, 2.9), (4.1, 6.0), (7.2, 9.9), (10.3, 10.5)]
    spans = prosody.analysed_spans(raw, a.duration)
    assert spans[3] == pytest.approx((9.9, 10.9))  # a word-short segment is widened to MIN_SPAN around it
    cover = prosody._cover(spans, a.duration)  # padded by TRACK_PAD, overlapping ones merged
    assert [tuple(round(x, 6) for x in iv) for iv in cover] == [(0.0, 3.4), (3.6, 6.5), (6.7, min(11.4, a.duration))]
    rows = prosody.input_rows(a.samples, raw)
    whole_tracks = tracks(a.samples)
    whole = rows.copy()
    whole[:, : len(FEATURE_NAMES)] = np.vstack([functionals(whole_tracks, b, e) for b, e in spans])
    m = prosody.get_model()
    diffs = np.abs(m.scores(rows) - m.scores(whole))
    assert diffs.max() < 0.06 and diffs.mean() < 0.005
