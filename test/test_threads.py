"""s4's shared thread pool and its BLAS and OpenCV settings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from s4_core.threads import shared_pool


def test_the_pool_works_in_a_forked_child_too():
    assert list(shared_pool().map(lambda x: 2 * x, range(4))) == [0, 2, 4, 6]  # threads started in the parent
    pid = os.fork()
    if pid == 0:  # the child: the parent's pool threads do not exist here
        os._exit(0 if list(shared_pool().map(lambda x: x + 1, range(4))) == [1, 2, 3, 4] else 1)
    deadline = time.monotonic() + 20.0
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert done[0] == pid and os.waitstatus_to_exitcode(done[1]) == 0, "the child hung or failed on the pool"


def test_the_pool_runs_with_a_single_threaded_blas():
    """s4's threads would over-subscribe the cores under a multi-threaded BLAS; the count must
    hold for work that outlives the call that started it, so it is set for the process.

    In a fresh interpreter whose BLAS starts with two threads, so that the check cannot pass
    on an ambient one-thread setting. OpenBLAS runs no more threads than there are cores, so on
    one core there is nothing to check.
    """
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: BLAS runs one thread whatever s4 does")
    probe = (
        "import numpy, json\n"
        "from threadpoolctl import threadpool_info\n"
        "from s4_core.threads import shared_pool\n"
        "def counts(): return sorted({lib['num_threads'] for lib in threadpool_info() if lib['user_api'] == 'blas'})\n"
        "before = counts()\n"
        "shared_pool()\n"
        "print(json.dumps([before, counts()]))\n"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120, check=True)
    before, after = json.loads(done.stdout.strip().splitlines()[-1])
    assert before == [2], "the probe's BLAS did not start with two threads: the check below would prove nothing"
    assert after == [1]


def test_the_pool_runs_with_a_single_threaded_opencv():
    """OpenCV's own workers only add CPU under s4's pools (see s4_core.threads). Checked in a
    fresh interpreter whose OpenCV starts with two threads, so that the check cannot pass on
    an ambient one-thread setting (or on a one-core machine)."""
    probe = (
        "import cv2\n"
        "from s4_core.threads import tracking_pool\n"
        "cv2.setNumThreads(2)\n"
        "before = cv2.getNumThreads()\n"
        "tracking_pool()\n"
        "print(before, cv2.getNumThreads())\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    before, after = map(int, done.stdout.split()[-2:])
    assert before == 2, "the probe's OpenCV did not start with two threads: the check below would prove nothing"
    assert after == 1
