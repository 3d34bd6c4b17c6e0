"""GEAR-Seg: segment everything, describe every mask, reason over the descriptions. ROS-free core."""
__version__ = "0.1.0"
