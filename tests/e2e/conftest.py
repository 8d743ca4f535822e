"""Real-browser fixtures: Debian's Chromium driven by Playwright (never Playwright's own browser download) and
the real app.

Fixtures:
- ``chromium_browser``: one headless Chromium per session.
- ``app_server``: the real dashboard (``streamlit run app.py``) on a free loopback port with a temp data dir;
  yields its URL. Extra environment can be given with ``@pytest.mark.app_env({...})``.
- ``page``: a fresh browser page (1400x1000).
- ``artifacts_dir``: where screenshots go (test-artifacts/, kept by CI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    return None


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    d = ROOT / "test-artifacts"
    d.mkdir(exist_ok=True)
    return d


@pytest.fixture(scope="module")
def chromium_browser():
    """One browser per test module: Playwright's sync API holds an event loop in this thread while open."""
    exe = chromium_path()
    if exe is None:
        pytest.fail("Debian's chromium is not installed: run the README's test command (it installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def app_server(request, tmp_path, artifacts_dir):
    marker = request.node.get_closest_marker("app_env")
    port = free_port()
    env = {**os.environ, "EMOLENS_DATA_DIR": str(tmp_path / "data"),
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "HF_HUB_OFFLINE": "1",
           "EMOLENS_SEED_SAMPLES": "false"}
    if marker:
        env.update(marker.args[0])
    log = (artifacts_dir / f"{request.node.name}-server.log").open("w")
    proc = subprocess.Popen(
        # as `make run` starts it: dashboard.py is `streamlit run app.py` with the page's heavy imports done first
        [sys.executable, str(ROOT / "dashboard.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited early (code {proc.returncode}); see {log.name}")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("streamlit did not become healthy within 60 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def page(chromium_browser):
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    # patience, not a timing check: every wait is on a condition, and a machine shared with training jobs (load 9+)
    # once took over 30 s to draw a fresh tab's first plotly chart
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


def wait_for_app(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished running the script (no 'running' status widget)."""
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)


def pytest_configure(config):
    config.addinivalue_line("markers", "app_env(env): extra environment for the app_server fixture")
