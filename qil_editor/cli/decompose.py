"""``qil decompose``: flat image(s) in, layered file(s) out.

One image: OUTPUT ending in .psd writes a PSD, .ora OpenRaster, .svg an SVG,
.pptx a PowerPoint slide, .zip a ZIP of layer PNGs, a folder the layer PNGs
(see :func:`qil_editor.io.save_document`). A folder of
images: one PSD each in the OUTPUT folder, going on past bad files and
listing them at the end. The first Ctrl+C cancels after the current step
(exit 130, nothing written for the unfinished image); a second one stops at once.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from ..engines.base import DecomposeOptions
from ..engines.qwen.device import MEMORY_CHOICES
from ..errors import CancelledError, InputFileError, ModelError, QilError, UsageError
from . import save_output

#: The editor's defaults too: one place, :class:`DecomposeOptions`.
DEFAULTS = DecomposeOptions()
DEFAULT_STEPS = DEFAULTS.steps
DEFAULT_CFG = DEFAULTS.cfg_scale
#: true CFG for step-distilled LoRAs (Lightning): guidance is baked in.
DISTILLED_CFG = 1.0


def _layers(text: str):
    if text.strip().lower() == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 2 to 10 or 'auto', got {text!r}") from None
    if not 2 <= value <= 10:
        raise argparse.ArgumentTypeError(f"layers must be from 2 to 10 (or auto), got {value}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "decompose", help="split a flat image into RGBA layers (PSD, ZIP or PNG folder)",
        description="Split a flat image into RGBA layers with Qwen-Image-Layered (local weights) "
                    "or the classical CPU engine. A folder as INPUT decomposes every image in it.")
    p.add_argument("input", metavar="INPUT", help="image file, or a folder of images")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                   help="out.psd, out.ora, out.svg, out.pptx, out.zip or a folder (for a folder INPUT: "
                        "the folder for the PSDs)")
    p.add_argument("--linked", action="store_true",
                   help="SVG only: write the layer PNGs beside the file instead of inside it")
    p.add_argument("--layers", type=_layers, default=DEFAULTS.layers, metavar="N|auto",
                   help="number of layers, 2-10, or auto (qwen: 4) [auto]")
    p.add_argument("--engine", default="auto", help="auto, qwen, classical or remote (with --server) [auto: qwen if its weights are found]")
    p.add_argument("--model", metavar="DIR", help="Qwen-Image-Layered folder (else QIL_MODEL_DIR, model/, HF cache)")
    p.add_argument("--resolution", type=int, choices=(640, 1024), default=DEFAULTS.resolution,
                   help=f"working resolution [{DEFAULTS.resolution}]")
    p.add_argument("--steps", type=_positive, default=None,
                   help=f"denoising steps [{DEFAULT_STEPS}, or the LoRA's step count]")
    p.add_argument("--cfg", type=float, default=None, help=f"true CFG scale [{DEFAULT_CFG}; {DISTILLED_CFG} with a step LoRA]")
    p.add_argument("--seed", type=int, default=None, help="random seed, for repeatable results")
    p.add_argument("--prompt", default="", help="describe the image [empty: the model captions it]")
    p.add_argument("--negative-prompt", default=DEFAULTS.negative_prompt,
                   help=f"negative prompt [{DEFAULTS.negative_prompt!r}]")
    p.add_argument("--language", choices=("en", "zh"), default=DEFAULTS.language,
                   help=f"auto-caption language [{DEFAULTS.language}]")
    p.add_argument("--lora", metavar="FILE", help="LoRA .safetensors (e.g. a 4-step Lightning LoRA)")
    p.add_argument("--device", default=DEFAULTS.device, help=f"auto, cuda, cuda:N, mps or cpu [{DEFAULTS.device}]")
    p.add_argument("--memory", choices=MEMORY_CHOICES, default=DEFAULTS.memory, metavar="MODE",
                   help=f"memory mode: {', '.join(MEMORY_CHOICES)} [auto: from free GPU memory; "
                        "see model/README.md]")
    p.add_argument("--raw-layers", action="store_true",
                   help="keep the model's layers as scaled, without restoring the input's detail")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    from .remote import add_server_arguments

    add_server_arguments(p, jobs=True)
    p.set_defaults(func=run)


def build_options(args):
    """DecomposeOptions from the arguments, with a step LoRA's own step count and CFG."""
    from ..engines.qwen.loader import lora_step_count

    lora_steps = lora_step_count(args.lora) if args.lora else None
    steps = args.steps or lora_steps or DEFAULT_STEPS
    cfg = args.cfg if args.cfg is not None else (DISTILLED_CFG if lora_steps else DEFAULT_CFG)
    extra = {"restore_detail": not args.raw_layers}
    return DecomposeOptions(layers=args.layers, resolution=args.resolution, steps=steps, cfg_scale=cfg,
                            negative_prompt=args.negative_prompt, seed=args.seed, prompt=args.prompt,
                            language=args.language, device=args.device, memory=args.memory,
                            model_dir=args.model, lora_path=args.lora, extra=extra)


#: On a non-terminal (a log, a pipe, CI) progress is one line per this many seconds.
LOG_PROGRESS_EVERY_S = 5.0


class _LogLines:
    """Progress for a non-terminal: whole lines, the first and last step and one every few seconds.

    A tqdm bar there is one endless line of carriage returns.
    """

    def __init__(self, label: str, every_s: float = LOG_PROGRESS_EVERY_S) -> None:
        import time

        self.label = label
        self.every_s = every_s
        self._clock = time.monotonic
        self._last: float | None = None
        self._last_step = -1

    def __call__(self, progress) -> None:
        from ..engines.jobs import format_eta

        now = self._clock()
        total = max(1, progress.total)
        final = progress.step >= total
        due = self._last is None or now - self._last >= self.every_s
        if progress.step == self._last_step or not (due or final):
            return
        self._last, self._last_step = now, progress.step
        what = f" {progress.message}" if progress.message else ""
        eta = "" if final else f", ETA {format_eta(progress.eta_s)}"
        print(f"qil: {self.label}:{what} {progress.step}/{total} ({100 * progress.step // total}%{eta})",
              file=sys.stderr, flush=True)


class _Bar:
    """tqdm on stderr (a terminal) or periodic lines (anything else), fed by the engine's Progress reports."""

    def __init__(self, quiet: bool, label: str) -> None:
        self.bar = None
        self.lines = None
        isatty = getattr(sys.stderr, "isatty", None)
        if not quiet and not (isatty and isatty()):
            self.lines = _LogLines(label)
        elif not quiet:
            from tqdm import tqdm

            self.bar = tqdm(total=1, file=sys.stderr, unit="step", desc=label, leave=False,
                            dynamic_ncols=True, bar_format="{desc}{percentage:3.0f}%|{bar}| "
                                                          "{n_fmt}/{total_fmt} [{elapsed}{postfix}]")
            self.label = label

    def __call__(self, progress) -> None:
        if self.lines is not None:
            self.lines(progress)
        if self.bar is None:
            return
        from ..engines.jobs import format_eta

        self.bar.total = max(1, progress.total)
        self.bar.n = progress.step
        self.bar.set_description(f"{self.label}: {progress.message}" if progress.message else self.label,
                                 refresh=False)
        self.bar.set_postfix_str(f"ETA {format_eta(progress.eta_s)}", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@contextmanager
def _ctrl_c_cancels(token):
    """First Ctrl+C sets the cancel token (stops after the current step); a second one interrupts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()
        print("\nqil: cancelling after the current step (Ctrl+C again to stop now)...", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _resolve_engine(registry, args, options):
    engine = registry.resolve(args.engine, options)
    if args.engine == "auto" and engine.name != "qwen" and "qwen" in registry.names and not args.quiet:
        reason = registry.get("qwen").availability(options).reason
        print(f"qil: using the {engine.label} engine ({reason})", file=sys.stderr)
    return engine


def _decompose_one(registry, engine, image_path: Path, out_path: Path, options, args, token, bar=None) -> str:
    """Decompose one image file and save the result (also for ``--server``: the remote engine is
    in ``registry``); ``bar`` shows the progress, by default a :class:`_Bar`."""
    from ..engines.jobs import run_decompose
    from ..io import open_image

    image = open_image(image_path)
    bar = bar or _Bar(args.quiet, image_path.name)
    try:
        doc = run_decompose(registry, engine.name, image, options, bar, token)
    finally:
        close = getattr(bar, "close", None)
        if close:
            close()
    token.raise_if_cancelled()
    if options.layers and len(doc.layers) < options.layers and not args.quiet:
        # a count is a ceiling: an engine may find fewer objects worth a layer (never hidden)
        print(f"qil: {image_path.name}: {len(doc.layers)} layers of the {options.layers} asked "
              f"({engine.label} found no more objects worth a layer of their own)", file=sys.stderr)
    return save_output(doc, out_path, linked=getattr(args, "linked", False))


def _batch_targets(folder: Path, out_dir: Path) -> list[tuple[Path, Path]]:
    """The (image, PSD) pairs of a folder batch, with the OUTPUT folder made: refused before any work."""
    from ..io import IMAGE_EXTENSIONS

    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} is a file; for a folder of images, OUTPUT must be a folder.")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise InputFileError(f"The folder {folder} has no images ({', '.join(IMAGE_EXTENSIONS)}).")
    stems = {}
    for p in files:
        stems[p.stem.lower()] = stems.get(p.stem.lower(), 0) + 1
    targets = []
    for p in files:
        name = p.stem if stems[p.stem.lower()] == 1 else f"{p.stem}-{p.suffix.lstrip('.').lower()}"
        targets.append((p, out_dir / f"{name}.psd"))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from ..errors import OutputFileError

        raise OutputFileError(f"Cannot create the folder {out_dir}: {exc.strerror}.") from None
    return targets


def _report_failures(failed: list[tuple[Path, QilError]]) -> int:
    """List a batch's failed images (in file order); the exit code: theirs if they agree, else 1."""
    if not failed:
        return 0
    print(f"qil: {len(failed)} failed:", file=sys.stderr)
    for path, err in sorted(failed, key=lambda item: item[0]):
        print(f"  {path.name}: {err}", file=sys.stderr)
    codes = {err.exit_code for _, err in failed}
    return codes.pop() if len(codes) == 1 else 1


def run(args) -> int:
    from ..engines.base import default_registry
    from ..engines.jobs import CancelToken
    from .remote import run_decompose, wants_server

    if wants_server(args):  # --server URL / --engine remote: the same job on a model server
        return run_decompose(args)

    source = Path(args.input)
    out = Path(args.output)
    if not source.exists():
        raise InputFileError(f"{source} does not exist.", "Check the path and try again.")
    if not source.is_dir():
        from ..io.files import check_output_path
        check_output_path(out)  # a folder named x.psd, a device, a missing folder: before the work
    options = build_options(args)
    registry = default_registry()
    engine = _resolve_engine(registry, args, options)
    token = CancelToken()
    with _ctrl_c_cancels(token):
        try:
            if source.is_dir():
                return _run_batch(registry, engine, source, out, options, args, token)
            kind = _decompose_one(registry, engine, source, out, options, args, token)
        except KeyboardInterrupt:
            raise CancelledError("Decomposition cancelled.") from None
    if not args.quiet:
        run_info = getattr(engine, "last_run", None)
        seed = f", seed {run_info.seed}" if run_info is not None else ""
        print(f"qil: wrote {out} ({kind}, {engine.label}{seed})", file=sys.stderr)
    return 0


def _run_batch(registry, engine, folder: Path, out_dir: Path, options, args, token) -> int:
    targets = _batch_targets(folder, out_dir)
    failed: list[tuple[Path, QilError]] = []
    done = 0
    for image_path, target in targets:
        try:
            _decompose_one(registry, engine, image_path, target, options, args, token)
            done += 1
            if not args.quiet:
                print(f"qil: {image_path.name} -> {target}", file=sys.stderr)
        except (CancelledError, ModelError) as err:
            # the same model problem would hit every image: stop here, say what is done
            if done and not args.quiet:
                print(f"qil: {done} of {len(targets)} images were done before this.", file=sys.stderr)
            raise err
        except QilError as err:
            failed.append((image_path, err))
            print(f"qil: skipped {image_path.name}: {err}", file=sys.stderr)
    print(f"qil: {done} of {len(targets)} images decomposed into {out_dir}.", file=sys.stderr)
    return _report_failures(failed)
