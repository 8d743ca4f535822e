"""The one connection helper of the store: SQLite (WAL) in a data directory, schema versioned by user_version.

Every operation opens its own short-lived connection, so a store may be shared by threads and processes; WAL lets
any number of readers run beside one writer, and ``busy_timeout`` makes writers queue instead of failing.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emolens.errors import StorageError, StoreError
from emolens.storefaults import storage_fault

SCHEMA_VERSION = 2

_RESULTS = """
CREATE TABLE IF NOT EXISTS results (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    origin      TEXT NOT NULL CHECK (origin IN ('imported', 'measured')),
    created_ms  INTEGER NOT NULL,
    config      TEXT,                -- JSON job request (measured) or import notes
    summary     TEXT NOT NULL,       -- JSON key facts (sources, files, models, duration, speakers)
    predictions BLOB NOT NULL,       -- zlib(JSON list of sources)
    job_id      TEXT
);
CREATE INDEX IF NOT EXISTS results_created ON results(created_ms);
"""

_MEDIA = """
CREATE TABLE IF NOT EXISTS media (
    sha256       TEXT PRIMARY KEY,
    size         INTEGER NOT NULL,
    content_type TEXT,
    created_ms   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS result_media (
    result_id TEXT NOT NULL REFERENCES results(id) ON DELETE CASCADE,
    filename  TEXT NOT NULL,
    sha256    TEXT NOT NULL REFERENCES media(sha256),
    PRIMARY KEY (result_id, filename)
);
"""

_JOBS = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id          TEXT PRIMARY KEY,
    request         TEXT NOT NULL,   -- JSON job request as stored in job details (with files)
    status          TEXT NOT NULL CHECK (status IN ('QUEUED', 'IN_PROGRESS', 'COMPLETED', 'FAILED')),
    created_ms      INTEGER NOT NULL,
    started_ms      INTEGER,
    ended_ms        INTEGER,
    message         TEXT,
    num_predictions INTEGER,
    num_errors      INTEGER,
    progress        REAL NOT NULL DEFAULT 0,
    progress_note   TEXT,
    result_id       TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, created_ms);
"""

# Version 2: which media each job's uploaded files are (before: a LIKE search over the request JSON).
_JOB_MEDIA = """
CREATE TABLE IF NOT EXISTS job_media (
    job_id TEXT NOT NULL REFERENCES jobs(job_id) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (job_id, sha256)
);
CREATE INDEX IF NOT EXISTS job_media_sha ON job_media(sha256);
"""

_BACKFILL_JOB_MEDIA = """
INSERT OR IGNORE INTO job_media (job_id, sha256)
    SELECT jobs.job_id, json_extract(f.value, '$.sha256') FROM jobs, json_each(jobs.request, '$.files') AS f
    WHERE json_extract(f.value, '$.sha256') IS NOT NULL;
"""


def now_ms() -> int:
    """Milliseconds since the epoch (Hume's timestamp unit)."""
    return int(time.time() * 1000)


class Database:
    """``emolens.sqlite3`` in ``data_dir``: created and migrated on first use.

    A full, read-only or failing disk surfaces as StorageError (507/503 in the service) with a message that says
    what to do, never as a bare sqlite3 error.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / "emolens.sqlite3"
        self._keeper: sqlite3.Connection | None = None
        self._needs_migration = True
        try:
            with self.connect():
                pass  # migrates (see connect)
        except StorageError:
            if not self.path.exists():
                raise
            # an existing store on a disk that cannot be opened now (read-only, failing): the service still starts
            # and says why; the check and the keeper connection happen on the first use that works

    def _keep_open(self) -> None:
        """One connection held open for the store's life: SQLite removes the -wal/-shm files when its last
        connection closes and must create them again on the next open, which fails on a full disk. Held open,
        reads keep working while the disk is full, and writes resume as soon as space is back."""
        try:
            keeper = sqlite3.connect(self.path, check_same_thread=False)
            keeper.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            self._keeper = keeper
        except sqlite3.Error:
            pass

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection in autocommit mode with foreign keys on; closed on exit."""
        try:
            con = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as e:
            raise storage_fault(e, self.data_dir) or StoreError(f"cannot open database {self.path}: {e}") from None
        try:
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA foreign_keys = ON")
            con.execute("PRAGMA busy_timeout = 30000")
            if self._needs_migration:
                self._migrate(con)
                self._needs_migration = False
            if self._keeper is None:
                self._keep_open()
            yield con
        except sqlite3.Error as e:
            fault = storage_fault(e, self.data_dir)
            if fault is None:
                raise
            raise fault from None
        finally:
            con.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken up front (BEGIN IMMEDIATE), so concurrent writers queue instead of deadlocking."""
        with self.connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                try:
                    con.execute("ROLLBACK")
                except sqlite3.Error:  # SQLite already rolled back (e.g. after "disk is full")
                    pass
                raise
            con.execute("COMMIT")

    def _migrate(self, con: sqlite3.Connection) -> None:
        version = con.execute("PRAGMA user_version").fetchone()[0]
        try:
            con.execute("PRAGMA journal_mode = WAL")
        except sqlite3.Error:
            if version < SCHEMA_VERSION:
                raise
            # an existing store on a disk that is full or read-only now: open it (reads work, writes answer
            # with StorageError); WAL mode is stored in the file and already set
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer emolens (schema {version} > {SCHEMA_VERSION}); "
                "upgrade emolens or use another data directory"
            )
        if version < SCHEMA_VERSION:
            script = _RESULTS + _MEDIA + _JOBS + _JOB_MEDIA + (_BACKFILL_JOB_MEDIA if version == 1 else "")
            con.executescript(f"BEGIN IMMEDIATE;{script}PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
