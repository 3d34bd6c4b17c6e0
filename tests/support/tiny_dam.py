"""A tiny random-weight DAM built from DAM's own classes, saved as a folder DAM's own loader reads.

For the tests (the project's `dam` describer, the DAM vision export and DAM's own `dam_server.py` all run through
NVlabs/describe-anything's real code) and scripts/device_check.sh. DAM is not on PyPI: `install_dam()` pip-installs
it from a source folder (this project keeps one in ../shared/vendor/describe-anything) into a folder of its own, so
no virtual environment is changed.

The folder mirrors DAM-3B's layout: `config.json` (model_type `llava_llama`, LlavaLlamaModel) with `llm/` (a Llama,
DAM-3B's LLM family; conversation mode `v1`), `vision_tower/` (DAM's SigLIP with its mask channel, and DAM's SigLIP
image processor), `context_provider/` (`cross_attn_end_to_all`) and `mm_projector/` (`mlp_downsample`, over an odd
token grid as DAM-3B's 27x27). The tokenizer is a SentencePiece model trained here on a few sentences and read as the
slow LlamaTokenizer, which DAM's loader asks for (`use_fast=False, legacy=False`); `<im_patch>` is added the way DAM's
`initialize_vision_tokenizer` does for `mm_use_im_patch_token`. Weights are random (the factors and the mask patch
embedding DAM initialises to zero are drawn too, so the mask and the context reach the output): descriptions are
gibberish, and what runs is DAM's code path with DAM's shapes, not its quality.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

DAM_SOURCE_ENV = "GEAR_SEG_DAM_SRC"
SENTENCES = [
    "A chat between a curious user and an artificial intelligence assistant.",
    "The assistant gives helpful, detailed, and polite answers to the user's questions.",
    "USER: Describe the masked region in detail. ASSISTANT: a red apple on a wooden table.",
    "A small green box with a white label lies next to a blue cup.",
    "The object is a metal wrench with a black rubber handle, slightly scratched.",
    "A yellow sponge, soft and square, sits on the left of the tote.",
    "Scissors with orange handles are open on top of a cardboard box.",
]


def vendored_dam_source(repo_root: Path | None = None) -> Path | None:
    """DAM's source folder: $GEAR_SEG_DAM_SRC, else ../shared/vendor/describe-anything (or shared/... inside the
    repo); None if absent."""
    root = repo_root or Path(__file__).resolve().parents[2]
    vendor = Path("shared") / "vendor" / "describe-anything"
    for candidate in (os.environ.get(DAM_SOURCE_ENV, ""), str(root.parent / vendor), str(root / vendor)):
        if candidate and (Path(candidate) / "dam" / "describe_anything_model.py").is_file():
            return Path(candidate)
    return None


def install_dam(source: Path, target: Path) -> Path:
    """pip-install DAM (`--no-deps`) from a copy of `source` into `target`/site; returns that folder (for sys.path).

    The copy: pip builds in the source tree and the vendor folder may be read-only. No build isolation, so nothing is
    fetched from PyPI (setuptools comes from the running environment). Re-uses an earlier install in `target`.
    """
    site = target / "site"
    if (site / "dam" / "__init__.py").is_file():
        return site
    copy = target / "src"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
           "--no-build-isolation", "--target", str(site), str(copy)]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 or not (site / "dam" / "__init__.py").is_file():
        raise RuntimeError(f"pip could not install DAM from {source}: {done.stderr[-2000:]}")
    return site


def _tokenizer(out: Path):
    import sentencepiece as spm
    from transformers import LlamaTokenizer

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(SENTENCES * 4), model_writer=model, vocab_size=160, model_type="bpe",
        character_coverage=1.0, hard_vocab_limit=False, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        minloglevel=2)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.model").write_bytes(model.getvalue())
    tokenizer = LlamaTokenizer(vocab_file=str(out / "tokenizer.model"), legacy=False, add_bos_token=True,
                               add_eos_token=False)
    tokenizer.pad_token = tokenizer.unk_token  # LLaVA's v1 convention
    tokenizer.add_tokens(["<im_patch>"], special_tokens=True)
    return tokenizer


def _init_plain(module, seed: int) -> None:
    """Initialise Linear / LayerNorm layers explicitly: DAM's context provider and projector rely on torch's defaults,
    which DAM's `disable_torch_init()` (called by every DAM loader in this process) switches off for good."""
    import torch
    from torch import nn

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * m.in_features ** -0.5)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.LayerNorm):
                m.weight.fill_(1.0)
                m.bias.zero_()


def _draw(module, seed: int, names: tuple[str, ...]) -> None:
    """Random values for the parameters DAM initialises to zero (else the mask / context would not matter)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    for name, p in module.named_parameters():
        if any(key in name for key in names):
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)


def build_tiny_dam(out_dir: str | Path, *, seed: int = 0, image_size: int = 28, patch_size: int = 4,
                   vision_hidden: int = 32, vision_layers: int = 2, llm_hidden: int = 64, llm_layers: int = 2,
                   context_image_as_queries: bool = False, masked_cross_attn: bool = False) -> Path:
    """Write a tiny random DAM to `out_dir` (the `dam` package must be importable); returns the folder.

    Defaults: 28 px input, 4 px patches -> a 7x7 token grid (odd, as DAM-3B's 27x27), 16 tokens after the projector.
    """
    import torch
    from dam.model.language_model.llava_llama import LlavaLlamaConfig
    from dam.model.multimodal_encoder.context_provider import ContextProvider, ContextProviderConfig
    from dam.model.multimodal_encoder.siglip import SiglipImageProcessor, SiglipVisionConfig, SiglipVisionModel
    from dam.model.multimodal_projector.base_projector import MultimodalProjector, MultimodalProjectorConfig
    from transformers import LlamaConfig, LlamaForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dtype = torch.float16
    torch.manual_seed(seed)

    tokenizer = _tokenizer(out / "llm")
    llm_cfg = LlamaConfig(vocab_size=len(tokenizer), hidden_size=llm_hidden, intermediate_size=2 * llm_hidden,
                          num_hidden_layers=llm_layers, num_attention_heads=4, num_key_value_heads=2,
                          max_position_embeddings=512, bos_token_id=tokenizer.bos_token_id,
                          eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                          initializer_range=0.2, tie_word_embeddings=False)
    llm = LlamaForCausalLM(llm_cfg).to(dtype)
    llm.generation_config.pad_token_id = tokenizer.pad_token_id
    llm.save_pretrained(out / "llm")
    tokenizer.save_pretrained(out / "llm")

    vision_cfg = SiglipVisionConfig(hidden_size=vision_hidden, intermediate_size=2 * vision_hidden,
                                    num_hidden_layers=vision_layers, num_attention_heads=2, num_channels=3,
                                    image_size=image_size, patch_size=patch_size, num_mask_channels=1)
    vision = SiglipVisionModel(vision_cfg)
    _draw(vision, seed + 1, ("mask_patch_embedding",))
    vision.to(dtype).save_pretrained(out / "vision_tower")
    SiglipImageProcessor(size={"height": image_size, "width": image_size}, image_mean=[0.5] * 3,
                         image_std=[0.5] * 3).save_pretrained(out / "vision_tower")

    provider_cfg = ContextProviderConfig(
        context_provider_type="cross_attn_end_to_all", hidden_size=vision_hidden, intermediate_size=2 * vision_hidden,
        num_hidden_layers=vision_layers, num_attention_heads=2, num_mask_channels=1, image_size=image_size,
        patch_size=patch_size, context_image_as_queries=context_image_as_queries,
        masked_cross_attn=masked_cross_attn, zero_init_output=True)
    provider = ContextProvider(provider_cfg, None)
    _init_plain(provider, seed + 3)
    _draw(provider, seed + 2, ("attn_factor", "mlp_factor"))
    provider.to(dtype).save_pretrained(out / "context_provider")

    sizes = type("Sizes", (), {"mm_hidden_size": vision_hidden, "hidden_size": llm_hidden})()
    projector = MultimodalProjector(MultimodalProjectorConfig("mlp_downsample"), sizes)
    _init_plain(projector, seed + 4)
    projector.to(dtype).save_pretrained(out / "mm_projector")

    config = LlavaLlamaConfig(
        llm_cfg=llm.config.to_dict(), vision_tower_cfg=vision.config.to_dict(),
        mm_projector_cfg=projector.config.to_dict(), context_provider_cfg=provider.config.to_dict(),
        architectures=["LlavaLlamaModel"], hidden_size=llm_hidden, mm_hidden_size=vision_hidden,
        image_aspect_ratio="resize", mm_vision_select_layer=-2, mm_vision_select_feature="cls_patch",
        mm_use_im_start_end=False, mm_use_im_patch_token=True, num_video_frames=8)
    config.model_dtype = str(dtype)
    config.save_pretrained(out)
    return out
