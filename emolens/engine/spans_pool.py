"""Process-wide thread pools: :func:`shared_pool`, and the span pool for per-span numpy work (the prosody and
burst stages' encoder passes).

Those stages run on one BLAS thread on purpose (OpenBLAS's spinning workers cost 2-3x the work on these small
products), which leaves the second core idle while they run: the text models beside them finish early, and
nothing runs beside the burst stage at all. Independent spans are therefore spread over ``EMOLENS_THREADS``
(default: up to 2) Python threads; numpy and BLAS release the GIL in the heavy calls. Every span is computed
exactly as alone, on one BLAS thread, so results are bit-identical whatever the thread count.

Background pools (``nice`` > 0) hold threads of lower CPU priority (Linux thread niceness): the speaker stage
runs in one while Whisper transcribes, so it takes only the CPU time Whisper leaves idle instead of stalling
Whisper's two worker threads (a matrix product waits for its slowest thread). Span work mapped from such a thread
goes to a pool of the same priority, so that it stays in the background too.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_PREFIX = "emolens-spans"
_POOLS: dict[str, tuple[int, int, ThreadPoolExecutor]] = {}
_LOCK = threading.Lock()
_LOCAL = threading.local()


def set_priority(steps: int) -> bool:
    """Run the calling thread ``steps`` nice levels below the process's main thread (at most at 19); True when it
    took.

    Linux only (a thread is a task there, with its own niceness, inherited by the threads it starts); elsewhere,
    or when refused, nothing changes. Without privileges a thread cannot raise its priority again, so only pool
    threads that keep theirs are lowered.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        tid = threading.get_native_id()
        target = min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + max(0, steps))
        if os.getpriority(os.PRIO_PROCESS, tid) != target:
            os.setpriority(os.PRIO_PROCESS, tid, target)
    except OSError:
        return False
    return True


def _init_thread(nice: int) -> None:
    _LOCAL.nice = nice
    set_priority(nice)  # also for nice 0: a thread started by a background thread inherits its niceness


def current_nice() -> int:
    """The ``nice`` of the background pool running the calling thread (0: not a background thread)."""
    return int(getattr(_LOCAL, "nice", 0))


def shared_pool(prefix: str, n: int, nice: int = 0) -> ThreadPoolExecutor:
    """The process's pool named ``prefix`` with ``n`` threads, made on first use; its threads run ``nice`` levels
    below normal priority (see :func:`set_priority`). Recreated after a fork (a pool's threads do not survive
    into a child process) or when ``n`` changes."""
    with _LOCK:
        got = _POOLS.get(prefix)
        if got is None or got[0] != os.getpid() or got[1] != n:
            pool = ThreadPoolExecutor(n, prefix, initializer=_init_thread, initargs=(nice,))
            got = _POOLS[prefix] = (os.getpid(), n, pool)
        return got[2]


def workers() -> int:
    """How many threads share the span work: ``EMOLENS_THREADS`` when set, else up to 2 (the cpu count)."""
    from emolens.settings import threads

    return threads(2)


def _pool() -> ThreadPoolExecutor | None:
    """The span pool (None when one worker is all there is, or when called from one of its own threads: a task
    that waited on its own pool could deadlock it). Called from a background thread: the span pool of its priority.
    """
    n = workers()
    if n < 2 or threading.current_thread().name.startswith(_PREFIX):
        return None
    nice = current_nice()
    return shared_pool(f"{_PREFIX}-nice{nice}" if nice else _PREFIX, n, nice)


def pmap(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[fn(x) for x in items]``, in order, spread over the pool's threads (serially when there is one)."""
    todo = list(items)
    pool = _pool() if len(todo) > 1 else None
    if pool is None:
        return [fn(x) for x in todo]
    return list(pool.map(fn, todo))


def submit(fn: Callable[..., R], *args: Any) -> Future[R]:
    """``fn(*args)`` in the pool (run at once, in this thread, when there is no pool): a Future either way."""
    pool = _pool()
    if pool is not None:
        return pool.submit(fn, *args)
    done: Future[R] = Future()
    try:
        done.set_result(fn(*args))
    except BaseException as e:  # noqa: BLE001 - handed to the caller through the Future, as the pool would
        done.set_exception(e)
    return done
