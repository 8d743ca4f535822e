"""Measurement engine: one module per pipeline stage. Heavy models load lazily, once per process.

Entry points (imported lazily so ``import emolens.engine`` stays cheap):

- :func:`measure_text` (emolens.engine.text): texts -> Hume-format sources with language and ner results.
- :func:`measure_media` (emolens.engine.media): media files -> Hume-format sources with prosody, language, ner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from emolens.engine.media import measure_media
    from emolens.engine.text import measure_text

__all__ = ["measure_text", "measure_media"]


def __getattr__(name: str) -> Any:
    if name == "measure_text":
        from emolens.engine.text import measure_text

        return measure_text
    if name == "measure_media":
        from emolens.engine.media import measure_media

        return measure_media
    raise AttributeError(name)
