"""`gear-seg export sam2` (SAM 2 -> ONNX), `export dam-vision` (DAM's vision encoder -> ONNX) and `export trt`
(either ONNX export -> TensorRT engines)."""
from __future__ import annotations

import json
import time

from gear_seg_ros.cli.inputs import positive_int
from gear_seg_ros.errors import GearSegError
from gear_seg_ros.models import fetch_command

DEFAULT_OUT = "models/weights/sam2_onnx"
DAM_DEFAULT_OUT = "models/weights/dam_vision_onnx"


def register(sub) -> None:
    p = sub.add_parser("export", help="export SAM 2 or DAM's vision encoder to ONNX, or build TensorRT engines")
    esub = p.add_subparsers(dest="export", metavar="WHAT", required=True)

    s = esub.add_parser("sam2", help="SAM 2 / 2.1 checkpoint -> image_encoder.onnx + mask_decoder.onnx + metadata.json")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", metavar="PATH",
                     help=f"SAM 2 .pt checkpoint ({fetch_command('sam2.1_hiera_large')})")
    src.add_argument("--random-weights", action="store_true", help="random weights (tests / pipeline checks only)")
    s.add_argument("--model-cfg", default="configs/sam2.1/sam2.1_hiera_l.yaml",
                   help="sam2 config matching the checkpoint (default: %(default)s)")
    s.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help="output folder (default: %(default)s)")
    s.add_argument("--opset", type=int, default=17, help="ONNX opset (default: %(default)s)")
    s.add_argument("--seed", type=int, default=0, help="torch seed for --random-weights (default: %(default)s)")
    s.set_defaults(func=run_sam2)

    d = esub.add_parser("dam-vision", help="DAM-3B's vision encoder (vision tower + context provider + projector) "
                                           "-> dam_vision.onnx + metadata.json (needs DAM on a CUDA machine)")
    d.add_argument("--model-path", default="models/weights/DAM-3B", metavar="DIR",
                   help=f"DAM-3B weights folder ({fetch_command('DAM-3B')}; default: %(default)s)")
    d.add_argument("--out", default=DAM_DEFAULT_OUT, metavar="DIR", help="output folder (default: %(default)s)")
    d.add_argument("--opset", type=int, default=17, help="ONNX opset (default: %(default)s)")
    d.add_argument("--no-verify", dest="verify", action="store_false",
                   help="skip the ONNX Runtime (CPU) vs PyTorch check of the exported file")
    d.set_defaults(func=run_dam_vision)

    t = esub.add_parser("trt", help="ONNX export (sam2 or dam-vision) -> TensorRT engines (needs an NVIDIA GPU "
                                    "and `tensorrt`)")
    t.add_argument("--onnx-dir", default=DEFAULT_OUT, metavar="DIR", help="folder of `export sam2` or `export "
                                                                          "dam-vision` (default: %(default)s)")
    t.add_argument("--out", metavar="DIR", help="engine folder (default: ONNX_DIR/engines)")
    t.add_argument("--fp16", dest="fp16", action="store_true", default=True,
                   help="FP16 engines where they match ONNX Runtime within tolerance, FP32 elsewhere (default)")
    t.add_argument("--no-fp16", dest="fp16", action="store_false", help="FP32 engines only")
    t.add_argument("--max-batch", "--max-prompts", dest="max_batch", type=positive_int,
                   help="largest batch: SAM 2 prompts (default 1024) or DAM masks (default 16)")
    t.add_argument("--opt-batch", "--opt-prompts", dest="opt_batch", type=positive_int,
                   help="batch the engine is tuned for (default: SAM 2 256, DAM 8)")
    t.add_argument("--workspace-gb", type=float, default=4.0)
    t.add_argument("--force", action="store_true", help="rebuild even when a cached engine matches")
    t.add_argument("--no-check", dest="check", action="store_false",
                   help="skip the comparison with ONNX Runtime (engines.json then records no check)")
    t.set_defaults(func=run_trt)


def run_sam2(args) -> int:
    try:
        from gear_seg_ros.export.sam2_onnx import export_sam2

        checkpoint = None
        if args.checkpoint:
            from gear_seg_ros.segment.sam2_official import resolve_checkpoint

            checkpoint = str(resolve_checkpoint(args.checkpoint))
        else:
            import torch  # only after the argument checks: importing torch takes seconds

            torch.manual_seed(args.seed)
        t0 = time.perf_counter()
        meta = export_sam2(args.model_cfg, checkpoint, args.out, opset=args.opset)
    except RuntimeError as exc:  # e.g. a checkpoint that does not match --model-cfg
        if "state_dict" in str(exc) or "size mismatch" in str(exc):
            raise GearSegError(f"the checkpoint does not match --model-cfg {args.model_cfg}: "
                               f"{str(exc).splitlines()[0]}") from None
        raise
    print(json.dumps({"out": str(args.out), "seconds": round(time.perf_counter() - t0, 1),
                      "encoder_sha256": meta["encoder"]["sha256"], "decoder_sha256": meta["decoder"]["sha256"]},
                     indent=2))
    return 0


def run_dam_vision(args) -> int:
    from gear_seg_ros.export.dam_vision import export_dam_vision

    meta = export_dam_vision(args.out, model_path=args.model_path, opset=args.opset, verify=args.verify)
    print(json.dumps({"out": str(args.out), "seconds": meta["export_s"], "tokens": meta["tokens"],
                      "hidden_size": meta["hidden_size"], "sha256": meta["vision"]["sha256"],
                      "onnxruntime_cpu_max_abs_diff": meta["onnxruntime_cpu_max_abs_diff"]}, indent=2))
    return 0


def run_trt(args) -> int:
    from gear_seg_ros.export.trt import build_engines

    result = build_engines(args.onnx_dir, args.out, fp16=args.fp16, workspace_gb=args.workspace_gb,
                           opt_batch=args.opt_batch, max_batch=args.max_batch, force=args.force,
                           check=args.check)
    print(json.dumps(result, indent=2))
    return 0
