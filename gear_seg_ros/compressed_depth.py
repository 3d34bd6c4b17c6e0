"""image_transport's `compressedDepth` (sensor_msgs/CompressedImage on `<depth>/compressedDepth`), ROS-free.

Written from compressed_depth_image_transport's codec (ros-perception/image_transport_plugins, rolling):
- `format` is "<encoding>; compressedDepth <png|rvl>" (older publishers: "<encoding>; compressedDepth", or no
  ";" at all: both mean png); `<encoding>` is the raw image's, 16UC1 or 32FC1.
- `data` = a 12-byte ConfigHeader (int32 format, 0 = INV_DEPTH; float32 depthQuantA, depthQuantB; little-endian,
  as every ROS 2 target stores them) followed by the compressed image.
- 16UC1: the millimetre image itself, lossless (the publisher zeroes values above depth_max * 1000).
- 32FC1: metres quantised to uint16 inverse depth: value = A / depth + B, truncated, 0 = no reading (NaN, or
  depth >= depth_max), with A = z0 * (z0 + 1), B = 1 - A / depth_max (z0 = the `depth_quantization` parameter,
  default 100; depth_max default 10 m); decoded as depth = A / (value - B). One quantisation step at depth d is
  about d^2 / A (0.1 mm at 1 m with the defaults).
- png: a 16-bit single-channel PNG; rvl: uint32 cols, uint32 rows, then Wilson's RVL stream (run lengths of zeros
  and non-zeros, zig-zag deltas, 3-bit variable-length nibbles packed into 32-bit words, first nibble highest).
"""
from __future__ import annotations

import struct

import numpy as np

from gear_seg_ros.errors import InvalidImageError

HEADER = struct.Struct("<iff")  # compressionFormat, depthParam[0], depthParam[1]
INV_DEPTH = 0
_FIX = ("publish depth through image_transport's compressed_depth plugin (format '16UC1; compressedDepth png'), "
        "or set use_compressed_depth:=false and subscribe the raw depth image")


def parse_format(fmt: str) -> tuple[str, str]:
    """(raw encoding, 'png' | 'rvl') from a CompressedImage.format, as the upstream subscriber reads it."""
    fmt = fmt or ""
    encoding, sep, rest = fmt.partition(";")
    encoding = encoding.strip()
    if not sep or "compressedDepth png" in rest:
        codec = "png"
    elif "compressedDepth rvl" in rest:
        codec = "rvl"
    elif "compressedDepth" in rest and "compressedDepth " not in rest:
        codec = "png"
    else:
        raise InvalidImageError(f"CompressedImage format {fmt!r} is not compressedDepth png or rvl "
                                f"(a colour jpeg/png stream on the depth topic?); {_FIX}")
    if encoding not in ("16UC1", "mono16", "32FC1"):
        raise InvalidImageError(f"compressedDepth of encoding {encoding!r}: only 16UC1 (mm) and 32FC1 (m) depth is "
                                f"understood; {_FIX}")
    return encoding, codec


def decode(fmt: str, data: bytes | bytearray | memoryview) -> tuple[str, np.ndarray]:
    """(encoding, H x W array): uint16 millimetres for 16UC1, float32 metres (NaN = no reading) for 32FC1."""
    encoding, codec = parse_format(fmt)
    buf = np.frombuffer(bytes(data) if not isinstance(data, bytes) else data, np.uint8)
    if buf.size <= HEADER.size:
        raise InvalidImageError(f"compressedDepth message has {buf.size} bytes, not more than its "
                                f"{HEADER.size}-byte header; {_FIX}")
    _fmt, quant_a, quant_b = HEADER.unpack_from(buf[:HEADER.size].tobytes())
    payload = buf[HEADER.size:]
    raw = _png_decode(payload) if codec == "png" else rvl_decode(payload)
    if encoding != "32FC1":
        return encoding, raw
    with np.errstate(divide="ignore"):
        metres = np.float32(quant_a) / (raw.astype(np.float32) - np.float32(quant_b))
    metres[raw == 0] = np.nan
    return encoding, metres.astype(np.float32)


def decode_metres(fmt: str, data: bytes) -> np.ndarray:
    """float32 metres, NaN where there is no reading (16UC1 0 mm, 32FC1 value 0)."""
    encoding, arr = decode(fmt, data)
    if encoding == "32FC1":
        out = arr.copy()
        out[~np.isfinite(out) | (out <= 0)] = np.nan
        return out
    out = arr.astype(np.float32) * np.float32(0.001)
    out[arr == 0] = np.nan
    return out


def quantisation(depth_max: float = 10.0, depth_quantization: float = 100.0) -> tuple[float, float]:
    """(depthQuantA, depthQuantB) as the publisher computes them (float32)."""
    a = np.float32(depth_quantization) * (np.float32(depth_quantization) + np.float32(1.0))
    b = np.float32(1.0) - a / np.float32(depth_max)
    return float(a), float(b)


def quantisation_step(depth_m: float, depth_max: float = 10.0, depth_quantization: float = 100.0) -> float:
    """Depth change of one inverse-depth value at `depth_m`: the 32FC1 round trip (truncation to an integer
    value) moves a depth by less than this."""
    a, b = quantisation(depth_max, depth_quantization)
    v = a / depth_m + b
    return float(a / (v - 1 - b) - a / (v - b))


def encode(depth: np.ndarray, codec: str = "png", depth_max: float = 10.0, depth_quantization: float = 100.0,
           png_level: int = 3) -> tuple[str, bytes]:
    """(format, data) of a CompressedImage, as compressed_depth_image_transport publishes: uint16 -> 16UC1 (mm),
    float32 -> 32FC1 (m, inverse-depth quantised). Depths that do not fit the uint16 inverse depth (closer than
    about A / 65535 m) become 0 (no reading) rather than wrap."""
    if codec not in ("png", "rvl"):
        raise InvalidImageError(f"compressedDepth codec {codec!r}: use png or rvl")
    depth = np.asarray(depth)
    if depth.ndim != 2 or depth.dtype not in (np.uint16, np.float32):
        raise InvalidImageError(f"compressedDepth encodes H x W uint16 (mm) or float32 (m); got {depth.dtype} "
                                f"{depth.shape}")
    if depth.dtype == np.uint16:
        encoding, quant = "16UC1", (0.0, 0.0)
        raw = depth.copy()
        raw[raw > np.uint16(min(65535, int(np.float32(depth_max) * np.float32(1000.0))))] = 0
    else:
        encoding = "32FC1"
        quant = quantisation(depth_max, depth_quantization)
        a, b = np.float32(quant[0]), np.float32(quant[1])
        with np.errstate(divide="ignore", invalid="ignore"):
            v = a / depth + b
        ok = np.isfinite(depth) & (depth > 0) & (depth < np.float32(depth_max)) & (v >= 0) & (v < 65536)
        raw = np.zeros(depth.shape, np.uint16)
        raw[ok] = v[ok].astype(np.uint16)  # C++ float -> unsigned short truncates
    if codec == "png":
        import cv2

        ok, png = cv2.imencode(".png", raw, [cv2.IMWRITE_PNG_COMPRESSION, int(png_level)])
        if not ok:
            raise InvalidImageError("PNG encoding of the depth image failed")
        payload = png.tobytes()
    else:
        payload = rvl_encode(raw)
    return f"{encoding}; compressedDepth {codec}", HEADER.pack(INV_DEPTH, *quant) + payload


def _png_decode(payload: np.ndarray) -> np.ndarray:
    import cv2

    try:
        img = cv2.imdecode(payload, cv2.IMREAD_UNCHANGED)
    except cv2.error:
        img = None
    if img is None or img.ndim != 2 or img.dtype != np.uint16:
        got = "undecodable" if img is None else f"{img.dtype} {img.shape}"
        raise InvalidImageError(f"compressedDepth PNG is {got}, expected a 16-bit single-channel PNG; {_FIX}")
    return img


# ---- RVL (A. D. Wilson, "Fast Lossless Depth Image Compression", 2017), vectorised ---------------------------
_MAX_NIBBLES = 11  # a 32-bit value in 3-bit groups


def rvl_encode(raw: np.ndarray) -> bytes:
    """uint32 cols, uint32 rows, RVL words (little-endian), as the upstream codec writes them."""
    h, w = raw.shape
    flat = raw.reshape(-1).astype(np.int64)
    nonzero = flat != 0
    edges = np.flatnonzero(np.diff(nonzero.astype(np.int8))) + 1
    bounds = np.concatenate([[0], edges, [flat.size]])
    chunks = []
    i = 0
    nz_vals = flat[nonzero]
    prev = np.concatenate([[0], nz_vals[:-1]])
    delta = nz_vals - prev
    zigzag = np.where(delta >= 0, delta * 2, -delta * 2 - 1)
    k = 0  # index into the non-zero values
    segments = list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))
    while i < len(segments):
        start, end = segments[i]
        if nonzero[start]:
            zeros = 0
        else:
            zeros, i = end - start, i + 1
        if i < len(segments) and nonzero[segments[i][0]]:
            start, end = segments[i]
            nonzeros, i = end - start, i + 1
        else:
            nonzeros = 0
        chunks.append(np.array([zeros, nonzeros], np.int64))
        chunks.append(zigzag[k:k + nonzeros])
        k += nonzeros
    values = np.concatenate(chunks) if chunks else np.zeros(0, np.int64)
    shifts = 3 * np.arange(_MAX_NIBBLES)
    groups = (values[:, None] >> shifts) & 7
    count = np.maximum(1, _MAX_NIBBLES - np.argmax((values[:, None] >> shifts)[:, ::-1] > 0, axis=1))
    count[values == 0] = 1
    used = np.arange(_MAX_NIBBLES) < count[:, None]
    more = np.arange(_MAX_NIBBLES) < (count[:, None] - 1)
    nibbles = (groups | (more * 8))[used].astype(np.uint32)
    nibbles = np.concatenate([nibbles, np.zeros((-nibbles.size) % 8, np.uint32)])
    words = (nibbles.reshape(-1, 8) << (28 - 4 * np.arange(8, dtype=np.uint32))).sum(axis=1, dtype=np.uint32)
    return struct.pack("<II", w, h) + words.astype("<u4").tobytes()


def rvl_decode(payload: np.ndarray) -> np.ndarray:
    """uint16 H x W from cols, rows and the RVL stream; raises InvalidImageError on a malformed stream."""
    if payload.size < 8:
        raise InvalidImageError(f"compressedDepth rvl payload has {payload.size} bytes, less than its size header")
    w, h = struct.unpack("<II", payload[:8].tobytes())
    n = w * h
    body = payload[8:]
    # Upstream also refuses 32FC1 streams over 10x smaller than the image; an all-zero frame legitimately is,
    # and a malformed stream is caught by the run checks below, so only absurd sizes are refused here.
    if n == 0 or n > 2**28:
        raise InvalidImageError(f"malformed compressedDepth rvl image: it reports size {w}x{h}")
    words = np.frombuffer(body[: body.size // 4 * 4].tobytes(), "<u4").astype(np.uint32)
    nibbles = ((words[:, None] >> (28 - 4 * np.arange(8, dtype=np.uint32))) & 0xF).reshape(-1)
    ends = (nibbles & 8) == 0
    starts = np.flatnonzero(np.concatenate([[True], ends[:-1]]))
    group = np.cumsum(np.concatenate([[0], ends[:-1].astype(np.int64)]))
    pos = np.arange(nibbles.size) - starts[group]
    if pos.size and pos.max() >= _MAX_NIBBLES:
        raise InvalidImageError("malformed compressedDepth rvl stream (a value longer than 32 bits)")
    values = np.add.reduceat((nibbles & 7).astype(np.int64) << (3 * pos), starts) if starts.size else starts
    vals = values.tolist()
    out_pos, val_pos = [], []
    i = px = 0
    while px < n:
        if i + 1 >= len(vals):
            raise InvalidImageError(f"malformed compressedDepth rvl stream: it ends after {px} of {n} pixels")
        zeros, nonzeros = vals[i], vals[i + 1]
        if px + zeros + nonzeros > n or i + 2 + nonzeros > len(vals):
            raise InvalidImageError("malformed compressedDepth rvl stream: a run goes past the image")
        if nonzeros:
            out_pos.append((px + zeros, nonzeros))
            val_pos.append(i + 2)
        px += zeros + nonzeros
        i += 2 + nonzeros
    out = np.zeros(n, np.uint16)
    if out_pos:
        lengths = np.array([c for _, c in out_pos], np.int64)
        offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
        within = np.arange(lengths.sum()) - offsets
        dst = np.repeat(np.array([p for p, _ in out_pos], np.int64), lengths) + within
        src = np.repeat(np.array(val_pos, np.int64), lengths) + within
        positive = values[src]
        delta = (positive >> 1) ^ -(positive & 1)
        out[dst] = (np.cumsum(delta) & 0xFFFF).astype(np.uint16)
    return out.reshape(h, w)
