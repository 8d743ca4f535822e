"""emolens.client against httpx.MockTransport: requests it sends, answers it parses, errors it raises."""

from __future__ import annotations

import json

import httpx
import pytest

from emolens.client import Client
from emolens.errors import APIError
from emolens.schema import JobRequest

JOB = {"type": "INFERENCE", "job_id": "j1", "request": {"text": ["hi"], "files": []},
       "state": {"status": "QUEUED", "created_timestamp_ms": 1}}
PREDS = [{"source": {"type": "text"}, "results": {"predictions": [{"file": "0", "file_type": "text", "models": {
    "language": {"metadata": None, "grouped_predictions": [{"id": "unknown", "predictions": [
        {"text": "hi", "position": {"begin": 0, "end": 2}, "time": None, "emotions": [{"name": "Joy", "score": 0.5}],
         "sentiment": None, "toxicity": None, "extra_field": 1}]}]}}}], "errors": []}, "error": None}]


def _client(handler, **kw) -> Client:
    return Client("http://svc.test", transport=httpx.MockTransport(handler), **kw)


def test_start_job_json_with_api_key():
    seen = {}

    def handler(req: httpx.Request) -> httpx.Response:
        seen["url"] = str(req.url)
        seen["key"] = req.headers.get("X-Hume-Api-Key")
        seen["body"] = json.loads(req.content)
        return httpx.Response(200, json={"job_id": "j1"})

    c = _client(handler, api_key="k")
    cfg = JobRequest.model_validate({"models": {"language": {"granularity": "sentence"}}})
    assert c.start_job(text=["hello"], urls=["https://x/a.wav"], config=cfg, callback_url="https://cb") == "j1"
    assert seen["url"] == "http://svc.test/v0/batch/jobs" and seen["key"] == "k"
    assert seen["body"] == {"models": {"language": {"granularity": "sentence"}}, "urls": ["https://x/a.wav"],
                            "text": ["hello"], "callback_url": "https://cb"}


def test_start_job_multipart(tmp_path):
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF....")
    seen = {}

    def handler(req: httpx.Request) -> httpx.Response:
        seen["ctype"] = req.headers["content-type"]
        seen["body"] = req.read()
        return httpx.Response(200, json={"job_id": "j2"})

    c = _client(handler)
    assert c.start_job(files=[audio, ("b.txt", b"text body", "text/plain")], config={"models": {"prosody": {}}}) == "j2"
    assert seen["ctype"].startswith("multipart/form-data")
    body = seen["body"]
    assert b'name="file"; filename="a.wav"' in body and b'filename="b.txt"' in body
    assert b'name="json"' in body and b'{"models": {"prosody": {}}}' in body
    with pytest.raises(APIError) as e:
        c.start_job(files=[tmp_path / "missing.wav"])
    assert e.value.status == 0 and "missing.wav" in e.value.message


@pytest.mark.parametrize("status, body, message", [
    (400, {"message": "invalid job request: models.language.granularity: bad", "code": "ConfigError"},
     "invalid job request"),
    (422, {"detail": [{"msg": "field required"}]}, "field required"),
    (401, {"fault": {"faultstring": "Invalid ApiKey", "detail": {"errorcode": "oauth.v2.InvalidApiKey"}}},
     "Invalid ApiKey"),
    (404, {"detail": "Not Found"}, "Not Found"),
    (500, "plain text failure", "plain text failure"),
])
def test_error_answers_become_api_errors(status, body, message):
    def handler(req: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    with pytest.raises(APIError) as e:
        _client(handler).get_job("j1")
    assert e.value.status == status and message in e.value.message
    assert str(e.value).startswith(f"HTTP {status}")


def test_connection_failure_is_status_0():
    def handler(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(APIError) as e:
        _client(handler).health()
    assert e.value.status == 0 and e.value.message.startswith("cannot reach http://svc.test")


def test_bad_base_url():
    with pytest.raises(APIError) as e:
        Client("svc.test:8000")
    assert "http://" in e.value.message


def test_list_jobs_sends_hume_filters():
    seen = {}

    def handler(req: httpx.Request) -> httpx.Response:
        seen["params"] = req.url.params.multi_items()
        return httpx.Response(200, json=[JOB])

    jobs = _client(handler).list_jobs(limit=5, status=["QUEUED", "FAILED"], when="created_after", timestamp_ms=7,
                                      direction="asc")
    assert jobs[0].job_id == "j1" and jobs[0].state.status == "QUEUED"
    assert ("status", "QUEUED") in seen["params"] and ("status", "FAILED") in seen["params"]
    assert ("limit", "5") in seen["params"] and ("when", "created_after") in seen["params"]
    assert ("timestamp_ms", "7") in seen["params"] and ("direction", "asc") in seen["params"]


def test_wait_reports_progress_until_completed():
    states = [
        {"status": "QUEUED", "created_timestamp_ms": 1},
        {"status": "IN_PROGRESS", "created_timestamp_ms": 1, "started_timestamp_ms": 2},
        {"status": "COMPLETED", "created_timestamp_ms": 1, "started_timestamp_ms": 2, "ended_timestamp_ms": 3,
         "num_predictions": 1, "num_errors": 0},
    ]
    calls = iter(states)

    def handler(req: httpx.Request) -> httpx.Response:
        st = next(calls)
        body = {**JOB, "state": st}
        if st["status"] == "IN_PROGRESS":
            body["progress"] = {"fraction": 0.5, "message": "a.wav: transcribing"}
        return httpx.Response(200, json=body)

    seen = []
    d = _client(handler).wait("j1", poll_s=0, progress=lambda f, m: seen.append((f, m)))
    assert d.state.status == "COMPLETED"
    assert seen == [(0.0, "QUEUED"), (0.5, "IN_PROGRESS: a.wav: transcribing"), (1.0, "COMPLETED")]


def test_wait_timeout():
    c = _client(lambda req: httpx.Response(200, json=JOB))
    with pytest.raises(APIError) as e:
        c.wait("j1", timeout=0.05, poll_s=0.01)
    assert e.value.code == "timeout" and "QUEUED" in e.value.message


def test_predictions_parsed_and_raw_kept():
    c = _client(lambda req: httpx.Response(200, json=PREDS))
    parsed = c.predictions("j1")
    pred = parsed[0].results.predictions[0].models.language.grouped_predictions[0].predictions[0]
    assert pred.text == "hi" and pred.model_extra == {"extra_field": 1}
    assert c.predictions_json("j1") == PREDS


def test_predictions_in_wrong_shape():
    c = _client(lambda req: httpx.Response(200, json=[{"results": 5}]))
    with pytest.raises(APIError) as e:
        c.predictions("j1")
    assert "Hume's format" in e.value.message


def test_artifacts_bytes_and_stream_url():
    c = _client(lambda req: httpx.Response(200, content=b"PK\x03\x04zip"))
    assert c.artifacts("j1") == b"PK\x03\x04zip"
    assert c.stream_url() == "ws://svc.test/v0/stream/models"
    assert Client("https://h.example/").stream_url() == "wss://h.example/v0/stream/models"
