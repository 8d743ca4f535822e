"""AppTest of the Settings page: backend in use and its health; pointing the dashboard at another service."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(120)


def settings() -> AppTest:
    return AppTest.from_file(str(ROOT / "app_pages" / "settings.py"), default_timeout=60)


def test_embedded_backend_is_healthy(data_dir):
    at = settings().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("embedded" in m.value for m in at.markdown)
    assert any("Health: reachable" in s.value for s in at.success)
    assert [m.label for m in at.metric][:2] == ["Workers alive", "Queued"]


def test_switch_to_another_service_and_back(data_dir, tmp_path):
    from emolens.service.config import ServiceConfig
    from emolens.service.embedded import EmbeddedService

    other = EmbeddedService(ServiceConfig(data_dir=tmp_path / "other", api_key="k1"), start_workers=False).start()
    try:
        at = settings().run()
        at.text_input(key="settings_url").input("http://127.0.0.1:1")
        at.button[0].click().run()
        assert any("Not switched" in e.value and "cannot reach" in e.value for e in at.error)

        at.text_input(key="settings_url").input(other.url)
        at.text_input(key="settings_key").input("wrong")
        at.button[0].click().run()
        assert any("Not switched" in e.value and "API key" in e.value for e in at.error)
        assert "backend_url" not in at.session_state

        at.text_input(key="settings_url").input(other.url)
        at.text_input(key="settings_key").input("k1")
        at.button[0].click().run()
        assert not at.exception
        assert at.session_state["backend_url"] == other.url
        assert any(other.url in m.value and "remote" in m.value for m in at.markdown)

        at.button[1].click().run()  # back to the default
        assert "backend_url" not in at.session_state
        assert any("embedded" in m.value for m in at.markdown)
    finally:
        other.stop()


def test_bad_url_format(data_dir):
    at = settings().run()
    at.text_input(key="settings_url").input("not-a-url")
    at.button[0].click().run()
    assert any("http://" in e.value for e in at.error)


def test_unreachable_dask_scheduler_is_a_clear_error(data_dir, tmp_path):
    pytest.importorskip("distributed")
    import socket
    import time

    from emolens.service.config import ServiceConfig
    from emolens.service.embedded import EmbeddedService

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = ServiceConfig(data_dir=tmp_path / "dask", dask_scheduler=f"127.0.0.1:{port}", dask_connect_timeout_s=1.0)
    other = EmbeddedService(cfg).start()
    try:
        deadline = time.monotonic() + 20
        from emolens.client import Client

        with Client(other.url) as c:
            while "cannot reach" not in (c.health().get("error") or ""):
                assert time.monotonic() < deadline
                time.sleep(0.2)
        at = settings().run()
        at.text_input(key="settings_url").input(other.url)
        at.button[0].click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert any(f"tcp://127.0.0.1:{port}" in m.value and "Dask cluster" in m.value for m in at.markdown)
        errors = [e.value for e in at.error]
        assert any(e.startswith(f"Cluster: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}") for e in errors)
        assert any("jobs stay queued" in e for e in errors), errors
    finally:
        other.stop()
