"""The ROS 2 shell around GearSegAgent. Only this package (and gear_seg_ros.bag) imports rclpy.

`conversions` and `depth_input` are pure numpy and import without ROS; `agent_node` needs rclpy + gear_seg_msgs.
The 3-D geometry of targets is not here: gear_seg_ros/geometry/ (ROS-free); this package only converts messages.
"""
