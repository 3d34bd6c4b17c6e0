"""Write camera frames to a rosbag2 (MCAP, CDR) that `ros2 bag play` on Jazzy accepts. ROS-free: uses rosbags."""
from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from gear_seg_ros.compressed_depth import encode as encode_depth
from gear_seg_ros.errors import ConfigError, InvalidImageError
from gear_seg_ros.image_encodings import COLOUR, from_rgb
from gear_seg_ros.image_encodings import lookup as lookup_encoding
from gear_seg_ros.image_io import load_image, validate_image

ImageLike = np.ndarray | str | Path

IMAGE_TYPE = "sensor_msgs/msg/Image"
INFO_TYPE = "sensor_msgs/msg/CameraInfo"
COMPRESSED_TYPE = "sensor_msgs/msg/CompressedImage"
_INFINITE = QosTime(sec=9223372036, nsec=854775807)  # how Jazzy's rosbag2 writes an infinite duration
# What a recorder stores for a default publisher; reliable also serves best-effort subscribers on play.
RECORDED_QOS = Qos(QosHistory.KEEP_LAST, 10, QosReliability.RELIABLE, QosDurability.VOLATILE, _INFINITE,
                   _INFINITE, QosLiveliness.AUTOMATIC, _INFINITE, False)


def make_bag(images: Sequence[ImageLike], out_dir: str | Path, topic: str = "/camera/image", rate_hz: float = 10.0,
             frame_id: str = "camera", depth: Sequence[ImageLike] | None = None, depth_topic: str = "/camera/depth",
             camera_info: dict | None = None, info_topic: str = "/camera/camera_info",
             start_ns: int | None = None, compressed_depth: str | None = None, encoding: str = "rgb8") -> Path:
    """Writes one rgb8 Image per entry of `images` (arrays or files) at `rate_hz`, starting at `start_ns`
    (default: now). `depth` (same length; float32 metres -> 32FC1, uint16 millimetres -> 16UC1, or .npy/16-bit PNG
    files) and `camera_info` ({"K": 3x3, "width", "height"}, optional "D", "R", "P", "distortion_model") add
    their topics with the same stamps. `compressed_depth` ("png" / "rvl") writes depth as image_transport's
    compressedDepth CompressedImage on `<depth_topic>/compressedDepth` instead of a raw Image; `encoding` writes the
    colour images in any encoding of gear_seg_ros.image_encodings (yuv422_yuy2, bayer_rggb8, ...). Returns the bag
    folder, which must not exist yet."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        raise ConfigError(f"{out_dir} already exists; remove it or choose another output folder")
    if not images:
        raise InvalidImageError("no images given; pass at least one image array or file")
    if rate_hz <= 0:
        raise ConfigError(f"rate_hz must be > 0, got {rate_hz}")
    if compressed_depth not in (None, "png", "rvl"):
        raise ConfigError(f"compressed_depth must be png or rvl, got {compressed_depth!r}")
    lookup_encoding(encoding)  # a clear error for a name it cannot write
    frames = [load_image(x) if isinstance(x, (str, Path)) else validate_image(x) for x in images]
    shape = frames[0].shape
    if any(f.shape != shape for f in frames):
        raise InvalidImageError(f"all images must have the same size; got {sorted({f.shape for f in frames})}")
    depths = [_load_depth(x, shape[:2]) for x in depth] if depth is not None else None
    if depths is not None and len(depths) != len(frames):
        raise InvalidImageError(f"{len(depths)} depth images for {len(frames)} images; give one per image")

    store = get_typestore(Stores.ROS2_JAZZY)
    start_ns = time.time_ns() if start_ns is None else int(start_ns)
    period_ns = round(1e9 / rate_hz)
    with Writer(out_dir, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        def connect(name: str, msgtype: str):
            return writer.add_connection(name, msgtype, typestore=store, offered_qos_profiles=[RECORDED_QOS])

        image_conn = connect(topic, IMAGE_TYPE)
        if depths is None:
            depth_conn = None
        elif compressed_depth:
            depth_conn = connect(f"{depth_topic}/compressedDepth", COMPRESSED_TYPE)
        else:
            depth_conn = connect(depth_topic, IMAGE_TYPE)
        info_conn = connect(info_topic, INFO_TYPE) if camera_info is not None else None
        info = _camera_info(store, camera_info, shape) if camera_info is not None else None
        for i, frame in enumerate(frames):
            stamp = start_ns + i * period_ns
            header = _header(store, stamp, frame_id)
            writer.write(image_conn, stamp, store.serialize_cdr(_colour(store, header, frame, encoding), IMAGE_TYPE))
            if depth_conn is not None and compressed_depth:
                fmt, data = encode_depth(depths[i], compressed_depth)
                msg = store.types[COMPRESSED_TYPE](header=header, format=fmt, data=np.frombuffer(data, np.uint8))
                writer.write(depth_conn, stamp, store.serialize_cdr(msg, COMPRESSED_TYPE))
            elif depth_conn is not None:
                d = depths[i]
                msg = _image(store, header, d, "32FC1" if d.dtype == np.float32 else "16UC1")
                writer.write(depth_conn, stamp, store.serialize_cdr(msg, IMAGE_TYPE))
            if info_conn is not None:
                info.header = header
                writer.write(info_conn, stamp, store.serialize_cdr(info, INFO_TYPE))
    return out_dir


def _load_depth(item: ImageLike, hw: tuple[int, int]) -> np.ndarray:
    if isinstance(item, (str, Path)):
        path = Path(item)
        if not path.is_file():
            raise InvalidImageError(f"depth file not found: {path}")
        if path.suffix == ".npy":
            item = np.load(path)
        else:
            import cv2

            item = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if item is None:
                raise InvalidImageError(f"cannot decode depth image {path}; use a 16-bit PNG (mm) or a .npy file")
    arr = np.asarray(item)
    if arr.dtype not in (np.float32, np.uint16) or arr.ndim != 2:
        raise InvalidImageError(f"depth must be H x W float32 (metres) or uint16 (millimetres); "
                                f"got {arr.dtype} {arr.shape}")
    if arr.shape != hw:
        raise InvalidImageError(f"depth is {arr.shape[1]}x{arr.shape[0]} but the images are {hw[1]}x{hw[0]}")
    return np.ascontiguousarray(arr)


def _header(store, stamp_ns: int, frame_id: str):
    t = store.types["builtin_interfaces/msg/Time"](sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
    return store.types["std_msgs/msg/Header"](stamp=t, frame_id=frame_id)


def _image(store, header, arr: np.ndarray, encoding: str):
    h, w = arr.shape[:2]
    data = np.frombuffer(arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes(), np.uint8)
    return store.types[IMAGE_TYPE](header=header, height=h, width=w, encoding=encoding, is_bigendian=0,
                                   step=arr.strides[0], data=data)


def _colour(store, header, rgb: np.ndarray, encoding: str):
    if encoding == "rgb8":
        return _image(store, header, rgb, "rgb8")
    spec = COLOUR[encoding]
    arr = from_rgb(rgb, encoding)
    h, w = rgb.shape[:2]
    data = np.frombuffer(arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes(), np.uint8)
    return store.types[IMAGE_TYPE](header=header, height=h, width=w, encoding=encoding, is_bigendian=0,
                                   step=w * spec.channels * spec.np_dtype.itemsize, data=data)


def _camera_info(store, info: dict, shape: tuple[int, ...]):
    try:
        k = np.asarray(info["K"], np.float64).reshape(9)
        width, height = int(info["width"]), int(info["height"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"camera_info needs K (3x3), width and height; {exc!r}") from None
    if (height, width) != shape[:2]:
        raise ConfigError(f"camera_info is {width}x{height} but the images are {shape[1]}x{shape[0]}")
    p = info.get("P")
    p = np.asarray(p, np.float64).reshape(12) if p is not None else np.hstack([k.reshape(3, 3), np.zeros((3, 1))])
    d = np.asarray(info.get("D", [0.0] * 5), np.float64).reshape(-1)
    roi = store.types["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0,
                                                          do_rectify=False)
    return store.types[INFO_TYPE](
        header=_header(store, 0, ""), height=height, width=width,
        distortion_model=str(info.get("distortion_model", "plumb_bob")), d=d, k=k,
        r=np.asarray(info.get("R", np.eye(3)), np.float64).reshape(9), p=p.reshape(12),
        binning_x=0, binning_y=0, roi=roi)
