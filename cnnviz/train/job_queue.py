"""A classroom on one server: at most ``capacity`` trainings run at once, the others wait their turn in a queue.

``JobLimiter`` is process-wide on purpose (``DEFAULT_LIMITER``): it is the one piece of state the
sessions share. A job enters the queue when it starts and waits in its own thread until it has a slot;
slots go to the waiting jobs first come, first served, as soon as a running job releases its slot.

Measured with ``bench/bench_classroom.py`` on a shared 2-core machine (other work running, so the figures are
pessimistic): ``torch.set_num_threads`` in a job's thread changes that thread and the default of threads started
after it, not the threads already running (the page's); one job with 2 threads trained 176 images/s, two jobs
with 1 thread each 104 + 104 = 208 images/s in all (load 2–3). So the default is two jobs of one thread each
on two cores (``threads_per_job``): the cores are shared, not oversubscribed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import threading
from collections import deque

__all__ = ["DEFAULT_LIMITER", "JobLimiter", "default_capacity", "return_freed_memory", "threads_per_job"]

DEFAULT_JOBS = 2  # trainings at once when CNNVIZ_MAX_JOBS is not set (a small server has few cores)


class JobLimiter:
    """Give at most ``capacity`` jobs a slot at once; the others wait in first-come order."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, int(capacity))
        self._changed = threading.Condition()
        self._running: set[int] = set()
        self._waiting: deque[int] = deque()

    def enter(self, job_id: int) -> int:
        """Queue ``job_id`` (a slot at once if one is free); return its place: 0 = it has a slot, 1 = next, ..."""
        with self._changed:
            if job_id not in self._running and job_id not in self._waiting:
                self._waiting.append(job_id)
                self._promote()
            return self._place(job_id)

    def wait(self, job_id: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for ``job_id`` to get its slot; return True once it has one."""
        with self._changed:
            return self._changed.wait_for(lambda: job_id in self._running, timeout)

    def place(self, job_id: int) -> int:
        """0 when ``job_id`` has a slot (or is unknown), else its 1-based place in the queue."""
        with self._changed:
            return self._place(job_id)

    def release(self, job_id: int) -> None:
        """Free the slot of ``job_id`` or take it out of the queue; the next waiting job gets the slot."""
        with self._changed:
            self._running.discard(job_id)
            if job_id in self._waiting:
                self._waiting.remove(job_id)
            self._promote()

    @property
    def running(self) -> int:
        with self._changed:
            return len(self._running)

    @property
    def waiting(self) -> int:
        with self._changed:
            return len(self._waiting)

    def _place(self, job_id: int) -> int:
        return self._waiting.index(job_id) + 1 if job_id in self._waiting else 0

    def _promote(self) -> None:
        """Give free slots to the jobs that waited longest (called with the lock held)."""
        moved = False
        while self._waiting and len(self._running) < self.capacity:
            self._running.add(self._waiting.popleft())
            moved = True
        if moved:
            self._changed.notify_all()


def default_capacity() -> int:
    """Jobs allowed at once: CNNVIZ_MAX_JOBS when it is a whole number ≥ 1, else DEFAULT_JOBS."""
    try:
        return max(1, int(os.environ.get("CNNVIZ_MAX_JOBS", str(DEFAULT_JOBS))))
    except ValueError:
        return DEFAULT_JOBS


def threads_per_job(capacity: int, cores: int | None = None) -> int:
    """Torch threads for one job on the CPU: the cores shared by the jobs that may run at once (at least 1)."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // max(1, capacity))


def return_freed_memory() -> bool:
    """Hand memory freed by finished runs back to the system (glibc's ``malloc_trim``); False where there is none.

    glibc keeps freed blocks of every thread's arena for reuse, so without this a server's memory stays at
    its peak after the runs end (measured: 150 MB kept after one run of the default preset).
    """
    gc.collect()  # tensors in reference cycles (tracebacks, closures) are freed first
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        return False


DEFAULT_LIMITER = JobLimiter(default_capacity())  # process-wide on purpose: it is the classroom's one queue
