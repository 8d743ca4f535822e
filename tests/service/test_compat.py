"""Compatibility: drive the service the way a Hume client would, with plain httpx and only the shapes written in
Hume's documented format (no emolens code on the client side)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

pytestmark = pytest.mark.timeout(300)

HEADERS = {"X-Hume-Api-Key": "any-key-is-ignored-when-none-is-configured"}


def _poll(c: httpx.Client, job_id: str) -> dict:
    for _ in range(900):
        d = c.get(f"/v0/batch/jobs/{job_id}").json()
        if d["state"]["status"] in ("COMPLETED", "FAILED"):
            return d
        time.sleep(0.2)
    raise AssertionError("job did not finish")


def _check_scores(items, names=None):
    assert isinstance(items, list) and items
    for s in items:
        assert set(s) == {"name", "score"} and isinstance(s["name"], str) and isinstance(s["score"], float)
    if names is not None:
        assert len(items) == names


def test_sdk_style_flow(service, speech_wav):
    with httpx.Client(base_url=service.url, headers=HEADERS, timeout=60) as c:
        # Hume's Python SDK: multipart, `file` parts, the json config as a *file* part
        cfg = {"models": {"prosody": {"granularity": "utterance"}, "language": {"sentiment": {}, "toxicity": {}},
                          "ner": {}}, "transcription": {"language": "en", "model": "tiny.en"}}
        files = [("file", (speech_wav.name, speech_wav.read_bytes(), "audio/wav")),
                 ("json", ("blob", json.dumps(cfg).encode(), "application/json"))]
        r = c.post("/v0/batch/jobs", files=files)
        assert r.status_code == 200 and set(r.json()) == {"job_id"}
        job_id = r.json()["job_id"]

        d = _poll(c, job_id)
        assert {"type", "job_id", "request", "state"} <= set(d)
        assert d["type"] == "INFERENCE"
        st = d["state"]
        assert st["status"] == "COMPLETED", st
        assert {"created_timestamp_ms", "started_timestamp_ms", "ended_timestamp_ms", "num_predictions",
                "num_errors"} <= set(st)
        assert all(type(st[k]) is int for k in st if k != "status")
        assert [set(f) for f in d["request"]["files"]] == [{"filename", "content_type", "md5sum"}]
        assert d["request"]["models"]["prosody"] == {"granularity": "utterance"}

        preds = c.get(f"/v0/batch/jobs/{job_id}/predictions").json()
        assert isinstance(preds, list) and len(preds) == 1
        src = preds[0]
        assert set(src) == {"source", "results", "error"} and src["error"] is None
        assert src["source"]["type"] == "file" and {"filename", "content_type", "md5sum"} <= set(src["source"])
        assert set(src["results"]) == {"predictions", "errors"}
        p = src["results"]["predictions"][0]
        assert p["file"] == speech_wav.name and p["file_type"] == "audio"
        models = p["models"]
        assert {"prosody", "language", "ner"} <= set(models)
        for name in ("prosody", "language", "ner"):
            assert set(models[name]) >= {"metadata", "grouped_predictions"}
            for g in models[name]["grouped_predictions"]:
                assert set(g) == {"id", "predictions"} and g["id"] == "unknown"
        pro = models["prosody"]["grouped_predictions"][0]["predictions"][0]
        assert {"text", "time", "confidence", "speaker_confidence", "emotions"} <= set(pro)
        assert set(pro["time"]) == {"begin", "end"}
        _check_scores(pro["emotions"], 48)
        lang = models["language"]["grouped_predictions"][0]["predictions"][0]
        assert {"text", "position", "time", "confidence", "speaker_confidence", "emotions", "sentiment",
                "toxicity"} <= set(lang)
        assert set(lang["position"]) == {"begin", "end"} and isinstance(lang["position"]["begin"], int)
        _check_scores(lang["emotions"], 53)
        assert sorted(s["name"] for s in lang["sentiment"]) == [str(i) for i in range(1, 10)]
        assert abs(sum(s["score"] for s in lang["sentiment"]) - 1) < 1e-3
        assert {s["name"] for s in lang["toxicity"]} == {"toxic", "severe_toxic", "obscene", "threat", "insult",
                                                          "identity_hate"}

        listed = c.get("/v0/batch/jobs", params={"limit": 10, "status": "COMPLETED", "sort_by": "created",
                                                   "direction": "desc"}).json()
        assert job_id in [j["job_id"] for j in listed]


def test_raw_text_job_shapes(service):
    with httpx.Client(base_url=service.url, headers=HEADERS, timeout=60) as c:
        r = c.post("/v0/batch/jobs", json={"text": ["Wow. I did not expect that at all!"],
                                           "models": {"language": {"granularity": "word"}}})
        d = _poll(c, r.json()["job_id"])
        assert d["request"]["files"] == [] and d["request"]["text"]
        preds = c.get(f"/v0/batch/jobs/{d['job_id']}/predictions").json()
        src = preds[0]
        assert src["source"] == {"type": "text"}
        p = src["results"]["predictions"][0]
        assert p["file"] == "0" and p["file_type"] == "text"
        words = p["models"]["language"]["grouped_predictions"][0]["predictions"]
        text = "Wow. I did not expect that at all!"
        for w in words:
            assert text[w["position"]["begin"]:w["position"]["end"]] == w["text"]
            assert w["time"] is None and w["confidence"] is None and w["speaker_confidence"] is None
            assert w["sentiment"] is None and w["toxicity"] is None
