"""``qil make-tiny-model DIR``: a random tiny Qwen-Image-Layered, built offline.

For trying the Qwen code path (loading, memory modes, progress, cancel, PSD
output) on a machine without the real weights; its layers are noise.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import OutputFileError, UsageError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "make-tiny-model", help="build a random tiny Qwen-Image-Layered for tests (offline)",
        description="Build a tiny Qwen-Image-Layered with random weights in the standard diffusers "
                    "folder layout. It loads and runs like the real model, but its output is noise.")
    p.add_argument("directory", metavar="DIR", help="folder to create (must be empty or new)")
    p.add_argument("--seed", type=int, default=0, help="seed for the random weights [0]")
    p.add_argument("--kind", choices=("layered", "edit"), default="layered",
                   help="layered: Qwen-Image-Layered [default]; edit: Qwen-Image-Edit-2509 (for edit-layer)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..engines.tiny_models import make_tiny_layered_model

    target = Path(args.directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} already exists and is not an empty folder.",
                         "Choose a new folder name.")
    build = make_tiny_layered_model
    if args.kind == "edit":
        from ..engines.tiny_edit_model import make_tiny_edit_model as build
    try:
        path = build(target, seed=args.seed)
    except OSError as exc:
        raise OutputFileError(f"Cannot write the tiny model to {target}: {exc.strerror or exc}.") from None
    if args.kind == "edit":
        print(f"qil: tiny random Qwen-Image-Edit written to {path}", file=sys.stderr)
        print(f"  try: qil edit-layer IN.psd --layer 0 --prompt 'make it blue' -o out.psd --model {path} "
              "--steps 2 --resolution 128", file=sys.stderr)
        return 0
    print(f"qil: tiny random Qwen-Image-Layered written to {path}", file=sys.stderr)
    print(f"  try: qil decompose IMAGE -o out.psd --model {path} --steps 2 --layers 2", file=sys.stderr)
    return 0
