"""Evaluation readers: LISA JSON, labelme JSON, ReasonSeg parquet, COCO instances."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import SHARED_DATA

from gear_seg_ros.evaluation.readers import DatasetError, detect_format, open_dataset

LABELME_DIR = SHARED_DATA / "labelme_voc" / "examples" / "instance_segmentation" / "data_annotated"
LABELME_COCO = SHARED_DATA / "labelme_voc" / "examples" / "instance_segmentation" / "data_dataset_coco"
STRAWBERRY = SHARED_DATA / "strawberry_coco" / "valid" / "_annotations.coco.json"


def square(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def write_image(path: Path, h=20, w=24):
    image = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    cv2.imwrite(str(path), image)
    return image


@pytest.fixture
def lisa_dir(tmp_path):
    write_image(tmp_path / "scene_a.jpg")
    shapes = [  # deliberately not in area order: painting must sort by area, largest first
        {"label": "target", "points": square(7, 7, 8, 8)},  # 2x2 = 4 px, inside the ignore square: wins
        {"label": "ignore", "points": square(5, 5, 10, 10)},  # 6x6 = 36 px, inside the big target
        {"label": "target", "points": square(2, 2, 15, 15)},  # 14x14 = 196 px
        {"label": "flag", "points": square(17, 17, 19, 19)},  # skipped
    ]
    (tmp_path / "scene_a.json").write_text(json.dumps(
        {"text": ["What holds the coffee?", "the mug"], "is_sentence": True, "shapes": shapes}))
    (tmp_path / "no_image.json").write_text(json.dumps({"text": ["x"], "is_sentence": False, "shapes": []}))
    return tmp_path


def test_lisa_polygons_area_order_ignore_and_flag(lisa_dir):
    assert detect_format(lisa_dir) == "lisa"
    samples = list(open_dataset(lisa_dir))
    assert len(samples) == 1  # the JSON without an image is skipped
    s = samples[0]
    assert s.image_id == "scene_a" and s.image.shape == (20, 24, 3) and s.image.dtype == np.uint8
    assert [q.text for q in s.queries] == ["What holds the coffee?", "the mug"]
    assert all(q.is_sentence for q in s.queries)
    assert s.target.sum() == 196 - 36 + 4
    assert s.ignore.sum() == 36 - 4
    assert s.target[7, 7] and s.ignore[5, 5] and not s.target[18, 18]
    assert not (s.target & s.ignore).any()


def test_lisa_single_file_and_first_text_only(lisa_dir):
    samples = list(open_dataset(lisa_dir / "scene_a.json", "lisa", first_text_only=True))
    assert [q.text for q in samples[0].queries] == ["What holds the coffee?"]


def test_parquet_round_trip(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (6, 5, 3), dtype=np.uint8)
    png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))[1].tobytes()
    mask = np.zeros((6, 5), bool)
    mask[1:3, 2:5] = True
    rows = {"image": [png, png], "text": ["the red cup", "what can I drink from?"],
            "mask": [mask.tolist(), mask.tolist()], "image_id": ["img_1.jpg", "img_1.jpg"], "ann_id": [0, 1],
            "img_height": [6, 6], "img_width": [5, 5]}
    pq.write_table(pa.table(rows), tmp_path / "test-00000.parquet")
    struct_rows = dict(rows, image=[{"bytes": png, "path": "x.png"}] * 2)
    pq.write_table(pa.table(struct_rows), tmp_path / "test-00001.parquet")
    assert detect_format(tmp_path) == "parquet"
    samples = list(open_dataset(tmp_path))
    assert len(samples) == 4
    for s in samples:
        assert s.image_id == "img_1" and np.array_equal(s.image, image)
        assert np.array_equal(s.target, mask) and not s.ignore.any()
        assert s.queries[0].is_sentence is None
    assert samples[1].sample_id == "img_1:1" and samples[1].queries[0].text == "what can I drink from?"


def test_missing_path_and_unknown_format(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        open_dataset(tmp_path / "nope")
    with pytest.raises(DatasetError, match="unknown format"):
        open_dataset(tmp_path, "voc")
    with pytest.raises(DatasetError):
        open_dataset(tmp_path)  # empty folder: nothing to guess from


needs_shared = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} is absent")


@needs_shared
def test_labelme_target_label_bus():
    samples = list(open_dataset(LABELME_DIR, "labelme", target_label="bus"))
    assert len(samples) == 1
    s = samples[0]
    assert s.image_id == "2011_000025" and s.queries[0].text == "the bus" and s.queries[0].category == "bus"
    assert len(s.instances) == 2 and s.target.any()
    assert np.array_equal(np.logical_or.reduce([i.mask for i in s.instances]) & s.target, s.target)


@needs_shared
def test_labelme_all_labels_groups_and_ignore():
    assert detect_format(LABELME_DIR) == "labelme"
    samples = {s.sample_id: s for s in open_dataset(LABELME_DIR)}
    assert set(samples) == {"2011_000003:bottle", "2011_000003:person", "2011_000006:chair",
                            "2011_000006:person", "2011_000006:sofa", "2011_000025:bus", "2011_000025:car"}
    assert len(samples["2011_000003:person"].instances) == 2  # group_id 0 joins two polygons
    assert len(samples["2011_000006:sofa"].instances) == 1  # four polygons, one group
    assert samples["2011_000003:person"].ignore.any()  # __ignore__ shapes
    assert not samples["2011_000025:bus"].ignore.any()


@needs_shared
def test_labelme_agrees_with_its_coco_export():
    coco = {s.sample_id: s for s in open_dataset(LABELME_COCO, "coco")}
    labelme = {s.sample_id: s for s in open_dataset(LABELME_DIR, "labelme")}
    assert set(coco) == set(labelme)
    for key, s in coco.items():
        a, b = s.target & ~labelme[key].ignore, labelme[key].target
        assert (a & b).sum() / (a | b).sum() > 0.9, key  # rasterisers differ at the borders only


@needs_shared
def test_labelme_embedded_image_data():
    path = SHARED_DATA / "labelme_voc" / "examples" / "tutorial" / "apc2016_obj3.json"
    samples = list(open_dataset(path, target_label="shelf"))
    assert len(samples) == 1 and samples[0].image.shape == (907, 1210, 3) and samples[0].target.any()


@needs_shared
def test_strawberry_coco():
    assert detect_format(STRAWBERRY) == "coco" and detect_format(STRAWBERRY.parent) == "coco"
    samples = list(open_dataset(STRAWBERRY))
    assert len(samples) == 87  # one category per image here
    assert sum(len(s.instances) for s in samples) == 108
    texts = {s.queries[0].text for s in samples}
    assert texts == {"the R strawberry", "the people"}
    for s in samples[:5]:
        assert s.image.shape == (416, 416, 3) and s.target.any() and s.category_id in (1, 2)
    strawberries = list(open_dataset(STRAWBERRY, target_label="R_strawberry"))
    assert all(s.queries[0].category == "R_strawberry" for s in strawberries) and len(strawberries) < 87


def test_broken_file_is_skipped_not_fatal(lisa_dir):
    (lisa_dir / "broken.jpg").write_bytes(b"not an image")
    (lisa_dir / "broken.json").write_text(json.dumps({"text": ["x"], "is_sentence": False, "shapes": []}))
    assert [s.image_id for s in open_dataset(lisa_dir)] == ["scene_a"]
