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
