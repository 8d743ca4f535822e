"""Benchmark of the Dask cluster engine: the same media jobs through the service with the local worker pool, with a
Dask cluster of one worker and with two workers, in one run; jobs/min, audio-hours per hour and the ratios.

    python bench/cluster.py [--jobs 6] [--repeat 1] [--asr base] [--clip tests/data/dialogue_slt_rms.flac]

Every mode measures the same jobs (one clip each) after one warm-up job, so model loading (once per worker process
in every mode) is left out. ``--repeat N`` runs the three modes N times in turn and keeps each mode's best time
(on a shared machine the least disturbed run is the best estimate of the cost). On a 2-core machine two workers
cannot be twice as fast; the point of the 1-worker figure is the cluster's overhead against the local pool (aim:
<= 1.1x the local pool's time). Runs under
``flock /tmp/emolens-bench.lock`` (taken here) so that two benchmarks never overlap; prints the load beside.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ENV = {
    **os.environ,
    "PYTHONPATH": str(ROOT),
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
ENV.pop("EMOLENS_DASK_SCHEDULER", None)
ENV.pop("EMOLENS_API_KEY", None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _popen(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        args, env=env or ENV, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT
    )


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGINT)
    for p in procs:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)


def _wait_health(url: str, ok, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            h = httpx.get(url + "/health", timeout=2).json()
            if ok(h):
                return h
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"service at {url} not ready after {timeout} s")


def _run_jobs(url: str, clip: Path, n: int, request: dict) -> float:
    """Submit ``n`` one-clip jobs at once; seconds from the first creation to the last end (service clock)."""
    ids = []
    data = clip.read_bytes()
    for i in range(n):
        r = httpx.post(
            url + "/v0/batch/jobs",
            files=[("file", (f"{i}-{clip.name}", data, "audio/wav"))],
            data={"json": json.dumps(request)},
            timeout=60,
        )
        r.raise_for_status()
        ids.append(r.json()["job_id"])
    states = []
    while True:
        states = [httpx.get(f"{url}/v0/batch/jobs/{j}", timeout=10).json()["state"] for j in ids]
        if all(s["status"] in ("COMPLETED", "FAILED") for s in states):
            break
        time.sleep(0.25)
    failed = [s for s in states if s["status"] == "FAILED"]
    if failed:
        raise SystemExit(f"{len(failed)} job(s) failed: {failed[0].get('message')}")
    return (max(s["ended_timestamp_ms"] for s in states) - min(s["created_timestamp_ms"] for s in states)) / 1000


def run_mode(mode: str, n_workers: int, clip: Path, jobs: int, request: dict, tmp: Path) -> float:
    tmp.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen] = []
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    serve = [sys.executable, "-m", "emolens", "--data-dir", str(tmp / f"data-{mode}"), "serve", "--port", str(port)]
    try:
        if mode == "local":
            procs.append(_popen([*serve, "--workers", "1"], tmp / f"{mode}-svc.log"))
            _wait_health(url, lambda h: h["workers"]["alive"] >= 1)
        else:
            sport = _free_port()
            addr = f"tcp://127.0.0.1:{sport}"
            procs.append(
                _popen(
                    [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", str(sport),
                     "--no-dashboard"],
                    tmp / f"{mode}-sched.log",
                )
            )  # fmt: skip
            for i in range(n_workers):
                procs.append(
                    _popen(
                        # niced like the local pool's worker process, so both compete equally for the cores
                        ["nice", "-n", "10", sys.executable, "-m", "dask", "worker", addr, "--nthreads", "1",
                         "--no-nanny",
                         "--no-dashboard", "--name", f"w{i}", "--host", "127.0.0.1"],
                        tmp / f"{mode}-w{i}.log",
                    )
                )  # fmt: skip
            procs.append(_popen([*serve, "--dask-scheduler", addr], tmp / f"{mode}-svc.log"))
            _wait_health(url, lambda h: h.get("cluster", {}).get("threads", 0) >= n_workers)
        # warm-up: one job per worker so that every worker process has loaded its models
        _run_jobs(url, clip, max(1, n_workers), request)
        return _run_jobs(url, clip, jobs, request)
    finally:
        _stop(procs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=6)
    ap.add_argument("--repeat", type=int, default=1, help="run the modes this many times, keep each one's best")
    ap.add_argument("--asr", default="base", choices=["base", "tiny.en"])
    ap.add_argument("--clip", type=Path, default=ROOT / "tests" / "data" / "dialogue_slt_rms.flac")
    args = ap.parse_args()
    import soundfile as sf

    seconds = float(sf.info(str(args.clip)).duration)
    request = {"models": {"prosody": {}, "language": {}, "ner": {}}, "transcription": {"model": args.asr}}
    lock = open("/tmp/emolens-bench.lock", "w")  # noqa: SIM115 - held for the whole run
    fcntl.flock(lock, fcntl.LOCK_EX)
    load_before = os.getloadavg()
    print(f"machine: {platform.machine()} {os.cpu_count()} CPU(s), Python {platform.python_version()}")
    print(f"inputs: {args.jobs} jobs x {args.clip.name} ({seconds:.1f} s audio), prosody+language+ner, asr {args.asr}")
    print(f"load before: {' '.join(f'{x:.2f}' for x in load_before)}")
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="emolens-bench-cluster-") as d:
        for r in range(max(1, args.repeat)):
            for mode, n in (("local", 1), ("dask-1", 1), ("dask-2", 2)):
                t = run_mode(mode, n, args.clip, args.jobs, request, Path(d) / f"run{r}")
                results[mode] = min(t, results.get(mode, t))
                jobs_min = args.jobs / t * 60
                audio_h_per_h = args.jobs * seconds / t
                line = f"{t:7.1f} s  {jobs_min:6.2f} jobs/min  {audio_h_per_h:6.2f} audio-hours/hour"
                print(f"run {r + 1} {mode:<7} {line}", flush=True)
    for mode, t in results.items():
        line = f"{t:7.1f} s  {args.jobs / t * 60:6.2f} jobs/min  {args.jobs * seconds / t:6.2f} audio-hours/hour"
        print(f"best {mode:<7} {line}")
    base = results["local"]
    print(f"ratio time dask-1 / local: {results['dask-1'] / base:.2f}x (aim <= 1.1x)")
    print(f"ratio time dask-2 / local: {results['dask-2'] / base:.2f}x (throughput {base / results['dask-2']:.2f}x)")
    print(f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
