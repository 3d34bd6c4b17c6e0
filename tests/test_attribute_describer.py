"""AttributeDescriber on ground-truth masks of real photos, so the describer is tested in isolation."""
import numpy as np
import pytest
import skimage.data

from gear_seg_ros.describe.attributes import AttributeDescriber, colour_names, rgb_to_lab
from gear_seg_ros.describe.settings import AttributesDescriberConfig
from gear_seg_ros.types import MaskProposal


@pytest.fixture(scope="module")
def arc_descriptions(arc2017):
    describer = AttributeDescriber(AttributesDescriberConfig())
    texts = describer.describe(arc2017["rgb"], [MaskProposal(mask=m.astype(bool)) for m in arc2017["masks"]])
    return {arc2017["class_names"][label]: text for label, text in zip(arc2017["labels"], texts)}


def first_colour(text):
    return text.split(",")[0].split(" ", 1)[1]  # "a dark green and white, small, ..." -> "dark green and white"


def test_one_sentence_per_mask(arc2017, arc_descriptions):
    assert len(arc_descriptions) == len(arc2017["masks"])
    assert all(t.startswith(("a ", "an ")) and " region in the " in t for t in arc_descriptions.values())


def test_green_box_is_green_and_book_is_red(arc_descriptions):
    soap, book = arc_descriptions["irish_spring_soap"], arc_descriptions["laugh_out_loud_jokes"]
    assert first_colour(soap).split(" and ")[0] in ("green", "dark green")
    assert first_colour(book).split(" and ")[0] in ("red", "dark red")
    assert "rectangular" in soap
    assert "yellow" in first_colour(arc_descriptions["burts_bees_baby_wipes"])


def test_red_and_green_fruit_read_differently():
    # The same round region, once ripe-red and once unripe-green, on a wooden-table brown.
    image = np.full((120, 160, 3), (120, 80, 50), np.uint8)
    yy, xx = np.mgrid[:120, :160]
    disc = (yy - 60) ** 2 + (xx - 40) ** 2 < 15 ** 2
    describer = AttributeDescriber(AttributesDescriberConfig())
    red, green = image.copy(), image.copy()
    red[disc] = (200, 20, 30)
    green[disc] = (70, 150, 40)
    (red_text,) = describer.describe(red, [MaskProposal(disc)])
    (green_text,) = describer.describe(green, [MaskProposal(disc)])
    assert red_text.startswith("a red,") and green_text.startswith("a green,")
    assert red_text == "a red, medium, round region in the centre-left, uniform texture"


@pytest.mark.parametrize("rgb, name", [
    ((255, 0, 0), "red"), ((128, 0, 0), "dark red"), ((255, 165, 0), "orange"), ((255, 255, 0), "yellow"),
    ((34, 139, 34), "green"), ((0, 100, 0), "dark green"), ((0, 0, 255), "blue"), ((128, 0, 128), "purple"),
    ((255, 192, 203), "pink"), ((139, 69, 19), "brown"), ((245, 245, 220), "beige"), ((250, 250, 250), "white"),
    ((128, 128, 128), "grey"), ((20, 20, 20), "black"),
])
def test_colour_names(rgb, name):
    assert colour_names(rgb_to_lab(np.array([rgb], np.uint8)))[0] == name


def test_position_border_and_shape_words():
    image = skimage.data.astronaut()
    h, w = image.shape[:2]
    top_left = np.zeros((h, w), bool)
    top_left[: h // 5, : w // 5] = True
    bar = np.zeros((h, w), bool)
    bar[h // 2 - 5: h // 2 + 5, w // 4: 3 * w // 4] = True
    corner, middle = AttributeDescriber(AttributesDescriberConfig()).describe(
        image, [MaskProposal(top_left), MaskProposal(bar)])
    assert "top-left" in corner and "touching the image border" in corner and "square" in corner
    assert "centre" in middle and "elongated horizontal" in middle and "border" not in middle


def test_scene_and_empty_mask():
    image = skimage.data.coffee()
    describer = AttributeDescriber(AttributesDescriberConfig())
    masks = [MaskProposal(np.zeros(image.shape[:2], bool))] * 3
    assert describer.describe(image, masks[:1]) == ["an empty region"]
    scene = describer.describe_scene(image, masks)
    assert "3 segmented regions" in scene and ("brown" in scene or "orange" in scene or "red" in scene)
    assert AttributeDescriber(AttributesDescriberConfig(include_scene=False)).describe_scene(image, masks) == ""


def test_deterministic(arc2017):
    describer = AttributeDescriber(AttributesDescriberConfig())
    masks = [MaskProposal(mask=m.astype(bool)) for m in arc2017["masks"]]
    assert describer.describe(arc2017["rgb"], masks) == describer.describe(arc2017["rgb"], masks)


def test_word_thresholds_are_config_fields(arc2017, arc_descriptions):
    from gear_seg_ros.errors import ConfigError

    masks = [MaskProposal(mask=m.astype(bool)) for m in arc2017["masks"]]
    all_large = AttributeDescriber(AttributesDescriberConfig(tiny_below=0.0, small_below=0.0, medium_below=0.0))
    assert all(", large, " in t for t in all_large.describe(arc2017["rgb"], masks))
    assert not all(", large, " in t for t in arc_descriptions.values())  # the defaults grade sizes
    all_uniform = AttributeDescriber(AttributesDescriberConfig(uniform_texture_below=1000.0, textured_from=1000.0))
    assert all("uniform texture" in t for t in all_uniform.describe(arc2017["rgb"], masks))
    assert not all("uniform texture" in t for t in arc_descriptions.values())
    with pytest.raises(ValueError, match="tiny_below <= small_below <= medium_below"):
        AttributesDescriberConfig(tiny_below=0.5, small_below=0.1)
    from gear_seg_ros.config import AgentConfig

    with pytest.raises(ConfigError, match=r"describer.attributes.second_colour_share"):
        AgentConfig.from_dict({"describer": {"attributes": {"second_colour_share": 0.0}}})
