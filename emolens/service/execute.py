"""Running one batch job inside a worker process: inputs -> engine -> a stored result -> COMPLETED/FAILED.

Sources come out in request order: uploaded files, then URLs, then texts (each text is one ``{"type": "text"}``
source, as in Hume's answers). A file or URL that cannot be measured becomes an error inside its source (the job
still completes, with ``num_errors``); a failure of the engine itself fails the job with its message.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emolens.errors import EmolensError, MediaError, StorageError
from emolens.hume import asr_model
from emolens.media_types import is_text_file
from emolens.schema import JobRequest, parse_job_request
from emolens.service.config import ServiceConfig
from emolens.service.fetch import FetchedFile, fetch_url, post_callback
from emolens.store import JobRow, Store
from emolens.storefaults import storage_fault
from emolens.summary import result_name

log = logging.getLogger("emolens.service.worker")


Progress = Callable[[float, str], None]


def public_request(request: dict[str, Any]) -> dict[str, Any]:
    """The request as job details show it: internal file fields (sha256) left out."""
    out = dict(request)
    out["files"] = [{k: v for k, v in f.items() if k != "sha256"} for f in request.get("files") or []]
    return out


def _safe_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[^\w.\- ()]+", "_", Path(name or "file").name).strip(" .") or "file"
    candidate, i = base[:150], 1
    while candidate in used:
        stem, dot, ext = base.partition(".")
        candidate = f"{stem[:140]}-{i}{dot}{ext}"
        i += 1
    used.add(candidate)
    return candidate


def file_source(info: dict[str, Any]) -> dict[str, Any]:
    """Hume's source descriptor for an uploaded file of a stored job request."""
    return {
        "type": "file",
        "filename": info.get("filename") or "file",
        "content_type": info.get("content_type"),
        "md5sum": info.get("md5sum"),
    }


def fetch_job_url(config: ServiceConfig, url: str, dest: Path) -> FetchedFile:
    """Download one of a job's URLs under the service's limits (raises MediaError with a user-facing reason)."""
    return fetch_url(
        url,
        dest,
        allow_private=config.allow_private_urls,
        max_bytes=config.max_url_bytes,
        timeout_s=config.fetch_timeout_s,
        max_redirects=config.max_redirects,
    )


def _error_source(source: dict[str, Any], file: str, message: str, *, top_level: bool = False) -> dict[str, Any]:
    if top_level:
        return {"source": source, "results": None, "error": message}
    return {
        "source": source,
        "results": {"predictions": [], "errors": [{"message": message, "file": file}]},
        "error": None,
    }


def _relabel(src: dict[str, Any], source: dict[str, Any], file: str, file_type: str | None = None) -> dict[str, Any]:
    """Put our source descriptor and the user's file name on an engine answer."""
    src = dict(src)
    src["source"] = source
    results = src.get("results") or {}
    for pred in results.get("predictions") or []:
        pred["file"] = file
        if file_type:
            pred["file_type"] = file_type
    for err in results.get("errors") or []:
        err["file"] = file
    return src


class JobCancelled(EmolensError):
    """The job was cancelled (POST /v0/batch/jobs/{id}/cancel) while it ran."""


class _Reporter:
    """Turns per-source engine progress into job progress in the store (throttled: the store is shared)."""

    def __init__(self, store: Store, job_id: str, n: int) -> None:
        self.store, self.job_id, self.n = store, job_id, max(n, 1)
        self.done = 0
        # Starting the clock now means short jobs (most text jobs) never write progress at all: every write is a
        # transaction the pollers and the next job wait behind. complete_job sets progress to 1 anyway.
        self._last = time.monotonic()
        self._note = ""
        self._checked = self._last

    def part(self, label: str) -> Progress:
        index = self.done

        def cb(fraction: float, message: str = "") -> None:
            now = time.monotonic()
            # the engine names the input itself ("x.wav: decoding"): say it once
            note = message if message.startswith(f"{label}:") else (f"{label}: {message}" if message else label)
            # a new stage is written at once (the first seconds of a job name their stage); updates within a
            # stage at most every 0.25 s
            if now - self._last < 0.25 and note == self._note:
                return
            self._last, self._note = now, note
            overall = (index + max(0.0, min(1.0, float(fraction)))) / self.n
            try:
                self.store.set_job_progress(self.job_id, overall, note)
                if now - self._checked >= 1.0:  # POST .../cancel ends the job FAILED: stop at the next report
                    self._checked = now
                    if self.store.get_job(self.job_id).status == "FAILED":
                        raise JobCancelled(self.store.get_job(self.job_id).message or "cancelled")
            except JobCancelled:
                raise
            except EmolensError:  # progress is best effort; never fail a job over it
                pass

        return cb

    def advance(self) -> None:
        self.done += 1


def _measure_file(
    path: Path, filename: str, content_type: str | None, source: dict[str, Any], request: JobRequest, progress: Progress
) -> dict[str, Any]:
    from emolens import hume

    try:
        if is_text_file(filename, content_type):
            try:
                text = path.read_bytes().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise MediaError("text file is not UTF-8; save it as UTF-8 and submit again", file=filename) from None
            if not text.strip():
                raise MediaError("text file is empty", file=filename, file_type="text")
            out = hume.measure_text([text], request, progress=progress)
            return _relabel(out[0], source, filename, "text")
        out = hume.measure_media([path], request, progress=progress, asr=asr_model(request))
        return _relabel(out[0], source, filename)
    except MediaError as e:
        return _error_source(source, filename, e.reason)


def measure_request(store: Store, config: ServiceConfig, job: JobRow, workdir: Path) -> tuple[list[dict], dict]:
    """Measure every input of a job; returns (predictions, media map filename -> sha256)."""
    from emolens import hume

    raw = job.request
    request = parse_job_request(raw)
    files = raw.get("files") or []
    urls = list(request.urls)
    texts = list(request.text)
    reporter = _Reporter(store, job.job_id, len(files) + len(urls) + (1 if texts else 0))
    used: set[str] = set()
    predictions: list[dict[str, Any]] = []
    media: dict[str, str] = {}

    for info in files:
        source = file_source(info)
        filename = source["filename"]
        src_path = store.media_path(info["sha256"])
        local = workdir / _safe_name(filename, used)
        try:
            local.symlink_to(src_path)
        except OSError:
            shutil.copyfile(src_path, local)
        predictions.append(
            _measure_file(local, filename, info.get("content_type"), source, request, reporter.part(filename))
        )
        media[filename] = info["sha256"]
        reporter.advance()

    for i, url in enumerate(urls):
        source = {"type": "url", "url": url}
        part = reporter.part(url)
        part(0.0, "downloading")
        try:
            fetched = fetch_job_url(config, url, workdir / f"url{i}")
        except MediaError as e:
            predictions.append(_error_source(source, url, e.reason, top_level=True))
            reporter.advance()
            continue
        sha = store.put_media(fetched.path, fetched.content_type)
        media.setdefault(fetched.filename, sha)
        predictions.append(_measure_file(fetched.path, fetched.filename, fetched.content_type, source, request, part))
        reporter.advance()

    if texts:
        out = hume.measure_text(texts, request, progress=reporter.part(f"{len(texts)} text(s)"))
        for src in out:
            src = dict(src)
            src["source"] = {"type": "text"}
            predictions.append(src)
        reporter.advance()
    return predictions, media


def count(predictions: list[dict[str, Any]]) -> tuple[int, int]:
    """(num_predictions, num_errors) as in Hume's COMPLETED state: files predicted, and errors."""
    n_pred = n_err = 0
    for src in predictions:
        if src.get("error"):
            n_err += 1
        results = src.get("results") or {}
        n_pred += len(results.get("predictions") or [])
        n_err += len(results.get("errors") or [])
    return n_pred, n_err


def _complete(
    store: Store,
    config: ServiceConfig,
    job: JobRow,
    predictions: list[dict[str, Any]],
    media: dict[str, str],
    result_id: str | None = None,
) -> str:
    current = store.get_job(job.job_id)
    if current.status == "FAILED":  # cancelled while it ran: keep no result
        _callback(config, job, "FAILED", [], current.message or "cancelled")
        return "FAILED"
    if result_id is None:
        result_id = store.add_result(
            result_name(job.request),
            predictions,
            origin="measured",
            config=public_request(job.request),
            job_id=job.job_id,
            media=media,
        )
    n_pred, n_err = count(predictions)
    store.complete_job(job.job_id, result_id, n_pred, n_err)
    _callback(config, job, "COMPLETED", predictions, "")
    return "COMPLETED"


def _fail(store: Store, config: ServiceConfig, job: JobRow, message: str) -> str:
    store.fail_job(job.job_id, message)
    _callback(config, job, "FAILED", [], message)
    return "FAILED"


def _callback(config: ServiceConfig, job: JobRow, status: str, predictions: list[dict[str, Any]], message: str) -> None:
    url = job.request.get("callback_url")
    if not url:
        return
    payload: dict[str, Any] = {"job_id": job.job_id, "status": status, "predictions": predictions}
    if message:
        payload["message"] = message
    try:
        post_callback(url, payload, allow_private=config.allow_private_urls)
    except EmolensError as e:
        log.warning("job %s: %s", job.job_id, e)


def run_job(store: Store, config: ServiceConfig, job: JobRow) -> str:
    """Run a claimed job to its end state; returns "COMPLETED" or "FAILED". Never raises for job-level failures."""
    workdir = config.data_dir / "tmp" / f"{job.job_id}-{uuid.uuid4().hex[:6]}"
    try:
        if job.request.get("files") or job.request.get("urls"):
            workdir.mkdir(parents=True, exist_ok=True)
        # only a job that ran before (and was interrupted) can already have its result stored
        existing = store.find_result_by_job(job.job_id) if job.attempts > 1 else None
        if existing is not None:  # finished before a crash, but never marked: don't measure twice
            return _complete(store, config, job, store.get_predictions(existing), {}, existing)
        predictions, media = measure_request(store, config, job, workdir)
        return _complete(store, config, job, predictions, media)
    except StorageError:
        raise  # not the job's fault, and marking it failed needs a write too: the worker waits for the disk
    except JobCancelled as e:
        return _fail(store, config, job, str(e))  # already FAILED with its message; the callback is told
    except EmolensError as e:
        return _fail(store, config, job, str(e))
    except Exception as e:  # a bug or a model crash: the job fails with a message, the worker lives on
        fault = storage_fault(e, config.data_dir)
        if fault is not None:  # e.g. ENOSPC while copying a file into the work folder
            raise fault from None
        log.exception("job %s failed", job.job_id)
        return _fail(store, config, job, f"internal error while measuring ({type(e).__name__}: {e})")
    finally:
        if workdir.exists():
            shutil.rmtree(workdir, ignore_errors=True)


# -- micro-batching of short text jobs -----------------------------------------------------------------------------
#: At most this many texts are measured in one engine call.
MAX_BATCH_TEXTS = 64


def text_batch_key(job: JobRow) -> str | None:
    """Jobs with equal keys can share one engine call: text-only jobs with the same models and transcription."""
    r = job.request
    if r.get("files") or r.get("urls") or not r.get("text") or job.attempts > 1:
        return None
    return json.dumps([r.get("models"), r.get("transcription")], sort_keys=True)


def run_text_batch(store: Store, config: ServiceConfig, jobs: list[JobRow]) -> list[str]:
    """Several queued text-only jobs with one configuration, measured in one engine call.

    The text models batch their inputs, so a queue of short jobs costs a fraction of running them one by one;
    each job still gets its own result, state and callback. If the shared call fails, the jobs run one by one so
    that one bad job cannot fail the others.
    """
    from emolens import hume

    if len(jobs) == 1:
        return [run_job(store, config, jobs[0])]
    try:
        request = parse_job_request(jobs[0].request)
        texts = [t for j in jobs for t in j.request["text"]]
        out = hume.measure_text(texts, request)
    except Exception as e:  # noqa: BLE001 - fall back below, each job with its own error handling
        fault = storage_fault(e, config.data_dir)
        if fault is not None:
            raise fault from None
        log.warning("batched text jobs failed together (%s); running them one by one", e)
        return [run_job(store, config, j) for j in jobs]
    statuses, i = [], 0
    for job in jobs:
        n = len(job.request["text"])
        preds = []
        for k, src in enumerate(out[i : i + n]):
            src = dict(src)
            src["source"] = {"type": "text"}
            results = src.get("results") or {}
            for item in (results.get("predictions") or []) + (results.get("errors") or []):
                item["file"] = str(k)  # indices within this job, not within the batch
            preds.append(src)
        i += n
        try:
            statuses.append(_complete(store, config, job, preds, {}))
        except StorageError:
            raise
        except EmolensError as e:
            statuses.append(_fail(store, config, job, str(e)))
    return statuses
