"""Column names of the tidy frames (:mod:`emolens.frames`) and the CSV line sink, in a module light enough for the
CSV fast path (:mod:`emolens.columnar`)."""

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


class LineSink:
    """A file-like sink keeping each ``csv.writer.writerow`` line (the writer writes one string per row)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, s: str) -> int:
        """Keep one written row; returns its length as ``io`` writers do."""
        self.lines.append(s)
        return len(s)
