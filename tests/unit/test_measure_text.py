"""measure_text: Hume-format output validated by the schema; config handling; bad input never crashes."""

from __future__ import annotations

import pytest

from emolens.emotions import LANGUAGE_EMOTIONS, SENTIMENT_LEVELS, TOXICITY_CATEGORIES
from emolens.engine.text import MAX_TEXT_CHARS, language_result, measure_text
from emolens.engine.types import Segment
from emolens.errors import ConfigError
from emolens.schema import parse_predictions


def _models(source: dict) -> dict:
    return source["results"]["predictions"][0]["models"]


def test_default_config_runs_language_and_ner_and_validates() -> None:
    texts = ["Thank you so much! Paris was wonderful.", "I hate Mondays."]
    out = measure_text(texts)
    parse_predictions(out)
    assert [s["results"]["predictions"][0]["file"] for s in out] == ["0", "1"]
    m = _models(out[0])
    assert set(m) == {"language", "ner"}
    words = m["language"]["grouped_predictions"][0]["predictions"]
    assert [p["text"] for p in words][:3] == ["Thank", "you", "so"]  # default granularity: word
    p = words[0]
    assert p["time"] is None and p["confidence"] is None and p["speaker_confidence"] is None
    assert p["sentiment"] is None and p["toxicity"] is None
    assert [e["name"] for e in p["emotions"]] == list(LANGUAGE_EMOTIONS)
    assert any(e["entity"] == "Paris" for e in m["ner"]["grouped_predictions"][0]["predictions"])


def test_sentiment_toxicity_and_only_requested_models() -> None:
    cfg = {"models": {"language": {"granularity": "sentence", "sentiment": {}, "toxicity": {}}}}
    out = measure_text(["You are a stupid idiot. Have a nice day."], cfg)
    parse_predictions(out)
    m = _models(out[0])
    assert set(m) == {"language"}
    insult, nice = m["language"]["grouped_predictions"][0]["predictions"]
    assert insult["position"] == {"begin": 0, "end": 23}
    assert [s["name"] for s in insult["sentiment"]] == list(SENTIMENT_LEVELS)
    assert abs(sum(s["score"] for s in insult["sentiment"]) - 1) < 1e-4
    tox = {s["name"]: s["score"] for s in insult["toxicity"]}
    assert list(tox) == list(TOXICITY_CATEGORIES) and tox["insult"] > 0.8
    assert max(s["score"] for s in nice["toxicity"]) < 0.2


def test_bare_models_dict_and_prosody_is_ignored() -> None:
    out = measure_text(["hello"], {"ner": {}})
    assert set(_models(out[0])) == {"ner"}
    out = measure_text(["hello"], {"models": {"prosody": {}}})
    assert _models(out[0]) == {}


def test_conversational_turns_group_by_speaker() -> None:
    cfg = {"models": {"language": {"granularity": "conversational_turn", "identify_speakers": True}}}
    out = measure_text(["Alice: I'm so happy for you!\nBob: Thanks, I appreciate it."], cfg)
    groups = _models(out[0])["language"]["grouped_predictions"]
    assert [g["id"] for g in groups] == ["Alice", "Bob"]
    # A text without turns gets a per-text error, not an exception.
    out = measure_text(["no speakers here", "Ann: hi"], cfg)
    parse_predictions(out)
    assert "Name: text" in out[0]["results"]["errors"][0]["message"] and not out[0]["results"]["predictions"]
    assert out[1]["results"]["errors"] == []


def test_bad_inputs_never_crash() -> None:
    junk = "".join(chr(c) for c in range(0, 0x2FF)) + "\ud800\x00\uffff"
    texts = ["", "   \n\t", "🙂🔥💯", junk, "日本語のテキストです。", "Привет, как дела?", "a" * 5000]
    cfg = {"models": {"language": {"granularity": "sentence", "sentiment": {}, "toxicity": {}}, "ner": {}}}
    out = measure_text(texts, cfg)
    parse_predictions(out)
    assert _models(out[0])["language"]["grouped_predictions"] == []
    for s in out[2:]:
        for p in _models(s)["language"]["grouped_predictions"][0]["predictions"]:
            assert all(0.0 <= e["score"] <= 1.0 for e in p["emotions"])
    big = measure_text(["x " * (MAX_TEXT_CHARS // 2 + 1)], cfg)
    assert "split it" in big[0]["results"]["errors"][0]["message"]
    with pytest.raises(ConfigError):
        measure_text(["x"], {"models": {"language": {"granularity": "paragraph"}}})


def test_language_result_for_transcript_segments() -> None:
    text = "I love it. I hate it."
    segs = [Segment("I love it.", 0, 10, 0.0, 1.0, 0.9, "spk_1", 0.8), Segment(None, None, None, 1.0, 2.0),
            Segment("I hate it.", 11, 21, 2.0, 3.0, 0.7, "spk_2", 0.6)]
    res = language_result(text, segs, sentiment=True, toxicity=False)
    assert [g["id"] for g in res["grouped_predictions"]] == ["spk_1", "spk_2"]
    p = res["grouped_predictions"][0]["predictions"][0]
    assert p["time"] == {"begin": 0.0, "end": 1.0} and p["confidence"] == 0.9 and p["speaker_confidence"] == 0.8
    assert p["toxicity"] is None and len(p["sentiment"]) == 9
