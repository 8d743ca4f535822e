"""Helpers for service tests (imported by conftest and tests as ``svc_helpers``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.ports import free_port

REPO = Path(__file__).resolve().parents[2]


class ServerProcess:
    """``python -m emolens serve`` in a subprocess, on a free loopback port."""

    def __init__(self, data_dir: Path, api_key: str = "", workers: int = 1, env: dict[str, str] | None = None,
                 port: int | None = None) -> None:
        self.data_dir = data_dir
        self.api_key = api_key
        self.workers = workers
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PYTHONPATH": str(REPO), "EMOLENS_ALLOW_PRIVATE_URLS": "1",
                    "EMOLENS_STREAM_IDLE_TIMEOUT_S": "3", "OMP_NUM_THREADS": "1", **(env or {})}
        self.env.pop("EMOLENS_API_KEY", None)
        self.proc: subprocess.Popen | None = None
        self.log = data_dir / f"server-{self.port}.log"

    def start(self, timeout: float = 60.0) -> ServerProcess:
        args = [sys.executable, "-m", "emolens", "--data-dir", str(self.data_dir), "serve", "--port", str(self.port),
                "--workers", str(self.workers)]
        if self.api_key:
            args += ["--api-key", self.api_key]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(args, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
                                     cwd=REPO)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code in (200, 503):  # up (503: degraded)
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("service did not start")

    def health(self) -> dict:
        return httpx.get(self.url + "/health", timeout=5).json()

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_job(url: str, job_id: str, timeout: float = 180.0, headers: dict | None = None) -> dict:
    """Poll job details until COMPLETED/FAILED (plain httpx: no emolens client involved)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d = httpx.get(f"{url}/v0/batch/jobs/{job_id}", headers=headers, timeout=10).json()
        if d["state"]["status"] in ("COMPLETED", "FAILED"):
            return d
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s: {d}")
