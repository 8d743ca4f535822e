"""emolens: measure and explore emotional expression in speech and text; Hume-compatible, offline.

The public API is small and imported lazily so ``import emolens`` stays fast (no pandas/plotly/models at import).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "errors",
    "emotions",
    "schema",
    "archive",
    "frames",
    "charts",
    "store",
    "engine",
    "hume",
    "load_archive",
    "wide_frame",
    "long_frame",
    "Store",
    "parse_predictions",
    "parse_job_request",
]

_LAZY = {
    "load_archive": ("emolens.archive", "load_archive"),
    "wide_frame": ("emolens.frames", "wide_frame"),
    "long_frame": ("emolens.frames", "long_frame"),
    "Store": ("emolens.store", "Store"),
    "parse_predictions": ("emolens.schema", "parse_predictions"),
    "parse_job_request": ("emolens.schema", "parse_job_request"),
}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    if name in {"errors", "emotions", "schema", "archive", "frames", "charts", "store", "engine", "hume"}:
        return importlib.import_module(f"emolens.{name}")
    raise AttributeError(f"module 'emolens' has no attribute {name!r}")
