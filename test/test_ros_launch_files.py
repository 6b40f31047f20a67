"""Launch files, parameter file, rig file and RViz config agree with what the nodes declare.

launch/launch_ros cannot be installed here, so the launch files are read with ``ast`` (never
imported): every ``executable=`` must be installed by the package and every parameter a
launch file or ``config/s4.yaml`` sets must be declared by the node that receives it. The RViz
config's topics must be published, with the display's message type, by the real nodes.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

rclpy = pytest.importorskip("rclpy")

from s4_ros import all_in_one, splat_node, sync_node, tracker_node  # noqa: E402
from s4_ros.rig import load_rig  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LAUNCH_FILES = sorted((ROOT / "launch").glob("*.launch.py"))

NODE_MODULES = {"tracker_node": tracker_node, "sync_node": sync_node, "splat_node": splat_node, "s4_all_in_one": all_in_one}
NODE_PARAMETERS = {
    name: {p for group in module.PARAMETER_GROUPS for p in group.names()} for name, module in NODE_MODULES.items()
}


RVIZ_TYPES = {
    "rviz_default_plugins/MarkerArray": "visualization_msgs/msg/MarkerArray",
    "rviz_default_plugins/PointCloud2": "sensor_msgs/msg/PointCloud2",
    "rviz_default_plugins/Image": "sensor_msgs/msg/Image",
}


def _console_scripts() -> dict[str, str]:
    tree = ast.parse((ROOT / "setup.py").read_text())
    entries = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and " = " in n.value]
    return dict(tuple(part.strip() for part in entry.split("=", 1)) for entry in entries)


def _cmake_installed_programs() -> set[str]:
    cmake = (ROOT / "CMakeLists.txt").read_text()
    block = re.search(r"install\(PROGRAMS(.*?)DESTINATION", cmake, re.S).group(1)
    return {Path(p).name for p in block.split()}


def _node_calls(tree: ast.Module) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", "")) == "Node"]


def _parameter_names(expr: ast.AST, tree: ast.Module) -> set[str]:
    """Keys of the dict literals in a ``parameters=`` expression, following names assigned in the file."""
    names: set[str] = set()
    for sub in ast.walk(expr):
        if isinstance(sub, ast.Dict):
            names |= {k.value for k in sub.keys if isinstance(k, ast.Constant)}
        elif isinstance(sub, ast.Name):
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == sub.id for t in node.targets):
                    names |= _parameter_names(node.value, tree)
                elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
                    target = node.targets[0]
                    if getattr(target.value, "id", None) == sub.id and isinstance(target.slice, ast.Constant):
                        names.add(target.slice.value)
    return names


def _launch_nodes() -> list[tuple[str, str, set[str]]]:
    """(launch file, executable, parameter names) of every Node action."""
    found = []
    for path in LAUNCH_FILES:
        tree = ast.parse(path.read_text())
        for call in _node_calls(tree):
            keywords = {k.arg: k.value for k in call.keywords}
            executable = keywords["executable"].value
            parameters = _parameter_names(keywords["parameters"], tree) if "parameters" in keywords else set()
            found.append((path.name, executable, parameters))
    return found


def test_launch_files_exist_and_start_every_node_kind():
    assert {p.name for p in LAUNCH_FILES} == {"s4.launch.py", "s4_distributed.launch.py"}
    executables = {e for _, e, _ in _launch_nodes()}
    assert executables == {"s4_all_in_one", "tracker_node", "sync_node", "splat_node"}


@pytest.mark.parametrize(("launch_file", "executable", "parameters"), _launch_nodes(), ids=lambda v: str(v)[:30])
def test_launched_executables_are_installed_and_parameters_declared(launch_file, executable, parameters):
    scripts = _console_scripts()
    assert executable in scripts, f"{launch_file}: {executable} has no console_scripts entry in setup.py"
    assert (ROOT / "scripts" / executable).is_file(), f"scripts/{executable} missing"
    assert executable in _cmake_installed_programs(), f"CMakeLists.txt does not install scripts/{executable}"
    module = scripts[executable].split(":")[0]
    script_text = (ROOT / "scripts" / executable).read_text()
    assert f"from {module} import main" in script_text, f"scripts/{executable} does not run {module}"
    undeclared = parameters - NODE_PARAMETERS[executable]
    assert not undeclared, f"{launch_file}: {executable} does not declare {sorted(undeclared)}"


def _flatten(params: dict, prefix: str = "") -> set[str]:
    names = set()
    for key, value in params.items():
        names |= _flatten(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}"}
    return names


def test_parameter_file_only_sets_declared_parameters():
    sections = yaml.safe_load((ROOT / "config" / "s4.yaml").read_text())
    node_of_section = {"/**/tracker": "tracker_node", "/**/sync": "sync_node", "/**/splat": "splat_node",
                       "/**/pipeline": "s4_all_in_one"}
    everyone = set.intersection(*(NODE_PARAMETERS[n] for n in node_of_section.values()))
    for section, body in sections.items():
        names = _flatten(body["ros__parameters"])
        declared = everyone if section == "/**" else NODE_PARAMETERS[node_of_section[section]]
        assert names <= declared, f"config/s4.yaml {section}: undeclared {sorted(names - declared)}"


def test_example_rig_loads():
    rig = load_rig(ROOT / "config" / "rig_example.yaml")
    assert rig.names == ["cam0", "cam1"] and rig.reference_camera == "cam0"
    assert rig.camera("cam1").compressed and rig.camera("cam0").world_from_camera.shape == (4, 4)


@pytest.fixture
def example_rig_nodes():
    """Both variants, created for real for the example rig with config/s4.yaml as the parameter
    file: ``"all_in_one"`` and ``"distributed"`` (a tracker per camera, the sync and splat nodes)."""
    from s4_ros.all_in_one import AllInOneNode
    from s4_ros.splat_node import SplatNode
    from s4_ros.sync_node import SyncNode
    from s4_ros.tracker_node import TrackerNode

    rclpy.init(args=["--ros-args", "-p", f"rig_file:={ROOT / 'config' / 'rig_example.yaml'}",
                     "--params-file", str(ROOT / "config" / "s4.yaml"),
                     "-p", "niceness:=0"])  # the splat node would renice this test process  # fmt: skip
    variants = {
        "all_in_one": [AllInOneNode()],
        "distributed": [TrackerNode(namespace="/s4/cam0"), TrackerNode(namespace="/s4/cam1"), SyncNode(), SplatNode()],
    }
    try:
        yield variants
    finally:
        for nodes in variants.values():
            for node in nodes:
                node.destroy_node()
        rclpy.shutdown()


def test_parameter_file_reaches_the_nodes(example_rig_nodes):
    """rcl parses config/s4.yaml and its node-name patterns select the right nodes."""
    pipeline = example_rig_nodes["all_in_one"][0]
    tracker, _, sync, _ = example_rig_nodes["distributed"]
    assert pipeline.get_parameter("pipeline.sync_window.match.max_tracks").value == 200  # default 500
    assert sync.get_parameter("sync.window.match.max_tracks").value == 200
    assert tracker.get_fully_qualified_name() == "/s4/cam0/tracker"
    assert tracker.get_parameter("reliability").value == "reliable"


def _type_name(msg_type: type) -> str:
    package = msg_type.__module__.split(".")[0]
    return f"{package}/msg/{msg_type.__name__}"


def test_rviz_config_shows_published_topics_with_matching_types(example_rig_nodes):
    example_rig_publishers = {
        name: {(pub.topic_name, _type_name(pub.msg_type)) for node in nodes for pub in node.publishers}
        for name, nodes in example_rig_nodes.items()
    }
    config = yaml.safe_load((ROOT / "config" / "s4.rviz").read_text())
    displays = config["Visualization Manager"]["Displays"]
    shown = []
    for display in displays:
        if "Topic" not in display:
            continue
        topic = display["Topic"]["Value"]
        msg_type = RVIZ_TYPES[display["Class"]]
        if msg_type == "sensor_msgs/msg/Image" and topic.endswith("/compressed"):
            msg_type = "sensor_msgs/msg/CompressedImage"  # image_transport's compressed transport
        shown.append((topic, msg_type))
    assert len(shown) >= 7
    for variant, published in example_rig_publishers.items():
        missing = [s for s in shown if s not in published]
        assert not missing, f"RViz shows topics the {variant} variant does not publish: {missing}"
    kinds = {t for t, _ in shown}
    for needed in ("/s4/cam0/tracks/markers", "/s4/splats", "/s4/splats/ellipsoids", "/s4/scaffold", "/s4/synced/cam0/image_raw"):
        assert needed in kinds, f"RViz config lacks {needed}"
