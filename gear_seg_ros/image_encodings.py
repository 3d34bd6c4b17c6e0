"""Colour encodings ROS 2 camera drivers publish -> RGB uint8, with OpenCV, in one place (no ROS import).

Names and meanings follow sensor_msgs/image_encodings.hpp: in ROS 2 `yuv422` is UYVY byte order (U Y0 V Y1) and
`yuv422_yuy2` is YUYV (Y0 U Y1 V); `uyvy`, `yuyv` and `yuy2` are accepted as aliases some drivers use. `nv12` / `nv21`
are 4:2:0 semi-planar: `height` image rows of Y (`step` bytes each) followed by height/2 rows of interleaved chroma,
so `data` holds step * height * 3/2 bytes. Bayer names give the 2x2 pattern starting at pixel (0, 0); OpenCV names
a pattern by the second row instead, hence bayer_rggb8 -> COLOR_BayerBG2RGB (the mapping cv_bridge uses).

16-bit colour/IR (mono16, 16UC1 on the image topic, bayer_*16, rgb16...) is scaled to 8 bit by `max16`, the sensor's
full-scale value: 65535 (default) for full-range data, 1023 / 4095 for 10 / 12-bit sensors, 0 = each frame's maximum.
Bayer 16 is scaled before demosaicing (the agent sees 8 bit anyway).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gear_seg_ros.errors import InvalidImageError


@dataclass(frozen=True)
class Encoding:
    name: str
    dtype: str  # element type of one sample
    channels: int  # samples per pixel in a row (packed 4:2:2: 2)
    kind: str  # rgb | bgr | rgba | bgra | mono | yuv422_uyvy | yuv422_yuyv | nv12 | nv21 | bayer_XXXX
    lossless: bool  # RGB out == what an rgb8 publisher of the same picture sends
    rows_x2: int = 2  # data rows per image row, times 2 (nv12/nv21: 3)
    even_w: bool = False
    even_h: bool = False
    canonical: str = ""  # for an alias: the sensor_msgs name

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)


def _table() -> dict[str, Encoding]:
    e: list[Encoding] = [
        Encoding("rgb8", "u1", 3, "rgb", True), Encoding("bgr8", "u1", 3, "bgr", True),
        Encoding("rgba8", "u1", 4, "rgba", True), Encoding("bgra8", "u1", 4, "bgra", True),
        Encoding("rgb16", "u2", 3, "rgb", True), Encoding("bgr16", "u2", 3, "bgr", True),
        Encoding("rgba16", "u2", 4, "rgba", True), Encoding("bgra16", "u2", 4, "bgra", True),
        Encoding("mono8", "u1", 1, "mono", True), Encoding("8UC1", "u1", 1, "mono", True, canonical="mono8"),
        Encoding("mono16", "u2", 1, "mono", True), Encoding("16UC1", "u2", 1, "mono", True, canonical="mono16"),
        Encoding("yuv422", "u1", 2, "yuv422_uyvy", False, even_w=True),
        Encoding("uyvy", "u1", 2, "yuv422_uyvy", False, even_w=True, canonical="yuv422"),
        Encoding("yuv422_yuy2", "u1", 2, "yuv422_yuyv", False, even_w=True),
        Encoding("yuyv", "u1", 2, "yuv422_yuyv", False, even_w=True, canonical="yuv422_yuy2"),
        Encoding("yuy2", "u1", 2, "yuv422_yuyv", False, even_w=True, canonical="yuv422_yuy2"),
        Encoding("nv12", "u1", 1, "nv12", False, rows_x2=3, even_w=True, even_h=True),
        Encoding("nv21", "u1", 1, "nv21", False, rows_x2=3, even_w=True, even_h=True),
    ]
    for pattern in ("rggb", "bggr", "gbrg", "grbg"):
        e.append(Encoding(f"bayer_{pattern}8", "u1", 1, f"bayer_{pattern}", False, even_w=True, even_h=True))
        e.append(Encoding(f"bayer_{pattern}16", "u2", 1, f"bayer_{pattern}", False, even_w=True, even_h=True))
    return {x.name: x for x in e}


COLOUR: dict[str, Encoding] = _table()

# OpenCV codes, by ROS name (cv_bridge's mapping: OpenCV names a Bayer pattern by its second row).
_BAYER = {"bayer_rggb": "COLOR_BayerBG2RGB", "bayer_bggr": "COLOR_BayerRG2RGB",
          "bayer_gbrg": "COLOR_BayerGR2RGB", "bayer_grbg": "COLOR_BayerGB2RGB"}
_TO_RGB = {"bgr": "COLOR_BGR2RGB", "rgba": "COLOR_RGBA2RGB", "bgra": "COLOR_BGRA2RGB", "mono": "COLOR_GRAY2RGB",
           "yuv422_uyvy": "COLOR_YUV2RGB_UYVY", "yuv422_yuyv": "COLOR_YUV2RGB_YUY2",
           "nv12": "COLOR_YUV2RGB_NV12", "nv21": "COLOR_YUV2RGB_NV21", **_BAYER}

_USB_CAM = "usb_cam pixel_format:=yuyv2rgb (or mjpeg2rgb) publishes rgb8"
_REALSENSE = "realsense2_camera rgb_camera.color_format:=RGB8 publishes rgb8"
# Rejected encodings -> (closest accepted encoding, how to get it).
REJECTED: dict[str, tuple[str, str]] = {
    "8UC3": ("bgr8", "8UC3 does not say the channel order; publish bgr8 or rgb8 (cv_bridge: encoding='bgr8')"),
    "8UC4": ("bgra8", "8UC4 does not say the channel order; publish bgra8 or rgba8"),
    "nv24": ("nv12", "4:4:4 semi-planar is not converted here; set the driver to nv12 / yuv422_yuy2, or "
                     + _USB_CAM),
    "i420": ("nv12", "planar I420 is not a sensor_msgs encoding; set the driver to nv12 or yuv422_yuy2"),
    "yv12": ("nv12", "planar YV12 is not a sensor_msgs encoding; set the driver to nv12 or yuv422_yuy2"),
    "yvyu": ("yuv422_yuy2", "YVYU is not a sensor_msgs encoding; set the driver to YUYV (yuv422_yuy2), or "
                            + _USB_CAM),
    "32FC1": ("mono16", ("32FC1 is a depth image: remap depth:= to it and image:= to the colour topic "
                         "(an IR stream as mono8 / mono16)")),
    "64FC1": ("mono16", "64FC1 is not a camera format: remap depth:= or image:= to the camera's own topics"),
    "jpeg": ("rgb8", "this is a compressed stream: set use_compressed:=true and remap image/compressed:= to it"),
    "png": ("rgb8", "this is a compressed stream: set use_compressed:=true and remap image/compressed:= to it"),
    "h264": ("rgb8", ("video streams are not decoded here; subscribe the camera's raw image or its "
                      "image/compressed (jpeg) topic with use_compressed:=true")),
}


def accepted() -> list[str]:
    return list(COLOUR)


def lookup(encoding: str) -> Encoding:
    """The Encoding, or InvalidImageError naming the closest accepted one and a driver setting that produces it."""
    spec = COLOUR.get(encoding)
    if spec is not None:
        return spec
    closest, how = REJECTED.get(encoding) or REJECTED.get(encoding.lower()) or (None, "")
    if closest is None:
        low = encoding.lower()
        if low in COLOUR:
            closest, how = low, f"encoding names are case-sensitive: publish {low!r}"
        elif low.startswith(("yuv", "yuyv", "uyvy")):
            closest, how = "yuv422_yuy2", _USB_CAM
        elif low.startswith("bayer"):
            closest, how = "bayer_rggb8", "publish one of bayer_rggb8/bggr8/gbrg8/grbg8 (or the 16-bit ones)"
        else:
            closest, how = "rgb8", _REALSENSE + "; or convert with image_proc"
    raise InvalidImageError(f"unsupported image encoding {encoding!r}; closest accepted: {closest} ({how}); "
                            f"accepted: {', '.join(accepted())}")


def check_shape(spec: Encoding, height: int, width: int) -> None:
    if (spec.even_w and width % 2) or (spec.even_h and height % 2):
        need = "width and height" if spec.even_h else "width"
        raise InvalidImageError(f"{spec.name} image is {width}x{height}; its {need} must be even (chroma is "
                                "subsampled 2x); set an even resolution in the camera driver")


def scale16(arr: np.ndarray, max16: float) -> np.ndarray:
    """uint16 -> uint8 with `max16` as full scale (0 = the frame's maximum), rounded and saturated."""
    import cv2

    full = max(int(arr.max()) if max16 <= 0 else float(max16), 1)
    return cv2.convertScaleAbs(np.ascontiguousarray(arr), alpha=255.0 / full)


def to_rgb(pixels: np.ndarray, encoding: str, max16: float = 65535) -> np.ndarray:
    """RGB uint8 H x W x 3 from the message's samples: H x W x C (C > 1), H x W, or for nv12/nv21 the
    (H * 3/2) x W plane stack; native byte order."""
    import cv2

    spec = lookup(encoding)
    if pixels.dtype == np.uint16:
        pixels = scale16(pixels, max16)
    if spec.channels == 2:
        pixels = pixels.reshape(pixels.shape[0], -1, 2)
    if spec.kind == "rgb":
        return np.ascontiguousarray(pixels)
    return cv2.cvtColor(np.ascontiguousarray(pixels), getattr(cv2, _TO_RGB[spec.kind]))


def from_rgb(rgb: np.ndarray, encoding: str) -> np.ndarray:
    """The inverse, for tests and `gear-seg bag make`: samples of `encoding` holding an RGB picture (16-bit values
    are the 8-bit ones times 257, i.e. full scale 65535; mono/bayer take the green-weighted grey / mosaic)."""
    import cv2

    spec = lookup(encoding)
    rgb = np.ascontiguousarray(rgb, np.uint8)
    h, w = rgb.shape[:2]
    check_shape(spec, h, w)
    kind = spec.kind
    if kind == "rgb":
        out = rgb
    elif kind in ("bgr", "rgba", "bgra", "mono"):
        code = {"bgr": "COLOR_RGB2BGR", "rgba": "COLOR_RGB2RGBA", "bgra": "COLOR_RGB2BGRA", "mono": "COLOR_RGB2GRAY"}
        out = cv2.cvtColor(rgb, getattr(cv2, code[kind]))
    elif kind == "yuv422_uyvy":
        out = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_UYVY).reshape(h, w * 2)
    elif kind == "yuv422_yuyv":
        out = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_YUY2).reshape(h, w * 2)
    elif kind in ("nv12", "nv21"):
        i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)  # Y plane, then U (h/4 x w), then V
        y, u, v = i420[:h], i420[h:h + h // 4].reshape(-1), i420[h + h // 4:].reshape(-1)
        chroma = np.stack([u, v] if kind == "nv12" else [v, u], axis=1).reshape(h // 2, w)
        out = np.vstack([y, chroma])
    else:  # bayer: keep, at each pixel, the channel the pattern samples there
        pattern = kind.split("_")[1]
        index = {"r": 0, "g": 1, "b": 2}
        out = np.empty((h, w), np.uint8)
        for k, (dy, dx) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
            out[dy::2, dx::2] = rgb[dy::2, dx::2, index[pattern[k]]]
    if spec.np_dtype == np.uint16:
        out = out.astype(np.uint16) * np.uint16(257)
    return np.ascontiguousarray(out)
