"""Stage 1: class-agnostic segmentation ("segment everything"), then mask NMS."""
from gear_seg_ros.segment.base import Segmenter

SEGMENTERS = {
    "classical": "gear_seg_ros.segment.classical:ClassicalSegmenter",
    "sam2": "gear_seg_ros.segment.sam2_official:Sam2Segmenter",
    "onnx_sam2": "gear_seg_ros.segment.onnx_sam2:OnnxSam2Segmenter",
}

__all__ = ["SEGMENTERS", "Segmenter"]
