"""Every batch endpoint against a real service on loopback: JSON and multipart, URLs, callbacks, artifacts."""

from __future__ import annotations

import io
import json
import zipfile

import httpx
import pytest
from svc_helpers import wait_job

from emolens.emotions import LANGUAGE_EMOTIONS
from emolens.schema import JobDetails, parse_predictions

pytestmark = pytest.mark.timeout(300)


def _post(url: str, **kw) -> httpx.Response:
    return httpx.post(url + "/v0/batch/jobs", timeout=30, **kw)


@pytest.fixture(scope="module")
def text_job(service):
    body = {"models": {"language": {"granularity": "sentence", "sentiment": {}, "toxicity": {}}, "ner": {}},
            "text": ["I love this so much. Paris was wonderful!", "This is awful and I hate it."]}
    r = _post(service.url, json=body)
    assert r.status_code == 200, r.text
    job_id = r.json()["job_id"]
    return job_id, wait_job(service.url, job_id)


def test_text_job_completes_with_hume_shapes(service, text_job):
    job_id, details = text_job
    assert details["state"]["status"] == "COMPLETED", details
    JobDetails.model_validate(details)
    state = details["state"]
    for key in ("created_timestamp_ms", "started_timestamp_ms", "ended_timestamp_ms", "num_predictions",
                "num_errors"):
        assert isinstance(state[key], int), key
    assert state["created_timestamp_ms"] <= state["started_timestamp_ms"] <= state["ended_timestamp_ms"]
    assert details["request"]["files"] == []
    assert details["type"] == "INFERENCE" and details["job_id"] == job_id

    preds = httpx.get(f"{service.url}/v0/batch/jobs/{job_id}/predictions", timeout=30).json()
    assert len(preds) == 2 and all(p["source"] == {"type": "text"} for p in preds)
    parsed = parse_predictions(preds)
    lang = parsed[0].results.predictions[0].models.language.grouped_predictions[0].predictions
    assert len(lang) == 2  # two sentences
    assert {s.name for s in lang[0].emotions} == set(LANGUAGE_EMOTIONS)
    assert lang[0].sentiment is not None and lang[0].toxicity is not None
    # real scores: the loving sentence is more positive than the hateful one
    def joy(src):
        p = src.results.predictions[0].models.language.grouped_predictions[0].predictions[0]
        return {s.name: s.score for s in p.emotions}
    assert joy(parsed[0])["Love"] > joy(parsed[1])["Love"]
    assert state["num_predictions"] == 2 and state["num_errors"] == 0


def test_completed_job_is_a_measured_result_in_the_store(service, text_job):
    from emolens.store import Store

    job_id, details = text_job
    store = Store(service.data_dir)
    rid = store.find_result_by_job(job_id)
    assert rid is not None
    row = store.get_result(rid)
    assert row.origin == "measured" and row.job_id == job_id
    assert row.config["text"][0].startswith("I love this")


def test_artifacts_zip(service, text_job):
    from emolens.archive import load_archive

    job_id, _ = text_job
    r = httpx.get(f"{service.url}/v0/batch/jobs/{job_id}/artifacts", timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert "sources.csv" in names and "language.csv" in names, names
    # the CSVs read back to exactly the job's predictions
    preds = httpx.get(f"{service.url}/v0/batch/jobs/{job_id}/predictions", timeout=30).json()
    assert load_archive(r.content, "artifacts.zip").predictions == preds


def test_multipart_audio_job_with_json_form_field(service, speech_wav):
    cfg = {"models": {"prosody": {"granularity": "utterance"}, "language": {"granularity": "word"}},
           "transcription": {"language": "en", "model": "tiny.en"}}
    with speech_wav.open("rb") as f:
        r = _post(service.url, files=[("file", (speech_wav.name, f, "audio/wav"))], data={"json": json.dumps(cfg)})
    assert r.status_code == 200, r.text
    d = wait_job(service.url, r.json()["job_id"])
    assert d["state"]["status"] == "COMPLETED", d
    f0 = d["request"]["files"][0]
    assert f0["filename"] == speech_wav.name and len(f0["md5sum"]) == 32 and "sha256" not in f0
    assert d["request"]["transcription"]["model"] == "tiny.en"  # extra fields survive
    preds = httpx.get(f"{service.url}/v0/batch/jobs/{d['job_id']}/predictions", timeout=30).json()
    src = preds[0]
    assert src["source"]["type"] == "file" and src["source"]["filename"] == speech_wav.name
    p = src["results"]["predictions"][0]
    assert p["file"] == speech_wav.name
    prosody = p["models"]["prosody"]["grouped_predictions"][0]["predictions"]
    assert prosody and prosody[0]["time"]["end"] > prosody[0]["time"]["begin"]
    words = p["models"]["language"]["grouped_predictions"][0]["predictions"]
    assert len(words) >= 3  # a real transcript of real speech


def test_multipart_json_as_file_part_like_hume_sdk(service):
    """Hume's Python SDK sends the json part as a file part with a filename."""
    cfg = {"models": {"language": {}}}
    files = [("json", ("json", json.dumps(cfg).encode(), "application/json")),
             ("file", ("note.txt", b"What a lovely surprise, thank you!", "text/plain"))]
    r = _post(service.url, files=files)
    assert r.status_code == 200, r.text
    d = wait_job(service.url, r.json()["job_id"])
    assert d["state"]["status"] == "COMPLETED", d
    assert d["request"]["models"] == {"language": {}}
    preds = httpx.get(f"{service.url}/v0/batch/jobs/{d['job_id']}/predictions", timeout=30).json()
    p = preds[0]["results"]["predictions"][0]
    assert p["file"] == "note.txt" and p["file_type"] == "text"
    assert "language" in p["models"]


def test_url_inputs_and_per_source_errors(service, file_server):
    body = {"models": {"language": {}}, "urls": [file_server.url + "/hello.txt", file_server.url + "/missing.txt",
                                                 file_server.url + "/redirect-loop"]}
    r = _post(service.url, json=body)
    assert r.status_code == 200, r.text
    d = wait_job(service.url, r.json()["job_id"])
    assert d["state"]["status"] == "COMPLETED", d
    assert d["state"]["num_errors"] == 2 and d["state"]["num_predictions"] == 1
    preds = httpx.get(f"{service.url}/v0/batch/jobs/{d['job_id']}/predictions", timeout=30).json()
    assert preds[0]["source"] == {"type": "url", "url": body["urls"][0]}
    assert preds[0]["results"]["predictions"][0]["file"] == "hello.txt"
    assert preds[1]["results"] is None and "404" in preds[1]["error"]
    assert "redirect" in preds[2]["error"]


def test_callback_receives_job_end(service, file_server):
    file_server.received.clear()
    body = {"text": ["Short and sweet."], "models": {"language": {}},
            "callback_url": file_server.url + "/hook"}
    job_id = _post(service.url, json=body).json()["job_id"]
    wait_job(service.url, job_id)
    import time

    for _ in range(50):
        if file_server.received:
            break
        time.sleep(0.1)
    assert file_server.received, "callback not delivered"
    hook = file_server.received[-1]
    assert hook["path"] == "/hook"
    assert hook["body"]["job_id"] == job_id and hook["body"]["status"] == "COMPLETED"
    assert hook["body"]["predictions"][0]["source"] == {"type": "text"}


def test_list_jobs_filters_and_sorting(service, text_job):
    url = service.url + "/v0/batch/jobs"
    all_jobs = httpx.get(url, params={"limit": 100}).json()
    assert len(all_jobs) >= 1
    created = [j["state"]["created_timestamp_ms"] for j in all_jobs]
    assert created == sorted(created, reverse=True)
    asc = httpx.get(url, params={"limit": 100, "direction": "asc"}).json()
    assert [j["job_id"] for j in asc] == [j["job_id"] for j in reversed(all_jobs)]
    assert len(httpx.get(url, params={"limit": 1}).json()) == 1
    done = httpx.get(url, params=[("status", "COMPLETED"), ("limit", 100)]).json()
    assert done and all(j["state"]["status"] == "COMPLETED" for j in done)
    none = httpx.get(url, params={"status": "QUEUED,IN_PROGRESS", "when": "created_after",
                                  "timestamp_ms": 2 ** 50}).json()
    assert none == []
    before = httpx.get(url, params={"when": "created_before", "timestamp_ms": created[0] + 1, "limit": 100}).json()
    assert text_job[0] in [j["job_id"] for j in before]
    by_ended = httpx.get(url, params={"sort_by": "ended", "status": "COMPLETED", "limit": 100}).json()
    ended = [j["state"]["ended_timestamp_ms"] for j in by_ended]
    assert ended == sorted(ended, reverse=True)
