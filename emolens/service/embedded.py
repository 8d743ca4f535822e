"""Embedded mode: the bundled service on 127.0.0.1 at a free port, in a background thread of this process.

The dashboard starts one (through ``st.cache_resource``) unless EMOLENS_API_URL points elsewhere, and then talks to
it with :class:`emolens.client.Client` like to any remote service: one code path.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from dataclasses import replace
from typing import Any

from emolens.errors import APIError
from emolens.schema import LIMITS
from emolens.service.config import ServiceConfig


class EmbeddedService:
    """``svc = EmbeddedService(config).start(); svc.url ...; svc.stop()``.

    ``lock=True`` (what the dashboard uses) gives a service without a configured key a random one for this
    process, ``svc.api_key``: another program or a web page on the same machine cannot use it, only the client
    that was handed the key. The Host allow-list (loopback names) applies as in ``serve``.
    """

    def __init__(
        self, config: ServiceConfig, host: str = "127.0.0.1", *, start_workers: bool = True, lock: bool = False
    ) -> None:
        if lock and not config.api_key:
            config = replace(config, api_key=secrets.token_urlsafe(32))
        self.config = config
        self.api_key = config.api_key
        self.start_workers = start_workers
        self.host = host
        self.url = ""
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 30.0) -> EmbeddedService:
        import uvicorn

        from emolens.service.app import create_app

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        port = sock.getsockname()[1]
        app = create_app(self.config, start_workers=self.start_workers)
        cfg = uvicorn.Config(
            app,
            log_level="warning",
            ws="websockets-sansio",
            lifespan="on",
            ws_max_size=LIMITS["stream_message_bytes"].value,
        )
        self._server = uvicorn.Server(cfg)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="emolens-embedded-service"
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise APIError(0, f"the embedded service did not start on {self.host}:{port}")
            time.sleep(0.02)
        self.url = f"http://{self.host}:{port}"
        return self

    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
