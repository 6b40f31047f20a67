"""The threads s4 runs its concurrent work on, and the BLAS setting they need.

s4 tracks the cameras and times the camera pairs of a window estimate on threads (numpy,
OpenCV and POT release the GIL in their heavy loops). Two things make that pay off:

* One persistent pool per process. glibc gives a new thread its own malloc arena, which keeps
  its peak size; with a fresh pool per estimate the all-in-one node's memory grew by ~1.5 GB
  over a minute, with this pool it stays flat.
* A single-threaded BLAS while the pool works. Under s4's threads a multi-threaded BLAS
  over-subscribes the cores (OpenBLAS's workers spin while they wait): on 2 cores a 4-camera
  window estimate took as long on two threads as on one (1.16 s), against 0.74 s with one
  BLAS thread. s4's matrices (a few hundred rows at most) gain nothing from BLAS threads.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager

from threadpoolctl import ThreadpoolController


@functools.cache
def shared_pool() -> ThreadPoolExecutor:
    """The process's pool, one thread per core. Its tasks must not wait on tasks of their own
    pool (with every thread waiting, none would be left to run them)."""
    return ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="s4-worker")


@functools.cache
def driver_thread() -> ThreadPoolExecutor:
    """One thread for work that itself fans out on :func:`shared_pool` and waits for it (a
    window estimate): not being a pool task, it may wait on the pool, and it lets the caller
    go on feeding the pool other work (the next frames' tracking) meanwhile."""
    return ThreadPoolExecutor(1, thread_name_prefix="s4-driver")


# A forked child has the executors but not their threads: it makes its own.
os.register_at_fork(after_in_child=shared_pool.cache_clear)
os.register_at_fork(after_in_child=driver_thread.cache_clear)


def single_threaded_blas() -> AbstractContextManager:
    """A context in which the loaded BLAS libraries use one thread (nestable; the previous
    counts come back on exit). Process-wide: enter it from the thread that drives the pool."""
    return _controller().limit(limits=1, user_api="blas")


@functools.cache
def _controller() -> ThreadpoolController:
    """The BLAS libraries loaded when first asked (numpy's and scipy's are by then); found
    once, because scanning them takes ~0.5 ms."""
    return ThreadpoolController()
