"""Assembly only: :func:`create_app` wires settings, store, worker pool, routes and error handlers; :func:`serve`
runs it with uvicorn (``python -m emolens serve``)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, Request

from emolens.service.config import ServiceConfig
from emolens.service.errors import install_error_handlers

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
    install_error_handlers(app)
    app.include_router(batch.router)
    app.include_router(stream.router)

    @app.get("/health", tags=["health"])
    def health(request: Request) -> dict[str, Any]:
        """Liveness and queue facts; needs no API key (it reveals no data)."""
        store = request.app.state.store
        pool = request.app.state.pool
        workers = pool.status() if pool is not None else []
        out: dict[str, Any] = {
            "status": "ok",
            "service": "emolens",
            "version": VERSION,
            "auth_required": bool(config.api_key),
            "engine": "dask" if config.dask_scheduler else "local",
            "workers": {
                "configured": (len(workers) if config.dask_scheduler else config.workers) if pool is not None else 0,
                "alive": sum(w["alive"] for w in workers),
                "detail": workers,
            },
            "jobs": {s.lower(): store.count_jobs(s) for s in ("QUEUED", "IN_PROGRESS", "COMPLETED", "FAILED")},
        }
        cluster = pool.health() if pool is not None and hasattr(pool, "health") else None
        if cluster is not None:
            out["cluster"] = cluster
            if cluster["error"]:  # the service answers, but batch jobs cannot run on the cluster now
                out["status"] = "degraded"
                out["error"] = cluster["error"]
        return out

    return app


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    data_dir: str | Path | None = None,
    api_key: str | None = None,
    workers: int = 1,
    dask_scheduler: str | None = None,
) -> None:
    """Run the service in the foreground until interrupted (Ctrl-C stops the workers and requeues running jobs).

    ``data_dir`` and ``api_key`` default to EMOLENS_DATA_DIR / EMOLENS_API_KEY; the default bind is loopback only.
    ``dask_scheduler`` (default EMOLENS_DASK_SCHEDULER) runs batch jobs on that Dask cluster's workers.
    """
    import uvicorn

    from emolens.errors import ConfigError

    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    config = ServiceConfig.from_env(data_dir, api_key=api_key, workers=workers, dask_scheduler=dask_scheduler)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if host not in ("127.0.0.1", "localhost", "::1") and not config.api_key:
        log.warning("serving on %s without an API key: anyone who can reach this port can use it", host)
    uvicorn.run(create_app(config), host=host, port=port, log_level="info", ws="websockets-sansio")
