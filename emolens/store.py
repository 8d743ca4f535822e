"""The embedded database: SQLite (WAL) in a data directory, plus media files on disk by content hash.

Layout of ``data_dir``::

    emolens.sqlite3        results, media, jobs (schema versioned in PRAGMA user_version)
    media/ab/abcdef...     media bytes named by their sha256

Every operation opens its own short-lived connection, so a Store may be shared by threads and processes; WAL lets
any number of readers run beside one writer, and ``busy_timeout`` makes writers queue instead of failing.
Predictions are kept as zlib-compressed JSON (a one-hour word-level result is ~30 MB of JSON, ~4 MB compressed).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import time
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emolens.errors import StorageError, StoreError
from emolens.storefaults import storage_fault

SCHEMA_VERSION = 1

_SCHEMA = """
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


def now_ms() -> int:
    """Milliseconds since the epoch (Hume's timestamp unit)."""
    return int(time.time() * 1000)


@dataclass
class ResultRow:
    """One stored result without its predictions (cheap to list)."""

    id: str
    name: str
    origin: str
    created_ms: int
    config: dict[str, Any] | None
    summary: dict[str, Any]
    job_id: str | None = None
    media: dict[str, str] = field(default_factory=dict)  # filename -> sha256


@dataclass
class JobRow:
    job_id: str
    request: dict[str, Any]
    status: str
    created_ms: int
    started_ms: int | None
    ended_ms: int | None
    message: str | None
    num_predictions: int | None
    num_errors: int | None
    progress: float
    progress_note: str | None
    result_id: str | None
    attempts: int


class Store:
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
        self.db_path = self.data_dir / "emolens.sqlite3"
        self._keeper: sqlite3.Connection | None = None
        self._needs_migration = True
        try:
            with self._connect():
                pass  # migrates (see _connect)
        except StorageError:
            if not self.db_path.exists():
                raise
            # an existing store on a disk that cannot be opened now (read-only, failing): the service still starts
            # and says why; the check and the keeper connection happen on the first use that works

    def _keep_open(self) -> None:
        """One connection held open for the Store's life: SQLite removes the -wal/-shm files when its last
        connection closes and must create them again on the next open, which fails on a full disk. Held open,
        reads keep working while the disk is full, and writes resume as soon as space is back."""
        try:
            keeper = sqlite3.connect(self.db_path, check_same_thread=False)
            keeper.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            self._keeper = keeper
        except sqlite3.Error:
            pass

    # -- connections -------------------------------------------------------------------------------------------
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection. A full, read-only or failing disk surfaces as StorageError (507/503 in the
        service) with a message that says what to do, never as a bare sqlite3 error."""
        try:
            con = sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as e:
            raise storage_fault(e, self.data_dir) or StoreError(f"cannot open database {self.db_path}: {e}") from None
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
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken up front (BEGIN IMMEDIATE), so concurrent writers queue instead of deadlocking."""
        with self._connect() as con:
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
                f"{self.db_path} was written by a newer emolens (schema {version} > {SCHEMA_VERSION}); "
                "upgrade emolens or use another data directory"
            )
        if version < SCHEMA_VERSION:
            con.executescript("BEGIN IMMEDIATE;" + _SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")

    # -- results -----------------------------------------------------------------------------------------------
    def add_result(
        self,
        name: str,
        predictions: list[dict[str, Any]],
        *,
        origin: str = "imported",
        config: dict[str, Any] | None = None,
        job_id: str | None = None,
        media: dict[str, str] | None = None,
        result_id: str | None = None,
    ) -> str:
        """Store a predictions payload (JSON-ready list of sources); return its new id."""
        from emolens.summary import summarize  # local: keeps `import emolens.store` light

        rid = result_id or uuid.uuid4().hex[:12]
        blob = zlib.compress(json.dumps(predictions, separators=(",", ":")).encode(), 6)
        summary = summarize(predictions)
        with self._write() as con:
            con.execute(
                "INSERT INTO results (id, name, origin, created_ms, config, summary, predictions, job_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rid,
                    name,
                    origin,
                    now_ms(),
                    json.dumps(config) if config is not None else None,
                    json.dumps(summary),
                    blob,
                    job_id,
                ),
            )
            for filename, sha in (media or {}).items():
                con.execute("INSERT OR REPLACE INTO result_media VALUES (?, ?, ?)", (rid, filename, sha))
        return rid

    def _row(self, r: sqlite3.Row, media: dict[str, str]) -> ResultRow:
        return ResultRow(
            id=r["id"],
            name=r["name"],
            origin=r["origin"],
            created_ms=r["created_ms"],
            config=json.loads(r["config"]) if r["config"] else None,
            summary=json.loads(r["summary"]),
            job_id=r["job_id"],
            media=media,
        )

    def list_results(self) -> list[ResultRow]:
        """All results, newest first, without predictions."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT id, name, origin, created_ms, config, summary, job_id FROM results"
                " ORDER BY created_ms DESC, rowid DESC"
            ).fetchall()
            links = con.execute("SELECT result_id, filename, sha256 FROM result_media").fetchall()
        media: dict[str, dict[str, str]] = {}
        for link in links:
            media.setdefault(link["result_id"], {})[link["filename"]] = link["sha256"]
        return [self._row(r, media.get(r["id"], {})) for r in rows]

    def get_result(self, result_id: str) -> ResultRow:
        """One result's row (no predictions); StoreError if unknown."""
        with self._connect() as con:
            r = con.execute(
                "SELECT id, name, origin, created_ms, config, summary, job_id FROM results WHERE id = ?",
                (result_id,),
            ).fetchone()
            links = con.execute(
                "SELECT filename, sha256 FROM result_media WHERE result_id = ?", (result_id,)
            ).fetchall()
        if r is None:
            raise StoreError(f"no result with id {result_id!r}; `python -m emolens list` shows the stored ids")
        return self._row(r, {x["filename"]: x["sha256"] for x in links})

    def get_predictions(self, result_id: str) -> list[dict[str, Any]]:
        """The stored predictions payload of a result."""
        with self._connect() as con:
            r = con.execute("SELECT predictions FROM results WHERE id = ?", (result_id,)).fetchone()
        if r is None:
            raise StoreError(f"no result with id {result_id!r}; `python -m emolens list` shows the stored ids")
        raw = zlib.decompress(r["predictions"])
        try:
            import orjson  # 2x faster than json on large results

            return orjson.loads(raw)
        except ImportError:  # pragma: no cover
            return json.loads(raw)

    def rename_result(self, result_id: str, name: str) -> None:
        name = name.strip()
        if not name:
            raise StoreError("a result's name cannot be empty")
        with self._write() as con:
            if con.execute("UPDATE results SET name = ? WHERE id = ?", (name, result_id)).rowcount == 0:
                raise StoreError(f"no result with id {result_id!r}")

    def delete_result(self, result_id: str) -> None:
        """Delete a result; media no other result uses is removed from disk too."""
        with self._write() as con:
            shas = [x[0] for x in con.execute("SELECT sha256 FROM result_media WHERE result_id = ?", (result_id,))]
            if con.execute("DELETE FROM results WHERE id = ?", (result_id,)).rowcount == 0:
                raise StoreError(f"no result with id {result_id!r}")
            orphans = []
            for sha in shas:
                used = con.execute("SELECT 1 FROM result_media WHERE sha256 = ? LIMIT 1", (sha,)).fetchone()
                in_jobs = con.execute("SELECT 1 FROM jobs WHERE request LIKE ? LIMIT 1", (f"%{sha}%",)).fetchone()
                if not used and not in_jobs:
                    con.execute("DELETE FROM media WHERE sha256 = ?", (sha,))
                    orphans.append(sha)
        for sha in orphans:
            self.media_path(sha).unlink(missing_ok=True)

    # -- media -------------------------------------------------------------------------------------------------
    def media_path(self, sha256: str) -> Path:
        return self.data_dir / "media" / sha256[:2] / sha256

    def put_media(self, data: bytes | Path, content_type: str | None = None) -> str:
        """Store media bytes (or a file) by content hash; return the sha256. Idempotent."""
        if isinstance(data, Path):
            h = hashlib.sha256()
            with data.open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            size = data.stat().st_size
        else:
            h = hashlib.sha256(data)
            size = len(data)
        sha = h.hexdigest()
        path = self.media_path(sha)
        if not path.exists():
            tmp = path.with_suffix(f".tmp{uuid.uuid4().hex[:6]}")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(data, Path):
                    shutil.copyfile(data, tmp)
                else:
                    tmp.write_bytes(data)
                tmp.replace(path)  # atomic: a crash never leaves a half-written media file under its hash
            except OSError as e:
                tmp.unlink(missing_ok=True)  # a partial copy must not eat the space that is left
                fault = storage_fault(e, self.data_dir, needs_bytes=size)
                if fault is None:
                    raise
                raise fault from None
        with self._write() as con:
            con.execute(
                "INSERT OR IGNORE INTO media (sha256, size, content_type, created_ms) VALUES (?, ?, ?, ?)",
                (sha, size, content_type, now_ms()),
            )
        return sha

    def media_info(self, sha256: str) -> dict[str, Any] | None:
        with self._connect() as con:
            r = con.execute("SELECT sha256, size, content_type FROM media WHERE sha256 = ?", (sha256,)).fetchone()
        return dict(r) if r else None

    def link_media(self, result_id: str, filename: str, sha256: str) -> None:
        with self._write() as con:
            con.execute("INSERT OR REPLACE INTO result_media VALUES (?, ?, ?)", (result_id, filename, sha256))

    # -- jobs (used by the service) -----------------------------------------------------------------------------
    def _job(self, r: sqlite3.Row) -> JobRow:
        d = dict(r)
        d["request"] = json.loads(d["request"])
        return JobRow(**d)

    def create_job(self, request: dict[str, Any], job_id: str | None = None) -> JobRow:
        """Persist a new QUEUED job (request as it will appear in job details)."""
        jid = job_id or str(uuid.uuid4())
        with self._write() as con:
            con.execute(
                "INSERT INTO jobs (job_id, request, status, created_ms) VALUES (?, ?, 'QUEUED', ?)",
                (jid, json.dumps(request), now_ms()),
            )
        return self.get_job(jid)

    def get_job(self, job_id: str) -> JobRow:
        with self._connect() as con:
            r = con.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        if r is None:
            raise StoreError(f"no job with id {job_id!r}")
        return self._job(r)

    def list_jobs(
        self,
        *,
        limit: int = 50,
        statuses: list[str] | None = None,
        when: str | None = None,
        timestamp_ms: int | None = None,
        sort_by: str = "created",
        direction: str = "desc",
    ) -> list[JobRow]:
        """Jobs filtered and sorted like ``GET /v0/batch/jobs``."""
        column = {"created": "created_ms", "started": "started_ms", "ended": "ended_ms"}[sort_by]
        order = "ASC" if direction == "asc" else "DESC"
        where, args = [], []
        if statuses:
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            args += statuses
        if when == "created_before" and timestamp_ms is not None:
            where.append("created_ms < ?")
            args.append(timestamp_ms)
        elif when == "created_after" and timestamp_ms is not None:
            where.append("created_ms > ?")
            args.append(timestamp_ms)
        sql = "SELECT * FROM jobs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += f" ORDER BY {column} IS NULL, {column} {order}, rowid {order} LIMIT ?"
        with self._connect() as con:
            rows = con.execute(sql, [*args, int(limit)]).fetchall()
        return [self._job(r) for r in rows]

    def claim_next_job(self) -> JobRow | None:
        """Atomically move the oldest QUEUED job to IN_PROGRESS and return it (None when the queue is empty)."""
        with self._write() as con:
            r = con.execute(
                "SELECT job_id FROM jobs WHERE status = 'QUEUED' ORDER BY created_ms, rowid LIMIT 1"
            ).fetchone()
            if r is None:
                return None
            con.execute(
                "UPDATE jobs SET status = 'IN_PROGRESS', started_ms = ?, attempts = attempts + 1, progress = 0"
                " WHERE job_id = ?",
                (now_ms(), r["job_id"]),
            )
        return self.get_job(r["job_id"])

    def set_job_progress(self, job_id: str, progress: float, note: str | None = None) -> None:
        with self._write() as con:
            con.execute(
                "UPDATE jobs SET progress = ?, progress_note = ? WHERE job_id = ? AND status = 'IN_PROGRESS'",
                (max(0.0, min(1.0, progress)), note, job_id),
            )

    def complete_job(self, job_id: str, result_id: str, num_predictions: int, num_errors: int) -> None:
        with self._write() as con:
            # a job cancelled while it ran (FAILED) stays failed: its late result is not attached
            con.execute(
                "UPDATE jobs SET status = 'COMPLETED', ended_ms = ?, result_id = ?, num_predictions = ?,"
                " num_errors = ?, progress = 1 WHERE job_id = ? AND status != 'FAILED'",
                (now_ms(), result_id, num_predictions, num_errors, job_id),
            )

    def cancel_job(self, job_id: str, message: str) -> bool:
        """End a QUEUED or IN_PROGRESS job as FAILED with ``message``; False when it had already ended."""
        t = now_ms()
        with self._write() as con:
            n = con.execute(
                "UPDATE jobs SET status = 'FAILED', started_ms = COALESCE(started_ms, ?), ended_ms = ?, message = ?"
                " WHERE job_id = ? AND status IN ('QUEUED', 'IN_PROGRESS')",
                (t, t, message, job_id),
            ).rowcount
        return n > 0

    def fail_job(self, job_id: str, message: str) -> None:
        t = now_ms()
        with self._write() as con:
            con.execute(
                "UPDATE jobs SET status = 'FAILED', started_ms = COALESCE(started_ms, ?), ended_ms = ?, message = ?"
                " WHERE job_id = ?",
                (t, t, message, job_id),
            )

    def recover_interrupted_jobs(self, max_attempts: int = 2) -> tuple[list[str], list[str]]:
        """After a crash: requeue IN_PROGRESS jobs that have attempts left, fail the rest with a message.

        Returns (requeued ids, failed ids). Call once when a service starts, before workers claim jobs.
        """
        requeued, failed = [], []
        with self._write() as con:
            for r in con.execute("SELECT job_id, attempts FROM jobs WHERE status = 'IN_PROGRESS'").fetchall():
                if r["attempts"] < max_attempts:
                    con.execute(
                        "UPDATE jobs SET status = 'QUEUED', started_ms = NULL, progress = 0 WHERE job_id = ?",
                        (r["job_id"],),
                    )
                    requeued.append(r["job_id"])
                else:
                    t = now_ms()
                    con.execute(
                        "UPDATE jobs SET status = 'FAILED', ended_ms = ?, message = ? WHERE job_id = ?",
                        (
                            t,
                            f"interrupted {r['attempts']} times (the service stopped while it ran); "
                            "submit the job again",
                            r["job_id"],
                        ),
                    )
                    failed.append(r["job_id"])
        return requeued, failed

    # -- jobs: additions for the service's worker pool (emolens.service) ---------------------------------------
    def find_result_by_job(self, job_id: str) -> str | None:
        """The id of the (newest) result stored for ``job_id``, or None."""
        with self._connect() as con:
            r = con.execute(
                "SELECT id FROM results WHERE job_id = ? ORDER BY created_ms DESC, rowid DESC LIMIT 1", (job_id,)
            ).fetchone()
        return r["id"] if r else None

    def count_jobs(self, status: str | None = None) -> int:
        """How many jobs (with ``status``, when given) the store holds."""
        with self._connect() as con:
            if status is None:
                return con.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
            return con.execute("SELECT COUNT(*) FROM jobs WHERE status = ?", (status,)).fetchone()[0]

    def release_job(self, job_id: str, message: str, max_attempts: int = 2) -> str | None:
        """A worker died holding ``job_id``: requeue it if it has attempts left, else fail it with ``message``.

        Only acts on an IN_PROGRESS job; returns the new status, or None when the job was not IN_PROGRESS.
        """
        with self._write() as con:
            r = con.execute("SELECT status, attempts FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if r is None or r["status"] != "IN_PROGRESS":
                return None
            if r["attempts"] < max_attempts:
                con.execute(
                    "UPDATE jobs SET status = 'QUEUED', started_ms = NULL, progress = 0,"
                    " progress_note = NULL WHERE job_id = ?",
                    (job_id,),
                )
                return "QUEUED"
            con.execute(
                "UPDATE jobs SET status = 'FAILED', ended_ms = ?, message = ? WHERE job_id = ?",
                (now_ms(), message, job_id),
            )
            return "FAILED"

    def requeue_job(self, job_id: str) -> bool:
        """Put an IN_PROGRESS job back in the queue without counting the attempt (a clean shutdown stopped it)."""
        with self._write() as con:
            n = con.execute(
                "UPDATE jobs SET status = 'QUEUED', started_ms = NULL, progress = 0, progress_note = NULL,"
                " attempts = MAX(attempts - 1, 0) WHERE job_id = ? AND status = 'IN_PROGRESS'",
                (job_id,),
            ).rowcount
        return n > 0
