"""Configuration of one service instance (a plain frozen dataclass: it travels to worker processes as JSON)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from emolens.schema import LIMITS, MAX_FILE_BYTES, MAX_MEDIA_SECONDS


@dataclass(frozen=True)
class ServiceConfig:
    """Everything a service instance needs; defaults follow Hume's limits.

    ``allow_private_urls`` lets URL inputs and callbacks reach loopback/private addresses: off by default (a
    service must not be usable to probe the network it runs in), on in tests that serve files from 127.0.0.1.
    Set it with ``EMOLENS_ALLOW_PRIVATE_URLS=1``.
    """

    data_dir: Path
    api_key: str = ""
    workers: int = 1
    allow_private_urls: bool = False
    #: Seconds a streaming connection may stay silent before the service closes it (Hume: one minute).
    idle_timeout_s: float = 60.0
    max_file_bytes: int = MAX_FILE_BYTES
    #: Hume allowed 1 GB per URL file.
    max_url_bytes: int = 1024 * 1024 * 1024
    max_media_seconds: float = MAX_MEDIA_SECONDS
    fetch_timeout_s: float = 120.0
    max_redirects: int = 5
    #: A job whose worker died this many times is failed instead of requeued.
    max_attempts: int = 2
    #: Measure queued text-only jobs with the same configuration in one engine call (micro-batching): several
    #: times the throughput of short jobs. On by default: the text engine encodes every text on its own, so a
    #: job's scores are identical whatever other jobs share the call (tests/unit/test_language.py checks this).
    #: EMOLENS_BATCH_TEXT_JOBS=0 turns it off.
    batch_text_jobs: bool = True
    #: Extra environment for worker processes (e.g. thread counts).
    worker_env: dict[str, str] = field(default_factory=dict)
    #: A Dask scheduler (``tcp://host:8786``): batch jobs run as Dask tasks on its workers instead of the local
    #: pool (EMOLENS_DASK_SCHEDULER or ``serve --dask-scheduler``). Empty: the local pool (the default).
    dask_scheduler: str = ""
    #: What runs the queue while that scheduler is unreachable: "" (nothing: jobs stay QUEUED with a message) or
    #: "local" (the local pool). EMOLENS_DASK_FALLBACK.
    dask_fallback: str = ""
    #: Texts of one job per Dask task.
    dask_text_chunk: int = 32
    #: Seconds to wait for the scheduler when connecting.
    dask_connect_timeout_s: float = 5.0
    #: Host names (besides the loopback ones) this service answers to; ``*`` = any. EMOLENS_ALLOWED_HOSTS
    #: (comma-separated) or ``serve --allowed-hosts``. Guards a loopback service against DNS rebinding.
    allowed_hosts: tuple[str, ...] = ()
    #: Largest multipart upload (all files of one job together); the table in emolens.schema has the default.
    max_upload_bytes: int = LIMITS["upload_body_bytes"].value

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None, **overrides: Any) -> ServiceConfig:
        """Defaults from the ``EMOLENS_*`` settings (:mod:`emolens.settings`), then explicit overrides (None values
        ignored)."""
        from emolens.settings import get_settings

        s = get_settings()
        cfg = cls(
            data_dir=Path(data_dir or s.data_dir).expanduser(),
            api_key=s.api_key,
            allow_private_urls=s.allow_private_urls,
            idle_timeout_s=s.stream_idle_timeout_s,
            batch_text_jobs=s.batch_text_jobs,
            dask_scheduler=s.dask_scheduler.strip(),
            dask_fallback=s.dask_fallback.strip().lower(),
            dask_text_chunk=s.dask_text_chunk or 32,
            allowed_hosts=split_hosts(s.allowed_hosts),
        )
        cfg = replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
        if cfg.dask_fallback not in ("", "none", "local"):
            from emolens.errors import ConfigError

            raise ConfigError(f"EMOLENS_DASK_FALLBACK must be 'local' or empty, not {cfg.dask_fallback!r}")
        return cfg

    def to_json(self) -> str:
        d = asdict(self)
        d["data_dir"] = str(self.data_dir)
        return json.dumps(d)

    @classmethod
    def from_json(cls, text: str) -> ServiceConfig:
        d = json.loads(text)
        d["data_dir"] = Path(d["data_dir"])
        d["allowed_hosts"] = tuple(d.get("allowed_hosts") or ())
        return cls(**d)


def split_hosts(value: str | None) -> tuple[str, ...]:
    """``"a.example, b"`` -> ``("a.example", "b")``."""
    return tuple(h.strip() for h in (value or "").split(",") if h.strip())
