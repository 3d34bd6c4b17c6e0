"""After the modules that run DAM's real code (test_dam_real, test_dam_server_describer), the process is as before.

Named to sort after them: DAM must not stay importable, nor torch's `.cuda()` stay redirected, for later tests (the
doctor's "DAM is missing" checks on a CPU machine). Meaningful only when the DAM modules ran in the same session.
"""
import importlib.util

import pytest

torch = pytest.importorskip("torch")


def test_dam_is_not_left_importable_nor_cuda_redirected():
    assert torch.Tensor.cuda.__qualname__ == "TensorBase.cuda"
    spec = importlib.util.find_spec("dam")
    assert spec is None or "dam-install" not in str(spec.origin)  # an install of its own (a GPU machine) is fine
