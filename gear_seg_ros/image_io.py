"""Loading and validating images. The agent works on RGB uint8 H x W x 3."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from gear_seg_ros.errors import InvalidImageError


def validate_image(image: object, max_side: int = 8192) -> np.ndarray:
    """Returns an RGB uint8 H x W x 3 view/copy of `image`, or raises InvalidImageError saying what is wrong."""
    if not isinstance(image, np.ndarray):
        raise InvalidImageError(f"expected a numpy array, got {type(image).__name__}")
    if image.size == 0:
        raise InvalidImageError(f"the image is empty (shape {image.shape})")
    if image.dtype != np.uint8:
        raise InvalidImageError(
            f"unsupported dtype {image.dtype}: pass 8-bit images (uint8); convert e.g. with "
            f"(img / img.max() * 255).astype(np.uint8)")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    elif not (image.ndim == 3 and image.shape[2] == 3):
        raise InvalidImageError(
            f"unsupported image shape {image.shape}: expected H x W x 3 (RGB), H x W x 4 (RGBA) or H x W (mono)")
    h, w = image.shape[:2]
    if min(h, w) < 16:
        raise InvalidImageError(f"image too small ({w}x{h}); at least 16x16 pixels are needed")
    if max(h, w) > max_side:
        raise InvalidImageError(f"image too large ({w}x{h}); resize it so the longest side is <= {max_side} "
                                f"(limits.max_image_side)")
    return np.ascontiguousarray(image)


def load_image(path: str | Path, max_side: int = 8192) -> np.ndarray:
    """Reads an image file as RGB uint8."""
    import cv2

    path = Path(path)
    if path.is_dir():
        raise InvalidImageError(f"{path} is a folder, not an image file; pass one image file")
    if not path.is_file():
        raise InvalidImageError(f"image file not found: {path}")
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise InvalidImageError(f"cannot decode {path}: not an image file OpenCV reads (PNG, JPEG, BMP, TIFF...)")
    return validate_image(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), max_side)


def save_image(path: str | Path, image_rgb: np.ndarray) -> None:
    import cv2

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")
