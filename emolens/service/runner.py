"""The job worker pool: N worker processes (``emolens.service.worker``) fed from the store's job queue.

Jobs live in SQLite, not in memory, so a restart loses nothing: at start the pool calls
``store.recover_interrupted_jobs`` (jobs that were IN_PROGRESS when the service died are requeued, or failed with a
message after ``max_attempts``). A supervisor thread per worker follows its protocol lines; when a worker dies
while holding a job, that job is released the same way and the worker is restarted.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from emolens.errors import EmolensError
from emolens.service.config import ServiceConfig
from emolens.service.worker import CONFIG_ENV
from emolens.store import Store

log = logging.getLogger("emolens.service")


@dataclass
class _Slot:
    index: int
    proc: subprocess.Popen | None = None
    job_ids: set[str] = field(default_factory=set)  # claimed and not yet done (several for a text batch)
    ready: bool = False
    restarts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class WorkerPool:
    """Start with :meth:`start`, nudge with :meth:`wake` after queueing a job, stop with :meth:`stop`."""

    def __init__(self, config: ServiceConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.slots = [_Slot(i) for i in range(max(1, int(config.workers)))]
        self._stopping = threading.Event()
        self.recovered: tuple[list[str], list[str]] = ([], [])

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.recovered = self.store.recover_interrupted_jobs(self.config.max_attempts)
        self._clean_tmp(None)  # no worker runs yet: whatever is in data/tmp was left by a killed one
        if any(self.recovered):
            log.warning("after a restart: requeued %d job(s), failed %d", *map(len, self.recovered))
        for slot in self.slots:
            self._spawn(slot)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every worker. A job still running is put back in the queue (not counted as an attempt)."""
        self._stopping.set()
        for slot in self.slots:
            proc = slot.proc
            if proc is None:
                continue
            try:
                proc.stdin.close()  # EOF: the worker exits at once
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for slot in self.slots:
            proc = slot.proc
            if proc is None:
                continue
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            for jid in list(slot.job_ids):
                self.store.requeue_job(jid)
            slot.job_ids.clear()

    def wake(self) -> None:
        """Tell idle workers a job is waiting (they also poll every few seconds, so this only cuts latency)."""
        for slot in self.slots:
            proc = slot.proc
            if proc is None or proc.poll() is not None:
                continue
            with slot.lock:
                try:
                    proc.stdin.write(b"\n")
                    proc.stdin.flush()
                except (OSError, ValueError):
                    pass

    def status(self) -> list[dict]:
        """Per worker: pid, alive, ready (models may still load on the first job), current job."""
        return [
            {
                "pid": s.proc.pid if s.proc else None,
                "alive": bool(s.proc and s.proc.poll() is None),
                "ready": s.ready,
                "job_ids": sorted(s.job_ids),
                "restarts": s.restarts,
            }
            for s in self.slots
        ]

    # -- internals ---------------------------------------------------------------------------------------------
    def _clean_tmp(self, job_ids: set[str] | None) -> None:
        """Remove the work folders (``data/tmp/<job id>-xxxxxx``) of ``job_ids``, or (None) those of every job not
        IN_PROGRESS now (another service sharing the data dir may be running one)."""
        import shutil

        tmp = Path(self.config.data_dir) / "tmp"
        try:
            entries = list(tmp.iterdir()) if tmp.is_dir() else []
            running = (
                set()
                if job_ids is not None
                else {j.job_id for j in self.store.list_jobs(limit=10_000, statuses=["IN_PROGRESS"])}
            )
        except (OSError, EmolensError) as e:
            log.warning("could not clean %s: %s", tmp, e)
            return
        for entry in entries:
            jid = entry.name[:36]
            if (jid in job_ids) if job_ids is not None else (jid not in running):
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)

    def _spawn(self, slot: _Slot) -> None:
        env = dict(os.environ)
        env.update(self.config.worker_env)
        env[CONFIG_ENV] = self.config.to_json()
        # The worker must import this same emolens, installed or not.
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
        slot.ready = False
        slot.job_ids = set()
        slot.proc = subprocess.Popen(
            [sys.executable, "-m", "emolens.service.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        threading.Thread(
            target=self._supervise, args=(slot, slot.proc), daemon=True, name=f"emolens-worker-{slot.index}"
        ).start()

    def _supervise(self, slot: _Slot, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            parts = raw.decode(errors="replace").split()
            if not parts:
                continue
            if parts[0] == "ready":
                slot.ready = True
            elif parts[0] == "claimed" and len(parts) > 1:
                slot.job_ids.add(parts[1])
            elif parts[0] == "done" and len(parts) > 1:
                slot.job_ids.discard(parts[1])
        code = proc.wait()
        if self._stopping.is_set():
            return
        for jid in sorted(slot.job_ids):
            new = self.store.release_job(
                jid,
                f"the worker measuring this job stopped unexpectedly (exit code {code}) {self.config.max_attempts} "
                "times; check that the media is valid and submit the job again",
                self.config.max_attempts,
            )
            log.error("worker %d died (exit %s) during job %s -> %s", slot.index, code, jid, new)
        self._clean_tmp(set(slot.job_ids))  # a killed worker cannot clean up after itself
        if not slot.job_ids:
            log.error("worker %d exited (code %s); restarting", slot.index, code)
        slot.job_ids = set()
        slot.restarts += 1
        time.sleep(min(30.0, 0.5 * 2 ** min(slot.restarts, 6)))  # back off if it keeps dying at start
        if not self._stopping.is_set():
            self._spawn(slot)
            self.wake()
