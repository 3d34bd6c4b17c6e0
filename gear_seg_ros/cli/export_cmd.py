"""`gear-seg export sam2` (SAM 2 -> ONNX) and `gear-seg export trt` (ONNX -> TensorRT engines)."""
from __future__ import annotations

import json
import time

from gear_seg_ros.errors import GearSegError

DEFAULT_OUT = "models/weights/sam2_onnx"


def register(sub) -> None:
    p = sub.add_parser("export", help="export SAM 2 to ONNX (for onnx_sam2) or build TensorRT engines")
    esub = p.add_subparsers(dest="export", metavar="WHAT", required=True)

    s = esub.add_parser("sam2", help="SAM 2 / 2.1 checkpoint -> image_encoder.onnx + mask_decoder.onnx + metadata.json")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", metavar="PATH", help="SAM 2 .pt checkpoint (python models/fetch.py "
                                                          "sam2.1_hiera_large)")
    src.add_argument("--random-weights", action="store_true", help="random weights (tests / pipeline checks only)")
    s.add_argument("--model-cfg", default="configs/sam2.1/sam2.1_hiera_l.yaml",
                   help="sam2 config matching the checkpoint (default: %(default)s)")
    s.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help="output folder (default: %(default)s)")
    s.add_argument("--opset", type=int, default=17, help="ONNX opset (default: %(default)s)")
    s.add_argument("--seed", type=int, default=0, help="torch seed for --random-weights (default: %(default)s)")
    s.set_defaults(func=run_sam2)

    t = esub.add_parser("trt", help="ONNX export -> TensorRT engines (needs an NVIDIA GPU and `tensorrt`)")
    t.add_argument("--onnx-dir", default=DEFAULT_OUT, metavar="DIR", help="folder of `export sam2` (default: "
                                                                          "%(default)s)")
    t.add_argument("--out", metavar="DIR", help="engine folder (default: ONNX_DIR/engines)")
    t.add_argument("--fp16", dest="fp16", action="store_true", default=True, help="FP16 engines (default)")
    t.add_argument("--no-fp16", dest="fp16", action="store_false", help="FP32 engines")
    t.add_argument("--max-prompts", type=int, default=1024, help="largest prompt batch (default: %(default)s)")
    t.add_argument("--opt-prompts", type=int, default=256, help="prompt batch tuned for (default: %(default)s)")
    t.add_argument("--workspace-gb", type=float, default=4.0)
    t.add_argument("--force", action="store_true", help="rebuild even when a cached engine matches")
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


def run_trt(args) -> int:
    from gear_seg_ros.export.trt import build_engines

    result = build_engines(args.onnx_dir, args.out, fp16=args.fp16, workspace_gb=args.workspace_gb,
                           opt_prompts=min(args.opt_prompts, args.max_prompts), max_prompts=args.max_prompts,
                           force=args.force)
    print(json.dumps(result, indent=2))
    return 0
