"""A job worker process: ``python -m emolens.service.worker`` (started by :class:`runner.WorkerPool`).

It claims QUEUED jobs from the store one at a time and runs them; models stay loaded between jobs (the engines
cache them per process). The parent talks to it through pipes:

- stdin: any byte means "a job was queued, look now"; end-of-file means the parent is gone, so the worker exits
  at once (a parent killed with SIGKILL must not leave orphans running jobs; the interrupted job is requeued when
  the service starts again).
- a private copy of stdout carries protocol lines (``ready``, ``claimed <id>``, ``done <id> <status>``, ``fault
  <message>`` while the data directory cannot take writes, ``healed`` once it can again); the real
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
    from emolens.service.logscrub import install_log_scrubbing

    install_log_scrubbing(root_handlers=True)  # callback and media URLs may carry tokens

    from emolens.errors import StorageError
    from emolens.service.execute import MAX_BATCH_TEXTS, run_job, run_text_batch, text_batch_key
    from emolens.store import Store
    from emolens.storefaults import probe

    while True:
        try:
            store = Store(config.data_dir)
            break
        except StorageError as e:  # started (or restarted) while the disk is full or read-only
            wait_for_storage(None, config, e, [], proto)
    wake = threading.Event()
    threading.Thread(target=_watch_parent, args=(wake,), daemon=True, name="parent-watch").start()
    proto.write("ready\n")
    leftover = None
    held: list[str] = []  # claimed and not finished: released after a storage fault
    while True:
        try:
            fault = probe(config.data_dir, write=False)
            if fault is not None:  # do not start what could not be stored: wait for the disk first
                raise fault
            job = leftover or store.claim_next_job()
            leftover = None
            if job is None:
                wake.wait(IDLE_POLL_S)
                wake.clear()
                continue
            proto.write(f"claimed {job.job_id}\n")
            held = [job.job_id]
            batch = [job]
            key = text_batch_key(job) if config.batch_text_jobs else None
            if key is not None:  # short text jobs queue up under load: measure them together
                n_texts = len(job.request["text"])
                while n_texts < MAX_BATCH_TEXTS:
                    nxt = store.claim_next_job()
                    if nxt is None:
                        break
                    proto.write(f"claimed {nxt.job_id}\n")
                    held.append(nxt.job_id)
                    if text_batch_key(nxt) != key or n_texts + len(nxt.request["text"]) > MAX_BATCH_TEXTS:
                        leftover = nxt
                        break
                    batch.append(nxt)
                    n_texts += len(nxt.request["text"])
            statuses = run_text_batch(store, config, batch) if key is not None else [run_job(store, config, job)]
            for j, status in zip(batch, statuses, strict=True):
                proto.write(f"done {j.job_id} {status}\n")
            held = [leftover.job_id] if leftover is not None else []
        except StorageError as e:
            leftover = None
            wait_for_storage(store, config, e, held, proto)
            held = []


def wait_for_storage(store, config: ServiceConfig, fault: Exception, held: list[str], proto) -> None:
    """The data directory cannot take writes: say so (``fault ...`` on the protocol, for /health), wait with
    back-off until it can, then requeue the jobs this worker held (failed instead after ``max_attempts``) and go
    on. The worker never exits over a full or read-only disk, so no restart is needed once it heals."""
    import time

    from emolens.errors import StorageError
    from emolens.storefaults import probe

    log = logging.getLogger("emolens.service.worker")
    log.error("storage fault: %s; waiting for the data directory to heal", fault)
    proto.write("fault " + " ".join(str(fault).split()) + "\n")
    delay = 0.5
    pending = list(held)
    while True:
        time.sleep(delay)
        delay = min(10.0, delay * 2)
        if probe(config.data_dir) is not None:
            continue
        try:
            for jid in list(pending):
                new = store.release_job(
                    jid,
                    f"the data directory was full or read-only while this job ran ({config.max_attempts} times); "
                    "free space and submit the job again",
                    config.max_attempts,
                )
                log.warning("job %s interrupted by a storage fault -> %s", jid, new or "already finished")
                pending.remove(jid)
                proto.write(f"done {jid} {new or 'RELEASED'}\n")
        except StorageError as e:  # not healed after all
            log.error("still failing: %s", e)
            continue
        proto.write("healed\n")
        return


if __name__ == "__main__":
    main()
