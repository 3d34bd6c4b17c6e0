"""Run DAM's real code on a machine without CUDA (tests, CI): only where DAM puts its tensors is changed.

DAM (NVlabs/describe-anything) assumes CUDA in three places: `load_pretrained_model` defaults to device "cuda",
`prepare_config_for_eval` forces `device_map="cuda"` for SigLIP vision towers (so asking for another device does not
help), and `DescribeAnythingModel.get_description_from_prompt_iterator` moves the prompt ids with `.cuda()`.
`cpu_patches()` points those three at the CPU when torch has no CUDA; DAM's models, preprocessing, prompting and
generation run unchanged (in DAM's float16). On a CUDA machine it changes nothing. Never used by the agent's backends.

`python -m support.dam_on_cpu SCRIPT [ARGS...]` (tests/ on PYTHONPATH) runs a DAM script (its `dam_server.py`)
under the patches.
"""
from __future__ import annotations

import contextlib
import functools
import runpy
import sys


def cpu_patches() -> contextlib.ExitStack:
    """Apply the three CPU redirections (undone when the returned stack closes); `dam` must be importable."""
    import torch

    stack = contextlib.ExitStack()
    if torch.cuda.is_available():
        return stack
    import dam.describe_anything_model as dam_model
    from dam.model import model_utils

    original_prepare = model_utils.prepare_config_for_eval
    original_load = dam_model.load_pretrained_model

    def prepare_config_for_eval(config, kwargs):
        original_prepare(config, kwargs)
        if kwargs.get("device_map") == "cuda":
            kwargs["device_map"] = {"": "cpu"}

    @functools.wraps(original_load)
    def load_pretrained_model(*args, device="cpu", **kwargs):
        return original_load(*args, device=device, **kwargs)

    def cuda(self, *args, **kwargs):
        return self

    for owner, name, value in ((model_utils, "prepare_config_for_eval", prepare_config_for_eval),
                               (dam_model, "load_pretrained_model", load_pretrained_model),
                               (torch.Tensor, "cuda", cuda)):
        stack.callback(setattr, owner, name, getattr(owner, name))
        setattr(owner, name, value)
    return stack


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit("usage: python -m support.dam_on_cpu SCRIPT [ARGS...]")
    cpu_patches()
    sys.argv = list(argv)
    runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
