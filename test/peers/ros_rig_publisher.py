"""Publisher peer: streams the tiny synthetic rig of the tests as camera drivers would.

The publisher itself is :mod:`s4_ros.synth_rig_publisher` (the benches use it too); this module
keeps the tests' ``python -m peers.ros_rig_publisher`` and their imports working.
"""

from s4_ros.synth_rig_publisher import CAMERA_STYLE, main, synth_config, topics

__all__ = ["CAMERA_STYLE", "main", "synth_config", "topics"]

if __name__ == "__main__":
    main()
