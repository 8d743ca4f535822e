"""The pure parts of the Dask cluster engine: addresses, chunks, progress events, settings, the queued-job note,
and the error a user gets when no scheduler answers (a real connection attempt to a closed loopback port)."""

from __future__ import annotations

import socket

import pytest

from emolens.errors import ConfigError
from emolens.service.cluster import ProgressBoard, normalize_address, text_chunks


def test_addresses_get_a_scheme():
    assert normalize_address("host:8786") == "tcp://host:8786"
    assert normalize_address(" tcp://10.1.2.3:8786 ") == "tcp://10.1.2.3:8786"
    assert normalize_address("tls://host:8786") == "tls://host:8786"


def test_text_chunks_cover_every_text_in_order():
    texts = [f"t{i}" for i in range(7)]
    chunks = text_chunks(texts, 3)
    assert chunks == [(0, ["t0", "t1", "t2"]), (3, ["t3", "t4", "t5"]), (6, ["t6"])]
    assert text_chunks(texts, 0)[0] == (0, ["t0"])  # a chunk size below 1 means one text per task
    assert text_chunks([], 3) == []


def test_progress_events_from_workers():
    board = ProgressBoard()
    board.handler((123.0, {"job": "j1", "unit": 2, "fraction": 0.5, "message": "transcribing"}))
    board.handler((124.0, "not ours"))
    assert board.get("j1", 2) == (0.5, "transcribing")
    assert board.get("j1", 0) == (0.0, "")
    board.forget("j1")
    assert board.get("j1", 2) == (0.0, "")


def test_settings_and_validation(monkeypatch, tmp_path):
    from emolens.service.config import ServiceConfig
    from emolens.settings import get_settings

    monkeypatch.setenv("EMOLENS_DASK_SCHEDULER", "tcp://sched:8786")
    monkeypatch.setenv("EMOLENS_DASK_FALLBACK", "Local")
    get_settings.cache_clear()
    try:
        cfg = ServiceConfig.from_env(tmp_path)
        assert (cfg.dask_scheduler, cfg.dask_fallback) == ("tcp://sched:8786", "local")
        assert ServiceConfig.from_env(tmp_path, dask_scheduler="tcp://other:1").dask_scheduler == "tcp://other:1"
        assert ServiceConfig.from_json(cfg.to_json()) == cfg  # travels to local worker processes as JSON
        monkeypatch.setenv("EMOLENS_DASK_FALLBACK", "cloud")
        get_settings.cache_clear()
        with pytest.raises(ConfigError, match="EMOLENS_DASK_FALLBACK"):
            ServiceConfig.from_env(tmp_path)
    finally:
        get_settings.cache_clear()


def test_queued_job_shows_why_it_waits(tmp_path):
    from emolens.service.batch import job_details
    from emolens.store import Store

    job = Store(tmp_path).create_job({"text": ["hi"], "models": {"language": {}}})
    assert job_details(job)["progress"]["message"] == ""
    note = "waiting for the Dask cluster: cannot reach the Dask scheduler at tcp://x:1"
    d = job_details(job, note)
    assert d["progress"]["message"] == note and d["state"] == {
        "status": "QUEUED",
        "created_timestamp_ms": job.created_ms,
    }


def test_unreachable_scheduler_is_a_clear_error():
    pytest.importorskip("distributed")
    from emolens.service.cluster import ClusterUnavailable, connect

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ClusterUnavailable) as e:
        connect(f"127.0.0.1:{port}", timeout=1.0)
    msg = str(e.value)
    assert msg.startswith(f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port} (")
    assert "dask scheduler" in msg and "\n" not in msg


def test_workers_running_another_emolens_are_refused():
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    from emolens.service.cluster_worker import EmolensWorkerPlugin

    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as lc, Client(lc) as c:
        with pytest.raises(RuntimeError, match="runs emolens .* but the service runs 0.0.0"):
            c.register_plugin(EmolensWorkerPlugin("0.0.0"), name="emolens")
        import emolens

        c.register_plugin(EmolensWorkerPlugin(emolens.__version__), name="emolens")  # the same version is fine
