"""Errors -> HTTP: every failure answers with Hume-style JSON ``{"message": ..., "code": ...}``, never a traceback.

Library errors know nothing of HTTP: :func:`http_status` maps their types to a status here (ConfigError 400,
StoreError 404, StorageError 507 when full / 503, EngineError 500, ClusterUnavailable 503); :class:`ServiceError`
is for conditions only the HTTP layer knows about (401, 413, 400 on a job not completed).
"""

from __future__ import annotations

import logging
import sqlite3

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from emolens.errors import APIError, EmolensError, EngineError, StorageError, StoreError

log = logging.getLogger("emolens.service")


class ServiceError(EmolensError):
    """An HTTP-level error with its status and a message that says what to change."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        self.status = status
        self.code = code or _default_code(status)
        super().__init__(message)


def http_status(exc: EmolensError) -> int:
    """The HTTP status the service answers with when ``exc`` reaches it (400 unless its type says otherwise)."""
    from emolens.service.cluster import ClusterUnavailable  # no Dask import: cluster.py imports it lazily

    if isinstance(exc, ServiceError):
        return exc.status
    if isinstance(exc, StorageError):  # not the request's fault: full (507), read-only or failing (503)
        return 507 if exc.kind == "full" else 503
    for kind, status in ((ClusterUnavailable, 503), (StoreError, 404), (EngineError, 500)):
        if isinstance(exc, kind):
            return status
    return 400


def _default_code(status: int) -> str:
    return {
        400: "invalid_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        413: "payload_too_large",
        415: "unsupported_media_type",
        422: "invalid_request",
        500: "internal_error",
        501: "not_implemented",
        502: "bad_gateway",
        503: "unavailable",
        507: "insufficient_storage",
    }.get(status, "error")


def error_body(status: int, message: str, code: str | None = None) -> dict[str, str]:
    return {"message": message, "code": code or _default_code(status)}


def error_response(status: int, message: str, code: str | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": 'ApiKey header="X-Hume-Api-Key"'} if status == 401 else None
    return JSONResponse(error_body(status, message, code), status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors()[:5]:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path"))
        parts.append(f"{loc}: {e.get('msg', 'invalid')}" if loc else str(e.get("msg", "invalid")))
    return "invalid request: " + "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception type the routes can raise to a JSON answer."""

    @app.exception_handler(ServiceError)
    async def _service(_: Request, exc: ServiceError) -> JSONResponse:
        return error_response(exc.status, str(exc), exc.code)

    @app.exception_handler(APIError)
    async def _api(_: Request, exc: APIError) -> JSONResponse:
        return error_response(502, exc.message, "bad_gateway")

    @app.exception_handler(EmolensError)
    async def _emolens(_: Request, exc: EmolensError) -> JSONResponse:
        status = http_status(exc)
        if status >= 500:
            log.error("request failed: %s", exc)
        return error_response(status, str(exc), getattr(exc, "code", None) or type(exc).__name__)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = "no such endpoint; the API serves /v0/batch/jobs and /v0/stream/models (see /docs)"
        return error_response(exc.status_code, message)

    @app.exception_handler(sqlite3.Error)
    @app.exception_handler(OSError)
    async def _storage(request: Request, exc: Exception) -> JSONResponse:
        # A fault the store did not translate itself (it should): still a clear 507/503, never "internal error".
        from emolens.storefaults import storage_fault

        fault = storage_fault(exc, request.app.state.config.data_dir)
        if fault is None:
            return await _unexpected(request, exc)
        log.error("storage fault: %s (%s)", fault, exc)
        return error_response(http_status(fault), str(fault), fault.code)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(500, f"internal error ({type(exc).__name__}); the service log has details")
