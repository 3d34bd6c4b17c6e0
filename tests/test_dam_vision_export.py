"""DAM's vision encoder exported to ONNX and swapped in at run time (describer.dam.vision.model_dir): UNIT tests.

These use a STAND-IN model and are NOT the verification against DAM: tests/test_dam_real.py runs the same export and
swap through NVlabs/describe-anything's real code (installed from ../shared/vendor, a tiny random DAM). The model here
is a stand-in with DAM's interface (get_vision_tower / get_context_provider
/ get_mm_projector / encode_images_with_context, 8-channel full + focal-crop inputs), built around a real
transformers SigLIP vision model (4 input channels, as DAM's) with random weights and a cross-attention context
provider. Its encode_images_with_context follows DAM's own (llava_arch.py): context only for inputs whose crop
differs from the full view. What is tested is our side: the wrapper, the export with a dynamic batch, the ONNX
Runtime session and the swap with its fallback.
"""
import json
import sys
import types

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
transformers = pytest.importorskip("transformers")

from torch import nn

from gear_seg_ros.errors import GearSegError, ModelNotFoundError

SIZE, HIDDEN, LLM_DIM = 32, 32, 48


class VisionTower(nn.Module):
    """4-channel SigLIP; features of the second-to-last layer; context layers applied after it when given."""

    def __init__(self) -> None:
        super().__init__()
        self.config = transformers.SiglipVisionConfig(hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=2,
                                                      num_attention_heads=2, num_channels=4, image_size=SIZE,
                                                      patch_size=8)
        self.vision_tower = transformers.SiglipVisionModel(self.config)

    def forward(self, images, context_provider_layers=None, contexts=None):
        feats = self.vision_tower(images, output_hidden_states=True).hidden_states[-2]
        for layer in context_provider_layers or []:
            feats = layer(feats, contexts)
        return feats


class CrossAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(HIDDEN, 2, batch_first=True)

    def forward(self, x, context):
        return x + self.attn(x, context, context, need_weights=False)[0]


class ContextProvider(nn.Module):
    context_provider_type = "cross_attn_end_to_all"
    context_image_as_queries = False
    treat_image_as_cimage = False

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([CrossAttention()])

    def forward(self, cimage_full_features=None, cimage_concatenated=None, vision_tower=None):
        return vision_tower(cimage_concatenated[:, 4:], context_provider_layers=self.layers,
                            contexts=cimage_full_features)


class StandInDamLlava(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.vision_tower = VisionTower()
        self.context_provider = ContextProvider()
        self.mm_projector = nn.Sequential(nn.Linear(HIDDEN, LLM_DIM), nn.GELU(), nn.Linear(LLM_DIM, LLM_DIM))
        self.eval()

    def get_vision_tower(self):
        return self.vision_tower

    def get_context_provider(self):
        return self.context_provider

    def get_mm_projector(self):
        return self.mm_projector

    def encode_images_with_context(self, images):
        has_context = torch.any((images[:, :4] != images[:, 4:]).flatten(start_dim=1), dim=1)
        feats = self.vision_tower(images[:, :4])
        feats[has_context] = self.context_provider(cimage_full_features=feats[has_context],
                                                   cimage_concatenated=images[has_context],
                                                   vision_tower=self.vision_tower)
        return self.mm_projector(feats)


def focal_inputs(n, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 8, SIZE, SIZE, generator=g)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from gear_seg_ros.export.dam_vision import export_dam_vision

    out = tmp_path_factory.mktemp("dam_vision")
    model = StandInDamLlava()
    return model, out, export_dam_vision(out, model=model, device="cpu")


def test_export_writes_a_checked_onnx_file_with_a_dynamic_batch(exported):
    from gear_seg_ros.export.sam2_onnx import sha256_of

    _, out, meta = exported
    assert json.loads((out / "metadata.json").read_text()) == meta
    assert meta["kind"] == "dam_vision" and meta["channels"] == 8 and meta["image_size"] == SIZE
    assert (meta["tokens"], meta["hidden_size"]) == ((SIZE // 8) ** 2, LLM_DIM)
    assert meta["onnxruntime_cpu_max_abs_diff"] < 1e-4
    assert sha256_of(out / meta["vision"]["file"]) == meta["vision"]["sha256"]


def test_exported_encoder_replaces_dams_and_falls_back_for_plain_images(exported):
    from gear_seg_ros.describe.dam_vision_runtime import ExportedVisionEncoder

    model, out, _ = exported
    images = focal_inputs(5)  # not the export's batch of 2
    with torch.no_grad():
        expected = model.encode_images_with_context(images.clone())
    calls = []
    original = model.encode_images_with_context
    encoder = ExportedVisionEncoder(out, "onnxruntime", ["CPUExecutionProvider"], None)
    encoder.encode = lambda x: calls.append(("engine", len(x))) or type(encoder).encode(encoder, x)
    encoder.install(model)
    with torch.no_grad():
        got = model.encode_images_with_context(images.clone())
    assert calls == [("engine", 5)]  # the ONNX session answered for the whole batch
    assert got.shape == expected.shape and got.dtype == expected.dtype
    assert (got - expected).abs().max() < 1e-4
    plain = images.clone()
    plain[[0, 2], 4:] = plain[[0, 2], :4]  # crop == full view: DAM encodes these without context, so must we
    with torch.no_grad():
        want = original(plain.clone())  # DAM's own method on the mixed batch
        merged = model.encode_images_with_context(plain)
    assert merged.shape == expected.shape and merged.dtype == expected.dtype
    assert (merged - want).abs().max() < 1e-4  # plain ones through PyTorch, merged back in input order
    assert (merged[[1, 3, 4]] - expected[[1, 3, 4]]).abs().max() < 1e-4
    assert calls == [("engine", 5), ("engine", 3)]  # only the three focal-crop inputs went to the exported encoder
    all_plain = images.clone()
    all_plain[:, 4:] = all_plain[:, :4]
    with torch.no_grad():
        got = model.encode_images_with_context(all_plain)
        want = model.get_mm_projector()(model.get_vision_tower()(all_plain[:, :4]))
    assert calls == [("engine", 5), ("engine", 3)] and (got - want).abs().max() < 1e-5
    model.encode_images_with_context = original


def test_dam_describer_uses_the_configured_export(exported, monkeypatch):
    """DamDescriber with vision.model_dir set: DAM itself is a stand-in module (see the module docstring)."""
    from gear_seg_ros.describe.dam import DamDescriber
    from gear_seg_ros.describe.settings import DamDescriberConfig
    from gear_seg_ros.runtime.settings import ExportRuntimeSettings

    _model, out, _ = exported

    class DescribeAnythingModel:
        def __init__(self, model_path, conv_mode, prompt_mode):
            self.model = StandInDamLlava()

    dam = types.ModuleType("dam")
    dam.DescribeAnythingModel = DescribeAnythingModel
    dam.disable_torch_init = lambda: None
    monkeypatch.setitem(sys.modules, "dam", dam)
    weights = out.parent / "DAM-3B"
    weights.mkdir(exist_ok=True)
    vision = ExportRuntimeSettings(model_dir=str(out), runtime="onnxruntime", providers=["CPUExecutionProvider"])
    cfg = DamDescriberConfig(model_path=str(weights), vision=vision)
    describer = DamDescriber(cfg)
    llava = describer.model.model
    assert "encode_images_with_context" in vars(llava)  # swapped on the instance
    images = focal_inputs(3, seed=2)
    with torch.no_grad():
        got = llava.encode_images_with_context(images)
        want = StandInDamLlava.encode_images_with_context(llava, images.clone())
    assert (got - want).abs().max() < 1e-4

    with pytest.raises(ModelNotFoundError, match="gear-seg export dam-vision"):
        DamDescriber(cfg.model_copy(update={"vision": vision.model_copy(update={"model_dir": str(out.parent /
                                                                                                "missing")})}))


def test_wrong_or_missing_exports_are_clear_errors(exported, tmp_path):
    from gear_seg_ros.describe.dam_vision_runtime import ExportedVisionEncoder

    with pytest.raises(ModelNotFoundError, match="gear-seg export dam-vision"):
        ExportedVisionEncoder(tmp_path, "onnxruntime", ["CPUExecutionProvider"], None)
    (tmp_path / "metadata.json").write_text(json.dumps({"image_size": 1024}))  # a SAM 2 export
    with pytest.raises(GearSegError, match="'sam2' export, not DAM's vision encoder"):
        ExportedVisionEncoder(tmp_path, "onnxruntime", ["CPUExecutionProvider"], None)
    _, out, _ = exported
    with pytest.raises(ModelNotFoundError, match="gear-seg export trt --onnx-dir"):
        ExportedVisionEncoder(out, "tensorrt", [], None)


def test_trt_build_of_the_export_on_a_cpu_machine(exported, capsys, monkeypatch):
    from gear_seg_ros.cli.main import main

    _, out, _ = exported
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # as on any machine without TensorRT
    assert main(["export", "trt", "--onnx-dir", str(out)]) == 2
    assert "tensorrt" in capsys.readouterr().err
