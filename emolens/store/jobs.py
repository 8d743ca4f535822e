"""The job queue of the service: jobs in SQLite (so a restart loses nothing) and the media each job uses."""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

from emolens.errors import StoreError
from emolens.store.db import Database, now_ms


@dataclass
class JobRow:
    """One job as stored: its request (with ``files[].sha256``), state, progress and attempts."""

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


def _requeue_or_fail(con: sqlite3.Connection, job_id: str, attempts: int, max_attempts: int, message: str) -> str:
    """Inside a write: an IN_PROGRESS job that stopped goes back to the queue if it has attempts left, else fails."""
    if attempts < max_attempts:
        con.execute(
            "UPDATE jobs SET status = 'QUEUED', started_ms = NULL, progress = 0, progress_note = NULL WHERE job_id = ?",
            (job_id,),
        )
        return "QUEUED"
    con.execute(
        "UPDATE jobs SET status = 'FAILED', ended_ms = ?, message = ? WHERE job_id = ?", (now_ms(), message, job_id)
    )
    return "FAILED"


class JobStore:
    """The ``jobs`` and ``job_media`` tables (mixed into :class:`emolens.store.Store`)."""

    db: Database

    @staticmethod
    def _job(r: sqlite3.Row) -> JobRow:
        d = dict(r)
        d["request"] = json.loads(d["request"])
        return JobRow(**d)

    def create_job(self, request: dict[str, Any], job_id: str | None = None) -> JobRow:
        """Persist a new QUEUED job (request as it will appear in job details); links the media of its files."""
        jid = job_id or str(uuid.uuid4())
        shas = {f["sha256"] for f in request.get("files") or [] if isinstance(f, dict) and f.get("sha256")}
        with self.db.write() as con:
            con.execute(
                "INSERT INTO jobs (job_id, request, status, created_ms) VALUES (?, ?, 'QUEUED', ?)",
                (jid, json.dumps(request), now_ms()),
            )
            con.executemany("INSERT OR IGNORE INTO job_media VALUES (?, ?)", [(jid, sha) for sha in sorted(shas)])
        return self.get_job(jid)

    def get_job(self, job_id: str) -> JobRow:
        """One job; StoreError if unknown."""
        with self.db.connect() as con:
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
        where: list[str] = []
        args: list[Any] = []
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
        with self.db.connect() as con:
            rows = con.execute(sql, [*args, int(limit)]).fetchall()
        return [self._job(r) for r in rows]

    def count_jobs(self, status: str | None = None) -> int:
        """How many jobs (with ``status``, when given) the store holds."""
        with self.db.connect() as con:
            if status is None:
                return con.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
            return con.execute("SELECT COUNT(*) FROM jobs WHERE status = ?", (status,)).fetchone()[0]

    def claim_next_job(self) -> JobRow | None:
        """Atomically move the oldest QUEUED job to IN_PROGRESS and return it (None when the queue is empty)."""
        with self.db.write() as con:
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
        """Progress (0..1) and a note of a running job; ignored once the job left IN_PROGRESS."""
        with self.db.write() as con:
            con.execute(
                "UPDATE jobs SET progress = ?, progress_note = ? WHERE job_id = ? AND status = 'IN_PROGRESS'",
                (max(0.0, min(1.0, progress)), note, job_id),
            )

    def complete_job(self, job_id: str, result_id: str, num_predictions: int, num_errors: int) -> None:
        """Mark a job COMPLETED with its stored result."""
        with self.db.write() as con:
            # a job cancelled while it ran (FAILED) stays failed: its late result is not attached
            con.execute(
                "UPDATE jobs SET status = 'COMPLETED', ended_ms = ?, result_id = ?, num_predictions = ?,"
                " num_errors = ?, progress = 1 WHERE job_id = ? AND status != 'FAILED'",
                (now_ms(), result_id, num_predictions, num_errors, job_id),
            )

    def cancel_job(self, job_id: str, message: str) -> bool:
        """End a QUEUED or IN_PROGRESS job as FAILED with ``message``; False when it had already ended."""
        t = now_ms()
        with self.db.write() as con:
            n = con.execute(
                "UPDATE jobs SET status = 'FAILED', started_ms = COALESCE(started_ms, ?), ended_ms = ?, message = ?"
                " WHERE job_id = ? AND status IN ('QUEUED', 'IN_PROGRESS')",
                (t, t, message, job_id),
            ).rowcount
        return n > 0

    def fail_job(self, job_id: str, message: str) -> None:
        """Mark a job FAILED with a message for its owner."""
        t = now_ms()
        with self.db.write() as con:
            con.execute(
                "UPDATE jobs SET status = 'FAILED', started_ms = COALESCE(started_ms, ?), ended_ms = ?, message = ?"
                " WHERE job_id = ?",
                (t, t, message, job_id),
            )

    def recover_interrupted_jobs(self, max_attempts: int = 2) -> tuple[list[str], list[str]]:
        """After a crash: requeue IN_PROGRESS jobs that have attempts left, fail the rest with a message.

        Returns (requeued ids, failed ids). Call once when a service starts, before workers claim jobs.
        """
        requeued: list[str] = []
        failed: list[str] = []
        with self.db.write() as con:
            for r in con.execute("SELECT job_id, attempts FROM jobs WHERE status = 'IN_PROGRESS'").fetchall():
                message = f"interrupted {r['attempts']} times (the service stopped while it ran); submit the job again"
                status = _requeue_or_fail(con, r["job_id"], r["attempts"], max_attempts, message)
                (requeued if status == "QUEUED" else failed).append(r["job_id"])
        return requeued, failed

    def release_job(self, job_id: str, message: str, max_attempts: int = 2) -> str | None:
        """A worker died holding ``job_id``: requeue it if it has attempts left, else fail it with ``message``.

        Only acts on an IN_PROGRESS job; returns the new status, or None when the job was not IN_PROGRESS.
        """
        with self.db.write() as con:
            r = con.execute("SELECT status, attempts FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if r is None or r["status"] != "IN_PROGRESS":
                return None
            return _requeue_or_fail(con, job_id, r["attempts"], max_attempts, message)

    def requeue_job(self, job_id: str) -> bool:
        """Put an IN_PROGRESS job back in the queue without counting the attempt (a clean shutdown stopped it)."""
        with self.db.write() as con:
            n = con.execute(
                "UPDATE jobs SET status = 'QUEUED', started_ms = NULL, progress = 0, progress_note = NULL,"
                " attempts = MAX(attempts - 1, 0) WHERE job_id = ? AND status = 'IN_PROGRESS'",
                (job_id,),
            ).rowcount
        return n > 0
