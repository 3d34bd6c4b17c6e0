"""Pixel-only attribute descriptions: colour names (CIELAB), size, position, shape, texture, border contact.

Colour words come first in every sentence because the embedding reasoner matches instructions such as
"the green box" against these sentences.
"""
from __future__ import annotations

import cv2
import numpy as np

from gear_seg_ros.describe.base import Describer
from gear_seg_ros.describe.settings import AttributesDescriberConfig
from gear_seg_ros.types import MaskProposal, mask_box


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (... x 3) -> float32 CIELAB with L in 0..100 and a, b roughly -128..127."""
    flat = np.ascontiguousarray(rgb, dtype=np.uint8).reshape(-1, 1, 3)
    lab = cv2.cvtColor(flat.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    return lab.reshape(rgb.shape[:-1] + (3,))


def colour_names(lab: np.ndarray) -> np.ndarray:
    """Name each CIELAB colour (N x 3) with one of a small robot-picker vocabulary."""
    lab = np.atleast_2d(np.asarray(lab, dtype=np.float32))
    light, a, b = lab[:, 0], lab[:, 1], lab[:, 2]
    chroma = np.hypot(a, b)
    hue = np.degrees(np.arctan2(b, a)) % 360.0
    names = np.full(len(lab), "grey", dtype=object)

    # Hue sectors (Lab hue angle): sRGB red is ~40 deg, yellow ~102, green ~136, cyan ~196, blue ~306, magenta ~328.
    red = (hue < 50) | (hue >= 355)
    orange = (hue >= 50) & (hue < 75)
    yellow = (hue >= 75) & (hue < 110)
    green = (hue >= 110) & (hue < 190)
    cyan = (hue >= 190) & (hue < 225)
    blue = (hue >= 225) & (hue < 316)
    purple = (hue >= 316) & (hue < 340)
    pink_hue = (hue >= 340) & (hue < 355)

    names[red] = "red"
    names[orange] = "orange"
    names[yellow] = "yellow"
    names[green] = "green"
    names[cyan] = "cyan"
    names[blue] = "blue"
    names[purple] = "purple"
    names[pink_hue] = "pink"
    # Light, weakly saturated reds/purples read as pink; dark oranges/yellows read as brown.
    names[(red | purple) & (light > 65) & (chroma < 55)] = "pink"
    names[(red | orange | yellow) & (light < 50) & ~(red & (chroma > 45))] = "brown"
    names[red & (light < 35) & (chroma > 30)] = "dark red"
    names[green & (light < 40)] = "dark green"
    names[blue & (light < 25)] = "dark blue"
    names[(orange | yellow) & (light >= 60) & (chroma < 30)] = "beige"

    achromatic = chroma < 12
    names[achromatic] = "grey"
    names[achromatic & (light >= 85)] = "white"
    names[achromatic & (light < 25)] = "black"
    names[achromatic & (light >= 70) & (light < 85)] = "light grey"
    names[achromatic & (light >= 25) & (light < 40)] = "dark grey"
    names[(chroma < 8) & (light < 20)] = "black"
    return names


def _family(name: str) -> str:
    """Shade-independent colour family, so 'red' and 'dark red' do not count as two colours."""
    return name.split()[-1]


def _sample(pixels: np.ndarray, max_pixels: int) -> np.ndarray:
    step = max(1, len(pixels) // max_pixels)
    return pixels[::step]


class AttributeDescriber(Describer):
    name = "attributes"

    def __init__(self, cfg: AttributesDescriberConfig | None = None) -> None:
        self.cfg = cfg or AttributesDescriberConfig()

    def describe(self, image: np.ndarray, masks: list[MaskProposal]) -> list[str]:
        lab = rgb_to_lab(image)
        light = lab[..., 0]
        gradient = np.hypot(cv2.Sobel(light, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(light, cv2.CV_32F, 0, 1, ksize=3))
        return [self._describe_one(lab, gradient, m.mask) for m in masks]

    def describe_scene(self, image: np.ndarray, masks: list[MaskProposal]) -> str:
        if not self.cfg.include_scene:
            return ""
        cfg = self.cfg
        names = colour_names(_sample(rgb_to_lab(image).reshape(-1, 3), cfg.max_pixels))
        families, counts = np.unique([_family(n) for n in names], return_counts=True)
        order = np.argsort(-counts, kind="stable")
        dominant = [str(families[i]) for i in order[:cfg.scene_colours]
                    if counts[i] >= cfg.scene_colour_min_share * len(names)]
        noun = "region" if len(masks) == 1 else "regions"
        return f"a scene of mostly {_join(dominant)} colours with {len(masks)} segmented {noun}"

    # ---- one mask --------------------------------------------------------------------------------------------
    def _describe_one(self, lab: np.ndarray, gradient: np.ndarray, mask: np.ndarray) -> str:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return "an empty region"
        # Work on the mask's box (plus a margin for the erosion) rather than the whole image.
        height, width = mask.shape
        x0, y0, x1, y1 = mask_box(mask)
        touches_border = x0 == 0 or y0 == 0 or x1 == width or y1 == height
        x0, y0, x1, y1 = max(0, x0 - 3), max(0, y0 - 3), min(width, x1 + 3), min(height, y1 + 3)
        crop = mask[y0:y1, x0:x1]
        cfg = self.cfg
        colour = _colour_phrase(_sample(lab[y0:y1, x0:x1][crop], cfg.max_pixels), cfg.second_colour_share)
        article = "an" if colour[0] in "aeiou" else "a"
        ys, xs = np.nonzero(crop)
        position = _position_word((ys.mean() + y0) / height, (xs.mean() + x0) / width)
        parts = [f"{article} {colour}", _size_word(len(xs) / mask.size, cfg), _shape_words(xs, ys)]
        texture = _texture_word(crop, gradient[y0:y1, x0:x1], cfg)
        sentence = ", ".join(parts) + f" region in the {position}, {texture}"
        if touches_border:
            sentence += ", touching the image border"
        return sentence


def _colour_phrase(pixels_lab: np.ndarray, second_share: float) -> str:
    primary = str(colour_names(np.median(pixels_lab, axis=0))[0])
    families = np.array([_family(n) for n in colour_names(pixels_lab)])
    values, counts = np.unique(families[families != _family(primary)], return_counts=True)
    if len(values) and counts.max() >= second_share * len(families):
        return f"{primary} and {values[np.argmax(counts)]}"
    return primary


def _size_word(fraction: float, cfg: AttributesDescriberConfig) -> str:
    if fraction < cfg.tiny_below:
        return "tiny"
    if fraction < cfg.small_below:
        return "small"
    if fraction < cfg.medium_below:
        return "medium"
    return "large"


def _position_word(row_fraction: float, col_fraction: float) -> str:
    row = ("top", "centre", "bottom")[min(2, int(3 * row_fraction))]
    col = ("left", "centre", "right")[min(2, int(3 * col_fraction))]
    if row == col == "centre":
        return "centre"
    return f"{row}-{col}"


def _shape_words(xs: np.ndarray, ys: np.ndarray) -> str:
    area = len(xs)
    if area < 5:
        return "tiny-spot"
    cov = np.cov(np.stack([xs, ys]).astype(np.float64))
    eigvals, eigvecs = np.linalg.eigh(cov)
    elongation = float(np.sqrt(max(eigvals[1], 1e-9) / max(eigvals[0], 1e-9)))
    extent = area / float((xs.max() - xs.min() + 1) * (ys.max() - ys.min() + 1))
    hull = cv2.convexHull(np.stack([xs, ys], axis=1).astype(np.int32))
    solidity = area / max(float(cv2.contourArea(hull)) + 0.5 * len(hull), 1.0)

    if elongation >= 2.5:
        major_x, major_y = eigvecs[:, 1]
        if abs(major_x) > 2 * abs(major_y):
            return "elongated horizontal"
        if abs(major_y) > 2 * abs(major_x):
            return "elongated vertical"
        return "elongated diagonal"
    if solidity < 0.75:
        return "irregular"
    if extent >= 0.85 or (solidity >= 0.9 and extent >= 0.8 and elongation >= 1.3):
        return "square" if elongation < 1.3 else "rectangular"
    if elongation < 1.5 and solidity >= 0.85:
        return "round"
    return "oval" if solidity >= 0.85 else "irregular"


def _texture_word(mask: np.ndarray, gradient: np.ndarray, cfg: AttributesDescriberConfig) -> str:
    # The interior only: the region's own outline is always a strong edge.
    interior = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    values = gradient[interior] if interior.sum() >= 20 else gradient[mask]
    strength = float(np.mean(values))
    if strength < cfg.uniform_texture_below:
        return "uniform texture"
    if strength < cfg.textured_from:
        return "slightly textured"
    return "textured"


def _join(words: list[str]) -> str:
    if not words:
        return "mixed"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]
