"""Storage faults heal without a restart: a real service whose data directory is a small tmpfs that the test fills
up (and remounts read-only), as root. Skipped, with the reason, where a tmpfs cannot be mounted."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from svc_helpers import ServerProcess, wait_job

pytestmark = pytest.mark.timeout(600)


def _mount_tmpfs(where: Path, size: str) -> str | None:
    """Mount a tmpfs at ``where``; None when done, else why it cannot be."""
    if os.geteuid() != 0:
        return "needs root to mount a tmpfs"
    where.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if r.returncode != 0:
        return f"cannot mount a tmpfs here: {r.stderr.decode().strip() or r.returncode}"
    return None


def _remount(where: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(where)], check=True, capture_output=True)


def _fill(where: Path) -> Path:
    """Write a file until the disk is full (unbuffered, 1 MiB then 4 KiB blocks); delete it to free the space."""
    filler = where / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for size in (1 << 20, 4096):
            block = b"\xa5" * size
            try:
                while True:
                    os.write(fd, block)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
    finally:
        os.close(fd)
    return filler


@pytest.fixture
def tmpfs(tmp_path):
    where = tmp_path / "small-disk"
    why = _mount_tmpfs(where, "96m")
    if why:
        pytest.skip(why)
    yield where
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _health(srv: ServerProcess) -> tuple[int, dict]:
    r = httpx.get(srv.url + "/health", timeout=10)
    return r.status_code, r.json()


def _until(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_full_disk_heals_without_restart(tmpfs, tmp_path):
    srv = ServerProcess(tmpfs / "data", workers=1)
    srv.log = tmp_path / "server.log"  # not on the disk that fills up
    srv.start()
    try:
        service_pid = srv.proc.pid
        first = httpx.post(
            srv.url + "/v0/batch/jobs",
            json={"text": ["I love this, thank you!"], "models": {"language": {}}},
            timeout=30,
        ).json()["job_id"]
        assert wait_job(srv.url, first, timeout=300)["state"]["status"] == "COMPLETED"
        kept = httpx.get(f"{srv.url}/v0/batch/jobs/{first}/predictions", timeout=30).content
        worker_pid = srv.health()["workers"]["detail"][0]["pid"]

        # 1. Disk full while a job waits: the worker is paused so the job is QUEUED when the disk fills.
        os.kill(worker_pid, signal.SIGSTOP)
        queued = httpx.post(
            srv.url + "/v0/batch/jobs",
            json={"text": ["Queued before the disk filled."], "models": {"language": {}}},
            timeout=30,
        ).json()["job_id"]
        filler = _fill(tmpfs)
        os.kill(worker_pid, signal.SIGCONT)
        code, health = _health(srv)
        assert code == 503 and health["status"] == "degraded", health
        assert any("is full" in r for r in health["reasons"]), health
        r = httpx.post(srv.url + "/v0/batch/jobs", json={"text": ["no room"]}, timeout=30)
        assert r.status_code == 507, r.text
        assert r.json()["code"] == "insufficient_storage" and "is full" in r.json()["message"]
        assert "free space" in r.json()["message"] and str(tmpfs / "data") in r.json()["message"]
        up = httpx.post(
            srv.url + "/v0/batch/jobs", files=[("file", ("a.txt", b"x" * 200_000, "text/plain"))], timeout=30
        )
        assert up.status_code == 507, up.text
        assert httpx.get(f"{srv.url}/v0/batch/jobs/{first}/predictions", timeout=30).content == kept
        _until(lambda: any(w["fault"] for w in srv.health()["workers"]["detail"]), 60, "the worker to report it")
        time.sleep(2)
        assert httpx.get(f"{srv.url}/v0/batch/jobs/{queued}", timeout=10).json()["state"]["status"] != "COMPLETED"

        filler.unlink()  # space is back: no restart, the queued job completes, new jobs run
        _until(lambda: _health(srv)[0] == 200, 60, "health to recover")
        assert wait_job(srv.url, queued, timeout=180)["state"]["status"] == "COMPLETED"
        new = httpx.post(
            srv.url + "/v0/batch/jobs", json={"text": ["Back in business."], "models": {"language": {}}}, timeout=30
        )
        assert new.status_code == 200, new.text
        assert wait_job(srv.url, new.json()["job_id"], timeout=180)["state"]["status"] == "COMPLETED"

        health = srv.health()
        assert srv.proc.pid == service_pid and srv.proc.poll() is None  # the same service process throughout
        assert health["workers"]["alive"] == 1 and health["workers"]["detail"][0]["restarts"] == 0
        assert health["workers"]["detail"][0]["pid"] == worker_pid  # the worker waited; it never died
        assert httpx.get(f"{srv.url}/v0/batch/jobs/{first}/predictions", timeout=30).content == kept
        assert "OperationalError" not in srv.log.read_text()
    finally:
        srv.stop()


def test_read_only_data_dir_starts_degraded_and_heals_without_restart(tmpfs, tmp_path):
    """A store on a disk that is read-only when the service starts (a read-only remount needs no open writers, so
    this is how a test can make one): the service answers, says why, and runs jobs once the disk is writable."""
    from emolens.store import Store

    data = tmpfs / "data"
    store = Store(data)
    rid = store.add_result("kept", [{"source": {"type": "text"}, "results": {"predictions": [], "errors": []}}])
    del store
    import gc

    gc.collect()  # close the store's connections: a remount to read-only needs no file open for writing
    _remount(tmpfs, "ro")
    srv = ServerProcess(data, workers=1)
    srv.log = tmp_path / "server.log"
    try:
        srv.start()
        code, health = _health(srv)
        assert code == 503 and health["status"] == "degraded", health
        assert any("read-only" in r for r in health["reasons"]), health
        r = httpx.post(srv.url + "/v0/batch/jobs", json={"text": ["read-only"]}, timeout=30)
        assert r.status_code == 503 and r.json()["code"] == "storage_unavailable", r.text
        assert "read-only" in r.json()["message"] and "permissions" in r.json()["message"]
        listed = httpx.get(srv.url + "/v0/batch/jobs", timeout=30)  # reads: answered, or a clear 503
        assert listed.status_code == 200 or listed.json()["code"] == "storage_unavailable", listed.text
        _until(lambda: any(w["fault"] for w in srv.health()["workers"]["detail"]), 60, "the worker's fault")
        worker_pid = srv.health()["workers"]["detail"][0]["pid"]
        time.sleep(3)  # a crash-looping worker would have restarted by now
        assert srv.health()["workers"]["detail"][0]["pid"] == worker_pid

        _remount(tmpfs, "rw")
        _until(lambda: _health(srv)[0] == 200, 60, "health to recover")
        job = httpx.post(
            srv.url + "/v0/batch/jobs", json={"text": ["Writable again."], "models": {"language": {}}}, timeout=30
        )
        assert job.status_code == 200, job.text
        assert wait_job(srv.url, job.json()["job_id"], timeout=240)["state"]["status"] == "COMPLETED"
        health = srv.health()
        assert health["workers"]["detail"][0]["pid"] == worker_pid and health["workers"]["detail"][0]["restarts"] == 0
        assert Store(data).get_result(rid).name == "kept"
    finally:
        srv.stop()
        subprocess.run(["mount", "-o", "remount,rw", str(tmpfs)], capture_output=True)
