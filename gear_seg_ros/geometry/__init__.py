"""Camera geometry in numpy (no ROS): depth reprojection between calibrated cameras."""
