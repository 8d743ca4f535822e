"""Assembly only: :func:`create_app` wires settings, store, worker pool, routes and error handlers; :func:`serve`
runs it with uvicorn (``python -m emolens serve``)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from emolens.errors import EmolensError
from emolens.service.config import ServiceConfig
from emolens.service.deps import API_KEY_HEADER, check_api_key
from emolens.service.errors import install_error_handlers
from emolens.service.guard import LOOPBACK_HOSTS, Door
from emolens.service.logscrub import install_log_scrubbing
from emolens.storefaults import probe

log = logging.getLogger("emolens.service")

VERSION = "0.1.0"


def create_app(config: ServiceConfig, *, start_workers: bool = True) -> FastAPI:
    """The FastAPI app of one service instance. ``start_workers=False`` queues jobs without running them
    (for tests of the HTTP layer alone)."""
    from emolens.service import batch, stream
    from emolens.store import Store

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = Store(config.data_dir)
        app.state.pool = None
        if start_workers and config.dask_scheduler:
            from emolens.service.cluster_runner import ClusterRunner

            app.state.pool = ClusterRunner(config, app.state.store)
            app.state.pool.start()
        elif start_workers:
            from emolens.service.runner import WorkerPool

            app.state.pool = WorkerPool(config, app.state.store)
            app.state.pool.start()
        try:
            yield
        finally:
            if app.state.pool is not None:
                app.state.pool.stop()

    app = FastAPI(
        title="emolens",
        version=VERSION,
        lifespan=lifespan,
        description="A self-hosted, Hume-compatible Expression Measurement API (v0).",
    )
    app.state.config = config
    app.state.stream_limiter = anyio.CapacityLimiter(1)  # one stream inference at a time: 2 cores are shared
    app.state.stream_stats = {"sessions": 0, "payloads": 0, "cancelled": 0}
    install_error_handlers(app)
    install_log_scrubbing()
    app.add_middleware(Door, allowed_hosts=config.allowed_hosts, upload_body_bytes=config.max_upload_bytes)
    app.include_router(batch.router)
    app.include_router(stream.router)

    @app.get("/health", tags=["health"])
    def health(request: Request) -> JSONResponse:
        """``ok`` (200) or ``degraded`` (503, with the reason) — details (workers, jobs, storage) only for callers
        holding the API key, or on a service without one."""
        status, reasons, detail = health_report(request.app)
        code = 200 if status == "ok" else 503
        if check_api_key(config.api_key, request.headers.get(API_KEY_HEADER)) is not None:
            return JSONResponse({"status": status}, status_code=code)
        body: dict[str, Any] = {"status": status}
        if reasons:
            body["reasons"] = reasons
        body.update(detail)
        return JSONResponse(body, status_code=code)

    return app


def health_report(app: FastAPI) -> tuple[str, list[str], dict[str, Any]]:
    """(status, reasons, details) of a running service; ``degraded`` whenever jobs cannot run."""
    config: ServiceConfig = app.state.config
    store = app.state.store
    pool = app.state.pool
    workers = pool.status() if pool is not None else []
    reasons: list[str] = []
    alive = sum(w["alive"] for w in workers)
    configured = (len(workers) if config.dask_scheduler else config.workers) if pool is not None else 0
    if pool is not None and alive < configured and not config.dask_scheduler:
        reasons.append(f"workers: {alive} of {configured} alive (restarting)")
    detail: dict[str, Any] = {
        "service": "emolens",
        "version": VERSION,
        "auth_required": bool(config.api_key),
        "engine": "dask" if config.dask_scheduler else "local",
        "workers": {"configured": configured, "alive": alive, "detail": workers},
    }
    cluster = pool.health() if pool is not None and hasattr(pool, "health") else None
    if cluster is not None:
        detail["cluster"] = cluster
        if cluster["error"]:  # the service answers, but batch jobs cannot run on the cluster now
            reasons.append(f"cluster: {cluster['error']}")
            detail["error"] = cluster["error"]
    fault = probe(config.data_dir)
    if fault is not None:
        reasons.append(f"storage: {fault}")
        detail["storage"] = {"writable": False, "kind": fault.kind, "message": str(fault)}
    else:
        detail["storage"] = {"writable": True}
    if pool is not None and hasattr(pool, "faults"):
        reasons += [f"workers: {f}" for f in pool.faults() if f"storage: {f}" not in reasons]
    try:
        detail["jobs"] = {s.lower(): store.count_jobs(s) for s in ("QUEUED", "IN_PROGRESS", "COMPLETED", "FAILED")}
    except EmolensError as e:
        if fault is None:
            reasons.append(f"storage: {e}")
    detail["stream"] = dict(app.state.stream_stats)
    return ("degraded" if reasons else "ok"), reasons, detail


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    data_dir: str | Path | None = None,
    api_key: str | None = None,
    workers: int = 1,
    dask_scheduler: str | None = None,
    allowed_hosts: str | None = None,
) -> None:
    """Run the service in the foreground until interrupted (Ctrl-C stops the workers and requeues running jobs).

    ``data_dir`` and ``api_key`` default to EMOLENS_DATA_DIR / EMOLENS_API_KEY; the default bind is loopback only.
    ``dask_scheduler`` (default EMOLENS_DASK_SCHEDULER) runs batch jobs on that Dask cluster's workers.
    """
    import uvicorn

    from emolens.errors import ConfigError

    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    from emolens.service.config import split_hosts

    config = ServiceConfig.from_env(data_dir, api_key=api_key, workers=workers, dask_scheduler=dask_scheduler)
    hosts = list(split_hosts(allowed_hosts)) if allowed_hosts is not None else list(config.allowed_hosts)
    if host not in (*LOOPBACK_HOSTS, "0.0.0.0", "::", ""):
        hosts.append(host)  # the address it binds to is a name clients use
    config = replace(config, allowed_hosts=tuple(hosts))
    from emolens.store import Store

    Store(config.data_dir)  # a data dir that cannot be created or opened at all: one `error:` line, not a traceback
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    install_log_scrubbing(root_handlers=True)
    if host not in LOOPBACK_HOSTS and not config.api_key:
        log.warning("serving on %s without an API key: anyone who can reach this port can use it", host)
    if host in ("0.0.0.0", "::") and not config.allowed_hosts:
        log.warning(
            "serving on all interfaces, but only loopback Host names are accepted: list the names clients use "
            "in --allowed-hosts / EMOLENS_ALLOWED_HOSTS (or '*')"
        )
    from emolens.schema import LIMITS

    uvicorn.run(
        create_app(config),
        host=host,
        port=port,
        log_level="info",
        ws="websockets-sansio",
        ws_max_size=LIMITS["stream_message_bytes"].value,
    )
