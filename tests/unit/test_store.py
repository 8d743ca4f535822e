"""Store: persistence across instances, media by hash, concurrency, jobs, schema versioning."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from emolens.errors import StoreError
from emolens.store import SCHEMA_VERSION, Store
from tests import synth


def test_results_survive_restart(tmp_path):
    s = Store(tmp_path)
    payload = synth.awkward_result()
    rid = s.add_result("a", payload, config={"x": 1})
    s2 = Store(tmp_path)  # a new process would do the same
    row = s2.get_result(rid)
    assert row.name == "a" and row.origin == "imported" and row.config == {"x": 1}
    assert row.summary["sources"] == 3 and row.summary["errors"] == 2
    assert s2.get_predictions(rid) == payload
    s2.rename_result(rid, "b")
    assert Store(tmp_path).list_results()[0].name == "b"


def test_media_by_hash_and_delete(tmp_path):
    s = Store(tmp_path)
    sha = s.put_media(b"RIFF....WAVE")
    assert s.put_media(b"RIFF....WAVE") == sha and s.media_path(sha).read_bytes() == b"RIFF....WAVE"
    a = s.add_result("a", synth.awkward_result(), media={"x.wav": sha})
    b = s.add_result("b", synth.awkward_result(), media={"x.wav": sha})
    s.delete_result(a)
    assert s.media_path(sha).exists()  # still used by b
    s.delete_result(b)
    assert not s.media_path(sha).exists()
    with pytest.raises(StoreError, match="no result"):
        s.delete_result(a)


def test_errors(tmp_path):
    s = Store(tmp_path)
    with pytest.raises(StoreError, match="no result"):
        s.get_predictions("nope")
    with pytest.raises(StoreError, match="empty"):
        s.rename_result(s.add_result("a", []), "  ")
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="cannot create data directory"):
        Store(tmp_path / "file" / "sub")


def test_newer_schema_is_refused(tmp_path):
    Store(tmp_path)
    con = sqlite3.connect(tmp_path / "emolens.sqlite3")
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(StoreError, match="newer emolens"):
        Store(tmp_path)


def test_concurrent_writers_and_readers(tmp_path):
    s = Store(tmp_path)
    payload = synth.word_level_result(30)
    errors = []

    def write(i):
        try:
            for j in range(5):
                s.add_result(f"r{i}-{j}", payload)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    def read():
        try:
            for _ in range(20):
                for r in s.list_results():
                    s.get_predictions(r.id)
        except Exception as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)] + [
        threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(s.list_results()) == 20


def test_jobs_lifecycle_and_recovery(tmp_path):
    s = Store(tmp_path)
    j1 = s.create_job({"text": ["a"]})
    j2 = s.create_job({"text": ["b"]})
    assert s.claim_next_job().job_id == j1.job_id
    assert s.claim_next_job().job_id == j2.job_id
    assert s.claim_next_job() is None
    s.complete_job(j2.job_id, "rid", 1, 0)
    # a crash: j1 is IN_PROGRESS; recovery requeues it once, then fails it
    assert s.recover_interrupted_jobs() == ([j1.job_id], [])
    s.claim_next_job()
    assert s.recover_interrupted_jobs() == ([], [j1.job_id])
    failed = s.get_job(j1.job_id)
    assert failed.status == "FAILED" and "interrupted" in failed.message and failed.started_ms
    listed = s.list_jobs(statuses=["COMPLETED"])
    assert [j.job_id for j in listed] == [j2.job_id]
    assert [j.job_id for j in s.list_jobs(direction="asc")] == [j1.job_id, j2.job_id]


def test_media_of_a_job_is_kept_and_version_1_stores_are_migrated(tmp_path):
    s = Store(tmp_path)
    sha = s.put_media(b"job media")
    job = s.create_job({"files": [{"filename": "a.wav", "sha256": sha}]})
    s.delete_result(s.add_result("a", [], media={"a.wav": sha}))
    assert s.media_path(sha).exists()  # the job still needs it
    with sqlite3.connect(tmp_path / "emolens.sqlite3") as con:  # back to a version-1 store: no job_media table
        con.execute("DROP TABLE job_media")
        con.execute("PRAGMA user_version = 1")
    s = Store(tmp_path)
    with sqlite3.connect(tmp_path / "emolens.sqlite3") as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert con.execute("SELECT job_id, sha256 FROM job_media").fetchall() == [(job.job_id, sha)]


def test_requeue_or_fail_after_a_stop(tmp_path):
    s = Store(tmp_path)
    jid = s.create_job({"text": ["hi"]}).job_id
    for _ in range(2):
        assert s.claim_next_job().job_id == jid
        if s.get_job(jid).attempts < 2:
            assert s.recover_interrupted_jobs(max_attempts=2) == ([jid], [])
    assert s.release_job(jid, "worker died", max_attempts=2) == "FAILED"
    assert s.get_job(jid).message == "worker died" and s.release_job(jid, "again") is None
