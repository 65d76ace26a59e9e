"""``qil edit-layer IN --layer REF --prompt TEXT -o OUT``: re-prompt one layer with Qwen-Image-Edit.

Only the chosen layer changes; the others are written back as they were.
Nothing is written when anything fails (missing weights exit 4, bad input
3, wrong arguments 2, cancel 130).
"""

from __future__ import annotations

import sys

from ..document import History
from ..engines.jobs import Progress, edit_job, format_eta
from ..io import open_document
from . import save_output


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "edit-layer", help="edit one layer by prompt (Qwen-Image-Edit), keeping a clean alpha",
        description="Re-prompt one layer: the layer is edited by Qwen-Image-Edit-2509 (or newer) from "
                    "local weights and its transparency is rebuilt. By default the outline may change "
                    "(new shape); --keep-shape keeps the original alpha exactly (recolour, texture, style).")
    p.add_argument("input", help="PSD (or image) to read")
    p.add_argument("--layer", required=True, metavar="INDEX|NAME",
                   help="layer to edit: index (0 = bottom, -1 = top) or name")
    p.add_argument("--prompt", required=True, help='what to change, e.g. "make the bottle blue glass"')
    p.add_argument("-o", "--output", required=True, help="file to write (.psd, .png, .zip)")
    p.add_argument("--model", metavar="DIR", help="Qwen-Image-Edit folder (default: model/Qwen-Image-Edit-2509, "
                                                  "QIL_EDIT_MODEL_DIR, or the Hugging Face cache)")
    shape = p.add_mutually_exclusive_group()
    shape.add_argument("--keep-shape", action="store_true", help="reuse the layer's alpha exactly")
    shape.add_argument("--new-shape", action="store_true", help="let the outline change (default)")
    p.add_argument("--steps", type=int, default=40, help="denoising steps (default 40)")
    p.add_argument("--seed", type=int, help="random seed, for a repeatable result")
    p.add_argument("--cfg-scale", type=float, default=4.0, help="prompt guidance (default 4.0)")
    p.add_argument("--resolution", type=int, default=1024,
                   help="the model works on about N x N pixels (default 1024)")
    p.add_argument("--alpha", choices=("matting", "layered"), default="matting",
                   help="how a new shape's alpha is found: matting against the matte (default), or a "
                        "2-layer Qwen-Image-Layered pass (needs its weights)")
    p.add_argument("--layered-model", metavar="DIR", help="Qwen-Image-Layered folder for --alpha layered")
    p.add_argument("--device", default="auto", help="auto, cuda, cuda:N, mps or cpu")
    p.add_argument("--memory", default="auto", help="memory mode (auto, full, model-offload, ...)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    from .remote import add_server_arguments

    add_server_arguments(p, jobs=False)
    p.set_defaults(func=run)


def _progress_printer(quiet: bool):
    def show(p: Progress) -> None:
        if quiet:
            return
        end = "\n" if p.step >= p.total else ""
        print(f"\r{p.message}: step {p.step}/{p.total}, ETA {format_eta(p.eta_s)}   ",
              end=end, file=sys.stderr, flush=True)
    return show


def finish_edit(doc, layer, edit, output, where: str = "") -> int:
    """Apply ``edit`` as one undoable step, save, and say what was done (``where``: " on URL")."""
    History(doc).push(edit.command())
    kind = save_output(doc, output)
    print(f"edited layer {doc.index_of(layer.id)} ({layer.name!r}){where}, seed {edit.seed}, "
          f"{edit.seconds:.1f} s; wrote {output} ({kind})")
    return 0


def run(args) -> int:
    from ..document.tree import find_layer
    from ..engines.edit import EditOptions, QwenLayerEditor

    options = EditOptions(
        prompt=args.prompt, shape="keep" if args.keep_shape else "new", steps=args.steps, seed=args.seed,
        cfg_scale=args.cfg_scale, resolution=args.resolution, alpha_method=args.alpha,
        layered_model_dir=args.layered_model, device=args.device, memory=args.memory, model_dir=args.model)
    from .remote import run_edit, wants_server

    if wants_server(args):  # --server URL: the layer is edited on a model server
        return run_edit(args, options)
    doc = open_document(args.input)
    layer = find_layer(doc, args.layer)
    layered = None
    if options.alpha_method == "layered":
        from ..engines.qwen import QwenDecomposer

        layered = QwenDecomposer()
    editor = QwenLayerEditor(layered=layered)
    # fail on missing or broken weights before any work, with the download hint
    editor.locate(options)
    edit = edit_job(editor, layer, options, _progress_printer(args.quiet)).run()  # the GUI's runner too
    return finish_edit(doc, layer, edit, args.output)
