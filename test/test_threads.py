"""s4's shared thread pool."""

from __future__ import annotations

import os
import signal
import time

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
