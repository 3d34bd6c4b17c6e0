"""The DAM describer's batching around NVIDIA's `dam` package: UNIT tests with a stand-in `dam` module.

They are NOT the verification against DAM: tests/test_dam_real.py and tests/test_dam_server_describer.py run the
describer and DAM's own server through NVlabs/describe-anything's real code (a tiny random DAM). This file installs a
stand-in `dam` module that records what the describer sends and answers like DAM's generate():
it checks the batch split, the shared prompt repeated per mask, one image tensor per mask, and the stop-string cut.
"""
import sys
import types

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gear_seg_ros.describe.settings import DamDescriberConfig
from gear_seg_ros.types import MaskProposal

STOP = "</s>"


class FakeTokenizer:
    def batch_decode(self, output_ids, skip_special_tokens=True):
        return [f"  a region\n number {int(row[-1])} {STOP} trailing" for row in output_ids]


class FakeInner:
    device = "cpu"

    def __init__(self, calls):
        self.calls = calls

    def generate(self, input_ids, images, **kwargs):
        self.calls.append(("generate", input_ids.shape, len(images), kwargs["max_new_tokens"]))
        return torch.cat([input_ids, torch.tensor([[i] for i in range(len(images))])], dim=1)


class FakeDescribeAnything:
    calls: list = []

    def __init__(self, model_path, conv_mode, prompt_mode):
        self.prompt_mode = prompt_mode
        self.tokenizer = FakeTokenizer()
        self.model = FakeInner(self.calls)

    def get_prompt(self, query):
        assert "<image>" in query
        conv = types.SimpleNamespace(sep=" ", sep2=STOP, sep_style="TWO")
        return "USER: " + query + " ASSISTANT:", conv

    def get_image_tensor(self, image_pil, mask_pil, crop_mode, crop_mode2):
        assert (crop_mode, crop_mode2) == ("full", "focal_crop")
        return torch.zeros(1, 8, 4, 4)

    def get_description(self, image_pil, mask_pil, query, **kwargs):
        self.calls.append(("single", np.asarray(mask_pil).max()))
        return f"  one   region {STOP}".split(STOP)[0]


@pytest.fixture()
def fake_dam(monkeypatch):
    dam = types.ModuleType("dam")
    dam.DescribeAnythingModel = FakeDescribeAnything
    dam.disable_torch_init = lambda: None
    constants = types.ModuleType("dam.model.constants")
    constants.IMAGE_TOKEN_INDEX = -200
    conversation = types.ModuleType("dam.model.conversation")
    conversation.SeparatorStyle = types.SimpleNamespace(TWO="TWO")
    mm_utils = types.ModuleType("dam.model.mm_utils")
    mm_utils.tokenizer_image_token = lambda prompt, tok, index, return_tensors: torch.tensor([1, index, 5, 6])
    for name, module in {"dam": dam, "dam.model": types.ModuleType("dam.model"), "dam.model.constants": constants,
                         "dam.model.conversation": conversation, "dam.model.mm_utils": mm_utils}.items():
        monkeypatch.setitem(sys.modules, name, module)
    FakeDescribeAnything.calls = []
    return FakeDescribeAnything.calls


def masks(n):
    out = []
    for k in range(n):
        m = np.zeros((32, 32), bool)
        m[k:k + 4, :4] = True
        out.append(MaskProposal(m))
    return out


def test_batches_share_the_prompt_and_cut_at_the_stop_string(fake_dam, tmp_path):
    from gear_seg_ros.describe.dam import DamDescriber

    (tmp_path / "DAM-3B").mkdir()
    describer = DamDescriber(DamDescriberConfig(model_path=str(tmp_path / "DAM-3B"), batch_size=4))
    texts = describer.describe(np.zeros((32, 32, 3), np.uint8), masks(9))
    # 9 masks, batch 4: two batched generations (4 + 4 prompts) and one single call
    assert [c[0] for c in fake_dam] == ["generate", "generate", "single"]
    assert fake_dam[0][1] == (4, 4) and fake_dam[0][2] == 4 and fake_dam[0][3] == 512
    assert texts[:4] == [f"a region number {i}" for i in range(4)] and texts[8] == "one region"
    assert len(texts) == 9


def test_missing_weights_folder_names_the_fetch_command(fake_dam, tmp_path):
    from gear_seg_ros.describe.dam import DamDescriber
    from gear_seg_ros.errors import ModelNotFoundError

    with pytest.raises(ModelNotFoundError, match="fetch.py DAM-3B"):
        DamDescriber(DamDescriberConfig(model_path=str(tmp_path / "nope")))


def test_without_the_package_the_error_says_what_to_do(tmp_path, monkeypatch):
    from gear_seg_ros.describe.dam import DamDescriber
    from gear_seg_ros.errors import BackendUnavailableError

    monkeypatch.setitem(sys.modules, "dam", None)
    (tmp_path / "DAM-3B").mkdir()
    with pytest.raises(BackendUnavailableError, match="describe-anything"):
        DamDescriber(DamDescriberConfig(model_path=str(tmp_path / "DAM-3B")))
