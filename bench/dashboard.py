"""Benchmark: the Explore page in real Chromium (Playwright + Debian's chromium) on a one-hour word-level result.

Figures (seconds, median of --repeat fresh browser tabs):
- open: a shared Explore URL in a fresh tab -> the first chart drawn (and -> both top charts drawn);
- switch model: language -> prosody, until the timeline shows the new model;
- switch result: one one-hour result -> another, until the timeline shows the new one;
- switch to a new result: to a one-hour result this server has not opened yet (each round its own), warmed (its
  frames on disk, as the Library's import leaves them) and not (as a result the service stored).
The same figures for a 300-word result, measured in the same run, give the ratio (hour / small): the page's cost
that grows with the result's size. With ``--baseline REF`` the dashboard of git revision REF (``git archive``, into
a temp dir) runs beside this tree's, on the same store, and fresh tabs alternate between the two: each figure is
printed for both with the ratio new / baseline. The first visit after the server starts (imports, first script run)
is reported apart. Runs under the bench lock (/tmp/emolens-bench.lock) so two benchmarks never overlap.

Run: .venv/bin/python bench/dashboard.py [--words 10000] [--repeat 3] [--baseline main]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
EMOTIONS = "Joy,Calmness,Interest,Boredom,Anger"
#: A chart is drawn once plotly has laid it out and rendered its traces, or once the canvas overview
#: (components/overview) has painted its cells.
DRAWN = """(n) => {
  const plots = Array.from(document.querySelectorAll('.js-plotly-plot'));
  const drawn = plots.filter(p => p._fullData && p._fullData.length && p.querySelector('.main-svg')).length;
  return drawn + document.querySelectorAll('.emolens-overview[data-drawn="true"]').length >= n;
}"""
IDLE = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(data_dir: Path, root: Path = ROOT, launcher: bool = True) -> tuple[subprocess.Popen, str]:
    """The real dashboard of the tree at ``root`` on a free loopback port, started as ``make run`` starts it
    (dashboard.py, where the tree has it and ``launcher``; else ``streamlit run app.py``)."""
    import httpx

    use_launcher = launcher and (root / "dashboard.py").is_file()
    start = [str(root / "dashboard.py")] if use_launcher else ["-m", "streamlit", "run", str(root / "app.py")]
    port = free_port()
    env = {
        **os.environ,
        "EMOLENS_DATA_DIR": str(data_dir),
        "EMOLENS_SEED_SAMPLES": "false",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(root),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            *start,
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("streamlit did not start")


def open_explore(browser, url: str, rid: str) -> dict[str, float]:
    """A fresh tab on a shared Explore URL: seconds to the first chart drawn and to both top charts drawn."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    t0 = time.perf_counter()
    page.goto(f"{url}/explore?result={rid}&model=language&emotions={EMOTIONS}")
    page.get_by_role("heading", name="Explore").wait_for()
    shell = time.perf_counter() - t0  # the app shell and the page's first element: the floor of any page
    page.wait_for_function(DRAWN, arg=1, polling=50)
    first = time.perf_counter() - t0
    page.wait_for_function(DRAWN, arg=2, polling=50)
    both = time.perf_counter() - t0
    page.wait_for_function(IDLE)
    return {"shell_s": shell, "first_chart_s": first, "top_charts_s": both, "page": page, "context": context}


def switch(page, label: str, option: str, url_part: str) -> float:
    """Pick ``option`` in the selectbox labelled ``label``; seconds until the URL names ``url_part`` and the timeline
    is drawn again with new data."""
    page.get_by_label(label, exact=True).click()
    page.evaluate(
        "() => { const p = document.querySelector('.st-key-explore_timeline .js-plotly-plot');"
        " window.__before = p && p._fullData; }"
    )
    t0 = time.perf_counter()
    page.get_by_role("option", name=option).first.click()
    page.wait_for_function(
        """(s) => { const p = document.querySelector('.st-key-explore_timeline .js-plotly-plot');
                    return window.location.search.includes(s) && p && p._fullData && p._fullData.length
                           && p._fullData !== window.__before && p.querySelector('.main-svg'); }""",
        arg=url_part,
        polling=50,
    )
    took = time.perf_counter() - t0
    page.wait_for_function(IDLE)
    return took


def measure(
    browser, url: str, rid: str, other_name: str, other_id: str, fresh: tuple[tuple[str, str, str], ...] = ()
) -> dict[str, float]:
    """One fresh-tab round: open, switch model (language -> prosody), switch result; then switch to each ``fresh``
    result (figure name, result name, id): results this server has not opened yet."""
    got = open_explore(browser, url, rid)
    page = got.pop("page")
    context = got.pop("context")
    got["switch_model_s"] = switch(page, "Model", "prosody", "model=prosody")
    page.wait_for_function(DRAWN, arg=2)
    got["switch_result_s"] = switch(page, "Result", other_name, f"result={other_id}")
    for key, name, fid in fresh:
        page.wait_for_function(DRAWN, arg=2)
        got[key] = switch(page, "Result", name, f"result={fid}")
    context.close()
    return got


def checkout(ref: str, dest: Path) -> Path:
    """The tree of git revision ``ref`` extracted into ``dest`` (git archive: the repository is not touched)."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def report(rows: dict[str, list[dict[str, float]]], a: str, b: str, goals: dict[str, float | None]) -> None:
    """One line per figure: the medians of rows[a] and rows[b] and their ratio a / b."""
    for key, goal in goals.items():
        va = statistics.median(r[key] for r in rows[a])
        vb = statistics.median(r[key] for r in rows[b])
        note = f" (goal <= {goal:g} s)" if goal else ""
        print(f"{key:16s} {a} {va:6.2f} s · {b} {vb:6.2f} s · ratio {va / vb:5.2f}x{note}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--words", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline", help="a git revision to measure beside this tree (e.g. main)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from components.data import warm
    from emolens.store import Store
    from tests import synth

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        raise SystemExit("Debian's chromium is not installed")
    with open("/tmp/emolens-bench.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "data")
            hour_a = store.add_result("hour A", synth.word_level_result(args.words, seed=1))
            hour_b = store.add_result("hour B", synth.word_level_result(args.words, seed=2))
            small_a = store.add_result("small A", synth.word_level_result(300, seed=3))
            small_b = store.add_result("small B", synth.word_level_result(300, seed=4))
            # per round, two one-hour results no server has opened yet: one warmed as the Library's import leaves
            # it (frames on disk), one not (stored by the service, or by an older emolens)
            # (two contents: a switch between two results with the same content would redraw nothing)
            warm_preds = synth.word_level_result(args.words, seed=5)
            cold_preds = synth.word_level_result(args.words, seed=6)
            fresh = []
            for i in range(args.repeat):
                warm_id = store.add_result(f"hour W{i}", warm_preds)
                warm(str(store.data_dir), warm_id, warm_preds)
                cold_id = store.add_result(f"hour U{i}", cold_preds)
                fresh.append(
                    (("switch_new_warmed_s", f"hour W{i}", warm_id), ("switch_new_unwarmed_s", f"hour U{i}", cold_id))
                )
            procs = []
            try:
                proc, url = start_app(Path(tmp) / "data")
                procs.append(proc)
                base_url = None
                if args.baseline:
                    proc, base_url = start_app(Path(tmp) / "data", checkout(args.baseline, Path(tmp) / "baseline"))
                    procs.append(proc)
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
                    colds = {}
                    for name, u in [("new", url), ("base", base_url)]:
                        if u is None:
                            continue
                        t0 = time.perf_counter()
                        cold = open_explore(browser, u, hour_a)
                        cold["context"].close()
                        colds[name] = (cold["first_chart_s"], time.perf_counter() - t0)
                    rows: dict[str, list[dict[str, float]]] = {"hour": [], "small": [], "base": []}
                    for i in range(args.repeat):
                        # alternate which server goes first, so neither always follows the other's load
                        order = ["base", "hour"] if i % 2 else ["hour", "base"]
                        for name in order:
                            if name == "base" and base_url:
                                rows["base"].append(measure(browser, base_url, hour_a, "hour B", hour_b, fresh[i]))
                            elif name == "hour":
                                rows["hour"].append(measure(browser, url, hour_a, "hour B", hour_b, fresh[i]))
                        rows["small"].append(measure(browser, url, small_a, "small B", small_b))
                    browser.close()
            finally:
                for proc in procs:
                    proc.terminate()
                    proc.wait(timeout=10)
    load = os.getloadavg()
    print(
        f"Explore in Chromium, {args.words}-word result (one hour) vs 300 words, median of {args.repeat}; "
        f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs"
    )
    for name, (first, whole) in colds.items():
        print(f"first visit after start ({name}, hour): first chart {first:.2f} s, whole cold open {whole:.2f} s")
    goals = {"shell_s": None, "first_chart_s": 3.0, "top_charts_s": None, "switch_model_s": 1.0, "switch_result_s": 1.0}
    print("-- this tree: one-hour result vs 300 words")
    report(rows, "hour", "small", goals)
    fresh_goals = {"switch_new_warmed_s": 1.0, "switch_new_unwarmed_s": 1.0}
    for key, goal in fresh_goals.items():
        values = [r[key] for r in rows["hour"]]
        each = ", ".join(f"{v:.2f}" for v in values)
        print(f"{key:16s} hour {statistics.median(values):6.2f} s (each: {each}) (goal <= {goal:g} s)")
    if base_url:
        print(f"-- one-hour result: this tree vs baseline {args.baseline} (ratio < 1: faster)")
        report(rows, "hour", "base", {**goals, **fresh_goals})


if __name__ == "__main__":
    main()
