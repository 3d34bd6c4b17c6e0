import pytest

from gear_seg_ros.config import AgentConfig, flatten, is_ros_parameters_file, ros_parameters, unflatten
from gear_seg_ros.errors import ConfigError


def test_defaults_are_the_cpu_backends():
    cfg = AgentConfig()
    assert (cfg.segmenter.backend, cfg.describer.backend, cfg.reasoner.backend) == ("classical", "attributes",
                                                                                     "embedding")


def test_flat_round_trip_matches_ros_parameter_names():
    cfg = AgentConfig()
    flat = cfg.flatten()
    assert flat["reasoner.llama_cpp.model_path"].startswith("pkg://")
    assert flat["nms.containment_thresh"] == 0.99
    again = AgentConfig.from_flat(flat)
    assert again == cfg
    assert unflatten(flatten({"a": {"b": 1, "c": {"d": 2}}})) == {"a": {"b": 1, "c": {"d": 2}}}


def test_unknown_backend_names_the_choices():
    with pytest.raises(ConfigError, match=r"unknown backend 'yolo'.*classical"):
        AgentConfig.from_dict({"segmenter": {"backend": "yolo"}})


def test_unknown_key_and_bad_value_are_reported_with_their_path():
    with pytest.raises(ConfigError, match=r"nms.max_mask"):
        AgentConfig.from_dict({"nms": {"max_mask": 3}})
    with pytest.raises(ConfigError, match=r"cache.max_entries"):
        AgentConfig.from_dict({"cache": {"max_entries": 0}})


def test_yaml_plain_and_ros_parameter_files(tmp_path):
    plain = tmp_path / "plain.yaml"
    plain.write_text("reasoner:\n  backend: llama_cpp\n  max_targets: 3\n")
    cfg = AgentConfig.from_yaml(plain)
    assert cfg.reasoner.backend == "llama_cpp" and cfg.reasoner.max_targets == 3
    assert cfg.base_dir == str(tmp_path)
    ros = tmp_path / "ros.yaml"
    ros.write_text("/**:\n  ros__parameters:\n    reasoner.max_targets: 2\n    segmenter:\n      backend: classical\n")
    assert AgentConfig.from_yaml(ros).reasoner.max_targets == 2


def test_bad_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        AgentConfig.from_yaml(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("segmenter: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        AgentConfig.from_yaml(bad)


def test_shipped_configs_load():
    from helpers import REPO

    for path in sorted((REPO / "config").glob("*.yaml")):
        if path.name != "cameras.yaml":  # launch presets per camera driver, not an agent config
            AgentConfig.from_yaml(path)


def test_ros_parameters_of_a_plain_config(tmp_path):
    """The one conversion the node (--params-file) and the launch file use: dotted keys, base_dir = file's folder."""
    path = tmp_path / "sub" / "mine.yaml"
    doc = {"segmenter": {"backend": "classical", "classical": {"work_side": 256}}, "nms.max_masks": 10,
           "base_dir": "/elsewhere", "policy": "continuous"}
    params = ros_parameters(doc, path)
    assert params == {"segmenter.backend": "classical", "segmenter.classical.work_side": 256, "nms.max_masks": 10,
                      "policy": "continuous", "base_dir": str(tmp_path / "sub")}
    config = AgentConfig.from_flat({k: v for k, v in params.items() if k != "policy"})
    assert config.segmenter.classical.work_side == 256 and config.nms.max_masks == 10
    with pytest.raises(ConfigError, match=r"mine.yaml must hold a mapping"):
        ros_parameters(["a"], path)


def test_ros_parameter_files_are_told_apart():
    assert is_ros_parameters_file({"/**": {"ros__parameters": {"nms.max_masks": 3}}})
    assert not is_ros_parameters_file({"nms": {"max_masks": 3}})
    assert not is_ros_parameters_file(None)
