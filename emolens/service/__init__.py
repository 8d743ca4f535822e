"""The Hume-compatible batch + streaming service (FastAPI), its job worker pool and the embedded mode.

Entry points (imported lazily so ``import emolens.service`` stays cheap):

- :func:`create_app` (emolens.service.app): the FastAPI application for a :class:`ServiceConfig`.
- :func:`serve` (emolens.service.app): run it with uvicorn (``python -m emolens serve``).
- :class:`EmbeddedService` (emolens.service.embedded): the same app on a free loopback port in a background thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from emolens.service.app import create_app, serve
    from emolens.service.config import ServiceConfig
    from emolens.service.embedded import EmbeddedService

__all__ = ["create_app", "serve", "ServiceConfig", "EmbeddedService"]


def __getattr__(name: str) -> Any:
    if name in ("create_app", "serve"):
        from emolens.service import app

        return getattr(app, name)
    if name == "ServiceConfig":
        from emolens.service.config import ServiceConfig

        return ServiceConfig
    if name == "EmbeddedService":
        from emolens.service.embedded import EmbeddedService

        return EmbeddedService
    raise AttributeError(name)
