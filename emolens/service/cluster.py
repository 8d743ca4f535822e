"""The Dask cluster engine, client side: connect to a scheduler, submit per-file and per-text-chunk tasks.

``EMOLENS_DASK_SCHEDULER=tcp://host:8786`` (or ``--dask-scheduler``) makes the service and ``emolens measure`` run
their measurements as Dask tasks on the cluster's workers (``emolens.service.cluster_worker`` holds what runs
there). Inputs travel with the tasks as bytes, so workers need no shared file system; answers come back as the
same source dicts the local engine returns and are stored by the service exactly as local ones.

Faults: a worker that dies mid-task is Dask's business (the scheduler reruns the task elsewhere, up to its
``distributed.scheduler.allowed-failures``, then the future raises ``KilledWorker``); a scheduler that cannot be
reached raises :class:`ClusterUnavailable` with a message meant for the user.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from emolens.errors import EngineError

#: Texts of one job measured per task (the text engine encodes each text on its own, so any chunking gives the
#: same scores; smaller chunks spread one big text job over more workers).
TEXT_CHUNK = 32


class ClusterUnavailable(EngineError):
    """The Dask scheduler cannot be reached, or its workers cannot run emolens; the message says what to do."""


def normalize_address(address: str) -> str:
    """``host:port`` -> ``tcp://host:port``; other schemes (tls://, inproc://) are kept."""
    address = address.strip()
    return address if "://" in address else f"tcp://{address}"


def connect(address: str, timeout: float = 5.0) -> Any:
    """A ``distributed.Client`` connected to ``address``, with the emolens worker plugin registered.

    Raises :class:`ClusterUnavailable` (never a Dask or OS error) when the scheduler does not answer within
    ``timeout`` seconds or its workers run another emolens.
    """
    try:
        from distributed import Client
    except ImportError as e:
        raise ClusterUnavailable(
            f"a Dask scheduler is configured ({address}) but the `distributed` package is not installed: "
            "pip install distributed (see requirements.txt for the tested version)"
        ) from e
    import emolens
    from emolens.service.cluster_worker import EmolensWorkerPlugin

    address = normalize_address(address)
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise ClusterUnavailable(
            f"cannot reach the Dask scheduler at {address} ({_short(e)}); start one with `dask scheduler` "
            "or fix EMOLENS_DASK_SCHEDULER / --dask-scheduler"
        ) from None
    try:
        client.register_plugin(EmolensWorkerPlugin(emolens.__version__), name="emolens")
    except Exception as e:  # noqa: BLE001 - anything a worker raised during setup
        client.close()
        raise ClusterUnavailable(f"the Dask workers at {address} cannot run emolens: {_short(e)}") from None
    return client


def _short(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0][:300]


def task_key(kind: str, job_id: str, unit: int) -> str:
    """A unique, readable task key (the dashboard of the scheduler shows it): kind-job-unit-nonce."""
    return f"emolens-{kind}-{job_id}-{unit}-{uuid.uuid4().hex[:8]}"


class ProgressBoard:
    """Per-unit progress of running jobs, fed by the workers' progress events (thread-safe enough: plain dict
    writes from the client's event loop, reads from job threads)."""

    def __init__(self) -> None:
        self.units: dict[tuple[str, int], tuple[float, str]] = {}

    def handler(self, event: Any) -> None:
        """``client.subscribe_topic`` handler: events are ``(timestamp, msg)``."""
        msg = event[1] if isinstance(event, tuple) and len(event) == 2 else event
        if isinstance(msg, dict) and "job" in msg:
            self.units[(str(msg["job"]), int(msg["unit"]))] = (float(msg["fraction"]), str(msg.get("message", "")))

    def get(self, job_id: str, unit: int) -> tuple[float, str]:
        return self.units.get((job_id, unit), (0.0, ""))

    def forget(self, job_id: str) -> None:
        for k in [k for k in self.units if k[0] == job_id]:
            self.units.pop(k, None)


def subscribe_progress(client: Any, board: ProgressBoard) -> None:
    """Route the workers' progress events to ``board``."""
    from emolens.service.cluster_worker import TOPIC_PROGRESS

    client.subscribe_topic(TOPIC_PROGRESS, board.handler)


def cluster_info(client: Any) -> dict[str, Any]:
    """Workers and threads the scheduler knows now: ``{"workers": [...], "threads": n}``."""
    info = client.scheduler_info(n_workers=-1) if _takes_n_workers(client) else client.scheduler_info()
    workers = [
        {"address": addr, "name": str(w.get("name", "")), "nthreads": int(w.get("nthreads", 1))}
        for addr, w in sorted((info.get("workers") or {}).items())
    ]
    return {"workers": workers, "threads": sum(w["nthreads"] for w in workers)}


def _takes_n_workers(client: Any) -> bool:
    import inspect

    try:
        return "n_workers" in inspect.signature(client.scheduler_info).parameters
    except (TypeError, ValueError):
        return False


def wait_for_workers(client: Any, n: int, timeout: float = 60.0) -> None:
    """Block until the scheduler has ``n`` workers (raises ClusterUnavailable after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(cluster_info(client)["workers"]) >= n:
            return
        time.sleep(0.2)
    raise ClusterUnavailable(f"the Dask scheduler has fewer than {n} worker(s) after {timeout:.0f} s")


def text_chunks(texts: list[str], size: int = TEXT_CHUNK) -> list[tuple[int, list[str]]]:
    """``[(offset, texts)]`` chunks of at most ``size`` texts."""
    size = max(1, int(size))
    return [(i, texts[i : i + size]) for i in range(0, len(texts), size)]
