"""rosbag2 tools: `make_bag` writes camera frames to an MCAP bag (ROS-free, rosbags); `play_bag` replays one
through rclpy publishers at the recorded timing."""
from gear_seg_ros.bag.make import make_bag
from gear_seg_ros.bag.play import play_bag

__all__ = ["make_bag", "play_bag"]
