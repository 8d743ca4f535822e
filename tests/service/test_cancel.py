"""POST /v0/batch/jobs/{id}/cancel (an emolens extension): queued and running jobs end FAILED with a clear
message, a running job keeps no result, an ended job cannot be cancelled."""

from __future__ import annotations

import time

import httpx
import numpy as np
import pytest
import soundfile as sf
from svc_helpers import wait_job

pytestmark = pytest.mark.timeout(300)


def _cancel(url: str, job_id: str) -> httpx.Response:
    return httpx.post(f"{url}/v0/batch/jobs/{job_id}/cancel", timeout=30)


def test_cancel_a_queued_job(http_only):
    url = http_only.url
    r = httpx.post(url + "/v0/batch/jobs", json={"text": ["hello"], "models": {"language": {}}}, timeout=30)
    job_id = r.json()["job_id"]
    r = _cancel(url, job_id)
    assert r.status_code == 200, r.text
    state = r.json()["state"]
    assert state["status"] == "FAILED" and state["message"] == "cancelled by the user"
    again = _cancel(url, job_id)
    assert again.status_code == 400 and again.json()["code"] == "job_not_active", again.text
    assert "FAILED" in again.json()["message"]
    missing = _cancel(url, "no-such-job")
    assert missing.status_code == 404 and "no job" in missing.json()["message"]


def test_cancel_a_running_media_job_keeps_no_result(service, speech_wav, tmp_path):
    from emolens.store import Store

    audio, sr = sf.read(speech_wav, dtype="float32")
    long = tmp_path / "long.wav"
    sf.write(long, np.tile(audio, 12), sr)  # ~40 s: still running when cancelled
    cfg = '{"models": {"prosody": {}, "language": {}}}'
    with long.open("rb") as f:
        r = httpx.post(service.url + "/v0/batch/jobs", files=[("file", ("long.wav", f, "audio/wav"))],
                       data={"json": cfg}, timeout=60)
    job_id = r.json()["job_id"]
    deadline = time.monotonic() + 120
    while httpx.get(f"{service.url}/v0/batch/jobs/{job_id}", timeout=10).json()["state"]["status"] == "QUEUED":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    r = _cancel(service.url, job_id)
    assert r.status_code == 200, r.text
    assert r.json()["state"]["status"] == "FAILED"
    # the worker stops at its next progress report (or drops the result at the end): a later job runs after it
    follow = httpx.post(service.url + "/v0/batch/jobs", json={"text": ["after"], "models": {"language": {}}},
                        timeout=30).json()["job_id"]
    assert wait_job(service.url, follow)["state"]["status"] == "COMPLETED"
    details = httpx.get(f"{service.url}/v0/batch/jobs/{job_id}", timeout=10).json()
    assert details["state"]["status"] == "FAILED" and details["state"]["message"] == "cancelled by the user"
    assert Store(service.data_dir).find_result_by_job(job_id) is None
    r = httpx.get(f"{service.url}/v0/batch/jobs/{job_id}/predictions", timeout=10)
    assert r.status_code == 400 and r.json()["code"] == "job_failed"
