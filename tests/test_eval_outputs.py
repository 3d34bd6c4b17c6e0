"""Reference output layout (sam/masks + dam/descriptions) <-> Perception."""
import json

import cv2
import numpy as np
import pytest

from gear_seg_ros.evaluation.reference_outputs import has_outputs, read_outputs, write_outputs
from gear_seg_ros.types import MaskProposal, Perception


def perception():
    masks = []
    for k in range(3):
        m = np.zeros((9, 12), bool)
        m[k:k + 3, 2 * k:2 * k + 5] = True
        masks.append(MaskProposal(m, score=0.9))
    return Perception("img_7", (9, 12), masks, ["a red mug", "a plate", "a fork"], scene="a kitchen table")


def test_round_trip(tmp_path):
    p = perception()
    write_outputs(p, tmp_path)
    assert has_outputs(tmp_path, "img_7") and not has_outputs(tmp_path, "other")
    assert (tmp_path / "sam" / "masks" / "img_7" / "mask_2.png").is_file()
    doc = json.loads((tmp_path / "dam" / "descriptions" / "img_7.json").read_text())
    assert doc["whole"] == {"des": "a kitchen table"} and doc["1"] == {"des": "a plate"}
    back = read_outputs(tmp_path, "img_7")
    assert back.frame_id == "img_7" and back.image_size == (9, 12) and back.scene == "a kitchen table"
    assert back.descriptions == p.descriptions
    assert all(np.array_equal(a.mask, b.mask) for a, b in zip(back.masks, p.masks))
    assert back.masks[1].box == p.masks[1].box and back.masks[1].area == p.masks[1].area


def test_reads_the_reference_layout_in_index_order(tmp_path):
    folder = tmp_path / "sam" / "masks" / "photo"
    folder.mkdir(parents=True)
    for i in (0, 2, 10, 1):  # mask_10 must come after mask_2
        m = np.zeros((4, 4), np.uint8)
        m.flat[i % 16] = 255
        cv2.imwrite(str(folder / f"mask_{i}.png"), m)
    (tmp_path / "dam" / "descriptions").mkdir(parents=True)
    doc = {"10": {"des": "ten"}, "whole": {"des": "scene"}, "0": {"des": "zero"}, "1": {"des": "one"},
           "2": {"des": "two"}}
    (tmp_path / "dam" / "descriptions" / "photo.json").write_text(json.dumps(doc))
    p = read_outputs(tmp_path, "photo")
    assert p.descriptions == ["zero", "one", "two", "ten"] and p.scene == "scene"
    assert [int(np.flatnonzero(m.mask.ravel())[0]) for m in p.masks] == [0, 1, 2, 10]


def test_missing_outputs_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="sam"):
        read_outputs(tmp_path, "nothing")
