"""Parameter descriptions and ranges come from the config schema (ROS-free part of `ros2 param describe`)."""
from gear_seg_ros.config import AgentConfig
from gear_seg_ros.ros.param_docs import agent_docs


def test_every_agent_key_has_a_description_and_the_schema_bounds():
    docs = agent_docs()
    assert set(docs) == set(AgentConfig().flatten())
    assert not [k for k, d in docs.items() if d.description.startswith("AgentConfig ")]  # no generic fallback
    iou = docs["nms.iou_thresh"]
    assert (iou.low, iou.high) == (0.0, 1.0) and "range: > 0 and <= 1" in iou.description
    assert docs["segmenter.sam2.pred_iou_thresh"].high == 1.0
    assert docs["segmenter.onnx_sam2.runtime"].choices == ("onnxruntime", "tensorrt")
    assert "default: 'classical'" in docs["segmenter.backend"].description
    assert docs["base_dir"].low is None and docs["base_dir"].high is None


# ---- every number in the schemas is documented and bounded ---------------------------------------------------
def _numeric_leaves(model, prefix=""):
    """(dotted key, FieldInfo) of every int / float / optional int / list-of-float leaf of a pydantic model."""
    import typing

    from pydantic import BaseModel

    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from _numeric_leaves(ann, f"{prefix}{name}.")
            continue
        args = [typing.get_args(a)[0] if typing.get_args(a) else a for a in typing.get_args(ann)] or [ann]
        if any(a in (int, float) for a in args) and ann is not bool:
            yield f"{prefix}{name}", field


def test_every_numeric_field_has_a_description_and_both_bounds():
    from gear_seg_ros.engine.options import EngineOptions
    from gear_seg_ros.ros.param_docs import field_bounds
    from gear_seg_ros.ros.params import NodeParams

    seen = set()
    for model in (AgentConfig, NodeParams, EngineOptions):
        for key, field in _numeric_leaves(model):
            seen.add(f"{model.__name__}:{key}")
            assert field.description, f"{model.__name__} {key} has no description"
            low, high, _, _ = field_bounds(field)
            assert low is not None and high is not None, f"{model.__name__} {key} needs ge/gt and le/lt"
            default = field.get_default(call_default_factory=True)
            values = default if isinstance(default, list) else [] if default is None else [default]
            assert all(low <= v <= high for v in values), f"{model.__name__} {key}: default outside its bounds"
    # the walk reaches the automatic-mask thresholds, the former tuning constants, lists and optionals
    assert {"AgentConfig:segmenter.sam2.pred_iou_thresh", "AgentConfig:segmenter.onnx_sam2.box_nms_thresh",
            "AgentConfig:segmenter.sam2.points_per_side", "AgentConfig:segmenter.classical.edge_contrast_scale",
            "AgentConfig:describer.attributes.tiny_below", "AgentConfig:segmenter.classical.felzenszwalb_scales",
            "AgentConfig:reasoner.llama_cpp.n_threads", "NodeParams:frame_buffer",
            "EngineOptions:min_confidence"} <= seen
    scales = dict(_numeric_leaves(AgentConfig))["segmenter.classical.felzenszwalb_scales"]
    assert field_bounds(scales)[:3] == (0.0, 100000.0, True)  # the items' bounds


def test_node_keys_are_documented_from_the_node_schema():
    from gear_seg_ros.ros.params import NODE_DEFAULTS, NodeParams, node_docs

    docs = node_docs()
    assert set(docs) == set(NODE_DEFAULTS)
    assert not [k for k, d in docs.items() if d.description.startswith("NodeParams ")]
    frame_buffer = docs["frame_buffer"]
    assert frame_buffer.description.startswith(NodeParams.model_fields["frame_buffer"].description)
    assert (frame_buffer.low, frame_buffer.high) == (1, 1000) and "default: 4" in frame_buffer.description
    assert docs["image_qos"].choices == ("auto", "best_effort", "reliable")


def test_node_params_errors_name_the_key_the_value_and_the_fix():
    import pytest

    from gear_seg_ros.errors import ConfigError
    from gear_seg_ros.ros.params import NODE_DEFAULTS, NodeParams

    assert NodeParams.parse(NODE_DEFAULTS) == NodeParams()
    bad = {**NODE_DEFAULTS, "policy": "sometimes", "request_timeout_s": 0.0, "depth_to_color_rotation": [0.0] * 4}
    with pytest.raises(ConfigError) as info:
        NodeParams.parse(bad)
    text = str(info.value)
    assert text.startswith("invalid node parameters:\n")
    assert "policy='sometimes': use one of ['on_request', 'continuous']" in text
    assert "request_timeout_s=0.0: must be > 0 (default wait for service / action answers" in text
    assert "identity is [0.0, 0.0, 0.0, 1.0]" in text


def test_engine_options_keep_their_defaults_and_errors():
    import pytest

    from gear_seg_ros.engine.options import CATEGORIES, EngineOptions
    from gear_seg_ros.errors import ConfigError

    opts = EngineOptions()
    assert (opts.questions_per_image, opts.paraphrases, opts.min_confidence, opts.min_paraphrases,
            opts.max_tokens, opts.categories) == (2, 5, 0.6, 2, None, list(CATEGORIES))
    assert EngineOptions(paraphrases=1).min_paraphrases == 1  # lowered to the paraphrases asked for
    assert EngineOptions.from_dict(opts.to_dict()) == opts
    for kwargs, message in (({"questions_per_image": 5}, "questions_per_image=5: must be <= 4"),
                            ({"min_confidence": 6}, "min_confidence=6: must be <= 1"),
                            ({"categories": ["spatial"]}, "unknown categories ['spatial']; choose from")):
        with pytest.raises(ConfigError, match="invalid engine options") as info:
            EngineOptions(**kwargs)
        assert message in str(info.value) and isinstance(info.value, ValueError)  # callers catching ValueError
