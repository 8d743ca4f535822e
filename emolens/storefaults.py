"""Storage faults: a full, read-only or failing data directory, as one typed error whose message says what to do.

SQLite reports these as ``sqlite3.OperationalError`` ("database or disk is full", "attempt to write a readonly
database", "disk I/O error"), the file system as ``OSError`` (ENOSPC, EROFS, EIO). :func:`storage_fault` turns
either into a :class:`StorageError` (507 when full, 503 otherwise); :func:`probe` tells whether the data directory
can take writes right now (the service's ``/health`` and the workers' wait-until-healed loop use it).
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

from emolens.errors import StorageError

#: Below this much free space the data directory counts as full (a job's result and the WAL need room).
MIN_FREE_BYTES = 8 * 1024 * 1024

_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}


def fault_kind(exc: BaseException) -> str | None:
    """ "full", "read_only", "io" or None (not a storage fault: a bug, a busy database, a missing row...)."""
    if isinstance(exc, StorageError):
        return exc.kind
    if isinstance(exc, OSError):
        if exc.errno in _FULL:
            return "full"
        if exc.errno in _READ_ONLY:
            return "read_only"
        if exc.errno == errno.EIO:
            return "io"
        return None
    if isinstance(exc, sqlite3.Error):
        m = str(exc).lower()
        if "full" in m:
            return "full"
        if "readonly" in m or "read-only" in m or "unable to open" in m:
            return "read_only"
        if "disk i/o" in m:
            return "io"
    return None


def _mb(n: float) -> str:
    from emolens.schema import format_bytes

    return format_bytes(max(0, n))


def make_error(kind: str, data_dir: str | Path, *, needs_bytes: int | None = None, detail: str = "") -> StorageError:
    """The StorageError for ``kind`` with a message naming the folder and what to do."""
    d = Path(data_dir)
    if kind == "full":
        try:
            free = f"{_mb(shutil.disk_usage(d).free)} free"
        except OSError:
            free = "no space left"
        needs = f"; this needs about {_mb(needs_bytes)}" if needs_bytes else ""
        msg = f"the data directory {d} is full ({free}{needs}): free space there; jobs resume by themselves"
    elif kind == "read_only":
        msg = (
            f"the data directory {d} is read-only{f' ({detail})' if detail else ''}: fix its permissions or mount; "
            "jobs resume by themselves"
        )
    else:
        msg = (
            f"the data directory {d} cannot be written (I/O error{f': {detail}' if detail else ''}): check the "
            "disk; jobs resume by themselves once it can be written"
        )
    return StorageError(msg, kind)


def storage_fault(exc: BaseException, data_dir: str | Path, needs_bytes: int | None = None) -> StorageError | None:
    """``exc`` as a StorageError when it is a storage fault, else None (re-raise the original then)."""
    if isinstance(exc, StorageError):
        return exc
    kind = fault_kind(exc)
    if kind is None:
        return None
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return make_error(kind, data_dir, needs_bytes=needs_bytes, detail=detail if kind != "full" else "")


def probe(data_dir: str | Path, min_free: int = MIN_FREE_BYTES, *, write: bool = True) -> StorageError | None:
    """None when the data directory can take writes now; else the StorageError saying why. Cheap: a statvfs, an
    access check and (``write=True``) one 4 KiB file written and removed.

    SQLite reuses the space of its write-ahead log, so small writes can still succeed on a full disk; the service
    checks this before it accepts or claims a job rather than waiting for a write to fail halfway through one.
    """
    d = Path(data_dir)
    try:
        if shutil.disk_usage(d).free < min_free:
            return make_error("full", d)
        db = d / "emolens.sqlite3"
        for path in (d, db):
            if path.exists() and not os.access(path, os.W_OK):
                return make_error("read_only", d, detail=f"{path.name} is not writable")
        if not write:
            return None
        test = d / f".write-probe-{os.getpid()}"
        try:
            with open(test, "wb") as f:  # no fsync: /health calls this, and statvfs above already sees a full disk
                f.write(b"\0" * 4096)
                f.flush()
        finally:
            test.unlink(missing_ok=True)
    except OSError as e:
        return storage_fault(e, d) or make_error("io", d, detail=e.strerror or str(e))
    return None
