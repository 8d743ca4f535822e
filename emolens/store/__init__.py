"""The embedded database: SQLite (WAL) in a data directory, plus media files on disk by content hash.

Layout of ``data_dir``::

    emolens.sqlite3        results, media, jobs (schema versioned in PRAGMA user_version)
    media/ab/abcdef...     media bytes named by their sha256

One module per concern over one connection helper (:mod:`emolens.store.db`): :mod:`~emolens.store.results`,
:mod:`~emolens.store.media`, :mod:`~emolens.store.jobs`. :class:`Store` puts the three together.
"""

from __future__ import annotations

from pathlib import Path

from emolens.errors import StoreError
from emolens.store.db import SCHEMA_VERSION, Database, now_ms
from emolens.store.jobs import JobRow, JobStore
from emolens.store.media import MediaStore
from emolens.store.results import ResultRow, ResultStore
from emolens.storefaults import storage_fault

__all__ = ["SCHEMA_VERSION", "JobRow", "ResultRow", "Store", "now_ms"]


class Store(ResultStore, MediaStore, JobStore):
    """Results, media and jobs in ``data_dir``. Creates the directory and schema on first use."""

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir).expanduser()
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            (self.data_dir / "media").mkdir(exist_ok=True)
        except OSError as e:
            if (self.data_dir / "media").is_dir():
                raise storage_fault(e, self.data_dir) or StoreError(str(e)) from None
            raise StoreError(
                f"cannot create data directory {self.data_dir}: {e.strerror}; "
                "set EMOLENS_DATA_DIR or --data-dir to a writable folder"
            ) from None
        self.db = Database(self.data_dir)
        self.db_path = self.db.path
