"""Parameters: every AgentConfig key is declared; config/agent.yaml loads through rcl as the CLI reads it."""
import os

import pytest
import yaml
from ros_env import REPO

from gear_seg_ros.config import AgentConfig, ros_parameters
from gear_seg_ros.errors import ConfigError
from gear_seg_ros.ros.params import AGENT_DEFAULTS, NODE_DEFAULTS, read


@pytest.fixture
def make_node(ros_environ):
    import rclpy

    contexts, nodes = [], []

    def make(*ros_args):
        from gear_seg_ros.ros.agent_node import GearSegAgentNode

        context = rclpy.Context()
        rclpy.init(args=["node", "--ros-args", *ros_args], context=context)
        node = GearSegAgentNode(context=context)
        contexts.append(context)
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        node.destroy_node()
    for context in contexts:
        context.try_shutdown()


def test_every_agent_key_is_declared_with_its_default(make_node):
    node = make_node()
    for name, default in {**AGENT_DEFAULTS, **NODE_DEFAULTS}.items():
        value = node.get_parameter(name).value
        assert (list(value) if isinstance(value, (list, tuple)) or hasattr(value, "tolist") else value) == default
    node_params, config = read(node)
    assert config == AgentConfig() and node_params.policy == "on_request"


def test_agent_yaml_through_rcl_equals_from_yaml(make_node):
    path = REPO / "config" / "agent.yaml"
    node = make_node("--params-file", str(path), "-p", f"base_dir:={path.parent}")
    _, config = read(node)
    assert config == AgentConfig.from_yaml(path)


def test_invalid_values_are_named(make_node):
    node = make_node("-p", "nms.iou_thresh:=2.0", "-p", "reasoner.backend:=gpt")
    with pytest.raises(ConfigError, match=r"(?s)nms.iou_thresh.*unknown backend .gpt. for reasoner.backend"):
        read(node)
    node = make_node("-p", "image_qos:=sometimes", "-p", "frame_buffer:=0")
    with pytest.raises(ConfigError, match=r"(?s)image_qos='sometimes'.*frame_buffer=0"):
        read(node)


def test_ints_are_accepted_for_floats(make_node):
    node = make_node("-p", "reasoner.llama_cpp.temperature:=0", "-p", "reasoner.llama_cpp.n_threads:=4",
                     "-p", "request_timeout_s:=5")
    node_params, config = read(node)
    assert config.reasoner.llama_cpp.temperature == 0.0 and config.reasoner.llama_cpp.n_threads == 4
    assert node_params.request_timeout_s == 5


def test_lifecycle_configure_activate_deactivate_cleanup(make_node):
    from rclpy.lifecycle import TransitionCallbackReturn as T

    node = make_node("-p", "auto_start:=false")
    assert node._agent is None and not node._servers  # nothing before configure
    assert node.trigger_configure() == T.SUCCESS and node._agent is not None
    assert node.trigger_activate() == T.SUCCESS
    assert len(node._servers) == 2 and node._worker.is_alive() and node._action_server is not None
    worker = node._worker
    assert node.trigger_deactivate() == T.SUCCESS
    assert not node._servers and not node._inputs and not worker.is_alive()
    assert node.trigger_cleanup() == T.SUCCESS and node._agent is None
    assert node.trigger_configure() == T.SUCCESS  # reconfigurable, e.g. after parameter changes


def test_configure_fails_cleanly_on_bad_parameters(make_node):
    from rclpy.lifecycle import TransitionCallbackReturn as T

    node = make_node("-p", "auto_start:=false", "-p", "policy:=sometimes")
    assert node.trigger_configure() == T.FAILURE and node._agent is None


def test_a_plain_agent_config_works_as_params_file(tmp_path):
    """`gear_seg_agent --ros-args --params-file config/cpu.yaml`: rcl accepts only ROS parameter files, so the node
    rewrites a plain config into one; rcl must parse the result and see the same keys."""
    from ros_env import require_ros

    require_ros()
    import rclpy

    from gear_seg_ros.ros.agent_node import remove_temp_params, ros_params_args

    args = ros_params_args(["gear_seg_agent", "--ros-args", "--params-file", str(REPO / "config" / "cpu.yaml")])
    rewritten = args[-1]
    assert rewritten != str(REPO / "config" / "cpu.yaml")
    with open(rewritten, encoding="utf-8") as f:  # the one conversion the launch file uses as well
        plain = yaml.safe_load((REPO / "config" / "cpu.yaml").read_text())
        assert yaml.safe_load(f) == {"/**": {"ros__parameters": ros_parameters(plain, REPO / "config" / "cpu.yaml")}}
    context = rclpy.Context()
    rclpy.init(args=args, context=context)  # raises if rcl cannot parse the file
    remove_temp_params()  # what main() does once rclpy.init has parsed it: no file left behind
    assert not os.path.exists(rewritten)
    try:
        node = rclpy.create_node("gear_seg_agent", context=context, automatically_declare_parameters_from_overrides=True)
        assert node.get_parameter("reasoner.backend").value == "embedding"
        assert node.get_parameter("nms.max_masks").value == 64
        assert node.get_parameter("base_dir").value == str(REPO / "config")
        node.destroy_node()
    finally:
        context.try_shutdown()
    ros_file = ["x", "--ros-args", "--params-file", str(REPO / "config" / "agent.yaml")]
    assert ros_params_args(ros_file) == ros_file  # a ROS parameter file is passed through


def test_camera_parameters(make_node):
    node = make_node("-p", "depth_registered:=false", "-p", "depth_to_color_translation:=[0.05, -0.01, 0.0]",
                     "-p", "depth_to_color_rotation:=[0.0, 0.0, 0.7071068, 0.7071068]", "-p", "color_16bit_max:=1023",
                     "-p", "use_compressed_depth:=true")
    p, _ = read(node)
    assert (p.depth_registered, p.use_compressed_depth, p.color_16bit_max) == (False, True, 1023.0)
    assert p.depth_to_color_translation == [0.05, -0.01, 0.0] and p.depth_to_color_rotation[3] == 0.7071068
    node = make_node("-p", "depth_to_color_translation:=[0.05, 0.0]", "-p",
                     "depth_to_color_rotation:=[0.0, 0.0, 0.0, 0.0]", "-p", "color_16bit_max:=-1.0")
    with pytest.raises(ConfigError, match=r"(?s)depth_to_color_translation=\[0.05, 0.0\]: must be 3 finite numbers"
                                          r".*identity is \[0.0, 0.0, 0.0, 1.0\].*color_16bit_max=-1.0"):
        read(node)


def test_descriptors_carry_the_schema_description_and_range(make_node):
    """`ros2 param describe` shows the schema's own text and bounds: nothing is written a second time."""
    from rclpy.parameter import Parameter

    from gear_seg_ros.ros.params import NodeParams
    from gear_seg_ros.segment.settings import ClassicalSegmenterConfig, Sam2SegmenterConfig

    node = make_node()
    iou, edge, frames = node.describe_parameters(["segmenter.sam2.pred_iou_thresh",
                                                  "segmenter.classical.edge_contrast_scale", "frame_buffer"])
    assert iou.description.startswith(Sam2SegmenterConfig.model_fields["pred_iou_thresh"].description)
    assert "range: >= 0 and <= 1" in iou.description
    assert [(r.from_value, r.to_value) for r in iou.floating_point_range] == [(0.0, 1.0)]
    assert edge.description.startswith(ClassicalSegmenterConfig.model_fields["edge_contrast_scale"].description)
    assert [(r.from_value, r.to_value) for r in edge.floating_point_range] == [(0.0, 1000.0)]  # gt 0: "> 0" in text
    assert "range: > 0 and <= 1000" in edge.description
    assert frames.description.startswith(NodeParams.model_fields["frame_buffer"].description)
    assert [(r.from_value, r.to_value) for r in frames.integer_range] == [(1, 1000)]
    assert not node.set_parameters([Parameter("segmenter.sam2.pred_iou_thresh", value=1.5)])[0].successful
    assert node.set_parameters([Parameter("segmenter.sam2.pred_iou_thresh", value=0.5)])[0].successful


def test_a_misspelled_key_in_a_parameters_file_is_refused_with_the_closest_name(make_node, tmp_path):
    """`reasonr:` for `reasoner:` in a copy of config/cpu_llm.yaml: configure fails naming both (rclpy alone would
    ignore the key, and the node would run the embedding reasoner instead of llama_cpp)."""
    from rclpy.lifecycle import TransitionCallbackReturn

    from gear_seg_ros.ros.params import check_unknown

    text = (REPO / "config" / "cpu_llm.yaml").read_text()
    assert "\nreasoner:" in text
    bad = tmp_path / "cpu_llm_typo.yaml"
    bad.write_text(text.replace("\nreasoner:", "\nreasonr:"))
    params = ros_parameters(yaml.safe_load(bad.read_text()), bad)
    ros_file = tmp_path / "params.yaml"
    ros_file.write_text(yaml.safe_dump({"/**": {"ros__parameters": params}}))
    node = make_node("--params-file", str(ros_file), "-p", "use_sim_time:=false")
    with pytest.raises(ConfigError, match=r"reasonr\.backend: not a parameter of this node; did you mean "
                                          r"reasoner\.backend\?"):
        check_unknown(node)
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE  # configure refuses it too
    check_unknown(make_node("--params-file", str(REPO / "config" / "agent.yaml")))  # a correct file passes


def test_a_renamed_key_given_to_the_node_is_read_under_its_new_name(make_node):
    """reasoner.openai.http_retries and describer.dam.vision_encoder (names before one endpoint and one
    export-runtime settings model) still configure the node; given together with the new name, configure refuses."""
    from rclpy.parameter import Parameter

    from gear_seg_ros.ros.params import check_unknown, rename_overrides

    node = make_node("-p", "reasoner.openai.http_retries:=5", "-p", "describer.dam.vision_encoder:=exports/dam")
    check_unknown(node)
    _, config = read(node)
    assert config.reasoner.openai.retries == 5 and config.describer.dam.vision.model_dir == "exports/dam"
    overrides = node._parameter_overrides  # what rclpy holds from -p / --params-file until declared (as at start-up)
    del overrides["reasoner.openai.retries"]
    overrides["reasoner.openai.http_retries"] = Parameter("reasoner.openai.http_retries", value=4)
    assert rename_overrides(node) == [("ROS parameters: reasoner.openai.http_retries is now reasoner.openai.retries; "
                                      "it is read as that for now, rename it")]  # logged by the node at start-up
    assert overrides["reasoner.openai.retries"].value == 4 and "reasoner.openai.http_retries" not in overrides
    both = make_node("-p", "reasoner.openai.http_retries:=5", "-p", "reasoner.openai.retries:=3")
    with pytest.raises(ConfigError, match=r"reasoner\.openai\.http_retries: not a parameter of this node; the old "
                                          r"name of reasoner\.openai\.retries, which is given too"):
        check_unknown(both)


def test_gear_seg_agent_help_prints_usage_instead_of_starting(ros_environ):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "gear_seg_ros.ros.agent_node", "--help"], env=ros_environ,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: gear_seg_agent") and "image_qos" in proc.stdout
    assert "ros2 launch gear_seg_ros agent.launch.py" in proc.stdout and "[INFO]" not in proc.stdout
