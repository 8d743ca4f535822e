"""Benchmark of the batch service: short text jobs per minute through HTTP + the worker pool, against calling the
engine in-process on the same texts in the same run, and status-poll latency (p50/p95) while jobs run.

    python bench/service.py [--jobs 200] [--pollers 8] [--workers 1]

Each job is one short text, submitted one after another as fast as one client can; the worker measures queued
text jobs with the same configuration together (micro-batching), as an inference server would.

Prints the machine, the absolute figures and the ratio service/in-process time (aim: <= 1.2x).
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIG = {"models": {"language": {"granularity": "sentence", "sentiment": {}, "toxicity": {}}}}
SENTENCES = [
    "I can't believe how well this turned out, thank you all!",
    "The delivery was late again and nobody answered my emails.",
    "Honestly, I'm not sure what to think about the new policy.",
    "What a beautiful morning for a walk by the river.",
    "This is the worst customer service I have ever experienced.",
    "We finally closed the deal after months of work. Time to celebrate!",
]


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))] if s else float("nan")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _texts(n: int) -> list[str]:
    return [f"{SENTENCES[i % len(SENTENCES)]} (#{i})" for i in range(n)]


def in_process(texts: list[str]) -> tuple[float, float]:
    """Seconds to measure the texts in-process, models loaded: (one call per text, one call for all texts)."""
    from emolens.engine import measure_text

    measure_text(["warm up the models"], CONFIG)
    t0 = time.perf_counter()
    for t in texts:
        measure_text([t], CONFIG)
    one_by_one = time.perf_counter() - t0
    t0 = time.perf_counter()
    measure_text(texts, CONFIG)
    return one_by_one, time.perf_counter() - t0


def _wait_all(c: httpx.Client, ids: list[str]) -> float:
    """Seconds from the first job's creation to the last job's end (service timestamps), once all completed."""
    want = set(ids)
    while True:
        jobs = [j for j in c.get("/v0/batch/jobs", params={"limit": 500, "status": "COMPLETED"}).json()
                if j["job_id"] in want]
        if len(jobs) == len(want):
            break
        time.sleep(0.25)
    ended = max(j["state"]["ended_timestamp_ms"] for j in jobs)
    created = min(j["state"]["created_timestamp_ms"] for j in jobs)
    return max((ended - created) / 1000, 1e-6)


def through_service(url: str, texts: list[str], pollers: int) -> tuple[float, float, list[float]]:
    """(seconds for all jobs, seconds for all jobs while pollers hammer status, poll latencies)."""
    with httpx.Client(base_url=url, timeout=60) as c:
        warm = c.post("/v0/batch/jobs", json={**CONFIG, "text": ["warm up the worker"]}).json()["job_id"]
        _wait_all(c, [warm])
        ids = [c.post("/v0/batch/jobs", json={**CONFIG, "text": [t]}).json()["job_id"] for t in texts]
        quiet = _wait_all(c, ids)

        ids = [c.post("/v0/batch/jobs", json={**CONFIG, "text": [t]}).json()["job_id"] for t in texts]
        latencies: list[float] = []
        done = threading.Event()
        lock = threading.Lock()

        def poll(k: int) -> None:
            with httpx.Client(base_url=url, timeout=60) as pc:
                i = k
                while not done.is_set():
                    s = time.perf_counter()
                    pc.get(f"/v0/batch/jobs/{ids[i % len(ids)]}")
                    with lock:
                        latencies.append(time.perf_counter() - s)
                    i += pollers
                    time.sleep(0.1)  # each poller asks ~10 times a second

        threads = [threading.Thread(target=poll, args=(k,), daemon=True) for k in range(pollers)]
        for t in threads:
            t.start()
        loaded = _wait_all(c, ids)
        done.set()
        for t in threads:
            t.join()
    return quiet, loaded, latencies


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--pollers", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    texts = _texts(a.jobs)
    print(f"machine: {platform.machine()} {platform.processor() or ''} cores={os.cpu_count()} "
          f"python={platform.python_version()}")
    runs = {}
    for batching in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            env = {**os.environ, "PYTHONPATH": str(ROOT), "EMOLENS_BATCH_TEXT_JOBS": "1" if batching else "0"}
            env.pop("EMOLENS_API_KEY", None)
            proc = subprocess.Popen([sys.executable, "-m", "emolens", "--data-dir", tmp, "serve", "--port", str(port),
                                     "--workers", str(a.workers)], env=env, cwd=ROOT,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                for _ in range(300):
                    try:
                        if httpx.get(url + "/health", timeout=1).status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.1)
                runs[batching] = through_service(url, texts, a.pollers)
            finally:
                proc.terminate()
                proc.wait(20)
    base_s, batch_s = in_process(texts)
    n = a.jobs
    print(f"{n} short text jobs (language: sentence + sentiment + toxicity), {a.workers} worker(s)")
    print(f"  in-process: {base_s:7.2f} s  = {n / base_s * 60:7.0f} texts/min (measure_text per text, models warm)")
    print(f"  in-process, one call for all texts: {batch_s:.2f} s = {n / batch_s * 60:.0f} texts/min "
          "(the floor the worker's micro-batching approaches)")
    for batching, (svc_s, loaded_s, lat) in runs.items():
        mode = "ON (default)" if batching else "OFF (one job at a time)"
        label = f"service, micro-batching {mode}"
        print(f"  {label}: {svc_s:.2f} s = {n / svc_s * 60:.0f} jobs/min (first job created -> last job ended); "
              f"ratio to in-process per text: {svc_s / base_s:.2f}x")
        print(f"      under load ({a.pollers} pollers x ~10 status requests/s): {loaded_s:.2f} s = "
              f"{n / loaded_s * 60:.0f} jobs/min ({loaded_s / base_s:.2f}x); status latency n={len(lat)} "
              f"p50 {_pct(lat, .5) * 1000:.1f} ms, p95 {_pct(lat, .95) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
