"""Hostile input against one real service on loopback (uvicorn in a thread, HTTP layer only: no workers).

Every case asserts the status (or websocket error code), words of the message, and that a result stored before
the case is byte-identical afterwards (its predictions as served, its row in the database). Counts of the kinds
of bad input tried here and in tests/unit/test_cli_errors.py are in the README section "Limits and guarantees".
"""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
from pathlib import Path

import httpx
import pytest

from emolens.schema import LIMITS
from tests import synth

pytestmark = pytest.mark.timeout(300)

KEY = "hostile-test-key"
H = {"X-Hume-Api-Key": KEY}
MAX_FILE = 64 * 1024


class Target:
    """The service under attack and the result that must survive it."""

    def __init__(self, svc, data_dir: Path, job_id: str, result_id: str) -> None:
        self.svc, self.url, self.data_dir = svc, svc.url, data_dir
        self.job_id, self.result_id = job_id, result_id
        self.before = self.snapshot()

    def snapshot(self) -> tuple[bytes, bytes, dict]:
        served = httpx.get(f"{self.url}/v0/batch/jobs/{self.job_id}/predictions", headers=H, timeout=30)
        assert served.status_code == 200, served.text
        with sqlite3.connect(self.data_dir / "emolens.sqlite3") as con:
            row = con.execute("SELECT predictions, summary, name FROM results WHERE id = ?", (self.result_id,))
            blob, summary, name = row.fetchone()
        details = httpx.get(f"{self.url}/v0/batch/jobs/{self.job_id}", headers=H, timeout=30).json()
        return served.content, blob + summary.encode() + name.encode(), details["state"]

    def assert_intact(self) -> None:
        assert self.snapshot() == self.before, "a stored result changed"


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    from emolens.service.config import ServiceConfig
    from emolens.service.embedded import EmbeddedService
    from emolens.store import Store

    d = tmp_path_factory.mktemp("hostile")
    store = Store(d)
    rid = store.add_result("kept", synth.word_level_result(40), origin="measured")
    job = store.create_job({"text": ["kept"], "files": []})
    store.claim_next_job()
    store.complete_job(job.job_id, rid, 1, 0)
    cfg = ServiceConfig(data_dir=d, api_key=KEY, max_file_bytes=MAX_FILE, idle_timeout_s=20.0)
    svc = EmbeddedService(cfg, start_workers=False).start()
    yield Target(svc, d, job.job_id, rid)
    svc.stop()


def _deep(n: int) -> str:
    return "[" * n + "]" * n


def _chunks(total: int, size: int = 1 << 20):
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


JOBS = "/v0/batch/jobs"
BIG_TEXT = "word " * 200_001  # 1,000,005 characters

# (id, method, path, request kwargs, status, words that must be in the message)
HTTP_CASES = [
    (
        "deep-json-10000",
        "POST",
        JOBS,
        {"content": _deep(10_000), "headers": {"content-type": "application/json"}},
        400,
        ["10,000 levels", "json_depth"],
    ),
    (
        "deep-json-33",
        "POST",
        JOBS,
        {
            "content": '{"text": ["x"], "models": {"prosody": ' + _deep(31) + "}}",
            "headers": {"content-type": "application/json"},
        },
        400,
        ["33 levels", "at most 32"],
    ),
    ("deep-json-in-strings-ok-but-empty", "POST", JOBS, {"json": {"text": ["[" * 5000]}, "status_only": True}, 200, []),
    (
        "deep-multipart-json",
        "POST",
        JOBS,
        {"files": [("file", ("a.txt", b"hi", "text/plain"))], "data": {"json": _deep(500)}},
        400,
        ["'json' part", "500 levels", "json_depth"],
    ),
    (
        "deep-multipart-json-file-part",
        "POST",
        JOBS,
        {
            "files": [
                ("file", ("a.txt", b"hi", "text/plain")),
                ("json", ("j.json", _deep(100).encode(), "application/json")),
            ]
        },
        400,
        ["100 levels"],
    ),
    (
        "json-body-over-limit",
        "POST",
        JOBS,
        {"content": b" " * (LIMITS["json_body_bytes"].value + 10), "headers": {"content-type": "application/json"}},
        413,
        ["json_body_bytes", "16 MiB"],
    ),
    (
        "chunked-json-body-over-limit",
        "POST",
        JOBS,
        {"content": "gen:17", "headers": {"content-type": "application/json"}},
        413,
        ["more than 16 MiB", "json_body_bytes"],
    ),
    (
        "text-plain-body",
        "POST",
        JOBS,
        {"content": b'{"text": ["hi"]}', "headers": {"content-type": "text/plain"}},
        415,
        ["text/plain", "application/json"],
    ),
    ("form-urlencoded-body", "POST", JOBS, {"data": {"text": "hi"}}, 415, ["x-www-form-urlencoded"]),
    ("no-content-type", "POST", JOBS, {"content": b'{"text": ["hi"]}'}, 415, ["(none)"]),
    (
        "xml-body",
        "POST",
        JOBS,
        {"content": b"<job/>", "headers": {"content-type": "application/xml"}},
        415,
        ["application/xml"],
    ),
    (
        "text-too-long",
        "POST",
        JOBS,
        {"json": {"text": [BIG_TEXT]}},
        400,
        ["text[0]", "1,000,005 characters", "at most 1,000,000", "text_chars"],
    ),
    (
        "texts-too-long-together",
        "POST",
        JOBS,
        {"json": {"text": ["y" * 900_000] * 3}},
        400,
        ["2,700,000", "text_total_chars"],
    ),
    ("too-many-texts", "POST", JOBS, {"json": {"text": ["x"] * 101}}, 400, ["text", "101", "at most 100"]),
    ("too-many-urls", "POST", JOBS, {"json": {"urls": ["https://example.com/a.wav"] * 101}}, 400, ["urls", "101"]),
    (
        "url-too-long",
        "POST",
        JOBS,
        {"json": {"urls": ["https://example.com/" + "a" * 9000]}},
        400,
        ["urls[0]", "url_chars"],
    ),
    (
        "callback-too-long",
        "POST",
        JOBS,
        {"json": {"text": ["hi"], "callback_url": "https://e.com/" + "b" * 9000}},
        400,
        ["callback_url", "url_chars"],
    ),
    (
        "filename-5000",
        "POST",
        JOBS,
        {"files": [("file", ("a" * 5000 + ".txt", b"hi", "text/plain"))]},
        400,
        ["file name", "255 characters", "filename_chars"],
    ),
    (
        "filename-300",
        "POST",
        JOBS,
        {"files": [("file", ("b" * 300 + ".txt", b"hi", "text/plain"))]},
        400,
        ["304 characters", "filename_chars"],
    ),
    (
        "file-over-limit",
        "POST",
        JOBS,
        {"files": [("file", ("big.wav", b"\0" * (MAX_FILE + 100), "audio/wav"))]},
        413,
        ["big.wav", "64.1 KiB", "at most 64 KiB", "file_bytes"],
    ),
    (
        "too-many-files",
        "POST",
        JOBS,
        {"files": [("file", (f"f{i}.txt", b"hi", "text/plain")) for i in range(101)]},
        400,
        ["too many files", "101", "limit files"],
    ),
    ("empty-file", "POST", JOBS, {"files": [("file", ("empty.wav", b"", "audio/wav"))]}, 400, ["empty"]),
    (
        "not-json",
        "POST",
        JOBS,
        {"content": b"{nope", "headers": {"content-type": "application/json"}},
        400,
        ["not valid JSON"],
    ),
    (
        "not-utf8",
        "POST",
        JOBS,
        {"content": b"\xff\xfe\xfa", "headers": {"content-type": "application/json"}},
        400,
        ["not valid JSON"],
    ),
    ("json-array", "POST", JOBS, {"json": [1, 2]}, 400, ["JSON object"]),
    ("json-string", "POST", JOBS, {"json": "text"}, 400, ["JSON object"]),
    (
        "json-nan",
        "POST",
        JOBS,
        {"content": b'{"text": NaN}', "headers": {"content-type": "application/json"}},
        400,
        ["text"],
    ),
    (
        "json-huge-number",
        "POST",
        JOBS,
        {"content": b'{"text": ["hi"], "notify": 1e999}', "headers": {"content-type": "application/json"}},
        400,
        ["notify"],
    ),
    ("text-not-strings", "POST", JOBS, {"json": {"text": [{"a": 1}]}}, 400, ["text.0"]),
    ("unknown-model", "POST", JOBS, {"json": {"text": ["hi"], "models": {"smell": {}}}}, 400, ["smell"]),
    ("face-model", "POST", JOBS, {"json": {"text": ["hi"], "models": {"face": {}}}}, 400, ["face", "not supported"]),
    (
        "bad-granularity",
        "POST",
        JOBS,
        {"json": {"text": ["hi"], "models": {"language": {"granularity": "page"}}}},
        400,
        ["granularity"],
    ),
    ("private-url", "POST", JOBS, {"json": {"urls": ["http://169.254.169.254/latest"]}}, 400, ["private"]),
    ("file-url", "POST", JOBS, {"json": {"urls": ["file:///etc/passwd"]}}, 400, ["http://"]),
    (
        "multipart-no-boundary",
        "POST",
        JOBS,
        {"content": b"xx", "headers": {"content-type": "multipart/form-data"}},
        400,
        ["multipart"],
    ),
    (
        "multipart-truncated",
        "POST",
        JOBS,
        {
            "content": b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhel',
            "headers": {"content-type": "multipart/form-data; boundary=b"},
        },
        400,
        ["nothing to measure"],
    ),
    (
        "timestamp-1e26",
        "GET",
        JOBS,
        {"params": {"when": "created_after", "timestamp_ms": "1" + "0" * 26}},
        400,
        ["timestamp_ms", "9007199254740991", "got"],
    ),
    (
        "timestamp-float-text",
        "GET",
        JOBS,
        {"params": {"when": "created_after", "timestamp_ms": "1e26"}},
        400,
        ["timestamp_ms", "integer"],
    ),
    (
        "timestamp-negative",
        "GET",
        JOBS,
        {"params": {"when": "created_after", "timestamp_ms": "-1"}},
        400,
        ["timestamp_ms", "got -1"],
    ),
    ("limit-huge", "GET", JOBS, {"params": {"limit": "100000"}}, 400, ["limit", "500", "got 100000"]),
    ("limit-zero", "GET", JOBS, {"params": {"limit": "0"}}, 400, ["limit", "got 0"]),
    ("status-bogus", "GET", JOBS, {"params": {"status": "DONE"}}, 400, ["status"]),
    ("sort-bogus", "GET", JOBS, {"params": {"sort_by": "name"}}, 400, ["sort_by"]),
    ("host-evil", "GET", JOBS, {"headers": {"host": "evil.example"}}, 400, ["evil.example", "EMOLENS_ALLOWED_HOSTS"]),
    (
        "host-rebinding-name",
        "GET",
        "/health",
        {"headers": {"host": "127.0.0.1.evil.example:8000"}},
        400,
        ["not allowed"],
    ),
    (
        "origin-cross-site-post",
        "POST",
        JOBS,
        {"json": {"text": ["hi"]}, "headers": {"origin": "http://evil.example"}},
        403,
        ["evil.example", "cross-site"],
    ),
    ("origin-null", "POST", JOBS, {"json": {"text": ["hi"]}, "headers": {"origin": "null"}}, 403, ["cross-site"]),
    ("no-api-key", "GET", JOBS, {"no_key": True}, 401, ["X-Hume-Api-Key"]),
    ("wrong-api-key", "GET", JOBS, {"headers": {"X-Hume-Api-Key": "guess"}}, 401, ["invalid API key"]),
    ("unknown-job", "GET", JOBS + "/nope", {}, 404, ["nope"]),
    ("unknown-job-predictions", "GET", JOBS + "/nope/predictions", {}, 404, ["nope"]),
    ("unknown-route", "GET", "/v0/nothing", {}, 404, ["no such endpoint"]),
    ("wrong-method", "PUT", JOBS, {"json": {}}, 405, ["Method Not Allowed"]),
]


@pytest.mark.parametrize("case", HTTP_CASES, ids=[c[0] for c in HTTP_CASES])
def test_http_hostile_input(target, case):
    _, method, path, kwargs, status, words = case
    kwargs = dict(kwargs)
    headers = {} if kwargs.pop("no_key", False) else dict(H)
    headers.update(kwargs.pop("headers", {}))
    status_only = kwargs.pop("status_only", False)
    if kwargs.get("content") == "gen:17":
        kwargs["content"] = _chunks(17 * 1024 * 1024)
    r = httpx.request(method, target.url + path, headers=headers, timeout=60, **kwargs)
    assert r.status_code == status, r.text[:500]
    if not status_only:
        body = r.json()
        assert set(body) == {"message", "code"}, body
        for w in words:
            assert w.lower() in body["message"].lower(), body["message"]
        assert "Traceback" not in body["message"] and "internal error" not in body["message"]
    target.assert_intact()


def test_health_without_key_says_only_ok(target):
    r = httpx.get(target.url + "/health", timeout=10)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    full = httpx.get(target.url + "/health", headers=H, timeout=10).json()
    assert full["status"] == "ok" and "jobs" in full and "workers" in full
    target.assert_intact()


# -- websocket -----------------------------------------------------------------------------------------------------
def _ws(target, **kw):
    import websockets.sync.client as wsc

    return wsc.connect(target.url.replace("http", "ws") + "/v0/stream/models", **kw)


def _garbage_b64() -> str:
    return base64.b64encode(b"RIFF\x00\x00garbage" * 50).decode()


WS_CASES = [
    ("ws-deep-payload", _deep(10_000), "E0101", ["10,000 levels", "json_depth"]),
    (
        "ws-deep-models",
        '{"data": "hi", "raw_text": true, "models": {"language": ' + _deep(200) + "}}",
        "E0101",
        ["202 levels", "json_depth"],
    ),
    ("ws-not-json", "{oops", "E0100", ["not valid JSON"]),
    ("ws-json-array", "[1, 2]", "E0101", ["JSON object"]),
    (
        "ws-unknown-model-beside-valid",
        {"data": "hi", "raw_text": True, "models": {"language": {}, "smell": {}}},
        "E0105",
        ["'smell'"],
    ),
    (
        "ws-only-unknown-models",
        {"data": "hi", "raw_text": True, "models": {"smell": {}, "taste": {}}},
        "E0105",
        ["'smell'", "'taste'"],
    ),
    ("ws-unsupported-only", {"data": "hi", "raw_text": True, "models": {"face": {}}}, "E0104", ["face"]),
    (
        "ws-text-too-long",
        {"data": "x" * 10_001, "raw_text": True, "models": {"language": {}}},
        "E0202",
        ["10,001", "stream_text_chars"],
    ),
    ("ws-not-base64", {"data": "***", "models": {"prosody": {}}}, "E0201", ["base64"]),
    ("ws-garbage-audio", {"data": _garbage_b64(), "models": {"prosody": {}}}, "E0203", ["decode"]),
    ("ws-no-data", {"models": {"language": {}}}, "E0103", ["data"]),
    ("ws-no-models", {"data": "hi", "raw_text": True}, "E0102", ["models"]),
    (
        "ws-window-too-short",
        {"data": "hi", "raw_text": True, "models": {"language": {}}, "stream_window_ms": 100},
        "E0101",
        ["stream_window_ms"],
    ),
    ("ws-models-not-object", {"data": "hi", "raw_text": True, "models": [1]}, "E0101", ["models"]),
    ("ws-binary-not-utf8", b"\xff\xfe\x00", "E0100", ["not valid JSON"]),
]


@pytest.mark.parametrize("case", WS_CASES, ids=[c[0] for c in WS_CASES])
def test_websocket_hostile_payload(target, case):
    _, payload, code, words = case
    with _ws(target, additional_headers=H, max_size=2**25) as ws:
        ws.send(payload if isinstance(payload, (str, bytes)) else json.dumps(payload))
        reply = json.loads(ws.recv(timeout=60))
        assert reply.get("code") == code, reply
        for w in words:
            assert w.lower() in reply["error"].lower(), reply
        ws.send(json.dumps({"reset_stream": True, "payload_id": "still-open"}))  # the connection survives
        assert json.loads(ws.recv(timeout=30)) == {"payload_id": "still-open"}
    target.assert_intact()


def test_websocket_message_over_limit_closes_with_1009(target):
    from websockets.exceptions import ConnectionClosed

    with _ws(target, additional_headers=H, max_size=2**26) as ws:
        ws.send("x" * (LIMITS["stream_message_bytes"].value + 1))
        with pytest.raises(ConnectionClosed) as e:
            ws.recv(timeout=30)
    assert e.value.rcvd is not None and e.value.rcvd.code == 1009
    target.assert_intact()


@pytest.mark.parametrize(
    "headers, status, word",
    [
        ({}, 401, "X-Hume-Api-Key"),
        ({**H, "Host": "evil.example"}, 400, "not allowed"),
        ({**H, "Origin": "https://evil.example"}, 403, "cross-site"),
    ],
    ids=["ws-no-key", "ws-host-evil", "ws-origin-evil"],
)
def test_websocket_refused_at_the_door(target, headers, status, word):
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as e:
        with _ws(target, additional_headers=headers):
            pass
    assert e.value.response.status_code == status
    assert word.lower() in e.value.response.body.decode().lower()
    target.assert_intact()


def test_departed_clients_work_is_cancelled(target):
    """Three clients send a long text and leave at once: their work does not delay a fourth (issue: 17 s wait)."""
    text = "I am so happy with how this went, thank you all. " * 190  # ~9,500 characters
    payload = json.dumps({"data": text, "raw_text": True, "models": {"language": {}}})
    with _ws(target, additional_headers=H) as ws:  # warm the model once
        ws.send(json.dumps({"data": "hello there", "raw_text": True, "models": {"language": {}}}))
        assert "language" in json.loads(ws.recv(timeout=240))
    stats0 = httpx.get(target.url + "/health", headers=H).json()["stream"]

    def leave() -> None:
        with _ws(target, additional_headers=H) as ws:
            ws.send(payload)

    threads = [threading.Thread(target=leave) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with _ws(target, additional_headers=H) as ws:
        ws.send(
            json.dumps({"data": "short and sweet", "raw_text": True, "models": {"language": {}}, "payload_id": "p"})
        )
        reply = json.loads(ws.recv(timeout=120))
    assert reply["payload_id"] == "p" and reply["language"]["predictions"]
    stats = httpx.get(target.url + "/health", headers=H).json()["stream"]
    assert stats["cancelled"] - stats0["cancelled"] == 3, (stats0, stats)
    target.assert_intact()


def test_keys_are_scrubbed_from_log_lines():
    """uvicorn's access/websocket lines go through the scrubbing filter with their argument tuple intact."""
    import logging

    from uvicorn.logging import AccessFormatter

    from emolens.service.logscrub import ScrubKeys, scrub

    rec = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/v0/stream/models?api_key=s3cret&x=1", "1.1", 101),
        None,
    )
    assert ScrubKeys().filter(rec)
    line = AccessFormatter("%(message)s", use_colors=False).format(rec)
    assert "s3cret" not in line and "api_key=***&x=1" in line
    assert (
        scrub('"WebSocket /v0/stream/models?token=abc" [accepted]')
        == '"WebSocket /v0/stream/models?token=***" [accepted]'
    )
