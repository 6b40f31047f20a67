"""The threads s4 runs its concurrent work on, and the BLAS and OpenCV settings they need.

s4 tracks the cameras and times the camera pairs of a window estimate on threads (numpy,
OpenCV and POT release the GIL in their heavy loops). Four things make that pay off:

* Per-frame tracking has a pool of its own (:func:`tracking_pool`), apart from the estimates'
  (:func:`shared_pool`). In one first-in-first-out pool a new frame's tracking waited behind
  the pair timings of the estimate just started (six for four cameras): the live all-in-one
  stopped taking frames for about a second every estimate. With the two pools the cores are
  shared between them instead (4-camera bench rig, 2 cores, 60 s live: 83-84 -> 99-100
  frames/s processed).
* Persistent pools. glibc gives a new thread its own malloc arena, which keeps its peak size;
  with a fresh pool per estimate the all-in-one node's memory grew by ~1.5 GB over a minute,
  with persistent pools it stays flat.
* A single-threaded BLAS once a pool exists. Under s4's threads a multi-threaded BLAS
  over-subscribes the cores (OpenBLAS's workers spin while they wait): on 2 cores a 4-camera
  window estimate took as long on two threads as on one (1.16 s), against 0.74 s with one
  BLAS thread. s4's matrices (a few hundred rows at most) gain nothing from BLAS threads.
  The setting is process-wide and stays: s4's work overlaps across threads without nesting
  (an estimate on the driver thread outlives the call that started it), so a context
  restoring the count on exit would restore it under work still running -- and threadpoolctl
  lets only one thread at a time change OpenBLAS's count anyway.
* A single-threaded OpenCV once a pool exists, for the same reason. OpenCV splits a call such
  as pyramidal Lucas-Kanade over its own worker threads, which spin while they wait: with two
  workers one camera's tracker (320x240, a track every 10 px) took 4.2-4.9 ms of wall time
  per frame but 7.4-8.5 ms of CPU, against 5.5-6.3 ms of both on one thread. The cameras on
  s4's tracking pool already keep the cores busy, so OpenCV's split only added CPU (in the
  live 4-camera all-in-one a native worker thread, most likely OpenCV's, took 0.13 of the
  2 cores).
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor

import cv2
from threadpoolctl import ThreadpoolController


@functools.cache
def shared_pool() -> ThreadPoolExecutor:
    """The process's pool, one thread per core; creating it limits the loaded BLAS libraries
    and OpenCV to one thread each for the process. Its tasks must not wait on tasks of their
    own pool (with every thread waiting, none would be left to run them)."""
    ThreadpoolController().limit(limits=1, user_api="blas")  # numpy's and scipy's are loaded by now
    cv2.setNumThreads(1)
    return ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="s4-worker")


@functools.cache
def tracking_pool() -> ThreadPoolExecutor:
    """The process's pool for per-frame tracking, one thread per core (and, like
    :func:`shared_pool`, one BLAS and one OpenCV thread for the process). Its tasks must not
    wait on tasks of their own pool."""
    shared_pool()  # the BLAS and OpenCV limits
    return ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="s4-tracking")


@functools.cache
def driver_thread() -> ThreadPoolExecutor:
    """One thread for work that itself fans out on :func:`shared_pool` and waits for it (a
    window estimate): not being a pool task, it may wait on the pool, and it lets the caller
    go on feeding the pool other work (the next frames' tracking) meanwhile."""
    return ThreadPoolExecutor(1, thread_name_prefix="s4-driver")


# A forked child has the executors but not their threads: it makes its own.
os.register_at_fork(after_in_child=shared_pool.cache_clear)
os.register_at_fork(after_in_child=tracking_pool.cache_clear)
os.register_at_fork(after_in_child=driver_thread.cache_clear)
