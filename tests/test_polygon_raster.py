"""LISA's rasterisation rule is written once (utils/polygons.py): the engine's polygons_to_mask (exports, labelme
round trip) and the eval reader give the same pixels for the same polygons."""
import json

import cv2
import numpy as np
import pytest

from gear_seg_ros.engine.contours import mask_to_polygons, polygons_to_mask
from gear_seg_ros.evaluation.polygon_readers import read_labelme_file, read_lisa_file
from gear_seg_ros.utils.polygons import shape_points

H, W = 40, 48
SHAPES = [  # float corners (truncated, not rounded), a rectangle, a concave polygon, an overlap
    {"label": "target", "points": [[3.9, 4.2], [20.7, 3.1], [18.2, 19.9], [5.5, 17.5]]},
    {"label": "target", "shape_type": "rectangle", "points": [[25, 5], [40.6, 12.8]]},
    {"label": "target", "points": [[10, 22], [30, 22], [30, 36], [20, 28], [10, 36]]},
    {"label": "target", "points": [[15, 15], [28, 15], [28, 26], [15, 26]]},
]


def write_sample(folder, shapes):
    cv2.imwrite(str(folder / "s.png"), np.zeros((H, W, 3), np.uint8))
    (folder / "s.json").write_text(json.dumps({"text": ["the things"], "is_sentence": False, "shapes": shapes}))
    return read_lisa_file(folder / "s.json", folder / "s.png")


def test_the_engine_and_the_lisa_reader_paint_the_same_targets(tmp_path):
    sample = write_sample(tmp_path, SHAPES)
    engine = polygons_to_mask([shape_points(s) for s in SHAPES], H, W)
    assert engine.sum() > 600 and np.array_equal(sample.target, engine)
    assert not sample.ignore.any()


def test_the_ignore_label_rule_smaller_ignore_regions_cut_the_target(tmp_path):
    ignore = {"label": "Ignore_me", "points": [[16, 16], [22, 16], [22, 22], [16, 22]]}  # "ignore" in the label
    flag = {"label": "flag", "points": [[0, 0], [47, 0], [47, 39], [0, 39]]}  # skipped, though it covers all
    sample = write_sample(tmp_path, [*SHAPES, ignore, flag])
    targets = polygons_to_mask([shape_points(s) for s in SHAPES], H, W)
    ignored = polygons_to_mask([shape_points(ignore)], H, W)
    assert ignored.sum() == 49
    assert np.array_equal(sample.ignore, ignored) and np.array_equal(sample.target, targets & ~ignored)


def test_labelme_reader_and_engine_agree_too(tmp_path):
    cv2.imwrite(str(tmp_path / "s.png"), np.zeros((H, W, 3), np.uint8))
    shapes = [{**s, "label": "box", "group_id": None} for s in SHAPES]
    (tmp_path / "s.json").write_text(json.dumps({"shapes": shapes, "imagePath": "s.png", "imageData": None}))
    (sample,) = read_labelme_file(tmp_path / "s.json")
    assert np.array_equal(sample.target, polygons_to_mask([shape_points(s) for s in SHAPES], H, W))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exported_polygons_read_back_as_the_mask(tmp_path, seed):
    """The engine's LISA export writes mask_to_polygons; the reader turns them back into the same pixels."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((H, W), np.uint8)
    for _ in range(3):
        cv2.ellipse(mask, (int(rng.integers(10, 38)), int(rng.integers(10, 30))),
                    (int(rng.integers(3, 9)), int(rng.integers(3, 9))), float(rng.integers(0, 180)), 0, 360, 1, -1)
    polygons = mask_to_polygons(mask.astype(bool))
    sample = write_sample(tmp_path, [{"label": "target", "points": p} for p in polygons])
    assert np.array_equal(sample.target, polygons_to_mask(polygons, H, W))
    assert np.array_equal(sample.target, mask.astype(bool))  # no holes here: exact


def test_shape_points_rules():
    assert shape_points({"shape_type": "rectangle", "points": [[1, 2], [3, 4]]}) == [[1, 2], [3, 2], [3, 4], [1, 4]]
    assert shape_points({"points": [[0, 0], [1, 1]]}) is None  # fewer than 3 points
    assert shape_points({"shape_type": "circle", "points": [[0, 0], [1, 1], [2, 0]]}) is None
    assert shape_points({"shape_type": None, "points": [[0, 0], [4, 0], [0, 4]]}) == [[0, 0], [4, 0], [0, 4]]
