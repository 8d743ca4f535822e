"""Settings from the environment (``EMOLENS_*``) behind a cached getter, full-stack-fastapi-template style."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """Where the store lives unless EMOLENS_DATA_DIR or --data-dir says otherwise: ``~/.emolens``."""
    return Path.home() / ".emolens"


class Settings(BaseSettings):
    """Runtime configuration. Every field can be set with an ``EMOLENS_`` environment variable."""

    model_config = SettingsConfigDict(env_prefix="EMOLENS_", extra="ignore")

    #: Directory holding the SQLite database and the media files.
    data_dir: Path = Field(default_factory=default_data_dir)
    #: Base URL of a Hume-compatible service; empty means "start the bundled service in-process" (embedded mode).
    api_url: str = ""
    #: API key sent as X-Hume-Api-Key to the service (and required by `serve` when set there).
    api_key: str = ""
    #: A Dask scheduler address (tcp://host:8786): the service runs batch jobs on that cluster's workers.
    dask_scheduler: str = ""
    #: "local": while that scheduler is unreachable, the local worker pool runs the queue (default: jobs wait).
    dask_fallback: str = ""
    #: Seed the Library with the sample results in data/ when the store is empty (dashboard only).
    seed_samples: bool = True


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
