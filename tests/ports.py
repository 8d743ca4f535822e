"""Free TCP ports for the servers tests start (uvicorn, Streamlit, Dask), importable as ``tests.ports``."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def _ephemeral_range() -> tuple[int, int]:
    try:
        lo, hi = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free now, drawn outside the kernel's ephemeral range.

    Why not ``bind(0)``: that hands out an ephemeral port, and between closing it here and the server binding it,
    any outgoing connection on the machine (a Dask worker, a browser, an HTTP client) may be given the same port by
    the kernel, so the server fails with EADDRINUSE (CI stop 17). Ports below the ephemeral range are only ever
    taken by an explicit bind.
    """
    lo, hi = _ephemeral_range()
    pool = [p for p in range(20000, 32000) if not lo <= p <= hi] or list(range(1025, lo))
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.choice(pool)
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port outside the ephemeral range")
