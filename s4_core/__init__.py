"""s4 core: unsynchronized multi-camera streams to a synchronized 4D model.

Pure Python/NumPy/PyTorch. Nothing in this package imports ROS; ``s4_ros`` is the thin rclpy
layer on top. Data flows one way: frames -> tracks -> correspondences -> offsets -> splats.
"""

__version__ = "0.1.0"
