"""File types emolens accepts: suffix -> MIME type, which are text, which are video. The one table for all layers.

Kept free of heavy imports: the CLI, the service, the client and the dashboard all use it.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

#: Audio and video suffixes, with their MIME types (mimetypes does not know all of them everywhere: slim
#: containers lack /etc/mime.types).
MEDIA_MIME: dict[str, str] = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".webm": "video/webm",
    ".mp4": "video/mp4",
    ".mkv": "video/x-matroska",
    ".mov": "video/quicktime",
    ".avi": "video/x-msvideo",
    ".wma": "audio/x-ms-wma",
}
#: Files measured as text (language, ner) rather than media.
TEXT_SUFFIXES: tuple[str, ...] = (".txt", ".text")
TEXT_MIME = "text/plain"
VIDEO_SUFFIXES = frozenset(s for s, m in MEDIA_MIME.items() if m.startswith("video/"))

#: What upload widgets offer (suffixes without the dot): media, then text.
UPLOAD_TYPES: tuple[str, ...] = tuple(s[1:] for s in MEDIA_MIME) + tuple(s[1:] for s in TEXT_SUFFIXES)
#: Media only (live clips).
MEDIA_TYPES: tuple[str, ...] = tuple(s[1:] for s in MEDIA_MIME)


def content_type_for(path: str | Path) -> str:
    """Best-effort MIME type from the file name (``application/octet-stream`` when unknown)."""
    ext = Path(path).suffix.lower()
    if ext in TEXT_SUFFIXES:
        return TEXT_MIME
    return MEDIA_MIME.get(ext) or mimetypes.guess_type(str(path))[0] or "application/octet-stream"


def is_text_file(filename: str, content_type: str | None) -> bool:
    """Whether an uploaded or fetched file is measured as text (language/ner) rather than media."""
    return filename.lower().endswith(TEXT_SUFFIXES) or (content_type or "").split(";")[0].strip() == TEXT_MIME


def is_video(filename: str, content_type: str | None = None) -> bool:
    """Whether a file is played back as video (by suffix or MIME type)."""
    return Path(filename).suffix.lower() in VIDEO_SUFFIXES or (content_type or "").startswith("video/")
