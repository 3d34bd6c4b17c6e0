"""Launch gear_seg_agent (lifecycle node; configures and activates itself unless auto_start:=false).

  ros2 launch gear_seg_ros agent.launch.py image:=/camera/color/image_raw \
      depth:=/camera/aligned_depth_to_color/image_raw camera_info:=/camera/color/camera_info use_depth:=true
  ros2 launch gear_seg_ros agent.launch.py config:=$(ros2 pkg prefix gear_seg_ros)/share/gear_seg_ros/config/cpu.yaml
  ros2 launch gear_seg_ros agent.launch.py namespace:=left_arm reasoner:=openai policy:=continuous
  ros2 launch gear_seg_ros agent.launch.py camera:=zed use_depth:=true   # presets: config/cameras.yaml

Then: ros2 service call /gear_seg_agent/segment gear_seg_msgs/srv/Segment "{instruction: 'the ripest strawberry'}"
"""
import os

import yaml
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode
from launch_ros.substitutions import FindPackageShare

from gear_seg_ros.config import is_ros_parameters_file, ros_parameters
from launch import LaunchDescription

ARGUMENTS = [
    ("namespace", "", "namespace of the node (one per camera / arm)"),
    ("config", PathJoinSubstitution([FindPackageShare("gear_seg_ros"), "config", "agent.yaml"]),
     "ROS parameters file (config/agent.yaml: GPU robot default; config/cpu.yaml: CPU default)"),
    ("image", "/camera/color/image_raw", "colour image topic (sensor_msgs/Image: rgb8, bgr8 or mono8)"),
    ("compressed", "/camera/color/image_raw/compressed", "compressed colour topic (used when use_compressed)"),
    ("depth", "/camera/aligned_depth_to_color/image_raw", "depth registered to the colour image (16UC1 mm, 32FC1 m)"),
    ("camera_info", "/camera/color/camera_info", "colour camera_info (intrinsics for the 3-D centroids)"),
    ("use_compressed", "false", "subscribe the compressed topic instead of the raw one"),
    ("use_depth", "false", "subscribe depth + camera_info and fill centroid_3d"),
    ("image_qos", "auto", "input QoS: auto (match the publishers' at activation) | best_effort | reliable"),
    ("policy", "on_request", "on_request | continuous (perceive the newest frame whenever idle)"),
    ("segmenter", "", "override segmenter.backend (classical | sam2 | onnx_sam2); empty = from config"),
    ("describer", "", "override describer.backend (attributes | dam | dam_server | openai_vlm); empty = from config"),
    ("reasoner", "", "override reasoner.backend (embedding | llama_cpp | openai); empty = from config"),
    ("base_dir", "", "folder relative model paths resolve against (then the working dir); default: the config's"),
    ("auto_start", "true", "configure + activate on start; false = leave it to a lifecycle manager"),
    ("log_level", "info", "debug | info | warn | error"),
    # cameras: presets in config/cameras.yaml
    ("camera", "", "driver preset: realsense | zed | oakd | usb_cam (topics, encodings, QoS); empty = none"),
    ("compressed_depth", "/camera/aligned_depth_to_color/image_raw/compressedDepth",
     "compressedDepth topic (used when use_compressed_depth)"),
    ("depth_camera_info", "/camera/depth/camera_info", "the depth camera's camera_info (depth_registered:=false)"),
    ("use_compressed_depth", "false", "subscribe image_transport compressedDepth instead of raw depth"),
    ("depth_registered", "true", "false: reproject depth into the colour camera (depth_camera_info + extrinsics)"),
    ("depth_to_color_translation", "[0.0, 0.0, 0.0]", "depth -> colour optical frame translation [x, y, z] m"),
    ("depth_to_color_rotation", "[0.0, 0.0, 0.0, 1.0]", "depth -> colour optical frame rotation [x, y, z, w]"),
    ("respawn", "true", "restart the node if its process dies (a native crash in a model backend)"),
    ("respawn_delay", "2.0", "seconds to wait before restarting it"),
]
# What a camera preset may set. These are declared with an empty default, meaning "the preset's value, else the
# fallback below", so an argument given on the command line always wins over the preset.
PRESETTABLE = ("image", "compressed", "camera_info", "depth", "compressed_depth", "depth_camera_info",
               "depth_registered", "image_qos")
FALLBACK = {name: default for name, default, _ in ARGUMENTS if name in PRESETTABLE}
ARGUMENTS = [(name, "", f"{doc} (default: the camera preset's, else {default})") if name in FALLBACK
             else (name, default, doc) for name, default, doc in ARGUMENTS]
CAMERAS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "config", "cameras.yaml")


def _config_parameters(path):
    """A ROS parameters file is passed as is; a plain AgentConfig YAML (config/cpu.yaml) becomes the node's
    parameters through the same conversion the node's own --params-file rewrite uses."""
    with open(path) as f:
        data = yaml.safe_load(f) or {}
    if is_ros_parameters_file(data):
        return path
    return ros_parameters(data, path)


def _camera_preset(name):
    """Launch-argument values (PRESETTABLE ones only) of a preset in config/cameras.yaml (next to this file, in the source tree and in
    share/gear_seg_ros)."""
    with open(CAMERAS_FILE) as f:
        presets = yaml.safe_load(f) or {}
    if name not in presets:
        raise RuntimeError(f"camera:={name} is not a preset; use one of {sorted(presets)} (config/cameras.yaml)")
    args = presets[name].get("arguments", {})
    unknown = sorted(set(args) - set(PRESETTABLE))
    if unknown:
        raise RuntimeError(f"camera preset {name} sets {unknown}, which a preset cannot set (only {PRESETTABLE})")
    return {k: str(v) for k, v in args.items()}


def _node(context, *args, **kwargs):
    given = lambda name: LaunchConfiguration(name).perform(context)
    preset = _camera_preset(given("camera")) if given("camera") else {}
    arg = lambda name: given(name) or preset.get(name) or FALLBACK.get(name, "")
    config = arg("config")
    overrides = {
        "base_dir": arg("base_dir") or os.path.dirname(os.path.abspath(config)),
        "policy": arg("policy"),
        "image_qos": arg("image_qos"),
        "use_compressed": arg("use_compressed").lower() == "true",
        "use_depth": arg("use_depth").lower() == "true",
        "auto_start": arg("auto_start").lower() == "true",
        "use_compressed_depth": arg("use_compressed_depth").lower() == "true",
        "depth_registered": arg("depth_registered").lower() == "true",
        "depth_to_color_translation": [float(v) for v in yaml.safe_load(arg("depth_to_color_translation"))],
        "depth_to_color_rotation": [float(v) for v in yaml.safe_load(arg("depth_to_color_rotation"))],
    }
    for stage in ("segmenter", "describer", "reasoner"):
        if arg(stage):
            overrides[f"{stage}.backend"] = arg(stage)
    return [LifecycleNode(
        package="gear_seg_ros",
        executable="gear_seg_agent",
        name="gear_seg_agent",
        namespace=arg("namespace"),
        parameters=[_config_parameters(config), overrides],
        remappings=[("image", arg("image")), ("image/compressed", arg("compressed")), ("depth", arg("depth")),
                    ("camera_info", arg("camera_info")), ("depth/compressedDepth", arg("compressed_depth")),
                    ("depth_camera_info", arg("depth_camera_info"))],
        arguments=["--ros-args", "--log-level", arg("log_level")],
        output="screen",
        emulate_tty=True,
        respawn=arg("respawn").lower() == "true",
        respawn_delay=float(arg("respawn_delay")),
    )]


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=doc) for name, default, doc in ARGUMENTS]
        + [OpaqueFunction(function=_node)])
