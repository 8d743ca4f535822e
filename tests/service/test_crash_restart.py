"""kill -9 in the middle of a job, restart: every job and its predictions are there; none is stuck or lost."""

from __future__ import annotations

import os
import time

import httpx
import pytest
from svc_helpers import ServerProcess, wait_job

pytestmark = pytest.mark.timeout(300)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_kill9_mid_job_then_restart_loses_nothing(tmp_path, speech_wav):
    srv = ServerProcess(tmp_path / "data").start()
    try:
        worker_pid = srv.health()["workers"]["detail"][0]["pid"]
        with speech_wav.open("rb") as f:
            media = httpx.post(srv.url + "/v0/batch/jobs", timeout=30,
                               files=[("file", (speech_wav.name, f, "audio/wav"))],
                               data={"json": '{"models": {"prosody": {}}, "transcription": {"model": "tiny.en"}}'})
        ids = [media.json()["job_id"]]
        ids += [httpx.post(srv.url + "/v0/batch/jobs", json={"text": [f"Job number {i} is a happy one."],
                                                              "models": {"language": {}}}).json()["job_id"]
                for i in range(5)]
        # wait until the first job is running (its worker is loading models / measuring), then kill -9
        deadline = time.monotonic() + 60
        while httpx.get(f"{srv.url}/v0/batch/jobs/{ids[0]}").json()["state"]["status"] != "IN_PROGRESS":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        srv.kill9()
        # the orphaned worker notices its parent is gone and exits instead of running on
        deadline = time.monotonic() + 10
        while _alive(worker_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker_pid), "worker outlived a killed service"

        srv.start()
        details = [wait_job(srv.url, j) for j in ids]
        assert [d["state"]["status"] for d in details] == ["COMPLETED"] * len(ids), details
        listed = {j["job_id"] for j in httpx.get(srv.url + "/v0/batch/jobs", params={"limit": 100}).json()}
        assert set(ids) <= listed
        for j in ids:
            preds = httpx.get(f"{srv.url}/v0/batch/jobs/{j}/predictions", timeout=30).json()
            assert preds and preds[0]["results"]["predictions"]
        from emolens.store import Store

        store = Store(srv.data_dir)
        assert store.get_job(ids[0]).attempts == 2  # it ran once, was interrupted, and was resumed

        # a clean restart keeps everything too
        srv.stop()
        srv.start()
        assert all(httpx.get(f"{srv.url}/v0/batch/jobs/{j}").json()["state"]["status"] == "COMPLETED" for j in ids)
    finally:
        srv.stop()


def test_job_interrupted_too_often_is_failed_with_a_message(tmp_path):
    from emolens.service.config import ServiceConfig
    from emolens.service.embedded import EmbeddedService
    from emolens.store import Store

    store = Store(tmp_path)
    job = store.create_job({"text": ["hello"], "files": []})
    store.claim_next_job()  # first run: the service crashes
    store.recover_interrupted_jobs()  # restart requeues it
    store.claim_next_job()  # second run: crashes again; the next start must fail it, not loop forever
    svc = EmbeddedService(ServiceConfig(data_dir=tmp_path), start_workers=True).start()
    try:
        d = httpx.get(f"{svc.url}/v0/batch/jobs/{job.job_id}").json()
        assert d["state"]["status"] == "FAILED" and "interrupted" in d["state"]["message"]
        assert isinstance(d["state"]["started_timestamp_ms"], int)
    finally:
        svc.stop()
