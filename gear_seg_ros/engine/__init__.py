"""The data engine: perceive a folder of images, have an LLM write reasoning questions about the masks, write
resumable per-image records, and export them as LISA / parquet / COCO / YOLO data sets for student models.

Layout of an output folder:
  engine.json                 the options and agent config the records were made with (checked on resume)
  perception/                 cached segment + describe outputs, reference layout (sam/masks, dam/descriptions)
  records/<stem>.json         one validated record per finished image, written atomically
  export/<format>/...         the data sets (`gear-seg engine export OUT`)
  review.json                 review decisions (`gear-seg engine review OUT`), honoured by the export
  labelme/                    questions out for mask correction (`gear-seg engine labelme export|import OUT`)
"""
from gear_seg_ros.engine.options import CATEGORIES, EngineOptions

__all__ = ["CATEGORIES", "EngineOptions"]
