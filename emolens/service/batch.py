"""Batch routes: ``/v0/batch/jobs`` (start, list), ``/{id}`` (details), ``/{id}/predictions``, ``/{id}/artifacts``."""

from __future__ import annotations

import hashlib
import json
from typing import Any, get_args

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData, UploadFile

from emolens.errors import ConfigError, StorageError, StoreError
from emolens.hume import asr_model
from emolens.schema import (
    LIMITS,
    MAX_FILES,
    AsrModel,
    JobProgress,
    JobRequest,
    StateCompleted,
    StateFailed,
    StateInProgress,
    StateQueued,
    Wire,
    format_bytes,
    loads_limited,
    parse_job_list_query,
    parse_job_request,
)
from emolens.service.deps import AuthDep, SettingsDep, StoreDep
from emolens.service.errors import ServiceError
from emolens.service.execute import public_request
from emolens.service.fetch import validate_url
from emolens.store import JobRow, Store
from emolens.storefaults import probe

router = APIRouter(prefix="/v0/batch", dependencies=[AuthDep], tags=["batch"])

SUPPORTED_MODELS = ("prosody", "burst", "language", "ner")


def job_details(job: JobRow, queue_note: str | None = None) -> dict[str, Any]:
    """A stored job in Hume's JobDetails shape (integer timestamps; ``request.files`` always present).

    Two emolens extras ride along while a job runs: ``progress`` ``{"fraction", "message"}``; Hume clients ignore them.
    ``queue_note`` (why queued jobs are not starting, e.g. the Dask scheduler is unreachable) is a QUEUED job's
    progress message.
    """
    created = int(job.created_ms)
    started = int(job.started_ms) if job.started_ms is not None else created
    ended = int(job.ended_ms) if job.ended_ms is not None else started
    state: Wire
    if job.status == "QUEUED":
        state = StateQueued(status="QUEUED", created_timestamp_ms=created)
    elif job.status == "IN_PROGRESS":
        state = StateInProgress(status="IN_PROGRESS", created_timestamp_ms=created, started_timestamp_ms=started)
    elif job.status == "COMPLETED":
        state = StateCompleted(
            status="COMPLETED",
            created_timestamp_ms=created,
            started_timestamp_ms=started,
            ended_timestamp_ms=ended,
            num_predictions=int(job.num_predictions or 0),
            num_errors=int(job.num_errors or 0),
        )
    else:
        state = StateFailed(
            status="FAILED",
            created_timestamp_ms=created,
            started_timestamp_ms=started,
            ended_timestamp_ms=ended,
            message=job.message or "the job failed",
        )
    request = public_request(job.request)
    # Hume's typed clients expect these keys in every job's request (files above all), with these defaults.
    for key, default in (("urls", []), ("text", []), ("callback_url", None), ("notify", False), ("files", [])):
        request.setdefault(key, default)
    # The request stays the stored JSON (validating it again would turn e.g. a window length 4 into 4.0).
    out: dict[str, Any] = {"type": "INFERENCE", "job_id": job.job_id, "request": request, "state": state.to_json_dict()}
    if job.status in ("QUEUED", "IN_PROGRESS"):
        note = queue_note if job.status == "QUEUED" and queue_note else job.progress_note or ""
        out["progress"] = JobProgress(fraction=round(float(job.progress or 0.0), 4), message=note).to_json_dict()
    return out


def _queue_note(request: Request) -> str | None:
    pool = getattr(request.app.state, "pool", None)
    return getattr(pool, "queue_note", None)


def _check_request(request: JobRequest, n_files: int, allow_private: bool) -> None:
    """Rules beyond the schema: something to measure, supported models, URL safety, ASR model, limits."""
    if n_files == 0 and not request.urls and not request.text:
        raise ConfigError("nothing to measure: give at least one file, url or text")
    if n_files > MAX_FILES:
        raise ConfigError(f"too many files: {n_files}; at most {MAX_FILES} per job (limit files)")
    models = request.models
    if models is not None:
        unsupported = [m for m in ("face", "facemesh") if getattr(models, m) is not None]
        if unsupported:
            raise ConfigError(
                f"models.{unsupported[0]} is not supported: emolens measures "
                f"{', '.join(SUPPORTED_MODELS)}; remove {', '.join(unsupported)} from models"
            )
        extra = sorted((models.model_extra or {}).keys())
        if extra:
            raise ConfigError(f"unknown model {extra[0]!r}: choose from {', '.join(SUPPORTED_MODELS)}")
    for i, url in enumerate(request.urls):
        validate_url(url, allow_private=allow_private, what=f"urls[{i}]")
    for i, text in enumerate(request.text):
        if not text.strip():
            raise ConfigError(f"text[{i}] is empty; remove it or give some text")
    if request.callback_url:
        validate_url(request.callback_url, allow_private=allow_private, what="callback_url")
    if asr_model(request) not in get_args(AsrModel):
        raise ConfigError(
            f"transcription.model {asr_model(request)!r} is not available: choose {' or '.join(get_args(AsrModel))}"
        )


def parse_json_body(raw: bytes, what: str) -> Any:
    """A JSON body or part: ConfigError (400) for text that is not JSON or nests deeper than the limit."""
    try:
        return loads_limited(raw, what) if raw.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(
            f"{what} is not valid JSON: {e}; send application/json, or multipart/form-data with 'file' parts and "
            "a 'json' field"
        ) from None


async def _parse_form(request: Request, max_part_size: int) -> FormData:
    """The multipart form, with the parser's terse errors turned into messages that say what to change."""
    from contextlib import aclosing

    from starlette.formparsers import MultiPartException, MultiPartParser

    try:
        async with aclosing(request.stream()) as stream:
            parser = MultiPartParser(
                request.headers, stream, max_files=10 * MAX_FILES, max_fields=1000, max_part_size=max_part_size
            )
            return await parser.parse()
    except MultiPartException as e:
        cause = str(e.__cause__ or "")
        if "header size" in cause:
            lim = LIMITS["filename_chars"]
            raise ConfigError(
                "a part of the multipart body has headers over 4 KiB, most likely a file name that is too long: "
                f"at most {lim.show()} per file name (limit {lim.name})"
            ) from None
        if "exceeded maximum size" in e.message:
            raise ServiceError(
                413, LIMITS["json_body_bytes"].message("a form field", f"over {LIMITS['json_body_bytes'].show()}")
            ) from None
        if "Too many files" in e.message:
            raise ConfigError(
                f"too many parts in the multipart body; at most {MAX_FILES} files (limit files)"
            ) from None
        raise ConfigError(f"invalid multipart body: {e.message} {cause}".strip()) from None


async def _read_multipart(request: Request, max_file_bytes: int) -> tuple[dict[str, Any], list[UploadFile]]:
    json_limit = LIMITS["json_body_bytes"]
    form = await _parse_form(request, json_limit.value)
    body: dict[str, Any] = {}
    uploads: list[UploadFile] = []
    for key, value in form.multi_items():
        if key == "json":
            raw = (await value.read()) if isinstance(value, UploadFile) else value.encode()
            if len(raw) > json_limit.value:
                raise ServiceError(413, json_limit.message("the 'json' part", len(raw)))
            body = parse_json_body(raw, "the 'json' part")
        elif isinstance(value, UploadFile):
            uploads.append(value)
    name_limit = LIMITS["filename_chars"]
    for up in uploads:
        if len(up.filename or "") > name_limit.value:
            raise ConfigError(name_limit.message(f"file name {(up.filename or '')[:40]!r}...", len(up.filename or "")))
        if up.size is not None and up.size > max_file_bytes:
            raise ServiceError(413, _too_big(up.filename, up.size, max_file_bytes))
    return body, uploads


def _too_big(filename: str | None, size: int | None, limit: int) -> str:
    seen = format_bytes(size) if size is not None else f"more than {format_bytes(limit)}"
    return f"file {filename!r} is {seen}; at most {format_bytes(limit)} per file (limit file_bytes)"


def _store_upload(store: Store, up: UploadFile, max_file_bytes: int) -> dict[str, Any]:
    up.file.seek(0)
    data = up.file.read(max_file_bytes + 1)
    if len(data) > max_file_bytes:
        raise ServiceError(413, _too_big(up.filename, None, max_file_bytes))
    if not data:
        raise ConfigError(f"file {up.filename!r} is empty")
    ctype = up.content_type if up.content_type and up.content_type != "application/octet-stream" else None
    if ctype is None:
        from emolens.media_types import content_type_for

        ctype = content_type_for(up.filename or "")
    sha = store.put_media(data, ctype)
    if not ctype.startswith("text/"):
        from emolens.engine.audio import probe_duration
        from emolens.schema import MAX_MEDIA_SECONDS

        # Refuse over-long media at submission (Hume's 1-hour rule) rather than failing inside the job later.
        dur = probe_duration(store.media_path(sha))
        if dur is not None and dur > MAX_MEDIA_SECONDS:
            raise ConfigError(
                f"file {up.filename!r} is {dur / 60:.1f} minutes long; at most "
                f"{MAX_MEDIA_SECONDS / 60:.0f} minutes of media per file: cut it into shorter parts "
                "(limit media_seconds)"
            )
    return {
        "filename": up.filename or "file",
        "content_type": ctype,
        "md5sum": hashlib.md5(data).hexdigest(),
        "sha256": sha,
    }


@router.post("/jobs")
async def start_job(request: Request, config: SettingsDep, store: StoreDep) -> dict[str, str]:
    """Start a job from JSON (urls/text) or multipart (``file`` parts + a ``json`` field or file part)."""
    fault = probe(config.data_dir, write=False)
    if fault is not None:  # refuse before reading an upload: a job that cannot be stored or run helps nobody
        raise fault
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    uploads: list[UploadFile] = []
    if ctype == "multipart/form-data":
        body, uploads = await _read_multipart(request, config.max_file_bytes)
    elif ctype == "application/json" or ctype.endswith("+json"):
        body = parse_json_body(await request.body(), "request body")
    elif not ctype and not (await request.body()).strip():
        body = {}  # nothing at all: answered below with "nothing to measure"
    else:
        # A browser may POST text/plain or a form cross-site without asking first; JSON and multipart only.
        raise ServiceError(
            415,
            f"content type {ctype or '(none)'!r} is not accepted: send application/json, or multipart/form-data "
            "with 'file' parts and a 'json' field",
            "unsupported_media_type",
        )
    try:
        if isinstance(body, dict):
            body.pop("files", None)  # files come from the upload parts only
        parsed = parse_job_request(body)
        _check_request(parsed, len(uploads), config.allow_private_urls)
        files = [await run_in_threadpool(_store_upload, store, up, config.max_file_bytes) for up in uploads]
    finally:
        for up in uploads:
            await up.close()
    stored = parsed.to_json_dict()
    stored["files"] = files
    job = await run_in_threadpool(store.create_job, stored)
    pool = getattr(request.app.state, "pool", None)
    if pool is not None:
        pool.wake()
    return {"job_id": job.job_id}


# The two status routes run on the event loop and skip response-model validation: they are the hot path under
# polling load, and a WAL read of one row takes well under a millisecond (readers never wait for the writer).
@router.get("/jobs", response_class=JSONResponse)
async def list_jobs(request: Request, store: StoreDep) -> JSONResponse:
    """Jobs filtered like Hume: limit, status (repeat or comma-separate), when + timestamp_ms, sort_by, direction."""
    q = request.query_params
    data: dict[str, Any] = {k: q[k] for k in ("limit", "when", "timestamp_ms", "sort_by", "direction") if k in q}
    statuses = [s.strip().upper() for v in q.getlist("status") for s in v.split(",") if s.strip()]
    if statuses:
        data["status"] = statuses
    query = parse_job_list_query(data)
    rows = store.list_jobs(
        limit=query.limit,
        statuses=list(query.status) if query.status else None,
        when=query.when,
        timestamp_ms=query.timestamp_ms,
        sort_by=query.sort_by,
        direction=query.direction,
    )
    note = _queue_note(request)
    return JSONResponse([job_details(r, note) for r in rows])


def _job(store: Store, job_id: str) -> JobRow:
    try:
        return store.get_job(job_id)
    except StorageError:
        raise
    except StoreError:
        raise ServiceError(404, f"no job with id {job_id!r}") from None


@router.get("/jobs/{job_id}", response_class=JSONResponse)
async def get_job(job_id: str, request: Request, store: StoreDep) -> JSONResponse:
    return JSONResponse(job_details(_job(store, job_id), _queue_note(request)))


#: The message of a job cancelled through POST /v0/batch/jobs/{id}/cancel (an emolens extension).
CANCELLED = "cancelled by the user"


@router.post("/jobs/{job_id}/cancel", response_class=JSONResponse)
def cancel_job(job_id: str, request: Request, store: StoreDep) -> JSONResponse:
    """emolens extension: stop a QUEUED or IN_PROGRESS job; it ends FAILED with the message "cancelled by the user".
    A running job stops at its next progress report; a job that already ended answers 400 (job_not_active)."""
    job = _job(store, job_id)
    if not store.cancel_job(job_id, CANCELLED):
        job = _job(store, job_id)
        raise ServiceError(
            400, f"job {job_id} is {job.status}: only a queued or running job can be cancelled", "job_not_active"
        )
    return JSONResponse(job_details(_job(store, job.job_id), _queue_note(request)))


def _completed_predictions(store: Store, job_id: str) -> list[dict[str, Any]]:
    job = _job(store, job_id)
    if job.status == "FAILED":
        raise ServiceError(400, f"job {job_id} FAILED, so it has no predictions: {job.message}", "job_failed")
    if job.status != "COMPLETED" or not job.result_id:
        raise ServiceError(
            400, f"job {job_id} is {job.status}; predictions are available once it is COMPLETED", "job_not_completed"
        )
    try:
        return store.get_predictions(job.result_id)
    except StorageError:
        raise
    except StoreError:
        raise ServiceError(404, f"the predictions of job {job_id} were deleted from this service's Library") from None


@router.get("/jobs/{job_id}/predictions")
def get_predictions(job_id: str, store: StoreDep) -> Response:
    data = _completed_predictions(store, job_id)
    return Response(json.dumps(data, separators=(",", ":")), media_type="application/json")


@router.get("/jobs/{job_id}/artifacts")
def get_artifacts(job_id: str, store: StoreDep) -> Response:
    """A zip of CSV files, one per model (layout in docs/artifacts.md); imports back to the same predictions."""
    from emolens.archive import export_artifacts_zip

    blob = export_artifacts_zip(_completed_predictions(store, job_id))
    return Response(
        blob,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="artifacts-{job_id}.zip"'},
    )
