"""Shared fixtures: every test gets its own data dir; nothing touches the user's ~/.emolens."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")


@pytest.fixture(autouse=True)
def data_dir(tmp_path_factory, monkeypatch) -> Path:
    """A fresh EMOLENS_DATA_DIR per test; settings re-read."""
    d = tmp_path_factory.mktemp("emolens-data")
    monkeypatch.setenv("EMOLENS_DATA_DIR", str(d))
    monkeypatch.setenv("EMOLENS_SEED_SAMPLES", os.environ.get("EMOLENS_TEST_SEED", "false"))
    from emolens.settings import get_settings

    get_settings.cache_clear()
    yield d
    get_settings.cache_clear()


def shared_datasets() -> Path:
    """The shared datasets folder (tests that need it skip when absent)."""
    return SHARED
