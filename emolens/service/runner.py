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

from emolens.errors import EmolensError, StorageError
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
    fault: str | None = None  # the storage fault the worker is waiting out, if any
    lock: threading.Lock = field(default_factory=threading.Lock)


class WorkerPool:
    """Start with :meth:`start`, nudge with :meth:`wake` after queueing a job, stop with :meth:`stop`."""

    def __init__(self, config: ServiceConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.slots = [_Slot(i) for i in range(max(1, int(config.workers)))]
        self._stopping = threading.Event()
        self.recovered: tuple[list[str], list[str]] = ([], [])
        #: job id -> message: jobs of dead workers whose release failed (storage fault); retried until it works
        self._unreleased: dict[str, str] = {}
        self._unreleased_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        try:
            self.recovered = self.store.recover_interrupted_jobs(self.config.max_attempts)
        except StorageError as e:  # the service starts anyway (degraded); workers wait for the disk to heal
            log.error("cannot recover interrupted jobs now: %s", e)
            self._recover_later = True
        self._clean_tmp(None)  # no worker runs yet: whatever is in data/tmp was left by a killed one
        threading.Thread(target=self._heal_loop, daemon=True, name="emolens-pool-healer").start()
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
                if proc.stdin is not None:
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
                try:
                    self.store.requeue_job(jid)
                except EmolensError as e:  # the next start's recovery requeues it
                    log.error("could not requeue job %s at shutdown: %s", jid, e)
            slot.job_ids.clear()

    def wake(self) -> None:
        """Tell idle workers a job is waiting (they also poll every few seconds, so this only cuts latency)."""
        for slot in self.slots:
            proc = slot.proc
            if proc is None or proc.poll() is not None:
                continue
            with slot.lock:
                try:
                    if proc.stdin is not None:
                        proc.stdin.write(b"\n")
                        proc.stdin.flush()
                except (OSError, ValueError):
                    pass

    def status(self) -> list[dict]:
        """Per worker: pid, alive, ready (models may still load on the first job), current job, storage fault."""
        return [
            {
                "pid": s.proc.pid if s.proc else None,
                "alive": bool(s.proc and s.proc.poll() is None),
                "ready": s.ready,
                "job_ids": sorted(s.job_ids),
                "restarts": s.restarts,
                "fault": s.fault,
            }
            for s in self.slots
        ]

    def faults(self) -> list[str]:
        """Why jobs cannot run now (for /health): workers waiting out a storage fault, unreleased jobs."""
        out = sorted({s.fault for s in self.slots if s.fault})
        with self._unreleased_lock:
            if self._unreleased:
                out.append(f"{len(self._unreleased)} interrupted job(s) wait to be requeued once storage heals")
        return out

    def _release(self, jid: str, message: str) -> str | None:
        """Requeue (or fail) a dead worker's job; when storage cannot take it now, keep it for the healer."""
        try:
            new = self.store.release_job(jid, message, self.config.max_attempts)
        except EmolensError as e:
            log.error("cannot release job %s now (%s); retrying once storage heals", jid, e)
            with self._unreleased_lock:
                self._unreleased[jid] = message
            return None
        with self._unreleased_lock:
            self._unreleased.pop(jid, None)
        return new

    def _heal_loop(self) -> None:
        """Every few seconds: release jobs whose release failed, and finish a recovery that failed at start."""
        while not self._stopping.wait(2.0):
            try:
                if getattr(self, "_recover_later", False):
                    self.recovered = self.store.recover_interrupted_jobs(self.config.max_attempts)
                    self._recover_later = False
                    self.wake()
                with self._unreleased_lock:
                    pending = dict(self._unreleased)
                for jid, message in pending.items():
                    if self._release(jid, message) is not None:
                        self.wake()
            except Exception as e:  # the healer must outlive anything
                log.error("pool healer: %s", e)

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
        """Follow one worker's protocol lines; when it dies, release its jobs and start a new one (with back-off).
        Nothing here may raise: a supervisor that died would leave its slot without a worker for good."""
        code: int | None = None
        try:
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
                elif parts[0] == "fault":
                    slot.fault = " ".join(parts[1:]) or "storage fault"
                elif parts[0] == "healed":
                    slot.fault = None
            code = proc.wait()
        except Exception as e:
            log.error("worker %d: lost its pipe (%s)", slot.index, e)
        if self._stopping.is_set():
            return
        try:
            for jid in sorted(slot.job_ids):
                new = self._release(
                    jid,
                    f"the worker measuring this job stopped unexpectedly (exit code {code}) "
                    f"{self.config.max_attempts} times; check that the media is valid and submit the job again",
                )
                log.error("worker %d died (exit %s) during job %s -> %s", slot.index, code, jid, new)
            self._clean_tmp(set(slot.job_ids))  # a killed worker cannot clean up after itself
            if not slot.job_ids:
                log.error("worker %d exited (code %s); restarting", slot.index, code)
        except Exception as e:
            log.error("worker %d: cleaning up after it failed: %s", slot.index, e)
        slot.job_ids = set()
        slot.fault = None
        slot.restarts += 1
        time.sleep(min(30.0, 0.5 * 2 ** min(slot.restarts, 6)))  # back off if it keeps dying at start
        while not self._stopping.is_set():
            try:
                self._spawn(slot)
                self.wake()
                return
            except Exception as e:  # e.g. out of memory or file descriptors: try again later
                log.error("worker %d: cannot start a new one (%s); retrying", slot.index, e)
                time.sleep(5.0)
