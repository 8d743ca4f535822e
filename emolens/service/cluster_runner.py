"""Batch jobs on a Dask cluster: the service-side dispatcher that replaces the local worker pool when
``EMOLENS_DASK_SCHEDULER`` (``--dask-scheduler``) is set. Same interface as :class:`runner.WorkerPool`.

The SQLite queue stays the source of truth: a job is claimed (IN_PROGRESS) only when the cluster has a free
thread, its files and text chunks go out as Dask tasks (bytes included), the answers come back here and are
assembled, stored, counted and called back with the very functions the local pool uses
(:mod:`emolens.service.execute`), so predictions, artifacts, states and callbacks are the same.

- At most two tasks per cluster thread are in flight (one running, one queued so that no worker waits for the
  next task's bytes; the scheduler holds the bytes of every queued task, so this bounds its memory; the SQLite
  queue holds the rest).
- The scheduler unreachable (at start or later): jobs stay QUEUED, ``/health`` and queued jobs' progress message
  say why, and the runner reconnects with back-off. Jobs that were running are requeued without counting an
  attempt. With ``EMOLENS_DASK_FALLBACK=local`` a local worker pool runs the queue meanwhile.
- A worker killed mid-task: the scheduler reruns the task elsewhere (bounded by its ``allowed-failures``); past
  that, the job fails with a message, as a local job whose worker keeps dying.
- A service restart: IN_PROGRESS jobs are requeued at start (``store.recover_interrupted_jobs``), as locally.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from emolens.errors import EmolensError, MediaError, StorageError
from emolens.schema import parse_job_request
from emolens.service.cluster import (
    ClusterUnavailable,
    ProgressBoard,
    cluster_info,
    connect,
    normalize_address,
    subscribe_progress,
    task_key,
    text_chunks,
)
from emolens.service.config import ServiceConfig
from emolens.service.execute import _callback, _complete, _error_source, _fail, _safe_name, fetch_job_url, file_source
from emolens.store import JobRow, Store
from emolens.storefaults import probe

log = logging.getLogger("emolens.service.cluster")

#: In-flight tasks per cluster thread: 2 keeps every worker busy while the next task's bytes travel.
TASKS_PER_THREAD = 2
INFO_EVERY_S = 2.0
PROGRESS_EVERY_S = 0.25


#: One unit of a job: (label, ready source or None, [(future, task unit, text offset)], value -> Hume sources).
_Entry = tuple[str, Any, list[tuple[Any, int, int]], Any]


class _Interrupted(Exception):
    """The cluster went away or the service is stopping: put the job back in the queue."""


class _Failed(Exception):
    """A task answered with the message the job fails with."""


class _Cancelled(Exception):
    """POST /v0/batch/jobs/{id}/cancel ended the job (FAILED) while its tasks ran."""


class _JobProgress:
    """Job progress from per-unit fractions (same throttle and note format as the local pool's reporter)."""

    def __init__(self, store: Store, job_id: str, n: int) -> None:
        self.store, self.job_id, self.n = store, job_id, max(n, 1)
        self._last = time.monotonic()
        self._written: tuple[float, str] | None = None

    def update(self, parts: list[tuple[float, str, str]]) -> None:
        """``parts``: (fraction done, label, engine message) per unit of the job."""
        now = time.monotonic()
        overall = sum(max(0.0, min(1.0, f)) for f, _, _ in parts) / self.n
        running = [(label, msg) for f, label, msg in parts if 0.0 < f < 1.0 or msg]
        label, msg = running[0] if running else (parts[0][1] if parts else "", "")
        # as execute._Reporter: the engine names the input itself ("x.wav: decoding"), so say it once; a new stage
        # is written at once, updates within a stage at most every 0.25 s; before any engine message, nothing
        note = msg if msg.startswith(f"{label}:") else (f"{label}: {msg}" if msg else label)
        last_note = self._written[1] if self._written else None
        if not msg and self._written is None:
            return
        if (now - self._last < PROGRESS_EVERY_S and note == last_note) or self._written == (overall, note):
            return
        self._last, self._written = now, (overall, note)
        try:
            self.store.set_job_progress(self.job_id, overall, note)
        except EmolensError:  # progress is best effort, as in the local pool
            pass


def _as_media(convert: Any, source: dict[str, Any], filename: str) -> Any:
    return lambda value, _offset: [convert(value, source, filename)]


class ClusterRunner:
    """Start with :meth:`start`, nudge with :meth:`wake` after queueing a job, stop with :meth:`stop`."""

    def __init__(self, config: ServiceConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.address = normalize_address(config.dask_scheduler)
        self.client: Any = None
        self.error = ""  # why the cluster cannot be reached now ("" when it can)
        self.waiting = ""  # reachable, but nothing can run (no workers)
        self.info: dict[str, Any] = {"workers": [], "threads": 0}
        self.board = ProgressBoard()
        self.recovered: tuple[list[str], list[str]] = ([], [])
        self.fallback_pool: Any = None
        self._running: dict[str, list[Any]] = {}  # job id -> its futures
        self._threads: dict[str, threading.Thread] = {}
        self._in_flight = 0
        self._starting: set[str] = set()  # claimed jobs that have not submitted a task yet
        self._held_by_fault: set[str] = set()  # interrupted by a storage fault; released once storage heals
        self._cv = threading.Condition()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._info_at = 0.0
        self._recover_later = False

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        try:
            self.recovered = self.store.recover_interrupted_jobs(self.config.max_attempts)
        except StorageError as e:  # the service starts anyway (degraded); the dispatcher retries first thing
            log.error("cannot recover interrupted jobs now: %s", e)
            self._recover_later = True
        if any(self.recovered):
            log.warning("after a restart: requeued %d job(s), failed %d", *map(len, self.recovered))
        self.error = f"connecting to the Dask scheduler at {self.address}"
        self._thread = threading.Thread(target=self._dispatch, daemon=True, name="emolens-dask-dispatcher")
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop dispatching; running jobs go back to the queue (not counted as an attempt)."""
        self._stopping.set()
        self._wake.set()
        with self._cv:
            self._cv.notify_all()
        deadline = time.monotonic() + timeout
        for t in list(self._threads.values()):
            t.join(max(0.1, deadline - time.monotonic()))
        for jid in list(self._running):
            self.store.requeue_job(jid)
        if self._thread is not None:
            self._thread.join(max(0.1, deadline - time.monotonic()))
        self._stop_fallback()
        self._close_client()

    def wake(self) -> None:
        """A job was queued: look now (the dispatcher also polls every second)."""
        self._wake.set()
        if self.fallback_pool is not None:
            self.fallback_pool.wake()

    # -- what /health shows ------------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        c = self.client
        return c is not None and getattr(c, "status", "") == "running" and not self.error

    def status(self) -> list[dict]:
        """Per Dask worker (or per local worker while the fallback pool runs): address, threads, alive."""
        if self.fallback_pool is not None:
            return self.fallback_pool.status()
        return [{**w, "alive": True, "ready": True} for w in self.info["workers"]] if self.connected else []

    def health(self) -> dict[str, Any]:
        """The ``cluster`` section of ``/health``."""
        return {
            "scheduler": self.address,
            "connected": self.connected,
            "workers": len(self.info["workers"]) if self.connected else 0,
            "threads": self.info["threads"] if self.connected else 0,
            "running_jobs": sorted(self._running),
            "tasks_in_flight": self._in_flight,
            "fallback": self.config.dask_fallback or None,
            "fallback_active": self.fallback_pool is not None,
            "error": self.error or self.waiting or None,
        }

    @property
    def queue_note(self) -> str | None:
        """Why queued jobs are not starting, for their progress message (None when they simply wait their turn)."""
        if self.fallback_pool is not None:
            return f"the Dask cluster is unavailable; running on the local pool meanwhile ({self.error})"
        if self.error or self.waiting:
            return f"waiting for the Dask cluster: {self.error or self.waiting}"
        return None

    # -- the dispatcher ----------------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        delay = 0.5
        while not self._stopping.is_set():
            try:
                self._dispatch_loop()
                return
            except Exception as e:  # the dispatcher must outlive anything (a storage fault at recovery, a bug)
                log.error("Dask dispatcher: %s; going on", e)
            self._stopping.wait(delay)
            delay = min(10.0, delay * 2)

    def _dispatch_loop(self) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            if self._recover_later:
                self.recovered = self.store.recover_interrupted_jobs(self.config.max_attempts)
                self._recover_later = False
            if not self._ensure_connected():
                if self.config.dask_fallback == "local":
                    self._start_fallback()
                self._wake.wait(backoff)
                self._wake.clear()
                backoff = min(backoff * 2, 10.0)
                continue
            backoff = 1.0
            self._stop_fallback()
            self._refresh_info()
            capacity = self.info["threads"]
            if capacity == 0:
                self.waiting = f"the Dask scheduler at {self.address} has no workers; start one with `dask worker`"
                self._wake.wait(1.0)
                self._wake.clear()
                self._info_at = 0.0
                continue
            self.waiting = ""
            if self._in_flight + len(self._starting) < capacity * TASKS_PER_THREAD:
                try:
                    self._release_held()
                    fault = probe(self.config.data_dir, write=False)
                    if fault is not None:
                        raise fault
                    job = self.store.claim_next_job()
                except StorageError as e:  # a full or read-only data dir: wait for it, never die over it
                    self.waiting = str(e)
                    self._wake.wait(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                if job is not None:
                    self._launch(job)
                    continue
            self._wake.wait(1.0)
            self._wake.clear()

    def _ensure_connected(self) -> bool:
        c = self.client
        if c is not None and getattr(c, "status", "") == "running":
            return True
        if c is not None:
            log.error("lost the Dask scheduler at %s; reconnecting", self.address)
            self._close_client()
        try:
            client = connect(self.address, timeout=self.config.dask_connect_timeout_s)
        except ClusterUnavailable as e:
            if self.error != str(e):
                log.error("%s", e)
            self.error = str(e)
            return False
        subscribe_progress(client, self.board)
        self.client = client
        self.error = ""
        self._info_at = 0.0
        log.info("connected to the Dask scheduler at %s", self.address)
        return True

    def _refresh_info(self) -> None:
        if time.monotonic() - self._info_at < INFO_EVERY_S:
            return
        try:
            self.info = cluster_info(self.client)
        except Exception as e:  # noqa: BLE001 - the client notices too and the next loop reconnects
            log.warning("the Dask scheduler at %s did not answer (%s)", self.address, e)
        self._info_at = time.monotonic()

    def _close_client(self) -> None:
        c, self.client = self.client, None
        if c is not None:
            try:
                c.close(timeout=2)
            except Exception:  # noqa: BLE001 - closing a dead connection
                pass

    def _start_fallback(self) -> None:
        if self.fallback_pool is None and not self._stopping.is_set():
            from emolens.service.runner import WorkerPool

            log.warning("Dask cluster unavailable and EMOLENS_DASK_FALLBACK=local: starting the local pool")
            pool = WorkerPool(self.config, self.store)
            for slot in pool.slots:  # recovery already ran at start; the pool must not requeue again
                pool._spawn(slot)
            self.fallback_pool = pool

    def _stop_fallback(self) -> None:
        pool, self.fallback_pool = self.fallback_pool, None
        if pool is not None:
            log.info("the Dask cluster is back: stopping the local fallback pool (its running jobs are requeued)")
            pool.stop()

    def _release_held(self) -> None:
        """Requeue (or fail, after max_attempts) jobs a storage fault interrupted; StorageError while it lasts."""
        for jid in sorted(self._held_by_fault):
            self.store.release_job(
                jid,
                "the data directory was full or read-only while this job ran; free space and submit it again",
                self.config.max_attempts,
            )
            self._held_by_fault.discard(jid)

    # -- one job -----------------------------------------------------------------------------------------------
    def _launch(self, job: JobRow) -> None:
        self._running[job.job_id] = []
        self._starting.add(job.job_id)
        t = threading.Thread(target=self._run_job, args=(job,), daemon=True, name=f"emolens-dask-{job.job_id[:8]}")
        self._threads[job.job_id] = t
        t.start()

    def _run_job(self, job: JobRow) -> None:
        workdir = self.config.data_dir / "tmp" / f"{job.job_id}-{uuid.uuid4().hex[:6]}"
        try:
            existing = self.store.find_result_by_job(job.job_id) if job.attempts > 1 else None
            if existing is not None:  # finished before a crash, but never marked: don't measure twice
                _complete(self.store, self.config, job, self.store.get_predictions(existing), {}, existing)
                return
            predictions, media = self._measure(job, workdir)
            _complete(self.store, self.config, job, predictions, media)
        except _Interrupted:
            if self.store.requeue_job(job.job_id):
                log.warning("job %s back in the queue: %s", job.job_id, self.error or "the service is stopping")
        except _Cancelled as e:  # already FAILED with its message; the callback is told, as in the local pool
            _callback(self.config, job, "FAILED", [], str(e))
        except _Failed as e:
            _fail(self.store, self.config, job, str(e))
        except StorageError as e:  # not the job's fault; released (requeued) by the dispatcher once storage heals
            log.error("job %s interrupted: %s", job.job_id, e)
            self._held_by_fault.add(job.job_id)
        except EmolensError as e:
            _fail(self.store, self.config, job, str(e))
        except Exception as e:  # a bug: the job fails with a message, the dispatcher lives on
            log.exception("job %s failed", job.job_id)
            _fail(self.store, self.config, job, f"internal error while measuring ({type(e).__name__}: {e})")
        finally:
            futures = self._running.pop(job.job_id, [])
            if futures and self.client is not None:
                try:
                    self.client.cancel([f for f in futures if not f.done()])
                except Exception:  # noqa: BLE001 - a dead client
                    pass
            self._threads.pop(job.job_id, None)
            self._starting.discard(job.job_id)
            self.board.forget(job.job_id)
            shutil.rmtree(workdir, ignore_errors=True)
            self._wake.set()

    def _submit(self, job_id: str, kind: str, unit: int, fn: Any, *args: Any) -> Any:
        """Submit one task when a slot is free (blocks; raises _Interrupted when the cluster goes away)."""
        with self._cv:
            while self._in_flight >= max(1, self.info["threads"]) * TASKS_PER_THREAD:
                if self._stopping.is_set() or not self.connected:
                    raise _Interrupted
                self._cv.wait(0.5)
            if self._stopping.is_set() or not self.connected:
                raise _Interrupted
            self._in_flight += 1
        try:
            fut = self.client.submit(fn, *args, key=task_key(kind, job_id, unit), pure=False)
        except Exception as e:  # noqa: BLE001 - the client lost its scheduler
            self._release_slot()
            raise _Interrupted from e
        fut.add_done_callback(lambda _f: self._release_slot())
        self._running.setdefault(job_id, []).append(fut)
        self._starting.discard(job_id)
        return fut

    def _release_slot(self) -> None:
        with self._cv:
            self._in_flight = max(0, self._in_flight - 1)
            self._cv.notify_all()
        self._wake.set()  # a slot is free: the dispatcher may claim the next job

    def _measure(self, job: JobRow, workdir: Path) -> tuple[list[dict], dict]:
        """The cluster twin of ``execute.measure_request``: same inputs in the same order, same answers."""
        from emolens.service.cluster_worker import measure_file_task, measure_texts_task, media_source, text_sources

        raw = job.request
        request = parse_job_request(raw)
        files = raw.get("files") or []
        urls = list(request.urls)
        texts = list(request.text)
        n_units = len(files) + len(urls) + (1 if texts else 0)
        progress = _JobProgress(self.store, job.job_id, n_units)
        used: set[str] = set()
        media: dict[str, str] = {}
        entries: list[_Entry] = []
        unit = 0
        for info in files:
            source = file_source(info)
            filename = source["filename"]
            local = _safe_name(filename, used)
            data = self.store.media_path(info["sha256"]).read_bytes()
            fut = self._submit(
                job.job_id, "file", unit, measure_file_task, data, local, filename, info.get("content_type"),
                source, raw, job.job_id, unit,
            )  # fmt: skip
            entries.append((filename, None, [(fut, unit, 0)], _as_media(media_source, source, filename)))
            media[filename] = info["sha256"]
            unit += 1
        if urls:
            workdir.mkdir(parents=True, exist_ok=True)
        for i, url in enumerate(urls):
            source = {"type": "url", "url": url}
            try:  # the service fetches (workers may not reach the URL); the bytes travel like an upload's
                fetched = fetch_job_url(self.config, url, workdir / f"url{i}")
            except MediaError as e:
                entries.append((url, _error_source(source, url, e.reason, top_level=True), [], None))
                unit += 1
                continue
            sha = self.store.put_media(fetched.path, fetched.content_type)
            media.setdefault(fetched.filename, sha)
            fut = self._submit(
                job.job_id, "url", unit, measure_file_task, fetched.path.read_bytes(), fetched.path.name,
                fetched.filename, fetched.content_type, source, raw, job.job_id, unit,
            )  # fmt: skip
            entries.append((url, None, [(fut, unit, 0)], _as_media(media_source, source, fetched.filename)))
            unit += 1
        if texts:
            parts = []
            for c, (offset, chunk) in enumerate(text_chunks(texts, self.config.dask_text_chunk)):
                task_unit = unit + c
                fut = self._submit(job.job_id, "text", task_unit, measure_texts_task, chunk, raw, job.job_id, task_unit)
                parts.append((fut, task_unit, offset))
            entries.append((f"{len(texts)} text(s)", None, parts, text_sources))
        self._wait(job.job_id, entries, progress)

        predictions: list[dict[str, Any]] = []
        for _label, ready, parts, to_json in entries:
            if not parts:
                predictions.append(ready)
                continue
            for fut, _unit, offset in parts:
                outcome = self._result(fut)
                if outcome.error is not None:
                    raise _Failed(outcome.error)
                predictions += to_json(outcome.value, offset)
        return predictions, media

    def _wait(self, job_id: str, entries: list[_Entry], progress: _JobProgress) -> None:
        futures = [f for _, _, parts, _ in entries for f, _, _ in parts]
        checked = time.monotonic()
        while not all(f.done() for f in futures):
            if self._stopping.is_set() or not self.connected:
                raise _Interrupted
            time.sleep(0.1)
            if time.monotonic() - checked >= 1.0:  # cancelled? then its tasks stop taking cluster time
                checked = time.monotonic()
                try:
                    current = self.store.get_job(job_id)
                except EmolensError:
                    current = None
                if current is not None and current.status == "FAILED":
                    raise _Cancelled(current.message or "cancelled")
            fractions = []
            for label, _ready, parts, _ in entries:
                if not parts:
                    fractions.append((1.0, label, ""))
                    continue
                got = [(1.0, "") if f.done() else self.board.get(job_id, u) for f, u, _ in parts]
                msg = next((m for fr, m in got if fr < 1.0 and m), "")
                fractions.append((sum(fr for fr, _ in got) / len(got), label, msg))
            progress.update(fractions)

    def _result(self, fut: Any) -> Any:
        from concurrent.futures import CancelledError

        from distributed import KilledWorker

        try:
            return fut.result()
        except KilledWorker:
            raise _Failed(
                "the Dask workers measuring this job kept dying (the scheduler's allowed-failures was reached); "
                "check that the media is valid and that the workers have enough memory, then submit the job again"
            ) from None
        except CancelledError:
            raise _Interrupted from None
        except (OSError, TimeoutError) as e:
            raise _Interrupted from e
