"""A real Dask cluster for tests: ``dask scheduler`` + ``dask worker`` processes (loopback by default, or inside
network namespaces through a command prefix), logs in files, everything killed at teardown.

Workers run with ``--nthreads 1 --no-nanny`` (a killed worker stays dead, so a retry must happen elsewhere) and
import emolens from this checkout through PYTHONPATH, as a ``pip install emolens`` would provide it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from svc_helpers import REPO, free_port

WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class DaskCluster:
    """``DaskCluster(tmp).start(2)``; ``.address``; ``.kill_worker(name)``; ``.stop()``."""

    def __init__(
        self, root: Path, host: str = "127.0.0.1", port: int | None = None, prefix: dict[str, list[str]] | None = None
    ) -> None:
        self.root = root
        self.host = host
        #: a port we drew ourselves may be redrawn if something else binds it first
        self._own_port = port is None
        self.port = port or free_port(host)
        self.address = f"tcp://{host}:{self.port}"
        #: per role ("scheduler" or a worker name): a command prefix, e.g. ["ip", "netns", "exec", "ns1"]
        self.prefix = prefix or {}
        self.scheduler: subprocess.Popen | None = None
        self.workers: dict[str, subprocess.Popen] = {}
        self.env = {**os.environ, "PYTHONPATH": str(REPO), **WORKER_ENV}
        self.env.pop("EMOLENS_DASK_SCHEDULER", None)
        root.mkdir(parents=True, exist_ok=True)

    def _popen(self, role: str, args: list[str]) -> subprocess.Popen:
        log = (self.root / f"{role}.log").open("ab")
        return subprocess.Popen(
            [*self.prefix.get(role, []), sys.executable, "-m", "dask", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            start_new_session=True,
        )

    def start_scheduler(self, timeout: float = 60.0) -> DaskCluster:
        """Start the scheduler and wait until it listens; a port we drew that got taken meanwhile is redrawn."""
        for attempt in range(4):
            self.scheduler = self._popen(
                "scheduler", ["scheduler", "--host", self.host, "--port", str(self.port), "--no-dashboard"]
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.scheduler.poll() is None:
                if "Scheduler at:" in self.log("scheduler"):
                    return self
                time.sleep(0.1)
            if self.scheduler.poll() is None:
                raise RuntimeError(f"the Dask scheduler did not listen within {timeout} s: {self.log('scheduler')}")
            log = self.log("scheduler")
            if not (self._own_port and "Address already in use" in log and attempt < 3):
                raise RuntimeError(f"the Dask scheduler exited: {log[-3000:]}")
            (self.root / "scheduler.log").rename(self.root / f"scheduler-eaddrinuse-{attempt}.log")
            self.port = free_port(self.host)
            self.address = f"tcp://{self.host}:{self.port}"
        raise AssertionError("unreachable")

    def add_worker(self, name: str, host: str | None = None) -> None:
        self.workers[name] = self._popen(
            name,
            [
                "worker", self.address, "--name", name, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                "--host", host or self.host, "--death-timeout", "60",
            ],
        )  # fmt: skip

    def start(self, n_workers: int = 2, timeout: float = 90.0) -> DaskCluster:
        self.start_scheduler()
        for i in range(n_workers):
            self.add_worker(f"w{i + 1}")
        self.wait_workers(n_workers, timeout)
        return self

    def client(self, timeout: float = 30.0):
        from distributed import Client

        return Client(self.address, timeout=timeout, set_as_default=False)

    def wait_workers(self, n: int, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.workers.items():
                if proc.poll() is not None and name in self.alive_names():
                    raise RuntimeError(f"worker {name} exited: {self.log(name)[-2000:]}")
            if self.log("scheduler").count("Register worker") - self.log("scheduler").count("Remove worker") >= n:
                return
            time.sleep(0.2)
        raise RuntimeError(f"fewer than {n} Dask workers after {timeout} s:\n{self.log('scheduler')[-3000:]}")

    def alive_names(self) -> list[str]:
        return [n for n, p in self.workers.items() if p.poll() is None]

    def log(self, role: str) -> str:
        p = self.root / f"{role}.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def kill_worker(self, name: str) -> None:
        proc = self.workers[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        procs = [*self.workers.values(), *([self.scheduler] if self.scheduler else [])]
        for p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        for p in procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
