"""Batch jobs on a real Dask cluster (``dask scheduler`` + two ``dask worker`` processes on loopback, started here):
the jobs run on both workers, their outputs are byte-identical to the local pool's, a worker killed mid-task is
survived, a service killed mid-job loses nothing, and an unreachable scheduler is reported, not hidden."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import zipfile

import httpx
import pytest
from dask_helpers import DaskCluster
from svc_helpers import REPO, ServerProcess, free_port, wait_job

pytest.importorskip("distributed")
pytestmark = pytest.mark.timeout(600)

ASR = {"model": "tiny.en"}
MEDIA_MODELS = {"prosody": {}, "language": {"granularity": "sentence", "sentiment": {}}, "ner": {}}
TEXTS = ["I love this so much. Paris was wonderful!", "This is awful and I hate it.", "Thank you, Maria, truly."]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = DaskCluster(tmp_path_factory.mktemp("dask")).start(2)
    yield c
    c.stop()


@pytest.fixture(scope="module")
def client(cluster):
    c = cluster.client()
    yield c
    c.close()


@pytest.fixture(scope="module")
def cluster_service(tmp_path_factory, cluster):
    env = {"EMOLENS_DASK_SCHEDULER": cluster.address, "EMOLENS_DASK_TEXT_CHUNK": "2"}
    srv = ServerProcess(tmp_path_factory.mktemp("svc-dask"), env=env).start()
    _wait_connected(srv)
    yield srv
    srv.stop()


def _wait_connected(srv: ServerProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not srv.health()["cluster"]["connected"]:
        assert time.monotonic() < deadline, srv.health()
        time.sleep(0.1)


def _submit(url: str, files: list[tuple[str, bytes]], body: dict) -> str:
    parts = [("file", (name, data, "audio/wav")) for name, data in files]
    if parts:
        r = httpx.post(url + "/v0/batch/jobs", files=parts, data={"json": json.dumps(body)}, timeout=60)
    else:
        r = httpx.post(url + "/v0/batch/jobs", json=body, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["job_id"]


def _get(url: str, path: str) -> httpx.Response:
    r = httpx.get(url + path, timeout=60)
    assert r.status_code == 200, r.text
    return r


def _unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in sorted(z.namelist())}


def _why(details: dict, cluster: DaskCluster, *servers: ServerProcess) -> str:
    """A failed job's message with the tails of the worker and service logs (what a CI log needs to show)."""
    lines = [f"job {details['job_id']}: {details['state'].get('status')} {details['state'].get('message')!r}"]
    for name in sorted(cluster.workers):
        lines.append(f"--- {name}.log ---\n{cluster.log(name)[-2500:]}")
    for srv in servers:
        lines.append(f"--- {srv.log.name} ---\n{srv.log.read_text(errors='replace')[-2500:]}")
    return "\n".join(lines)


def _task_workers(client, job_id: str) -> set[str]:
    from emolens.service.cluster_worker import TOPIC_TASKS

    return {msg["worker"] for _, msg in client.get_events(TOPIC_TASKS) if msg.get("job") == job_id}


def test_jobs_run_on_both_workers_byte_identical_to_local(
    cluster, client, cluster_service, service, file_server, speech_wav
):
    assert cluster_service.health()["cluster"]["connected"] is True
    clip = speech_wav.read_bytes()
    # every kind of input: two uploads, an uploaded text file, a URL (fetched by the service), three texts
    body = {"models": MEDIA_MODELS, "transcription": ASR, "text": TEXTS, "urls": [f"{file_server.url}/hello.txt"]}
    files = [("first.wav", clip), ("second clip.wav", clip), ("notes.txt", b"Maria was so kind to us.")]
    ids = {}
    for mode, srv in (("cluster", cluster_service), ("local", service)):
        ids[mode] = _submit(srv.url, files, {**body, "callback_url": f"{file_server.url}/cb/{mode}"})
    done = {
        mode: wait_job(srv.url, ids[mode], timeout=300)
        for mode, srv in (("cluster", cluster_service), ("local", service))
    }
    assert done["cluster"]["state"]["status"] == "COMPLETED", _why(done["cluster"], cluster, cluster_service)
    assert done["local"]["state"]["status"] == "COMPLETED", _why(done["local"], cluster, service)

    # the states say the same (timestamps aside), and so do the request echoes
    def shape(d):
        st = d["state"]
        return (
            sorted(st),
            st["num_predictions"],
            st["num_errors"],
            {k: v for k, v in d["request"].items() if k != "callback_url"},
        )

    assert shape(done["cluster"]) == shape(done["local"])
    assert (done["cluster"]["state"]["num_predictions"], done["cluster"]["state"]["num_errors"]) == (7, 0)
    # predictions JSON and artifacts: byte for byte
    preds = {
        m: _get(s.url, f"/v0/batch/jobs/{ids[m]}/predictions").content
        for m, s in (("cluster", cluster_service), ("local", service))
    }
    assert preds["cluster"] == preds["local"]
    arts = {
        m: _unzip(_get(s.url, f"/v0/batch/jobs/{ids[m]}/artifacts").content)
        for m, s in (("cluster", cluster_service), ("local", service))
    }
    assert arts["cluster"] == arts["local"] and arts["cluster"]
    # callbacks: the same payload apart from the job id
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got = {r["path"]: r["body"] for r in file_server.received if r["path"] in ("/cb/cluster", "/cb/local")}
        if len(got) == 2:
            break
        time.sleep(0.1)
    got = {k: {kk: vv for kk, vv in v.items() if kk != "job_id"} for k, v in got.items()}
    assert got["/cb/cluster"] == got["/cb/local"] and got["/cb/cluster"]["status"] == "COMPLETED"

    # the tasks (3 files + 1 URL + 2 text chunks) ran on both workers
    workers = set(client.scheduler_info()["workers"])
    assert _task_workers(client, ids["cluster"]) == workers and len(workers) == 2

    # models load once per worker process: more jobs, still one load of each model per worker
    more = [
        _submit(cluster_service.url, [("again.wav", clip)], {"models": MEDIA_MODELS, "transcription": ASR})
        for _ in range(2)
    ]
    more += [
        _submit(cluster_service.url, [], {"text": [f"Job {i} is a happy one."], "models": {"language": {}}})
        for i in range(3)
    ]
    assert all(wait_job(cluster_service.url, j)["state"]["status"] == "COMPLETED" for j in more)
    from emolens.service.cluster_worker import worker_facts

    facts = client.run(worker_facts)
    assert len(facts) == 2
    for addr, f in facts.items():
        # tiny.en for the transcript + base, whose encoder the prosody model listens with: each loaded once
        assert f["loads"].get("emolens.engine.transcribe.get_model") == 2, (addr, f)
        assert f["loads"].get("emolens.engine.prosody.get_model") == 1, (addr, f)
    health = cluster_service.health()
    assert health["engine"] == "dask" and health["status"] == "ok"
    assert health["workers"]["alive"] == 2 and health["cluster"]["threads"] == 2


def test_killed_worker_mid_task_is_retried_elsewhere(cluster, client, cluster_service, service, speech_wav):
    clip = speech_wav.read_bytes()
    body = {"models": {"prosody": {}, "language": {}}, "transcription": ASR}
    job = _submit(cluster_service.url, [("killed.wav", clip)], body)
    local = _submit(service.url, [("killed.wav", clip)], body)
    # wait until a worker is processing this job's task, then SIGKILL that worker process
    names = {addr: w["name"] for addr, w in client.scheduler_info()["workers"].items()}
    victim = None
    deadline = time.monotonic() + 60
    while victim is None:
        assert time.monotonic() < deadline, "the task never started"
        for addr, keys in client.processing().items():
            if any(job in str(k) for k in keys):
                victim = addr
        time.sleep(0.02)
    cluster.kill_worker(names[victim])
    details = wait_job(cluster_service.url, job, timeout=300)
    assert details["state"]["status"] == "COMPLETED", details
    ran_on = _task_workers(client, job)
    assert ran_on and victim not in ran_on  # finished by the survivor
    assert (
        _get(cluster_service.url, f"/v0/batch/jobs/{job}/predictions").content
        == _get(service.url, f"/v0/batch/jobs/{wait_job(service.url, local)['job_id']}/predictions").content
    )
    # a fresh worker for the tests after this one
    cluster.add_worker("w3")
    cluster.wait_workers(2)


def test_cancel_a_running_cluster_job_stops_its_tasks(client, cluster_service, speech_wav, tmp_path):
    import numpy as np
    import soundfile as sf

    audio, sr = sf.read(speech_wav, dtype="float32")
    long = tmp_path / "long.wav"
    sf.write(long, np.tile(audio, 12), sr)  # ~40 s: still running when cancelled
    job = _submit(
        cluster_service.url, [("long.wav", long.read_bytes())], {"models": {"prosody": {}}, "transcription": ASR}
    )
    deadline = time.monotonic() + 60
    while not any(job in str(k) for keys in client.processing().values() for k in keys):
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.05)
    r = httpx.post(f"{cluster_service.url}/v0/batch/jobs/{job}/cancel", timeout=30)
    assert r.status_code == 200 and r.json()["state"]["message"] == "cancelled by the user", r.text
    deadline = time.monotonic() + 10  # the service cancels the job's futures: the scheduler forgets the task
    while any(job in str(k) for keys in client.processing().values() for k in keys):
        assert time.monotonic() < deadline, client.processing()
        time.sleep(0.1)
    follow = _submit(cluster_service.url, [], {"text": ["After the cancel."], "models": {"language": {}}})
    assert wait_job(cluster_service.url, follow)["state"]["status"] == "COMPLETED"
    d = _get(cluster_service.url, f"/v0/batch/jobs/{job}").json()
    assert d["state"]["status"] == "FAILED" and d["state"]["message"] == "cancelled by the user"
    from emolens.store import Store

    assert Store(cluster_service.data_dir).find_result_by_job(job) is None


def test_service_killed_mid_job_then_restarted_loses_nothing(cluster_service, speech_wav):
    clip = speech_wav.read_bytes()
    job = _submit(cluster_service.url, [("restart.wav", clip)], {"models": {"prosody": {}}, "transcription": ASR})
    deadline = time.monotonic() + 60
    while _get(cluster_service.url, f"/v0/batch/jobs/{job}").json()["state"]["status"] != "IN_PROGRESS":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    cluster_service.kill9()
    cluster_service.start()
    details = wait_job(cluster_service.url, job, timeout=300)
    assert details["state"]["status"] == "COMPLETED", details
    preds = _get(cluster_service.url, f"/v0/batch/jobs/{job}/predictions").json()
    assert preds[0]["results"]["predictions"][0]["models"]["prosody"]["grouped_predictions"]
    from emolens.store import Store

    assert Store(cluster_service.data_dir).get_job(job).attempts == 2


def test_cli_measure_on_the_cluster_matches_local(cluster, tmp_path, speech_wav):
    env = {
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
        "EMOLENS_DATA_DIR": str(tmp_path / "data"),
        "PATH": "/usr/bin:/bin",
    }
    args = [
        sys.executable,
        "-m",
        "emolens",
        "measure",
        str(speech_wav),
        "--text",
        TEXTS[0],
        "--text",
        TEXTS[1],
        "--asr",
        "tiny.en",
        "--models",
        "prosody,language",
    ]
    there = subprocess.run(
        [*args, "--dask-scheduler", cluster.address, "--store", "--name", "via dask"],
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert there.returncode == 0, there.stderr.decode()[-2000:]
    here = subprocess.run(args, env=env, capture_output=True, timeout=300)
    assert here.returncode == 0, here.stderr.decode()[-2000:]
    assert there.stdout == here.stdout and json.loads(there.stdout)
    assert b"stored as" in there.stderr
    bad = subprocess.run(
        [*args, "--dask-scheduler", f"tcp://127.0.0.1:{free_port()}"], env=env, capture_output=True, timeout=120
    )
    assert bad.returncode == 1
    err = bad.stderr.decode()
    assert err.startswith("error: cannot reach the Dask scheduler at tcp://127.0.0.1:") and "Traceback" not in err


def test_unreachable_scheduler_jobs_wait_then_run_when_it_is_back(tmp_path):
    port = free_port()
    srv = ServerProcess(tmp_path / "data", env={"EMOLENS_DASK_SCHEDULER": f"127.0.0.1:{port}"}).start()
    late = None
    try:
        deadline = time.monotonic() + 30
        while "cannot reach" not in (srv.health().get("error") or ""):
            assert time.monotonic() < deadline, srv.health()
            time.sleep(0.2)
        health = srv.health()
        assert health["status"] == "degraded" and health["cluster"]["connected"] is False
        assert health["error"].startswith(f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
        job = _submit(
            srv.url, [], {"text": ["Waiting for the cluster makes me impatient."], "models": {"language": {}}}
        )
        time.sleep(2.5)
        d = _get(srv.url, f"/v0/batch/jobs/{job}").json()
        assert d["state"]["status"] == "QUEUED"  # nothing falls back silently
        assert d["progress"]["message"].startswith("waiting for the Dask cluster: cannot reach the Dask scheduler")
        late = DaskCluster(tmp_path / "late", port=port).start(1)
        d = wait_job(srv.url, job, timeout=180)
        assert d["state"]["status"] == "COMPLETED", d
        assert srv.health()["status"] == "ok"
    finally:
        srv.stop()
        if late is not None:
            late.stop()


def test_unreachable_scheduler_with_local_fallback(tmp_path):
    env = {"EMOLENS_DASK_SCHEDULER": f"tcp://127.0.0.1:{free_port()}", "EMOLENS_DASK_FALLBACK": "local"}
    srv = ServerProcess(tmp_path / "data", env=env).start()
    try:
        job = _submit(srv.url, [], {"text": ["The local pool saves the day."], "models": {"language": {}}})
        d = wait_job(srv.url, job, timeout=180)
        assert d["state"]["status"] == "COMPLETED", d
        health = srv.health()
        assert health["cluster"]["fallback_active"] is True and health["status"] == "degraded"
        assert health["workers"]["alive"] == 1
    finally:
        srv.stop()
