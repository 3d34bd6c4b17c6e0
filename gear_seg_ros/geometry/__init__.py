"""ROS-free 3-D geometry on depth images (grasp poses)."""
