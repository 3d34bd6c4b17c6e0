"""The ROS 2 shell around GearSegAgent. Only this package (and gear_seg_ros.bag) imports rclpy.

`conversions` and `depth3d` are pure numpy and import without ROS; `agent_node` needs rclpy + gear_seg_msgs.
"""
