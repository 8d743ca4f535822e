"""Schema: round trips on realistic payloads, job request rules and defaults, streaming shapes."""

from __future__ import annotations

import json

import pytest

from emolens.emotions import LANGUAGE_EMOTIONS, PROSODY_EMOTIONS, SENTIMENT_LEVELS, TOXICITY_CATEGORIES
from emolens.errors import ConfigError
from emolens.schema import (
    JobDetails,
    StreamError,
    StreamResponse,
    parse_job_list_query,
    parse_job_request,
    parse_predictions,
    parse_stream_payload,
)
from tests import synth


def test_name_lists():
    assert len(PROSODY_EMOTIONS) == 48 and len(set(PROSODY_EMOTIONS)) == 48
    assert len(LANGUAGE_EMOTIONS) == 53 and set(PROSODY_EMOTIONS) < set(LANGUAGE_EMOTIONS)
    assert {"Annoyance", "Disapproval", "Enthusiasm", "Gratitude", "Sarcasm"} == set(LANGUAGE_EMOTIONS) - set(
        PROSODY_EMOTIONS)
    assert SENTIMENT_LEVELS == tuple("123456789")
    assert TOXICITY_CATEGORIES == ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")


@pytest.mark.parametrize("payload", [synth.awkward_result(), synth.word_level_result(120, seed=5)],
                         ids=["awkward", "word-level"])
def test_predictions_round_trip_is_exact(payload):
    data = json.loads(json.dumps(payload))
    assert [s.to_json_dict() for s in parse_predictions(data)] == data


def test_single_source_object_and_unknown_fields_are_kept():
    src = synth.awkward_result()[0]
    src["x_top_level"] = [1, 2]
    parsed = parse_predictions(src)
    assert len(parsed) == 1
    dumped = parsed[0].to_json_dict()
    assert dumped["x_top_level"] == [1, 2]
    pred = dumped["results"]["predictions"][0]["models"]["language"]["grouped_predictions"][0]["predictions"][0]
    assert pred["x_vendor_note"] == {"kept": True}
    assert pred["time"] is None and pred["sentiment"] is None  # explicit nulls stay null


def test_absent_fields_stay_absent():
    src = {"source": {"type": "text"}, "results": {"predictions": [{"file": "0", "models": {"language": {
        "grouped_predictions": [{"id": "unknown", "predictions": [
            {"text": "hi", "position": {"begin": 0, "end": 2}, "emotions": [{"name": "Joy", "score": 1}]}]}]}}}]}}
    assert [s.to_json_dict() for s in parse_predictions(src)] == [src]


def test_missing_required_field_is_an_error():
    bad = synth.awkward_result()[1]
    del bad["results"]["predictions"][0]["models"]["prosody"]["grouped_predictions"][0]["predictions"][0]["time"]
    with pytest.raises(Exception, match="time"):
        parse_predictions(bad)


def test_job_request_defaults_follow_hume():
    req = parse_job_request({})
    models = req.effective_models()
    assert models.prosody.effective_granularity == "utterance"
    assert models.language.effective_granularity == "word"
    assert models.language.sentiment is None and models.ner is not None
    assert req.transcription is None
    req = parse_job_request({"models": {"language": {"sentiment": {}}}, "transcription": {"language": "en-US"}})
    assert req.effective_models().prosody is None  # only what was asked for runs
    assert req.effective_models().language.sentiment == {}
    assert req.transcription.confidence_threshold == 0.5


@pytest.mark.parametrize("body, message", [
    ({"models": {"prosody": {"granularity": "paragraph"}}}, "models.prosody.granularity"),
    ({"models": {"prosody": {"window": {"length": 0.2}}}}, "at least 0.5"),
    ({"models": {"prosody": {"window": {"length": 2, "step": 0.1}}}}, "at least 0.5"),
    ({"models": {"prosody": {"granularity": "word", "window": {}}}}, "either granularity or window"),
    ({"models": {"language": {"granularity": "conversational_turn"}}}, "requires identify_speakers"),
    ({"transcription": {"confidence_threshold": 1.5}}, "confidence_threshold"),
    ({"transcription": {"language": "english please"}}, "BCP-47"),
    ({"text": ["x"] * 101}, "at most 100"),
    ({"urls": ["http://a"] * 101}, "at most 100"),
    ([], "JSON object"),
])
def test_job_request_rules_give_clear_errors(body, message):
    with pytest.raises(ConfigError, match=message):
        parse_job_request(body)


def test_conversational_turn_with_speakers_is_fine():
    req = parse_job_request({"models": {"prosody": {"granularity": "conversational_turn"}},
                             "transcription": {"identify_speakers": True}})
    assert req.speakers_for("prosody")


def test_job_details_states_round_trip():
    for state in ({"status": "QUEUED", "created_timestamp_ms": 1},
                  {"status": "IN_PROGRESS", "created_timestamp_ms": 1, "started_timestamp_ms": 2},
                  {"status": "COMPLETED", "created_timestamp_ms": 1, "started_timestamp_ms": 2,
                   "ended_timestamp_ms": 3, "num_predictions": 4, "num_errors": 0},
                  {"status": "FAILED", "created_timestamp_ms": 1, "started_timestamp_ms": 2,
                   "ended_timestamp_ms": 3, "message": "boom"}):
        body = {"type": "INFERENCE", "job_id": "j", "request": {"files": [], "text": ["a"]}, "state": state}
        assert JobDetails.model_validate(body).to_json_dict() == body


def test_list_query_and_stream_shapes():
    q = parse_job_list_query({"limit": 5, "status": ["COMPLETED"], "direction": "asc"})
    assert q.sort_by == "created" and q.limit == 5
    with pytest.raises(ConfigError, match="timestamp_ms"):
        parse_job_list_query({"when": "created_before"})
    with pytest.raises(ConfigError, match="sort_by"):
        parse_job_list_query({"sort_by": "size"})
    p = parse_stream_payload({"data": "hello", "raw_text": True, "models": {"language": {"granularity": "passage"}},
                              "payload_id": "p1"})
    assert p.models.language.granularity == "passage"
    with pytest.raises(ConfigError, match="stream_window_ms"):
        parse_stream_payload({"stream_window_ms": 100})
    resp = {"payload_id": "p1", "language": {"predictions": [{"text": "hi", "position": {"begin": 0, "end": 2},
                                                                "emotions": [{"name": "Joy", "score": 0.5}]}]}}
    assert StreamResponse.model_validate(resp).to_json_dict() == resp
    err = {"error": "too long", "code": "E0203", "payload_id": "p1"}
    assert StreamError.model_validate(err).to_json_dict() == err
