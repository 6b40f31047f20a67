"""s4 as separate processes: ``ros2 launch s4 s4_distributed.launch.py rig_file:=/path/to/rig.yaml``.

One ``tracker_node`` per camera of the rig file, named ``tracker`` in ``<namespace>/<camera>``
and remapped onto that camera's topics (so it can also run on the machine the camera is wired
to), plus ``sync_node`` and ``splat_node`` in ``namespace`` (default ``s4``), all with the
parameters of ``params_file``.
"""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from s4_ros.rig import RigCamera, load_rig


def tracker(camera: RigCamera, namespace: str, params_file: str) -> Node:
    """The tracker of one camera, its inputs remapped onto the camera's topics."""
    remappings = [("image", camera.image_topic), ("camera_info", camera.info_topic)]
    if camera.depth_topic:
        remappings.append(("depth", camera.depth_topic))
    overrides = {"camera": camera.name, "compressed": camera.compressed, "use_depth": bool(camera.depth_topic)}
    if camera.world_from_camera is not None:  # an empty list would have no parameter type
        overrides["world_from_camera"] = [float(v) for v in camera.world_from_camera.ravel()]
    return Node(
        package="s4",
        executable="tracker_node",
        name="tracker",
        namespace=f"{namespace.rstrip('/')}/{camera.name}",
        remappings=remappings,
        parameters=[params_file, overrides],
        output="screen",
    )  # fmt: skip


def nodes_for_rig(context) -> list[Node]:
    """Read the rig file (known only at launch time) and build every node."""
    rig_file = LaunchConfiguration("rig_file").perform(context)
    namespace = LaunchConfiguration("namespace").perform(context)
    params_file = LaunchConfiguration("params_file").perform(context)
    rig = load_rig(rig_file)
    shared = [params_file, {"rig_file": rig_file}]
    return [
        *(tracker(camera, namespace, params_file) for camera in rig.cameras),
        Node(package="s4", executable="sync_node", name="sync", namespace=namespace, parameters=shared, output="screen"),
        Node(package="s4", executable="splat_node", name="splat", namespace=namespace, parameters=shared, output="screen"),
    ]


def generate_launch_description() -> LaunchDescription:
    share = Path(get_package_share_directory("s4"))
    return LaunchDescription([
        DeclareLaunchArgument("rig_file", default_value=str(share / "config" / "rig_example.yaml"),
                              description="rig YAML listing the cameras and their topics"),
        DeclareLaunchArgument("params_file", default_value=str(share / "config" / "s4.yaml"),
                              description="node parameters"),
        DeclareLaunchArgument("namespace", default_value="s4", description="namespace of every s4 topic"),
        OpaqueFunction(function=nodes_for_rig),
    ])  # fmt: skip
