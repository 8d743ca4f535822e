"""Stored results: predictions payloads (zlib-compressed JSON) with a summary and the media they came from.

A one-hour word-level result is ~30 MB of JSON, ~4 MB compressed.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emolens.errors import StoreError
from emolens.store.db import Database, now_ms
from emolens.store.media import drop_unused, media_file


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


def _unknown(result_id: str) -> StoreError:
    return StoreError(f"no result with id {result_id!r}; `python -m emolens list` shows the stored ids")


class ResultStore:
    """The ``results`` and ``result_media`` tables (mixed into :class:`emolens.store.Store`)."""

    db: Database
    data_dir: Path

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
        with self.db.write() as con:
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

    @staticmethod
    def _row(r: sqlite3.Row, media: dict[str, str]) -> ResultRow:
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
        with self.db.connect() as con:
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
        with self.db.connect() as con:
            r = con.execute(
                "SELECT id, name, origin, created_ms, config, summary, job_id FROM results WHERE id = ?",
                (result_id,),
            ).fetchone()
            links = con.execute(
                "SELECT filename, sha256 FROM result_media WHERE result_id = ?", (result_id,)
            ).fetchall()
        if r is None:
            raise _unknown(result_id)
        return self._row(r, {x["filename"]: x["sha256"] for x in links})

    def get_predictions(self, result_id: str) -> list[dict[str, Any]]:
        """The stored predictions payload of a result."""
        with self.db.connect() as con:
            r = con.execute("SELECT predictions FROM results WHERE id = ?", (result_id,)).fetchone()
        if r is None:
            raise _unknown(result_id)
        raw = zlib.decompress(r["predictions"])
        try:
            import orjson  # 2x faster than json on large results

            return orjson.loads(raw)
        except ImportError:  # pragma: no cover
            return json.loads(raw)

    def rename_result(self, result_id: str, name: str) -> None:
        """Give a result a new (non-empty) name."""
        name = name.strip()
        if not name:
            raise StoreError("a result's name cannot be empty")
        with self.db.write() as con:
            if con.execute("UPDATE results SET name = ? WHERE id = ?", (name, result_id)).rowcount == 0:
                raise StoreError(f"no result with id {result_id!r}")

    def delete_result(self, result_id: str) -> None:
        """Delete a result; media no other result or job uses is removed from disk too."""
        with self.db.write() as con:
            shas = [x[0] for x in con.execute("SELECT sha256 FROM result_media WHERE result_id = ?", (result_id,))]
            if con.execute("DELETE FROM results WHERE id = ?", (result_id,)).rowcount == 0:
                raise StoreError(f"no result with id {result_id!r}")
            orphans = drop_unused(con, shas)
        for sha in orphans:  # after the commit: a failed transaction never loses a file
            media_file(self.data_dir, sha).unlink(missing_ok=True)

    def find_result_by_job(self, job_id: str) -> str | None:
        """The id of the (newest) result stored for ``job_id``, or None."""
        with self.db.connect() as con:
            r = con.execute(
                "SELECT id FROM results WHERE job_id = ? ORDER BY created_ms DESC, rowid DESC LIMIT 1", (job_id,)
            ).fetchone()
        return r["id"] if r else None
