"""s4 builds as a ROS 2 package in a colcon workspace, as on a robot, not only into the venv.

The venv is a ROS prefix (the Kilted wheels), so colcon finds ament_cmake and rosidl in it; the
package is copied into a fresh workspace, built, and its install space is used through
``local_setup.bash`` exactly as a robot would: interfaces, libraries, executables, launch and
config files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT

VENV = Path(sys.prefix)


def _copy_package(dest: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO_ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: cannot tell the package's files from build outputs")
    for name in listed.stdout.splitlines():
        source = REPO_ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name, follow_symlinks=False)


@pytest.mark.slow
def test_colcon_workspace_build_installs_a_usable_package(tmp_path):
    colcon = VENV / "bin" / "colcon"
    assert colcon.exists(), "colcon is missing: colcon-common-extensions is pinned in requirements.txt, run make setup"
    workspace = tmp_path / "ws"
    _copy_package(workspace / "src" / "s4")
    env = dict(os.environ, PATH=f"{VENV / 'bin'}{os.pathsep}{os.environ['PATH']}",
               AMENT_PREFIX_PATH=str(VENV), CMAKE_PREFIX_PATH=str(VENV))
    build = subprocess.run(
        [str(colcon), "build", "--packages-select", "s4", "--cmake-args",
         f"-DPython3_EXECUTABLE={sys.executable}", "-DBUILD_TESTING=OFF"],
        cwd=workspace, env=env, capture_output=True, text=True, timeout=600,
    )
    assert build.returncode == 0, f"colcon build failed:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}"

    prefix = workspace / "install" / "s4"
    for executable in ("s4", "tracker_node", "sync_node", "splat_node", "s4_all_in_one"):
        assert os.access(prefix / "lib" / "s4" / executable, os.X_OK), f"{executable} not installed"
    assert (prefix / "share" / "s4" / "launch" / "s4.launch.py").is_file()
    assert (prefix / "share" / "s4" / "config" / "s4.rviz").is_file()

    probe = (
        "import s4_core, s4_ros; from s4.msg import ClockOffsetArray, TrackSet; "
        "from rclpy.serialization import serialize_message; "
        "serialize_message(ClockOffsetArray(reference_camera='cam0')); print(s4_core.__file__)"
    )
    used = subprocess.run(
        ["bash", "-c", f"source {prefix / 'share' / 's4' / 'local_setup.bash'} && cd / && "
                       f"{sys.executable} -c \"{probe}\" && {prefix / 'lib' / 's4' / 's4'} --help"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert used.returncode == 0, f"installed package unusable:\n{used.stdout}\n{used.stderr[-3000:]}"
    assert str(prefix) in used.stdout.splitlines()[0], "s4_core was not imported from the install space"
    assert "sync-bag" in used.stdout
