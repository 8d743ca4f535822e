"""A job worker process: ``python -m emolens.service.worker`` (started by :class:`runner.WorkerPool`).

It claims QUEUED jobs from the store one at a time and runs them; models stay loaded between jobs (the engines
cache them per process). The parent talks to it through pipes:

- stdin: any byte means "a job was queued, look now"; end-of-file means the parent is gone, so the worker exits
  at once (a parent killed with SIGKILL must not leave orphans running jobs; the interrupted job is requeued when
  the service starts again).
- a private copy of stdout carries protocol lines (``ready``, ``claimed <id>``, ``done <id> <status>``); the real
  stdout is pointed at stderr so that prints from libraries cannot corrupt the protocol.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

from emolens.service.config import ServiceConfig

CONFIG_ENV = "EMOLENS_WORKER_CONFIG"
IDLE_POLL_S = 2.0
NICENESS = 10


def _watch_parent(wake: threading.Event) -> None:
    while True:
        try:
            data = os.read(0, 256)
        except OSError:
            data = b""
        if not data:
            os._exit(0)
        wake.set()


def main() -> None:
    config = ServiceConfig.from_json(os.environ[CONFIG_ENV])
    try:  # measuring is batch work: the HTTP server (status polls, uploads) must stay responsive beside it
        os.nice(NICENESS)
    except (AttributeError, OSError):
        pass
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    proto = os.fdopen(proto_fd, "w", buffering=1)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s worker %(process)d %(message)s")

    from emolens.service.execute import MAX_BATCH_TEXTS, run_job, run_text_batch, text_batch_key
    from emolens.store import Store

    store = Store(config.data_dir)
    wake = threading.Event()
    threading.Thread(target=_watch_parent, args=(wake,), daemon=True, name="parent-watch").start()
    proto.write("ready\n")
    leftover = None
    while True:
        job = leftover or store.claim_next_job()
        leftover = None
        if job is None:
            wake.wait(IDLE_POLL_S)
            wake.clear()
            continue
        proto.write(f"claimed {job.job_id}\n")
        batch = [job]
        key = text_batch_key(job) if config.batch_text_jobs else None
        if key is not None:  # short text jobs queue up under load: measure them together
            n_texts = len(job.request["text"])
            while n_texts < MAX_BATCH_TEXTS:
                nxt = store.claim_next_job()
                if nxt is None:
                    break
                proto.write(f"claimed {nxt.job_id}\n")
                if text_batch_key(nxt) != key or n_texts + len(nxt.request["text"]) > MAX_BATCH_TEXTS:
                    leftover = nxt
                    break
                batch.append(nxt)
                n_texts += len(nxt.request["text"])
        statuses = run_text_batch(store, config, batch) if key is not None else [run_job(store, config, job)]
        for j, status in zip(batch, statuses):
            proto.write(f"done {j.job_id} {status}\n")


if __name__ == "__main__":
    main()
