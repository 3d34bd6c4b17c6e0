"""ROS-free 3-D geometry on depth images: a target's centroid and grasp pose (target.py), the camera's intrinsics
(camera.py), depth reprojection between calibrated cameras (reproject.py)."""
