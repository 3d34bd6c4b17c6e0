"""launch/agent.launch.py without `launch` installed: parse it, check what it starts, run it against stubs."""
import ast
import importlib.util
import re
import sys
import types
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
LAUNCH = REPO / "launch" / "agent.launch.py"


def test_parses_and_names_the_installed_executable():
    tree = ast.parse(LAUNCH.read_text())
    calls = {n.func.id: n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    node = calls["LifecycleNode"]
    kw = {k.arg: k.value for k in node.keywords}
    assert ast.literal_eval(kw["package"]) == "gear_seg_ros"
    executable = ast.literal_eval(kw["executable"])
    setup = (REPO / "setup.py").read_text()
    assert re.search(rf"[\"']{executable}\s*=\s*gear_seg_ros\.ros\.agent_node:main[\"']", setup)
    assert '"generate_launch_description"' not in setup  # sanity: we read the right files
    assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body)


def test_installed_next_to_its_default_config():
    setup = (REPO / "setup.py").read_text()
    assert 'glob("launch/*.launch.py")' in setup and 'glob("config/*.yaml")' in setup
    assert (REPO / "config" / "agent.yaml").is_file() and (REPO / "config" / "cpu.yaml").is_file()


def test_agent_yaml_is_a_ros_params_file_the_node_declares():
    from gear_seg_ros.config import AgentConfig, flatten
    from gear_seg_ros.ros.params import AGENT_DEFAULTS, NODE_DEFAULTS

    data = yaml.safe_load((REPO / "config" / "agent.yaml").read_text())
    assert list(data) == ["/**"] and "ros__parameters" in data["/**"]
    keys = set(flatten(data["/**"]["ros__parameters"]))
    assert keys <= set(AGENT_DEFAULTS) | set(NODE_DEFAULTS), keys - set(AGENT_DEFAULTS)  # rclpy ignores unknown keys
    config = AgentConfig.from_yaml(REPO / "config" / "agent.yaml")
    assert (config.segmenter.backend, config.describer.backend, config.reasoner.backend) == ("sam2", "dam", "llama_cpp")
    assert config.reasoner.llama_cpp.model_path.startswith("models/weights/") and "Qwen3-8B" in \
        config.reasoner.llama_cpp.model_path


# ---- run generate_launch_description() against stand-ins for launch / launch_ros -----------------------------
class _Recorder:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


@pytest.fixture
def launch_module(monkeypatch):
    class LaunchConfiguration(_Recorder):
        def perform(self, context):
            return context[self.args[0]]

    class PathJoinSubstitution(_Recorder):
        pass

    stubs = {
        "launch": {"LaunchDescription": _Recorder},
        "launch.actions": {"DeclareLaunchArgument": _Recorder, "OpaqueFunction": _Recorder},
        "launch.substitutions": {"LaunchConfiguration": LaunchConfiguration,
                                 "PathJoinSubstitution": PathJoinSubstitution},
        "launch_ros": {},
        "launch_ros.actions": {"LifecycleNode": _Recorder},
        "launch_ros.substitutions": {"FindPackageShare": _Recorder},
    }
    for name, attrs in stubs.items():
        monkeypatch.setitem(sys.modules, name, types.SimpleNamespace(**attrs))
    spec = importlib.util.spec_from_file_location("agent_launch", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(module, **args):
    description = module.generate_launch_description()
    actions = description.args[0]
    declared = {a.args[0]: a.kwargs["default_value"] for a in actions[:-1]}
    context = {**{k: v for k, v in declared.items() if isinstance(v, str)}, **args}
    nodes = actions[-1].kwargs["function"](context)
    return declared, nodes[0].kwargs


def test_launch_arguments_and_node(launch_module):
    declared, node = _run(launch_module, config=str(REPO / "config" / "agent.yaml"), namespace="left_arm",
                          image="/cam/rgb", reasoner="openai", policy="continuous", use_depth="true")
    assert {"namespace", "config", "image", "depth", "camera_info", "compressed", "segmenter", "describer",
            "reasoner", "policy"} <= set(declared)
    default_config = declared["config"]
    assert default_config.args[0][1:] == ["config", "agent.yaml"]  # share/gear_seg_ros/config/agent.yaml
    assert node["executable"] == "gear_seg_agent" and node["namespace"] == "left_arm"
    params_file, overrides = node["parameters"]
    assert params_file == str(REPO / "config" / "agent.yaml")
    assert overrides["reasoner.backend"] == "openai" and "segmenter.backend" not in overrides
    assert overrides["policy"] == "continuous" and overrides["use_depth"] is True
    assert overrides["base_dir"] == str(REPO / "config")
    assert ("image", "/cam/rgb") in node["remappings"]
    assert ("depth", launch_module.FALLBACK["depth"]) in node["remappings"]  # no camera preset: the fallback


def test_plain_cpu_yaml_becomes_parameters(launch_module):
    from gear_seg_ros.ros.params import AGENT_DEFAULTS

    _, node = _run(launch_module, config=str(REPO / "config" / "cpu.yaml"))
    flat, _overrides = node["parameters"]
    assert isinstance(flat, dict) and flat["segmenter.backend"] == "classical"
    assert set(flat) <= set(AGENT_DEFAULTS)


def test_launch_and_node_share_one_config_conversion(launch_module):
    """The launch file has no flatten of its own: it calls the function ros_params_args (the node) calls."""
    from gear_seg_ros import config

    assert launch_module.ros_parameters is config.ros_parameters
    assert launch_module.is_ros_parameters_file is config.is_ros_parameters_file
    assert not hasattr(launch_module, "_flatten")
    path = REPO / "config" / "cpu.yaml"
    _, node = _run(launch_module, config=str(path))
    assert node["parameters"][0] == config.ros_parameters(yaml.safe_load(path.read_text()), str(path))
    assert node["parameters"][0]["base_dir"] == str(REPO / "config")


# ---- camera presets (config/cameras.yaml) -------------------------------------------------------------------
PRESET_ARGUMENTS = {"image", "compressed", "camera_info", "depth", "compressed_depth", "depth_camera_info",
                    "depth_registered", "image_qos"}


def test_presets_file_names_only_declared_arguments(launch_module):
    presets = yaml.safe_load((REPO / "config" / "cameras.yaml").read_text())
    assert set(presets) == {"realsense", "zed", "oakd", "usb_cam"}
    declared = {name for name, _default, _doc in launch_module.ARGUMENTS}
    for name, preset in presets.items():
        args = preset["arguments"]
        assert set(args) <= PRESET_ARGUMENTS <= declared, (name, set(args) - PRESET_ARGUMENTS)
        assert preset["driver"] and preset["publishes"]["image"]
        assert args["image_qos"] in ("auto", "best_effort", "reliable")
        assert all(v.startswith("/") for k, v in args.items() if k not in ("image_qos", "depth_registered")), name


@pytest.mark.parametrize("camera, image, depth, registered", [
    ("realsense", "/camera/camera/color/image_raw", "/camera/camera/aligned_depth_to_color/image_raw", True),
    ("zed", "/zed/zed_node/rgb/image_rect_color", "/zed/zed_node/depth/depth_registered", True),
    ("oakd", "/oak/rgb/image_raw", "/oak/stereo/image_raw", False),
])
def test_camera_preset_sets_topics_and_explicit_arguments_win(launch_module, camera, image, depth, registered):
    _, node = _run(launch_module, config=str(REPO / "config" / "cpu.yaml"), camera=camera, use_depth="true")
    remaps = dict(node["remappings"])
    assert remaps["image"] == image and remaps["depth"] == depth
    assert remaps["depth/compressedDepth"] == depth + "/compressedDepth"
    overrides = node["parameters"][1]
    assert overrides["depth_registered"] is registered and overrides["use_depth"] is True
    assert overrides["depth_to_color_rotation"] == [0.0, 0.0, 0.0, 1.0]
    _, node = _run(launch_module, config=str(REPO / "config" / "cpu.yaml"), camera=camera, image="/mine",
                   depth_registered="true", depth_to_color_translation="[0.015, 0, 0]")
    assert dict(node["remappings"])["image"] == "/mine" and dict(node["remappings"])["depth"] == depth
    assert node["parameters"][1]["depth_registered"] is True
    assert node["parameters"][1]["depth_to_color_translation"] == [0.015, 0.0, 0.0]


def test_usb_cam_preset_and_unknown_camera(launch_module):
    _, node = _run(launch_module, config=str(REPO / "config" / "cpu.yaml"), camera="usb_cam")
    assert dict(node["remappings"])["image"] == "/image_raw" and node["parameters"][1]["use_depth"] is False
    assert node["parameters"][1]["image_qos"] == "auto"
    with pytest.raises(RuntimeError, match=r"camera:=kinect is not a preset; use one of \['oakd', 'realsense'"):
        _run(launch_module, camera="kinect")
def test_node_is_respawned_after_a_crash_unless_disabled(launch_module):
    _, node = _run(launch_module, config=str(REPO / "config" / "agent.yaml"))
    assert node["respawn"] is True and node["respawn_delay"] == 2.0
    _, node = _run(launch_module, config=str(REPO / "config" / "agent.yaml"), respawn="false", respawn_delay="5")
    assert node["respawn"] is False and node["respawn_delay"] == 5.0
