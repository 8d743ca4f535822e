"""Storage faults as typed errors, and a supervisor that outlives them (real worker processes, a real store)."""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import time

import pytest

from emolens.errors import StorageError, StoreError
from emolens.storefaults import fault_kind, make_error, probe, storage_fault

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize(
    "exc, kind",
    [
        (sqlite3.OperationalError("database or disk is full"), "full"),
        (sqlite3.OperationalError("attempt to write a readonly database"), "read_only"),
        (sqlite3.OperationalError("unable to open database file"), "read_only"),
        (sqlite3.OperationalError("disk I/O error"), "io"),
        (OSError(errno.ENOSPC, "No space left on device"), "full"),
        (OSError(errno.EROFS, "Read-only file system"), "read_only"),
        (OSError(errno.EIO, "Input/output error"), "io"),
        (sqlite3.OperationalError("database is locked"), None),
        (OSError(errno.ENOENT, "No such file"), None),
        (ValueError("a bug"), None),
    ],
)
def test_fault_kinds(exc, kind):
    assert fault_kind(exc) == kind
    fault = storage_fault(exc, "/data")
    assert (fault is None) == (kind is None)
    if fault is not None:
        assert isinstance(fault, StoreError) and fault.http_status == (507 if kind == "full" else 503)
        assert "/data" in str(fault) and "resume by themselves" in str(fault)


def test_messages_say_what_to_do(tmp_path):
    full = make_error("full", tmp_path, needs_bytes=5 * 1024 * 1024)
    assert f"the data directory {tmp_path} is full (" in str(full) and "this needs about 5 MiB" in str(full)
    assert "free space there" in str(full) and full.code == "insufficient_storage"
    ro = make_error("read_only", tmp_path, detail="Read-only file system")
    assert "read-only (Read-only file system): fix its permissions or mount" in str(ro)
    assert ro.code == "storage_unavailable" and ro.http_status == 503


def test_probe(tmp_path):
    assert probe(tmp_path) is None
    huge = probe(tmp_path, min_free=1 << 60)
    assert isinstance(huge, StorageError) and huge.kind == "full"
    assert not list(tmp_path.iterdir())  # the probe file is gone


def test_supervisor_outlives_a_failing_store_and_releases_later(tmp_path):
    """A worker dies holding a job while the store cannot be written: the supervisor still restarts the worker,
    keeps the job, reports it, and requeues it once the store works again."""
    from emolens.service.config import ServiceConfig
    from emolens.service.runner import WorkerPool
    from emolens.store import Store

    class FlakyStore(Store):
        broken = True

        def release_job(self, job_id, message, max_attempts=2):
            if self.broken:
                raise make_error("full", self.data_dir)
            return super().release_job(job_id, message, max_attempts)

    store = FlakyStore(tmp_path)
    # max_attempts=1: the released job is failed with the message (not requeued, so no model ever loads here)
    pool = WorkerPool(ServiceConfig(data_dir=tmp_path, workers=1, max_attempts=1), store)
    pool.start()
    try:
        slot = pool.slots[0]
        deadline = time.monotonic() + 60
        while not slot.ready:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        job = store.create_job({"text": ["held"], "files": []})
        claimed = store.claim_next_job()  # IN_PROGRESS, as if the worker had it
        assert claimed is not None and claimed.job_id == job.job_id
        (tmp_path / "tmp" / f"{job.job_id}-abc123").mkdir(parents=True)
        first_pid = slot.proc.pid
        slot.job_ids.add(job.job_id)
        os.kill(first_pid, signal.SIGKILL)
        while not (slot.proc.pid != first_pid and slot.proc.poll() is None):
            assert time.monotonic() < deadline, "no new worker"
            time.sleep(0.05)
        assert any("wait to be requeued" in f for f in pool.faults())
        assert store.get_job(job.job_id).status == "IN_PROGRESS"
        assert not (tmp_path / "tmp" / f"{job.job_id}-abc123").exists()  # its work folder is gone
        FlakyStore.broken = False
        while store.get_job(job.job_id).status == "IN_PROGRESS":
            assert time.monotonic() < deadline, "never released"
            time.sleep(0.1)
        released = store.get_job(job.job_id)
        assert released.status == "FAILED" and "stopped unexpectedly" in released.message
        assert pool.faults() == []
    finally:
        pool.stop()
