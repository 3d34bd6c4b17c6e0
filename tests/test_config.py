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


# ---- keys a section renamed: the old name still loads, with a message naming the new one --------------------------
def test_renamed_keys_load_under_their_new_name_with_a_message(tmp_path, caplog):
    """describer.dam.vision_* became describer.dam.vision.* (one export-runtime model), reasoner.openai.http_retries
    became reasoner.openai.retries (one endpoint model): a file written before still loads, and says what to rename."""
    from gear_seg_ros.config import RENAMED_KEYS

    assert RENAMED_KEYS == {"describer.dam.vision_encoder": "describer.dam.vision.model_dir",
                            "describer.dam.vision_runtime": "describer.dam.vision.runtime",
                            "describer.dam.vision_providers": "describer.dam.vision.providers",
                            "describer.dam.vision_engine_dir": "describer.dam.vision.engine_dir",
                            "reasoner.openai.http_retries": "reasoner.openai.retries"}
    old = tmp_path / "old.yaml"
    old.write_text("describer:\n  dam:\n    vision_encoder: exports/dam\n    vision_runtime: onnxruntime\n"
                   "    vision_providers: [CPUExecutionProvider]\n    vision_engine_dir: engines\n"
                   "reasoner.openai.http_retries: 5\n")
    new = tmp_path / "new.yaml"
    new.write_text("describer:\n  dam:\n    vision:\n      model_dir: exports/dam\n      runtime: onnxruntime\n"
                   "      providers: [CPUExecutionProvider]\n      engine_dir: engines\n"
                   "reasoner.openai.retries: 5\n")
    with caplog.at_level("WARNING", logger="gear_seg.config"):
        from_old = AgentConfig.from_yaml(old)
    assert from_old == AgentConfig.from_yaml(new)
    assert from_old.describer.dam.vision.model_dir == "exports/dam" and from_old.reasoner.openai.retries == 5
    notes = [r.getMessage() for r in caplog.records]
    assert len(notes) == 5
    assert f"config file {old}: describer.dam.vision_encoder is now describer.dam.vision.model_dir" in notes[0]
    assert any("reasoner.openai.http_retries is now reasoner.openai.retries" in n for n in notes)
    # the same file as a ROS parameters file, and through the node's / launch file's conversion
    ros = tmp_path / "ros.yaml"
    ros.write_text("/**:\n  ros__parameters:\n    reasoner.openai.http_retries: 4\n")
    assert AgentConfig.from_yaml(ros).reasoner.openai.retries == 4
    params = ros_parameters({"reasoner": {"openai": {"http_retries": 3}}, "describer.dam.vision_runtime": "onnxruntime"},
                            old)
    assert params["reasoner.openai.retries"] == 3 and params["describer.dam.vision.runtime"] == "onnxruntime"
    assert "reasoner.openai.http_retries" not in params and "describer.dam.vision_runtime" not in params


def test_a_setting_under_its_old_and_its_new_name_is_refused():
    with pytest.raises(ConfigError, match=r"reasoner.openai.http_retries and reasoner.openai.retries are one setting"
                                          r".*keep only reasoner.openai.retries"):
        AgentConfig.from_dict({"reasoner": {"openai": {"http_retries": 1, "retries": 2}}})
    with pytest.raises(ConfigError, match=r"describer.dam.vision_encoder and describer.dam.vision.model_dir"):
        ros_parameters({"describer.dam.vision_encoder": "a", "describer.dam.vision.model_dir": "b"}, "x.yaml")


def test_one_endpoint_model_and_one_export_runtime_model_keep_each_use_s_defaults():
    from gear_seg_ros.runtime.settings import ExportRuntimeSettings
    from gear_seg_ros.utils.openai_client import EndpointSettings

    cfg = AgentConfig()
    endpoints = (cfg.describer.openai_vlm, cfg.describer.dam_server, cfg.reasoner.openai)
    assert all(isinstance(e, EndpointSettings) for e in endpoints)
    assert [(e.base_url, e.model, e.timeout_s, e.retries, e.api_key_env) for e in endpoints] == [
        ("http://127.0.0.1:8000/v1", "Qwen/Qwen2.5-VL-7B-Instruct", 60.0, 2, "OPENAI_API_KEY"),
        ("http://127.0.0.1:8010", "describe_anything_model", 120.0, 2, ""),
        ("http://127.0.0.1:8080/v1", "qwen3-8b", 60.0, 2, "OPENAI_API_KEY")]
    runtimes = (cfg.segmenter.onnx_sam2, cfg.tracker.sam2_prompt, cfg.describer.dam.vision)
    assert all(isinstance(r, ExportRuntimeSettings) for r in runtimes)
    assert [(r.model_dir, r.runtime, r.providers, r.engine_dir) for r in runtimes] == [
        ("models/weights/sam2_onnx", "onnxruntime", ["CPUExecutionProvider"], ""),
        ("models/weights/sam2_onnx", "onnxruntime", ["CPUExecutionProvider"], ""),
        ("", "tensorrt", ["CUDAExecutionProvider", "CPUExecutionProvider"], "")]


def test_a_ros_parameters_file_for_several_nodes_is_refused_by_name(tmp_path):
    two = tmp_path / "two.yaml"
    two.write_text("a:\n  ros__parameters:\n    nms.max_masks: 3\nb:\n  ros__parameters:\n    nms.max_masks: 4\n")
    with pytest.raises(ConfigError, match=r"two.yaml holds the parameters of 2 nodes \(a, b\)"):
        AgentConfig.from_yaml(two)
