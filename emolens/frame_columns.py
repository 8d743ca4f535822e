"""Column names of the tidy frames (:mod:`emolens.frames`), in a module light enough for the CSV fast path."""

from __future__ import annotations

SEGMENT_COLUMNS = [
    "source",
    "file",
    "file_type",
    "model",
    "speaker",
    "segment",
    "text",
    "begin",
    "end",
    "position_begin",
    "position_end",
    "confidence",
    "speaker_confidence",
]
#: entity_type: an optional extension (Hume's schema has no entity label); None when a result lacks it.
NER_COLUMNS = ["entity_confidence", "support", "uri", "link_word", "entity_type"]
