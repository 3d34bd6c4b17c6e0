"""Data-set writers over the engine's records: LISA/ReasonSeg JSON, parquet, COCO instances, YOLO segmentation."""
from gear_seg_ros.engine.writers.dataset import FORMATS, export_dataset

__all__ = ["FORMATS", "export_dataset"]
