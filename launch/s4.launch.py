"""s4 in one process: ``ros2 launch s4 s4.launch.py rig_file:=/path/to/rig.yaml``.

Runs ``s4_all_in_one`` (node ``pipeline``: every camera through s4_core's streaming pipeline,
the same code path as ``s4 sync-bag``) in the ``namespace`` (default ``s4``), with the
parameters of ``params_file``. For one tracker process per camera and separate sync and splat
nodes, use ``s4_distributed.launch.py``.
"""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description() -> LaunchDescription:
    share = Path(get_package_share_directory("s4"))
    return LaunchDescription([
        DeclareLaunchArgument("rig_file", default_value=str(share / "config" / "rig_example.yaml"),
                              description="rig YAML listing the cameras and their topics"),
        DeclareLaunchArgument("params_file", default_value=str(share / "config" / "s4.yaml"),
                              description="node parameters"),
        DeclareLaunchArgument("namespace", default_value="s4", description="namespace of every s4 topic"),
        Node(
            package="s4",
            executable="s4_all_in_one",
            namespace=LaunchConfiguration("namespace"),
            parameters=[LaunchConfiguration("params_file"), {"rig_file": LaunchConfiguration("rig_file")}],
            output="screen",
            emulate_tty=True,
        ),
    ])  # fmt: skip
