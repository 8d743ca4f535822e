"""Stored media: files on disk named by their sha256 (``media/ab/abcdef...``), one ``media`` row each."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import uuid
from pathlib import Path

from emolens.store.db import Database, now_ms
from emolens.storefaults import storage_fault


def media_file(data_dir: Path, sha256: str) -> Path:
    """Where the media with this hash lives under ``data_dir`` (whether or not it exists)."""
    return data_dir / "media" / sha256[:2] / sha256


def drop_unused(con: sqlite3.Connection, shas: list[str]) -> list[str]:
    """Inside a write: delete the rows of those ``shas`` no result or job uses; returns them (files to unlink)."""
    orphans = []
    for sha in shas:
        used = con.execute("SELECT 1 FROM result_media WHERE sha256 = ? LIMIT 1", (sha,)).fetchone()
        in_jobs = con.execute("SELECT 1 FROM job_media WHERE sha256 = ? LIMIT 1", (sha,)).fetchone()
        if not used and not in_jobs:
            con.execute("DELETE FROM media WHERE sha256 = ?", (sha,))
            orphans.append(sha)
    return orphans


class MediaStore:
    """The ``media`` table and the media files (mixed into :class:`emolens.store.Store`)."""

    db: Database
    data_dir: Path

    def media_path(self, sha256: str) -> Path:
        """Where the media with this hash lives (whether or not it exists)."""
        return media_file(self.data_dir, sha256)

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
        with self.db.write() as con:
            con.execute(
                "INSERT OR IGNORE INTO media (sha256, size, content_type, created_ms) VALUES (?, ?, ?, ?)",
                (sha, size, content_type, now_ms()),
            )
        return sha
