"""The exception tree of emolens.

    EmolensError                  base of everything emolens raises on purpose
    ├── ConfigError               a job/CLI/settings configuration that breaks a rule
    ├── ArchiveError              an archive (JSON/zip/CSV) that cannot be read; names the file
    ├── StoreError                the embedded database (missing result, bad data dir)
    │   └── StorageError          the data directory is full (507), read-only or failing (503)
    ├── MediaError                media that cannot be decoded, too long, no audio track
    ├── EngineError               a measurement model failed or is missing
    └── APIError                  a Hume-compatible service answered with an error (status, message)

Pages catch EmolensError and show ``st.error``; the service maps them to HTTP status + Hume-style JSON
(:mod:`emolens.service.errors` holds the status of each type); the CLI
prints one error line and exits non-zero. Nothing shows a traceback to a user.
"""

from __future__ import annotations


class EmolensError(Exception):
    """Base class: every error emolens raises on purpose. ``str(err)`` is a user-facing message."""


class ConfigError(EmolensError, ValueError):
    """A configuration (job request, CLI flags, settings) that breaks a rule; the message says what to change."""


class _AboutAFile(EmolensError):
    """An error about one file: ``str(err)`` is "file: reason"; ``file`` and ``reason`` are kept apart too."""

    def __init__(self, message: str, file: str | None = None) -> None:
        self.file = file
        self.reason = message
        super().__init__(f"{file}: {message}" if file else message)


class ArchiveError(_AboutAFile):
    """An archive that cannot be read. ``file`` names the file (or archive member) at fault."""


class StoreError(EmolensError):
    """The embedded store could not do what was asked (unknown id, unwritable data dir, newer schema)."""


class StorageError(StoreError):
    """The data directory cannot take writes: full (``kind`` "full", HTTP 507), read-only ("read_only", 503) or
    failing ("io", 503). Not the request's fault: the same request succeeds once space or permissions are back.
    Built by :mod:`emolens.storefaults`, whose messages name the folder and what to do."""

    def __init__(self, message: str, kind: str = "io") -> None:
        self.kind = kind
        self.http_status = 507 if kind == "full" else 503
        self.code = "insufficient_storage" if kind == "full" else "storage_unavailable"
        super().__init__(message)


class MediaError(_AboutAFile):
    """Media that cannot be measured: not decodable, empty, no audio track, or too long."""

    def __init__(self, message: str, file: str | None = None, file_type: str | None = None) -> None:
        super().__init__(message, file)
        self.file_type = file_type


class EngineError(EmolensError):
    """A measurement model failed or is not installed; the message says what to install."""


class APIError(EmolensError):
    """An error answer from a Hume-compatible service (or no answer at all: status 0)."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        self.status = status
        self.message = message
        self.code = code
        super().__init__(f"HTTP {status}: {message}" if status else message)
