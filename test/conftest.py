"""Shared fixtures: seeded RNG, and an isolated DDS domain for tests that use real ROS 2."""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def ros_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A random ROS_DOMAIN_ID with localhost-only discovery, for this process and its children.

    ``ROS_LOCALHOST_ONLY`` is ignored by Kilted; ``ROS_AUTOMATIC_DISCOVERY_RANGE`` is the knob.
    Children must be started with this interpreter (``sys.executable``) so the ROS wheels'
    bootstrap environment carries over.
    """
    domain = str(random.SystemRandom().randint(1, 101))
    monkeypatch.setenv("ROS_DOMAIN_ID", domain)
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def python_exe() -> str:
    return sys.executable
