"""A tiny random Qwen-Image-Edit (Plus) pipeline for tests, saved in the diffusers layout.

Built from the same toy parts as the tiny layered model
(:mod:`qil_editor.engines.tiny_models`): the edit pipeline differs only in
its RGB (3-channel) VAE and a transformer without the layer axis. It loads
through :mod:`qil_editor.engines.diffusion.loader` exactly like
``Qwen/Qwen-Image-Edit-2509``. Nothing here downloads anything.
"""

from __future__ import annotations

import os
from pathlib import Path


def make_tiny_edit_model(path: str | os.PathLike, seed: int = 0) -> Path:
    """Build a random tiny ``QwenImageEditPlusPipeline`` in ``path``; returns the folder."""
    from diffusers import FlowMatchEulerDiscreteScheduler, QwenImageEditPlusPipeline

    from .tiny_models import (_save, _seeded, make_tiny_processor, make_tiny_text_encoder,
                              make_tiny_tokenizer, make_tiny_transformer, make_tiny_vae)

    _seeded(seed)
    tokenizer = make_tiny_tokenizer()
    pipe = QwenImageEditPlusPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=make_tiny_vae(input_channels=3),
        text_encoder=make_tiny_text_encoder(tokenizer),
        tokenizer=tokenizer,
        processor=make_tiny_processor(tokenizer),
        transformer=make_tiny_transformer(layered=False),
    )
    note = ("Random tiny Qwen-Image-Edit-2509 (QwenImageEditPlusPipeline) for tests "
            "(qil make-tiny-model --kind edit). Its edits are noise; use it to exercise "
            "the loading and running code only.\n")
    return _save(pipe, Path(path), note)
