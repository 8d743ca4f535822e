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
