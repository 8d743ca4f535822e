"""Bounded load: 50 concurrent submissions + 200 status polls on loopback. None lost; p95 latency reported."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

pytestmark = pytest.mark.timeout(300)


def _p(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def test_50_submissions_and_200_polls(service, capsys):
    async def run() -> tuple[list[str], list[float], list[float]]:
        async with httpx.AsyncClient(base_url=service.url, timeout=60,
                                     limits=httpx.Limits(max_connections=100)) as c:
            async def submit(i: int) -> tuple[str, float]:
                t0 = time.perf_counter()
                r = await c.post("/v0/batch/jobs", json={"text": [f"Load test {i}: what a wonderful day."],
                                                         "models": {"language": {"granularity": "utterance"}}})
                assert r.status_code == 200, r.text
                return r.json()["job_id"], time.perf_counter() - t0

            submitted = await asyncio.gather(*(submit(i) for i in range(50)))
            ids = [s[0] for s in submitted]

            async def poll(i: int) -> float:
                t0 = time.perf_counter()
                r = await c.get(f"/v0/batch/jobs/{ids[i % len(ids)]}")
                assert r.status_code == 200
                return time.perf_counter() - t0

            polls = await asyncio.gather(*(poll(i) for i in range(200)))
            return ids, [s[1] for s in submitted], list(polls)

    t0 = time.perf_counter()
    # A fresh thread owns the event loop: a session-scoped Playwright (e2e tests) may hold one in this thread.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        ids, submit_lat, poll_lat = pool.submit(asyncio.run, run()).result()
    assert len(set(ids)) == 50
    deadline = time.monotonic() + 240
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        listed = httpx.get(service.url + "/v0/batch/jobs", params={"limit": 500}).json()
        states = {j["job_id"]: j["state"]["status"] for j in listed}
        assert pending <= set(states), "a submitted job is missing from the list"
        pending = {j for j in pending if states[j] != "COMPLETED"}
        assert not any(states[j] == "FAILED" for j in ids)
        time.sleep(0.5)
    total = time.perf_counter() - t0
    assert not pending, f"{len(pending)} job(s) never completed"
    # queued text jobs are measured together (micro-batching): results must equal measuring each text alone
    from emolens.engine import measure_text

    for i in (0, 17, 49):
        preds = httpx.get(f"{service.url}/v0/batch/jobs/{ids[i]}/predictions", timeout=30).json()
        alone = measure_text([f"Load test {i}: what a wonderful day."],
                             {"models": {"language": {"granularity": "utterance"}}})
        got = preds[0]["results"]["predictions"][0]
        want = alone[0]["results"]["predictions"][0]
        assert got["file"] == "0"
        g = got["models"]["language"]["grouped_predictions"][0]["predictions"][0]
        w = want["models"]["language"]["grouped_predictions"][0]["predictions"][0]
        assert g["text"] == w["text"] and g["position"] == w["position"]
        gs = {e["name"]: e["score"] for e in g["emotions"]}
        assert all(abs(gs[e["name"]] - e["score"]) < 1e-3 for e in w["emotions"])
    with capsys.disabled():
        print(f"\n[load] 50 submissions: p50 {_p(submit_lat, .5) * 1000:.0f} ms, "
              f"p95 {_p(submit_lat, .95) * 1000:.0f} ms;"
              f" 200 polls: p50 {_p(poll_lat, .5) * 1000:.0f} ms, p95 {_p(poll_lat, .95) * 1000:.0f} ms;"
              f" all 50 jobs completed in {total:.1f} s")


def test_micro_batching_keeps_jobs_apart(tmp_path):
    """With EMOLENS_BATCH_TEXT_JOBS=1 queued text jobs share engine calls; each job still gets exactly its own
    texts back, indexed from "0", with its own result and state, and the very scores it would get alone."""
    from svc_helpers import ServerProcess, wait_job

    from emolens.engine import measure_text

    srv = ServerProcess(tmp_path / "data", env={"EMOLENS_BATCH_TEXT_JOBS": "1"}).start()
    try:
        cfg = {"models": {"language": {"granularity": "utterance"}}}
        jobs = {}
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            for i in range(12):
                texts = [f"Job {i} text {k}." for k in range(1 + i % 3)]
                jobs[c.post("/v0/batch/jobs", json={**cfg, "text": texts}).json()["job_id"]] = texts
            other = c.post("/v0/batch/jobs", json={"models": {"ner": {}}, "text": ["Paris in May."]}).json()["job_id"]
        for job_id, texts in jobs.items():
            d = wait_job(srv.url, job_id)
            assert d["state"]["status"] == "COMPLETED" and d["state"]["num_predictions"] == len(texts)
            preds = httpx.get(f"{srv.url}/v0/batch/jobs/{job_id}/predictions").json()
            assert len(preds) == len(texts)
            for k, (src, text) in enumerate(zip(preds, texts)):
                p = src["results"]["predictions"][0]
                assert p["file"] == str(k)
                assert p["models"]["language"]["grouped_predictions"][0]["predictions"][0]["text"] == text
            # the encoder is batch-independent: sharing a call with other users' jobs changes nothing
            alone = json.loads(json.dumps(measure_text(texts, cfg)))
            assert [s["results"] for s in preds] == [s["results"] for s in alone]
        d = wait_job(srv.url, other)
        preds = httpx.get(f"{srv.url}/v0/batch/jobs/{other}/predictions").json()
        assert set(preds[0]["results"]["predictions"][0]["models"]) == {"ner"}
    finally:
        srv.stop()
