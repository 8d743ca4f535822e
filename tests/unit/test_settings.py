"""Every EMOLENS_* variable is a Settings field, read nowhere else, and listed in the README's configuration table."""

from __future__ import annotations

import re
from pathlib import Path

from emolens.service.config import ServiceConfig
from emolens.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[2]


def test_readme_table_lists_every_setting():
    table = ROOT.joinpath("README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `EMOLENS_([A-Z_]+)`", table, flags=re.M)
    assert set(rows) == {name.upper() for name in Settings.model_fields}
    assert sorted(rows) == sorted(set(rows)), "a variable is listed twice"


def test_only_settings_reads_the_environment():
    readers = []
    for path in (ROOT / "emolens").rglob("*.py"):
        if {"train", "eval"} & set(path.parts) or path.name == "settings.py":  # offline tools: not run-time settings
            continue
        for line in path.read_text().splitlines():
            if re.search(r"os\.environ(\.get)?\(?\[?[\"']EMOLENS_", line):
                readers.append(f"{path.relative_to(ROOT)}: {line.strip()}")
    assert readers == []


def test_service_config_comes_from_settings(monkeypatch):
    monkeypatch.setenv("EMOLENS_STREAM_IDLE_TIMEOUT_S", "3")
    monkeypatch.setenv("EMOLENS_BATCH_TEXT_JOBS", "")  # empty = the default
    monkeypatch.setenv("EMOLENS_ALLOW_PRIVATE_URLS", "1")
    get_settings.cache_clear()
    cfg = ServiceConfig.from_env(workers=3)
    assert cfg.idle_timeout_s == 3.0 and cfg.batch_text_jobs is True and cfg.allow_private_urls is True
    assert cfg.workers == 3
