"""torch.onnx.export with the settings every exporter here uses (the TorchScript exporter, quiet tracer warnings)."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def onnx_export(torch, module, args, path: Path, input_names, output_names, dynamic_axes, opset: int) -> None:
    kwargs: dict[str, Any] = dict(input_names=input_names, output_names=output_names, opset_version=opset,
                                  do_constant_folding=True)
    if dynamic_axes:
        kwargs["dynamic_axes"] = dynamic_axes
    # The TorchScript-based exporter handles this model (SDPA, bicubic pos-embed interpolation) in one pass and does
    # not need onnxscript; newer torch versions default to the dynamo exporter, so ask for the classic one.
    import warnings

    with warnings.catch_warnings():
        # tracer notes about shape checks in sam2's windowing code: shapes are static for a fixed input size
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        try:
            torch.onnx.export(module, args, str(path), dynamo=False, **kwargs)
        except TypeError:  # a torch without the `dynamo` argument
            torch.onnx.export(module, args, str(path), **kwargs)

