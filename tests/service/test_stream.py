"""Websocket /v0/stream/models: Hume's payload, response, error and warning shapes, limits and idle timeout."""

from __future__ import annotations

import base64
import io
import json
import time

import numpy as np
import pytest
import soundfile as sf
import websockets.sync.client as wsc
from websockets.exceptions import ConnectionClosed

from emolens.client import Client
from emolens.emotions import LANGUAGE_EMOTIONS, PROSODY_EMOTIONS
from emolens.engine.audio import audio_chunks
from emolens.errors import APIError

pytestmark = pytest.mark.timeout(300)


def _ws(service):
    return wsc.connect(service.url.replace("http", "ws") + "/v0/stream/models", max_size=2**24)


def _ask(ws, payload) -> dict:
    ws.send(json.dumps(payload))
    return json.loads(ws.recv(timeout=120))


def _wav(seconds: float, tone: bool = False) -> bytes:
    t = np.arange(int(seconds * 16000)) / 16000
    x = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32) if tone else np.zeros_like(t, dtype=np.float32)
    buf = io.BytesIO()
    sf.write(buf, x, 16000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_text_payload_language_and_ner(service):
    with _ws(service) as ws:
        r = _ask(ws, {"data": "I am so grateful for my friends in London. Thank you!", "raw_text": True,
                      "models": {"language": {"granularity": "sentence", "sentiment": {}}, "ner": {}},
                      "payload_id": "p-1", "job_details": True})
    assert r["payload_id"] == "p-1" and isinstance(r["job_details"]["job_id"], str)
    preds = r["language"]["predictions"]
    assert len(preds) == 2
    assert set(preds[0]) >= {"text", "position", "emotions", "sentiment"}
    assert "time" not in preds[0] and "toxicity" not in preds[0]
    assert {e["name"] for e in preds[0]["emotions"]} == set(LANGUAGE_EMOTIONS)
    assert any(p["entity"] == "London" for p in r["ner"]["predictions"])


def test_passage_granularity_gives_one_prediction(service):
    text = "First sentence here. Second one is sad. Third is happy!"
    with Client(service.url).stream() as s:
        reply = s.send_text(text, {"language": {"granularity": "passage"}})
        parts = s.send_text(text, {"language": {"granularity": "sentence"}}).language.predictions
    preds = reply.language.predictions
    assert len(preds) == 1 and preds[0].position.begin == 0 and preds[0].position.end == len(text)
    assert preds[0].text == text and len(parts) == 3
    # one passage score per emotion, between the lowest and highest score of the sentences it spans
    for e in preds[0].emotions:
        per = [next(x.score for x in p.emotions if x.name == e.name) for p in parts]
        assert min(per) - 1e-6 <= e.score <= max(per) + 1e-6, e.name


def test_audio_payload_prosody_and_context_window(service, speech_wav):
    chunks = audio_chunks(speech_wav, 5.0)
    assert len(chunks) == 1
    with Client(service.url).stream() as s:
        first = s.send_audio(chunks[0][1], {"prosody": {}}, payload_id="a", stream_window_ms=5000)
        second = s.send_audio(chunks[0][1], None, payload_id="b")  # models carry over
        reset = s.send_audio(chunks[0][1], None, payload_id="c", reset_stream=True)
    for reply in (first, second, reset):
        preds = reply.prosody.predictions
        assert len(preds) == 1
        assert {e.name for e in preds[0].emotions} == set(PROSODY_EMOTIONS)
        assert preds[0].time.begin == 0.0 and 2.5 < preds[0].time.end <= 3.1

    def score(r):
        return np.array([e.score for e in sorted(r.prosody.predictions[0].emotions, key=lambda e: e.name)])

    # the second payload was measured with the first as context; after a reset it is measured alone again
    assert np.allclose(score(first), score(reset), atol=1e-4)
    assert not np.allclose(score(first), score(second), atol=1e-4)


def test_audio_payload_bursts(service):
    from pathlib import Path

    clip = (Path(__file__).parents[1] / "data" / "bursts" / "000010-02-1.opus").read_bytes()  # an EmoGator laugh
    with _ws(service) as ws:
        r = _ask(ws, {"data": base64.b64encode(clip).decode(), "models": {"burst": {}}, "payload_id": "laugh"})
        text = _ask(ws, {"data": "haha", "raw_text": True, "models": {"burst": {}, "language": {}}})
    preds = r["burst"]["predictions"]
    assert r["payload_id"] == "laugh" and len(preds) == 1
    assert set(preds[0]) == {"time", "emotions", "descriptions"} and preds[0]["descriptions"] == []
    assert 0.0 <= preds[0]["time"]["begin"] < preds[0]["time"]["end"] <= 1.93
    assert [e["name"] for e in preds[0]["emotions"]] == list(PROSODY_EMOTIONS)
    assert text["burst"]["code"] == "W0107" and text["language"]["predictions"]


def test_silence_gives_hume_warning(service):
    with _ws(service) as ws:
        r = _ask(ws, {"data": base64.b64encode(_wav(1.0)).decode(), "models": {"prosody": {}}, "payload_id": "s"})
    assert r["payload_id"] == "s"
    assert r["prosody"]["warning"] == "No speech detected." and r["prosody"]["code"] == "W0105"
    assert r["prosody"]["predictions"] == []


@pytest.mark.parametrize("payload, code, words", [
    ({"data": "x" * 10_001, "raw_text": True, "models": {"language": {}}}, "E0202", "10,000"),
    ({"data": base64.b64encode(_wav(6.0, tone=True)).decode(), "models": {"prosody": {}}}, "E0204", "5,000 ms"),
    ({"data": "%%%not base64", "models": {"prosody": {}}}, "E0201", "base64"),
    ({"data": base64.b64encode(b"not audio at all").decode(), "models": {"prosody": {}}}, "E0203", "decode"),
    ({"data": "hello", "raw_text": True}, "E0102", "models"),
    ({"raw_text": True, "models": {"language": {}}}, "E0103", "data"),
    ({"data": "hello", "raw_text": True, "models": {"face": {}}}, "E0104", "face"),
    ({"data": "hello", "raw_text": True, "models": {"language": {"granularity": "chapter"}}}, "E0101", "granularity"),
    ({"data": "hi", "raw_text": True, "stream_window_ms": 50, "models": {"language": {}}}, "E0101",
     "stream_window_ms"),
])
def test_errors_have_code_and_payload_id(service, payload, code, words):
    with _ws(service) as ws:
        r = _ask(ws, {**payload, "payload_id": "bad"})
        assert r["code"] == code and words in r["error"], r
        assert r["payload_id"] == "bad"
        # the connection stays usable after an error
        ok = _ask(ws, {"data": "Fine.", "raw_text": True, "models": {"language": {}}})
        assert "language" in ok


def test_not_json_and_client_errors(service):
    with _ws(service) as ws:
        ws.send("{nope")
        r = json.loads(ws.recv(timeout=30))
        assert r["code"] == "E0100" and "error" in r
    with Client(service.url).stream() as s:
        with pytest.raises(APIError) as e:
            s.send_text("x" * 10_001, {"language": {}})
        assert e.value.code == "E0202"
        w = s.send_text("Hello there", {"language": {}, "prosody": {}})
        assert w.prosody.model_extra["code"] == "W0107" and w.language.predictions


def test_idle_connection_is_closed(service):
    # the test service closes idle connections after 3 s (EMOLENS_STREAM_IDLE_TIMEOUT_S); Hume: 60 s
    with _ws(service) as ws:
        t0 = time.monotonic()
        with pytest.raises(ConnectionClosed) as e:
            ws.recv(timeout=20)
        assert 2.5 < time.monotonic() - t0 < 15
        assert e.value.rcvd is not None and e.value.rcvd.code == 1000 and "without a message" in e.value.rcvd.reason
