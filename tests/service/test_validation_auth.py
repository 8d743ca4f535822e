"""Bad inputs -> clear 4xx answers; limits; authentication. Runs against the HTTP layer (no workers) and a
service with an API key."""

from __future__ import annotations

import json

import httpx
import pytest
from svc_helpers import ServerProcess

pytestmark = pytest.mark.timeout(120)


def _post(url: str, **kw) -> httpx.Response:
    return httpx.post(url + "/v0/batch/jobs", timeout=30, **kw)


@pytest.mark.parametrize(
    "body, words",
    [
        ({}, ["nothing to measure"]),
        ({"text": [""]}, ["text[0]", "empty"]),
        ({"text": ["x"] * 101}, ["text", "at most 100"]),
        ({"urls": ["http://example.com/a.wav"] * 101}, ["urls", "at most 100"]),
        ({"text": ["hi"], "models": {"language": {"granularity": "paragraph"}}}, ["granularity"]),
        ({"text": ["hi"], "models": {"prosody": {"granularity": "conversational_turn"}}}, ["identify_speakers"]),
        ({"text": ["hi"], "models": {"prosody": {"window": {"length": 0.2, "step": 1}}}}, ["length", "0.5"]),
        ({"text": ["hi"], "models": {"face": {}}}, ["face", "not supported"]),
        ({"text": ["hi"], "models": {"smell": {}}}, ["unknown model", "smell"]),
        ({"text": ["hi"], "transcription": {"language": "english!"}}, ["BCP-47"]),
        ({"text": ["hi"], "transcription": {"confidence_threshold": 2}}, ["confidence_threshold"]),
        ({"text": ["hi"], "transcription": {"model": "large-v3"}}, ["transcription.model", "tiny.en"]),
        ({"text": ["hi"], "transcription": {"min_speakers": 3, "max_speakers": 2}}, ["min_speakers", "max_speakers"]),
        ({"text": ["hi"], "transcription": {"num_speakers": 0}}, ["num_speakers", "at least 1"]),
        ({"text": ["hi"], "transcription": {"max_speakers": -2}}, ["max_speakers", "at least 1"]),
        ({"urls": ["file:///etc/passwd"]}, ["http://", "https://"]),
        ({"urls": ["ftp://example.com/a.wav"]}, ["http://"]),
        ({"urls": ["http://127.0.0.1:1/a.wav"]}, ["private"]),
        ({"urls": ["http://localhost/a.wav"]}, ["this machine"]),
        ({"urls": ["http://10.1.2.3/a.wav"]}, ["private"]),
        ({"urls": ["http://[::1]/a.wav"]}, ["private"]),
        ({"urls": ["http://169.254.169.254/latest/meta-data"]}, ["private"]),
        ({"urls": ["http://user:pw@example.com/a.wav"]}, ["credentials"]),
        ({"text": ["hi"], "callback_url": "http://192.168.1.1/hook"}, ["callback_url", "private"]),
        ([1, 2], ["JSON object"]),
    ],
)
def test_bad_requests_are_400_with_a_reason(http_only, body, words):
    r = _post(http_only.url, json=body)
    assert r.status_code == 400, r.text
    message = r.json()["message"]
    for w in words:
        assert w.lower() in message.lower(), message


def test_not_json_body(http_only):
    r = _post(http_only.url, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["message"]


def test_bad_json_part_in_multipart(http_only):
    r = _post(http_only.url, files=[("file", ("a.txt", b"hello", "text/plain"))], data={"json": "{oops"})
    assert r.status_code == 400 and "'json' part" in r.json()["message"]


def test_file_over_limit_is_413(http_only):
    r = _post(http_only.url, files=[("file", ("big.wav", b"\0" * 5000, "audio/wav"))], data={"json": "{}"})
    assert r.status_code == 413, r.text
    assert "big.wav" in r.json()["message"] and "4.9 KiB; at most 4 KiB" in r.json()["message"]
    assert "file_bytes" in r.json()["message"]


def test_too_many_files(http_only):
    files = [("file", (f"f{i}.txt", b"hi", "text/plain")) for i in range(101)]
    r = _post(http_only.url, files=files, data={"json": "{}"})
    assert r.status_code == 400 and "too many files" in r.json()["message"]


def test_empty_file_is_400(http_only):
    r = _post(http_only.url, files=[("file", ("empty.wav", b"", "audio/wav"))])
    assert r.status_code == 400 and "empty" in r.json()["message"]


def test_unknown_job_404_and_predictions_before_completion_400(http_only):
    assert httpx.get(http_only.url + "/v0/batch/jobs/nope").status_code == 404
    assert httpx.get(http_only.url + "/v0/batch/jobs/nope/predictions").status_code == 404
    job_id = _post(http_only.url, json={"text": ["queued forever: no workers here"]}).json()["job_id"]
    d = httpx.get(f"{http_only.url}/v0/batch/jobs/{job_id}").json()
    assert d["state"] == {"status": "QUEUED", "created_timestamp_ms": d["state"]["created_timestamp_ms"]}
    for what in ("predictions", "artifacts"):
        r = httpx.get(f"{http_only.url}/v0/batch/jobs/{job_id}/{what}")
        assert r.status_code == 400
        assert "QUEUED" in r.json()["message"] and "COMPLETED" in r.json()["message"]


@pytest.mark.parametrize("params, word", [
    ({"limit": 0}, "limit"), ({"limit": "x"}, "limit"), ({"status": "DONE"}, "status"),
    ({"when": "created_before"}, "timestamp_ms"), ({"sort_by": "name"}, "sort_by"), ({"direction": "up"}, "direction"),
])
def test_bad_list_queries(http_only, params, word):
    r = httpx.get(http_only.url + "/v0/batch/jobs", params=params)
    assert r.status_code == 400 and word in r.json()["message"], r.text


def test_unknown_route_is_json_404(http_only):
    r = httpx.get(http_only.url + "/v0/nothing")
    assert r.status_code == 404 and "message" in r.json()


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    srv = ServerProcess(tmp_path_factory.mktemp("keyed"), api_key="s3cret").start()
    yield srv
    srv.stop()


def test_api_key_required(keyed):
    url = keyed.url + "/v0/batch/jobs"
    for headers in ({}, {"X-Hume-Api-Key": "wrong"}):
        r = httpx.get(url, headers=headers)
        assert r.status_code == 401 and "X-Hume-Api-Key" in r.json()["message"]
        assert httpx.post(url, json={"text": ["hi"]}, headers=headers).status_code == 401
        assert httpx.get(url + "/anything", headers=headers).status_code == 401
    assert httpx.get(url, headers={"X-Hume-Api-Key": "s3cret"}).status_code == 200
    assert httpx.get(keyed.url + "/health").json() == {"status": "ok"}  # nothing more without the key
    health = httpx.get(keyed.url + "/health", headers={"X-Hume-Api-Key": "s3cret"}).json()
    assert health["status"] == "ok" and health["auth_required"] is True and health["workers"]["alive"] == 1


def test_websocket_requires_api_key(keyed):
    from emolens.client import Client
    from emolens.errors import APIError

    with pytest.raises(APIError) as e:
        Client(keyed.url).stream()
    assert e.value.status == 401 and "X-Hume-Api-Key" in e.value.message
    with pytest.raises(APIError):
        Client(keyed.url, api_key="wrong").stream()
    import websockets.sync.client as wsc

    ws_url = keyed.url.replace("http", "ws") + "/v0/stream/models"
    with wsc.connect(ws_url + "?api_key=s3cret") as ws:  # query parameter works too
        ws.send(json.dumps({"data": "x", "raw_text": True}))
        assert json.loads(ws.recv(timeout=10))["code"] == "E0102"  # authenticated; no models configured
    with Client(keyed.url, api_key="s3cret").stream() as s:
        assert s.send({"reset_stream": True, "payload_id": "p"}) == {"payload_id": "p"}
        assert s.reset() == {}
    log = keyed.log.read_text()  # the access log names the query string, with the key scrubbed
    assert "/v0/stream/models?api_key=***" in log and "s3cret" not in log


def test_media_over_one_hour_is_refused_at_submission(service, tmp_path):
    """Hume's 1-hour limit: read from the container header when the file arrives, before any job is queued."""
    import numpy as np
    import soundfile as sf

    long_flac = tmp_path / "long.flac"  # 61 minutes of silence: ~90 kB as FLAC
    sf.write(long_flac, np.zeros(8000 * 3660, dtype=np.int16), 8000, format="FLAC")
    r = _post(service.url, files=[("file", ("long.flac", long_flac.read_bytes(), "audio/flac"))],
              data={"json": '{"models": {"prosody": {}}}'})
    assert r.status_code == 400, r.text
    assert "long.flac" in r.json()["message"] and "61.0 minutes" in r.json()["message"]
