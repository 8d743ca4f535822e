"""Which measurement service the dashboard talks to, and the client for it (cached per process).

Embedded mode (the default): the bundled service starts once per process on 127.0.0.1 at a free port, sharing
the dashboard's data dir, so measured results land straight in the Library. EMOLENS_API_URL (+ EMOLENS_API_KEY),
or the Settings page for this session, point the dashboard at another Hume-compatible service instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from emolens.client import Client
from emolens.errors import EmolensError
from emolens.settings import get_settings
from emolens.store import Store

URL_KEY = "backend_url"
KEY_KEY = "backend_api_key"


@dataclass(frozen=True)
class Backend:
    client: Client
    url: str
    mode: str  # "embedded" or "remote"
    api_key: str = ""

    @property
    def embedded(self) -> bool:
        return self.mode == "embedded"


@st.cache_resource(show_spinner="Starting the measurement service…")
def _embedded_service(data_dir: str, workers: int):
    from emolens.service.config import ServiceConfig
    from emolens.service.embedded import EmbeddedService

    config = ServiceConfig.from_env(data_dir, api_key="", workers=workers)
    # locked: a random key for this process, sent by the dashboard's client only (see EmbeddedService)
    return EmbeddedService(config, lock=True).start()


@st.cache_resource(show_spinner=False)
def _client(url: str, api_key: str) -> Client:
    return Client(url, api_key or None, timeout=60.0)


def get_backend() -> Backend:
    """The backend in use for this session (raises EmolensError when it cannot be set up)."""
    settings = get_settings()
    url = (st.session_state.get(URL_KEY) or settings.api_url or "").strip()
    if url:
        key = st.session_state.get(KEY_KEY) if st.session_state.get(URL_KEY) else settings.api_key
        return Backend(_client(url, key or ""), url.rstrip("/"), "remote", key or "")
    workers = max(1, settings.workers)
    svc = _embedded_service(str(settings.data_dir), workers)
    if not svc.running:  # stopped (e.g. a test); start a fresh one
        _embedded_service.clear()
        svc = _embedded_service(str(settings.data_dir), workers)
    return Backend(_client(svc.url, svc.api_key), svc.url, "embedded", svc.api_key)


def backend_or_error() -> Backend | None:
    """get_backend(), showing st.error instead of raising."""
    try:
        return get_backend()
    except EmolensError as e:
        st.error(f"The measurement service is not available: {e}")
        return None


def result_for_job(backend: Backend, store: Store, job_id: str, name: str | None = None,
                   config: dict[str, Any] | None = None, media: dict[str, str] | None = None) -> str:
    """The Library id of a COMPLETED job's result. Embedded: the service stored it already. Remote: fetch the
    predictions once and store them locally (never twice for the same job)."""
    existing = store.find_result_by_job(job_id)
    if existing is not None:
        return existing
    predictions = [s.to_json_dict() for s in backend.client.predictions(job_id)]
    if config is None:
        config = backend.client.get_job(job_id).request.to_json_dict()
    from emolens.summary import result_name

    return store.add_result(name or result_name(config or {}), predictions, origin="measured", config=config,
                            job_id=job_id, media=media)
