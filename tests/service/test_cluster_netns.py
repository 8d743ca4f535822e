"""Multi-host: the Dask scheduler, two workers and the service each in its own Linux network namespace, joined by
veth pairs on a private bridge that lives in a fifth namespace (the "switch"), all made and removed by this test.

No namespace has a route anywhere but the test subnet (198.18.14.0/24, the range set aside for network tests), so
the only traffic is between these namespaces: the service's client talks to the scheduler, the workers to the
scheduler and to each other, the media bytes travel inside the tasks. Needs root and iproute2; skipped with the
reason otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from dask_helpers import WORKER_ENV, DaskCluster
from svc_helpers import REPO

pytest.importorskip("distributed")
pytestmark = pytest.mark.timeout(400)

NET = "198.18.14"
HOSTS = {"sched": 1, "w1": 2, "w2": 3, "svc": 4}


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


@pytest.fixture()
def netns():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (this test made none)")
    if shutil.which("ip") is None:
        pytest.skip("network namespaces need iproute2's `ip` command (apt-get install iproute2)")
    tag = f"el14-{os.getpid()}"
    names = {h: f"{tag}-{h}" for h in HOSTS} | {"switch": f"{tag}-switch"}
    made: list[str] = []
    try:
        for ns in names.values():
            _ip("netns", "add", ns)
            made.append(ns)
    except subprocess.CalledProcessError as e:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        pytest.skip(f"cannot create network namespaces here: {e.stderr.decode().strip() or e}")
    try:
        sw = names["switch"]
        _ip("-n", sw, "link", "add", "br0", "type", "bridge")
        _ip("-n", sw, "link", "set", "br0", "up")
        for host, i in HOSTS.items():
            ns = names[host]
            _ip("-n", sw, "link", "add", f"p{i}", "type", "veth", "peer", "name", "eth0", "netns", ns)
            _ip("-n", sw, "link", "set", f"p{i}", "master", "br0")
            _ip("-n", sw, "link", "set", f"p{i}", "up")
            _ip("-n", ns, "addr", "add", f"{NET}.{i}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("netns", "exec", names["svc"], "true")  # processes can be started inside (needs mounting /sys)
    except subprocess.CalledProcessError as e:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)
        made.clear()
        pytest.skip(f"cannot wire network namespaces here ({' '.join(e.cmd)}): {e.stderr.decode().strip() or e}")
    try:
        yield names
    finally:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


CLIENT = textwrap.dedent(
    """
    import json, sys, time, httpx
    from distributed import Client
    from emolens.service.cluster_worker import TOPIC_TASKS
    url, sched, clip = sys.argv[1], sys.argv[2], sys.argv[3]
    out = {}
    deadline = time.monotonic() + 120
    while True:
        try:
            h = httpx.get(url + "/health", timeout=5).json()
            if h.get("cluster", {}).get("connected") and h["cluster"]["threads"] >= 2:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "service never connected to the scheduler"
        time.sleep(0.2)
    texts = ["I am delighted.", "This is dreadful.", "What a calm evening.", "I am furious about it."]
    ids = [httpx.post(url + "/v0/batch/jobs", json={"text": texts, "models": {"language": {}}}).json()["job_id"]]
    with open(clip, "rb") as f:
        r = httpx.post(url + "/v0/batch/jobs", files=[("file", ("clip.wav", f, "audio/wav"))],
                       data={"json": json.dumps({"models": {"prosody": {}}, "transcription": {"model": "tiny.en"}})})
    ids.append(r.json()["job_id"])
    deadline = time.monotonic() + 240
    states = {}
    while time.monotonic() < deadline:
        states = {j: httpx.get(f"{url}/v0/batch/jobs/{j}").json()["state"]["status"] for j in ids}
        if all(s in ("COMPLETED", "FAILED") for s in states.values()):
            break
        time.sleep(0.3)
    out["states"] = list(states.values())
    out["predictions"] = [len(httpx.get(f"{url}/v0/batch/jobs/{j}/predictions").json()) for j in ids]
    with Client(sched, timeout=20, set_as_default=False) as c:
        out["task_workers"] = sorted({m["worker"] for _, m in c.get_events(TOPIC_TASKS) if m.get("job") in ids})
    print(json.dumps(out))
    """
)


def test_scheduler_workers_and_service_on_separate_hosts(netns, tmp_path, speech_wav):
    ns = netns
    # the only route in each namespace is the test subnet
    routes = subprocess.run(["ip", "-n", ns["svc"], "route"], capture_output=True, text=True, check=True).stdout
    assert routes.strip().splitlines() == [r for r in routes.strip().splitlines() if r.startswith(f"{NET}.0/24")]

    prefix = {role: ["ip", "netns", "exec", ns[role]] for role in ("w1", "w2")}
    prefix["scheduler"] = ["ip", "netns", "exec", ns["sched"]]
    cluster = DaskCluster(tmp_path / "dask", host=f"{NET}.{HOSTS['sched']}", port=8786, prefix=prefix)
    svc = None
    try:
        cluster.start_scheduler()
        cluster.add_worker("w1", host=f"{NET}.{HOSTS['w1']}")
        cluster.add_worker("w2", host=f"{NET}.{HOSTS['w2']}")
        cluster.wait_workers(2)
        env = {**os.environ, "PYTHONPATH": str(REPO), **WORKER_ENV, "EMOLENS_DASK_TEXT_CHUNK": "1"}
        env.pop("EMOLENS_API_KEY", None)
        log = (tmp_path / "svc.log").open("ab")
        svc = subprocess.Popen(
            ["ip", "netns", "exec", ns["svc"], sys.executable, "-m", "emolens", "--data-dir", str(tmp_path / "data"),
             "serve", "--host", "127.0.0.1", "--port", "8000", "--dask-scheduler", cluster.address],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        script = tmp_path / "client.py"
        script.write_text(CLIENT)
        r = subprocess.run(
            ["ip", "netns", "exec", ns["svc"], sys.executable, str(script), "http://127.0.0.1:8000", cluster.address,
             str(speech_wav)],
            env=env, capture_output=True, text=True, timeout=330,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr[-3000:] + (tmp_path / "svc.log").read_text()[-3000:]
        out = json.loads(r.stdout.strip().splitlines()[-1])
        assert out["states"] == ["COMPLETED", "COMPLETED"], out
        assert out["predictions"] == [4, 1]
        hosts = sorted(a.split("//")[1].split(":")[0] for a in out["task_workers"])
        assert hosts == [f"{NET}.{HOSTS['w1']}", f"{NET}.{HOSTS['w2']}"], out
    finally:
        if svc is not None and svc.poll() is None:
            os.killpg(svc.pid, signal.SIGINT)
            try:
                svc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(svc.pid, signal.SIGKILL)
                svc.wait(5)
        cluster.stop()
        time.sleep(0.2)
