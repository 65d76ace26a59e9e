"""Tiny random Qwen-Image pipelines that load through the same code as the real weights.

The hub is out of reach in tests and CI, so tests build a pipeline with the
real architecture classes at toy sizes, save it in the standard diffusers
folder layout (``model_index.json`` + one subfolder per component, safetensors
only) and then load it back through :mod:`qil_editor.engines.diffusion.loader`
exactly like ``Qwen/Qwen-Image-Layered``. Nothing here downloads anything.

The shared parts (tokenizer, processor, Qwen2.5-VL text encoder, transformer
and VAE factories) are separate functions so that a builder for the edit
pipeline (``QwenImageEditPlusPipeline``: same parts, 3-channel VAE input) can
be added next to :func:`make_tiny_layered_model`.

Sizes follow the verified recipe in the project's reference notes, except
that the VAE uses the real model's four ``dim_mult`` stages and three
temporal-downsample flags, which gives the real 8x spatial factor (so the
latent grid, and the code that maps sizes, is the same as the real model's).
"""

from __future__ import annotations

import json
import os
import tempfile
from copy import deepcopy
from pathlib import Path

# The special tokens the Qwen2.5-VL chat templates in the pipelines rely on.
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>",
                  "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]

# Latent channels of the tiny VAE; the transformer packs 2x2 patches, so it sees 4x that.
TINY_Z_DIM = 8

# The tiny sizes, one place for them: the builders below and bench/gpu_check.py --tiny use these
# (copies: a model's config may change what it is given).
TINY_TRANSFORMER = dict(patch_size=2, in_channels=TINY_Z_DIM * 4, out_channels=TINY_Z_DIM, num_layers=2,
                        attention_head_dim=16, num_attention_heads=2, joint_attention_dim=32,
                        axes_dims_rope=(8, 4, 4))
TINY_VAE = dict(base_dim=4, z_dim=TINY_Z_DIM, dim_mult=[1, 2, 4, 4], num_res_blocks=1,
                temperal_downsample=[False, True, True], latents_mean=[0.0] * TINY_Z_DIM,
                latents_std=[1.0] * TINY_Z_DIM)
TINY_TEXT = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=4096,
                 rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [1, 1, 2]})
TINY_VISION = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=32,
                   fullatt_block_indexes=[1], window_size=112)
TINY_IMAGE_PROCESSOR = dict(min_pixels=56 * 56, max_pixels=28 * 28 * 64)


def _seeded(seed: int):
    import torch

    torch.manual_seed(seed)


def make_tiny_tokenizer():
    """Byte-level BPE over the 256 byte symbols, no merges, plus Qwen's special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import Qwen2TokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {symbol: i for i, symbol in enumerate(sorted(alphabet))}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    core.decoder = decoders.ByteLevel()
    with tempfile.TemporaryDirectory() as tmp:
        file = os.path.join(tmp, "tokenizer.json")
        core.save(file)
        tokenizer = Qwen2TokenizerFast(tokenizer_file=file, eos_token="<|im_end|>",
                                       pad_token="<|endoftext|>", unk_token=None,
                                       additional_special_tokens=SPECIAL_TOKENS)
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS})
    return tokenizer


def make_tiny_processor(tokenizer):
    from transformers import Qwen2VLImageProcessor, Qwen2VLProcessor, Qwen2VLVideoProcessor

    image_processor = Qwen2VLImageProcessor(**deepcopy(TINY_IMAGE_PROCESSOR))
    return Qwen2VLProcessor(image_processor=image_processor, tokenizer=tokenizer,
                            video_processor=Qwen2VLVideoProcessor())


def make_tiny_text_encoder(tokenizer):
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    vocab_size = len(tokenizer)
    config = Qwen2_5_VLConfig(
        text_config=dict(
            deepcopy(TINY_TEXT), vocab_size=vocab_size, bos_token_id=ids["<|endoftext|>"],
            eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
        ),
        vision_config=deepcopy(TINY_VISION),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    return model


def make_tiny_transformer(*, layered: bool):
    from diffusers import QwenImageTransformer2DModel

    return QwenImageTransformer2DModel(
        **deepcopy(TINY_TRANSFORMER), use_additional_t_cond=layered, use_layer3d_rope=layered).eval()


def make_tiny_vae(*, input_channels: int):
    from diffusers import AutoencoderKLQwenImage

    return AutoencoderKLQwenImage(**deepcopy(TINY_VAE), input_channels=input_channels).eval()


def _save(pipe, path: Path, note: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(str(path), safe_serialization=True)
    (path / "TINY_RANDOM_MODEL.txt").write_text(note, encoding="utf-8")
    index = json.loads((path / "model_index.json").read_text(encoding="utf-8"))
    if not index.get("_class_name"):  # would mean save_pretrained changed format
        raise RuntimeError("save_pretrained wrote no pipeline class name")
    return path


def make_tiny_layered_model(path: str | os.PathLike, seed: int = 0) -> Path:
    """Build a random tiny Qwen-Image-Layered pipeline in ``path`` (diffusers layout)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, QwenImageLayeredPipeline

    _seeded(seed)
    tokenizer = make_tiny_tokenizer()
    pipe = QwenImageLayeredPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=make_tiny_vae(input_channels=4),
        text_encoder=make_tiny_text_encoder(tokenizer),
        tokenizer=tokenizer,
        processor=make_tiny_processor(tokenizer),
        transformer=make_tiny_transformer(layered=True),
    )
    note = ("Random tiny Qwen-Image-Layered for tests (qil make-tiny-model). "
            "Its layers are noise; use it to exercise the loading and running code only.\n")
    return _save(pipe, Path(path), note)


def make_tiny_lora(model_dir: str | os.PathLike, path: str | os.PathLike, seed: int = 0) -> Path:
    """A random LoRA .safetensors for the tiny model's transformer (tests of LoRA loading)."""
    import torch
    from diffusers import QwenImageLayeredPipeline, QwenImageTransformer2DModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(seed)
    transformer = QwenImageTransformer2DModel.from_pretrained(
        str(model_dir), subfolder="transformer", local_files_only=True, use_safetensors=True)
    transformer.add_adapter(LoraConfig(r=2, lora_alpha=2, init_lora_weights=False,
                                       target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    QwenImageLayeredPipeline.save_lora_weights(
        str(path.parent), transformer_lora_layers=get_peft_model_state_dict(transformer),
        weight_name=path.name, safe_serialization=True)
    return path
