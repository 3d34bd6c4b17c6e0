import numpy as np

from gear_seg_ros.describe.focal_crop import focal_box, region_input
from gear_seg_ros.types import MaskProposal


def test_small_box_grows_to_min_side_then_three_times():
    assert focal_box((100, 100, 110, 110), (1000, 1000), 48, 3.0) == (33, 33, 177, 177)


def test_large_box_is_enlarged_and_clipped_to_the_image():
    assert focal_box((0, 0, 200, 100), (300, 400), 48, 3.0) == (0, 0, 400, 200)


def test_region_input_crops_image_and_mask_consistently():
    image = np.random.default_rng(0).integers(0, 255, (200, 300, 3), np.uint8)
    mask = np.zeros((200, 300), bool)
    mask[90:110, 140:160] = True
    region = region_input(image, MaskProposal(mask))
    x0, y0, x1, y1 = region.crop_box
    assert region.crop_image.shape[:2] == region.crop_mask.shape == (y1 - y0, x1 - x0)
    assert region.crop_mask.sum() == mask.sum()
