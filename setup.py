"""Installs s4's Python packages into a plain venv (``pip install -e .``).

On a robot, colcon builds the package through CMakeLists.txt instead (ament_cmake, which also
generates the interfaces in msg/); scripts/setup.sh builds those interfaces for the venv.
"""

from setuptools import find_packages, setup

setup(
    name="s4-ros2",
    version="0.1.0",
    description="Synchronize unsynchronized cameras into one explicit 4D model (ROS 2).",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["s4_core", "s4_core.*", "s4_ros", "s4_ros.*"]),
    # The St4RTrack weights trained on synthetic scenes ship inside the package.
    package_data={"s4_core.st4rtrack": ["weights/*.safetensors", "weights/*.json", "weights/README.md"]},
    entry_points={
        "console_scripts": [
            "s4 = s4_core.cli.main:main",
            "tracker_node = s4_ros.tracker_node:main",
            "sync_node = s4_ros.sync_node:main",
            "splat_node = s4_ros.splat_node:main",
            "s4_all_in_one = s4_ros.all_in_one:main",
        ],
    },
)
