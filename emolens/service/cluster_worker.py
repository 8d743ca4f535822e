"""What runs on a Dask worker: the emolens worker plugin and the task functions (one per file, one per text chunk).

This module is imported on every worker (``pip install emolens`` is all a worker needs) and by the client that
submits the tasks; nothing else in emolens imports it, so ``distributed`` stays an optional dependency of the
embedded default.

Models load once per worker *process*: the engine stages cache them per process (``functools.lru_cache``), a
worker runs its tasks in the same process one after another (``--nthreads 1``), so only the first task on a worker
pays for loading. :func:`worker_facts` reports those caches so a test can check it.

A task never raises for a job-level failure: it returns a :class:`TaskOutcome` whose ``error`` is the exact
message the local pool would have failed the job with. (Exceptions raised inside a task would be pickled across
the network; a plain string cannot fail to unpickle, and the job's message stays byte-identical to a local run.)
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distributed import WorkerPlugin, get_worker

log = logging.getLogger("distributed.emolens")

#: Topic of the progress events that tasks send to the scheduler (the service subscribes to it).
TOPIC_PROGRESS = "emolens-progress"
#: Topic of one event per finished task: which worker (address, pid) measured which unit of which job.
TOPIC_TASKS = "emolens-task"
PROGRESS_EVERY_S = 0.25


@dataclass(frozen=True)
class TaskOutcome:
    """A task's answer: ``value`` (the engine's result objects) or ``error`` (the job's failure message)."""

    value: Any = None
    error: str | None = None


class EmolensWorkerPlugin(WorkerPlugin):
    """Checks at worker start that it runs the same emolens as the service (same package, same weights).

    Registered by the client on connect (:func:`emolens.service.cluster.connect`); a worker that runs another
    version fails the registration with a message that says which, instead of producing different numbers.
    """

    name = "emolens"

    def __init__(self, version: str) -> None:
        self.version = version

    def setup(self, worker: Any) -> None:  # noqa: D102 - see class docstring
        import emolens

        if emolens.__version__ != self.version:
            raise RuntimeError(
                f"this Dask worker runs emolens {emolens.__version__} but the service runs {self.version}: "
                "install the same emolens on every worker"
            )
        log.info("emolens %s ready on worker %s (pid %d)", self.version, worker.address, os.getpid())


def _progress(job_id: str, unit: int) -> Callable[[float, str], None]:
    """A progress callback that sends throttled events to the scheduler (never fails the task)."""
    last = [0.0]

    def cb(fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_S:
            return
        last[0] = now
        try:
            get_worker().log_event(
                TOPIC_PROGRESS, {"job": job_id, "unit": unit, "fraction": float(fraction), "message": message}
            )
        except Exception:  # noqa: BLE001 - progress is best effort
            pass

    return cb


def _record(job_id: str, unit: int) -> None:
    try:
        w = get_worker()
        w.log_event(TOPIC_TASKS, {"job": job_id, "unit": unit, "worker": w.address, "pid": os.getpid()})
    except Exception:  # noqa: BLE001 - bookkeeping only
        pass
    log.info("emolens: measured unit %d of job %s", unit, job_id)


def _guard(fn: Callable[[], Any]) -> TaskOutcome:
    """Run ``fn`` and map errors to the messages the local pool fails a job with (emolens.service.execute)."""
    from emolens.errors import EmolensError

    try:
        return TaskOutcome(value=fn())
    except EmolensError as e:
        return TaskOutcome(error=str(e))
    except Exception as e:  # noqa: BLE001 - a model crash fails the job with a message, as in the local pool
        log.exception("emolens task failed")
        return TaskOutcome(error=f"internal error while measuring ({type(e).__name__}: {e})")


def measure_file_task(
    data: bytes,
    local_name: str,
    filename: str,
    content_type: str | None,
    source: dict[str, Any],
    request: dict[str, Any],
    job_id: str,
    unit: int,
) -> TaskOutcome:
    """One file of a service job. The bytes travel with the task (no shared file system); the answer is the
    engine's :class:`~emolens.engine.results.MediaResult` for a media file named ``local_name``, which the service
    turns into Hume JSON with the same adapter as a local run (:func:`media_source`). An uploaded text file, or a
    file the engine refuses outright, comes back as the finished source dict the local pool would store."""
    from emolens import hume
    from emolens.engine.api import measure_audio
    from emolens.errors import MediaError
    from emolens.media_types import is_text_file
    from emolens.schema import parse_job_request
    from emolens.service.execute import _error_source, _measure_file

    def run() -> Any:
        req = parse_job_request(request)
        with tempfile.TemporaryDirectory(prefix="emolens-task-") as d:
            path = Path(d) / local_name
            path.write_bytes(data)
            if is_text_file(filename, content_type):
                return _measure_file(path, filename, content_type, source, req, _progress(job_id, unit))
            try:
                options = hume.media_options(req, asr=hume.asr_model(req))
                options.check()
                return measure_audio(path, options, progress=_progress(job_id, unit))
            except MediaError as e:
                return _error_source(source, filename, e.reason)

    out = _guard(run)
    _record(job_id, unit)
    return out


def media_source(value: Any, source: dict[str, Any], filename: str) -> dict[str, Any]:
    """A file task's value as the source dict the local pool stores (``execute._measure_file``'s answer)."""
    from emolens import hume
    from emolens.engine.results import MediaResult
    from emolens.service.execute import _relabel

    if isinstance(value, MediaResult):
        return _relabel(hume.media_source(value), source, filename)
    return value


def measure_texts_task(texts: list[str], request: dict[str, Any], job_id: str, unit: int) -> TaskOutcome:
    """A chunk of a job's texts: the engine's :class:`~emolens.engine.results.TextResult` list for them, with the
    options the local pool derives from the same request (:func:`text_sources` makes them Hume JSON)."""
    from emolens import hume
    from emolens.engine.api import measure_texts

    def run() -> Any:
        options = hume.text_options(hume.job_request(request))
        return measure_texts(texts, options, _progress(job_id, unit))

    out = _guard(run)
    _record(job_id, unit)
    return out


def text_sources(results: list[Any], offset: int) -> list[dict[str, Any]]:
    """A text chunk's results as Hume sources; ``offset`` is the chunk's first index in the whole request."""
    from emolens import hume

    return [hume.text_source(r, offset + i) for i, r in enumerate(results)]


def measure_media_task(
    data: bytes, name: str, request: dict[str, Any], asr: str, job_id: str, unit: int
) -> TaskOutcome:
    """One file of ``emolens measure --dask-scheduler``: the engine's MediaResult for a file named ``name``."""
    from emolens import hume
    from emolens.engine.api import measure_audio

    def run() -> Any:
        options = hume.media_options(hume.job_request(request), asr=asr)
        options.check()
        with tempfile.TemporaryDirectory(prefix="emolens-task-") as d:
            path = Path(d) / name
            path.write_bytes(data)
            return measure_audio(path, options, progress=_progress(job_id, unit))

    out = _guard(run)
    _record(job_id, unit)
    return out


def worker_facts() -> dict[str, Any]:
    """This worker process: pid, and how often each model loader ran (an ``lru_cache`` miss is one load)."""
    import sys

    facts: dict[str, Any] = {"pid": os.getpid(), "loads": {}}
    for module, fn in (
        ("emolens.engine.transcribe", "get_model"),
        ("emolens.engine.prosody", "get_model"),
        ("emolens.engine.diarize", "get_encoder"),
    ):
        mod = sys.modules.get(module)
        loader = getattr(mod, fn, None) if mod is not None else None
        info = getattr(loader, "cache_info", None)
        if info is not None:
            facts["loads"][f"{module}.{fn}"] = info().misses
    return facts
