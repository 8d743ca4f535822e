"""Measurement engine: one module per pipeline stage. Heavy models load lazily, once per process.

The interface (imported lazily so ``import emolens.engine`` stays cheap):

- :func:`measure_audio` (samples or a path + :class:`MediaOptions` -> :class:`MediaResult`) and
  :func:`measure_texts` (texts + :class:`TextOptions` -> list of :class:`TextResult`), in emolens.engine.api;
- option objects in emolens.engine.options, result dataclasses in emolens.engine.results.

Hume's JSON in and out is :mod:`emolens.hume`'s job (``measure_media`` / ``measure_text`` here are its
Hume-format wrappers, kept for existing callers).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from emolens.engine.api import Stages, decode_path, measure_audio, measure_texts
    from emolens.engine.options import (
        BurstOptions,
        LanguageOptions,
        MediaOptions,
        NerOptions,
        ProsodyOptions,
        SpeakerOptions,
        TextOptions,
        TranscriptionOptions,
        WindowOptions,
    )
    from emolens.engine.results import (
        MeasureError,
        MediaResult,
        ModelOutput,
        ScoredEntity,
        ScoredSegment,
        TextResult,
    )
    from emolens.hume import measure_media, measure_text

_LAZY = {
    "measure_audio": "emolens.engine.api",
    "measure_texts": "emolens.engine.api",
    "decode_path": "emolens.engine.api",
    "Stages": "emolens.engine.api",
    "WindowOptions": "emolens.engine.options",
    "ProsodyOptions": "emolens.engine.options",
    "BurstOptions": "emolens.engine.options",
    "LanguageOptions": "emolens.engine.options",
    "NerOptions": "emolens.engine.options",
    "TranscriptionOptions": "emolens.engine.options",
    "SpeakerOptions": "emolens.engine.options",
    "MediaOptions": "emolens.engine.options",
    "TextOptions": "emolens.engine.options",
    "ScoredSegment": "emolens.engine.results",
    "ScoredEntity": "emolens.engine.results",
    "ModelOutput": "emolens.engine.results",
    "MeasureError": "emolens.engine.results",
    "MediaResult": "emolens.engine.results",
    "TextResult": "emolens.engine.results",
    "measure_media": "emolens.hume",
    "measure_text": "emolens.hume",
}

__all__ = [
    "measure_audio",
    "measure_texts",
    "decode_path",
    "Stages",
    "WindowOptions",
    "ProsodyOptions",
    "BurstOptions",
    "LanguageOptions",
    "NerOptions",
    "TranscriptionOptions",
    "SpeakerOptions",
    "MediaOptions",
    "TextOptions",
    "ScoredSegment",
    "ScoredEntity",
    "ModelOutput",
    "MeasureError",
    "MediaResult",
    "TextResult",
    "measure_media",
    "measure_text",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'emolens.engine' has no attribute {name!r}")
