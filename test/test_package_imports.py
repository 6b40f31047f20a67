"""s4_core is ROS-free: importing all of it must not load rclpy or any message package."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import s4_core


def test_s4_core_does_not_import_ros():
    modules = [m.name for m in pkgutil.walk_packages(s4_core.__path__, "s4_core.")]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'rclpy', 's4', 'sensor_msgs', 'std_msgs', 'visualization_msgs', 'builtin_interfaces'})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"s4_core pulled in ROS modules: {result.stdout.strip()}"
