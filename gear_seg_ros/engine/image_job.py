"""Everything the engine does for one image, as a function of (agent, image file, options) -> ImageRecord."""
from __future__ import annotations

from pathlib import Path

from gear_seg_ros.engine.autolabel import label_instances, maturity_questions
from gear_seg_ros.engine.llm_calls import start_image
from gear_seg_ros.engine.options import EngineOptions
from gear_seg_ros.engine.perception_store import load_or_perceive
from gear_seg_ros.engine.questions import write_questions
from gear_seg_ros.engine.records import ImageRecord, MaskRecord
from gear_seg_ros.image_io import load_image
from gear_seg_ros.types import Perception
from gear_seg_ros.utils.rle import encode_rle


def build_record(agent, images_dir: Path, image_file: str, out: Path, opts: EngineOptions) -> ImageRecord:
    stem = Path(image_file).stem
    image = load_image(Path(images_dir) / image_file, agent.config.limits.max_image_side)
    perception = load_or_perceive(agent, image, stem, out)
    height, width = image.shape[:2]
    masks = mask_records(perception, opts.min_mask_fraction)
    eligible = [m.id for m in masks if m.eligible]
    reasoner = agent.reasoner
    start_image(reasoner)
    rcfg = agent.config.reasoner
    questions, dropped = write_questions(reasoner, perception, eligible, stem, opts, rcfg.max_targets, rcfg.retries)
    instances = []
    if opts.auto_label:
        instances, more = label_instances(reasoner, perception, eligible, stem, opts)
        dropped += more
    if opts.maturity:
        graded, more = maturity_questions(agent, perception, masks, stem, opts)  # may append joined targets
        questions += graded
        dropped += more
    return ImageRecord(image_id=stem, image_file=image_file, height=height, width=width, scene=perception.scene,
                       masks=masks, questions=questions, instances=instances, dropped=dropped)


def mask_records(perception: Perception, min_fraction: float) -> list[MaskRecord]:
    """Every mask keeps its id; those under `min_fraction` of the image are marked ineligible as answers."""
    height, width = perception.image_size
    min_area = min_fraction * height * width
    return [MaskRecord(id=i, description=perception.descriptions[i], area=m.area, box=list(m.box),
                       rle=encode_rle(m.mask), eligible=m.area >= min_area and m.area > 0)
            for i, m in enumerate(perception.masks)]
