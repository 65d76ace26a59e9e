"""``--server URL`` for ``qil decompose`` and ``qil edit-layer``: the same commands on a model server.

The remote engine (:mod:`qil_editor.engines.remote`) goes into the engine
registry like any other and runs through the same job runner; only the batch
differs: ``--jobs N`` keeps N requests in flight (the server queues or
spreads them over its replicas), prints progress per file, goes on past a
failed file and sums up at the end. Server problems exit with 5.
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from ..errors import CancelledError, InputFileError, QilError, UsageError


def add_server_arguments(parser, *, jobs: bool) -> None:
    group = parser.add_argument_group("model server (qil serve)")
    group.add_argument("--server", metavar="URL", help="run on this QIL model server, e.g. http://gpu-box:8790")
    group.add_argument("--token-file", metavar="F", help="file holding the server's token "
                                                         "[else the QIL_SERVER_TOKEN variable]")
    if jobs:
        group.add_argument("--jobs", type=int, default=1, metavar="N",
                           help="for a folder: requests in flight at once [1]")


def wants_server(args) -> bool:
    return bool(getattr(args, "server", None)) or getattr(args, "engine", None) == "remote"


def _engine_args(args):
    from ..engines.remote import token_from

    if not args.server:
        raise UsageError("The remote engine needs --server URL.", "For example: --server http://gpu-box:8790")
    return args.server, token_from(args.token_file)


def run_decompose(args) -> int:
    """``qil decompose ... --server URL``: one image or a folder, through the remote engine."""
    from ..engines.base import default_registry
    from ..engines.jobs import CancelToken
    from ..engines.remote import register_remote
    from .decompose import _ctrl_c_cancels, _decompose_one, build_options

    source, out = Path(args.input), Path(args.output)
    if not source.exists():
        raise InputFileError(f"{source} does not exist.", "Check the path and try again.")
    jobs = getattr(args, "jobs", 1)
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}.")
    if args.model or args.lora:
        raise UsageError("--model and --lora name files on this computer; a server uses its own.",
                         "Drop them, or start the server with them: qil serve --model DIR --lora FILE.")
    server_engine = args.engine if args.engine not in ("auto", "remote") else "auto"
    options = build_options(args)
    url, token = _engine_args(args)
    registry = default_registry()
    engine = register_remote(registry, url, token, server_engine=server_engine)
    engine.client.engines()  # unreachable or refused: exit 5 now, before any work
    token_ = CancelToken()
    with _ctrl_c_cancels(token_):
        try:
            if source.is_dir():
                return _run_batch(registry, engine, source, out, options, args, token_, jobs)
            kind = _decompose_one(registry, engine, source, out, options, args, token_)
        except KeyboardInterrupt:
            raise CancelledError("Decomposition cancelled.") from None
    if not args.quiet:
        seed = engine.last_run.seed if engine.last_run else None
        print(f"qil: wrote {out} ({kind}, {engine.label}" + (f", seed {seed})" if seed is not None else ")"),
              file=sys.stderr)
    return 0


def _run_batch(registry, engine, folder: Path, out_dir: Path, options, args, token, jobs: int) -> int:
    from .decompose import _batch_targets, _decompose_one, _LogLines, _report_failures

    targets = _batch_targets(folder, out_dir)
    failed: list[tuple[Path, QilError]] = []
    done = 0
    lock = threading.Lock()

    def one(image_path: Path, target: Path) -> None:
        # whole lines, never a tqdm bar: N images in flight share stderr
        _decompose_one(registry, engine, image_path, target, options, args, token,
                       None if args.quiet else _LogLines(image_path.name))

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="qil-remote") as pool:
        futures = {pool.submit(one, src, dst): (src, dst) for src, dst in targets}
        for future in as_completed(futures):
            src, dst = futures[future]
            try:
                future.result()
                with lock:
                    done += 1
                if not args.quiet:
                    print(f"qil: {src.name} -> {dst} ({done + len(failed)}/{len(targets)})", file=sys.stderr)
            except CancelledError:
                token.cancel()
            except QilError as err:
                failed.append((src, err))
                print(f"qil: failed {src.name}: {err}", file=sys.stderr)
    if token.cancelled:
        print(f"qil: cancelled; {done} of {len(targets)} images were done.", file=sys.stderr)
        raise CancelledError("Decomposition cancelled.")
    print(f"qil: {done} of {len(targets)} images decomposed into {out_dir} on {engine.client.url}.",
          file=sys.stderr)
    return _report_failures(failed)


def run_edit(args, options) -> int:
    """``qil edit-layer ... --server URL``: the layer goes to the server, the rest stays here."""
    from ..document.tree import find_layer
    from ..engines.jobs import CancelToken
    from ..engines.remote import RemoteLayerEditor
    from ..io import open_document
    from .decompose import _ctrl_c_cancels
    from .edit_layer import _progress_printer, finish_edit

    url, token = _engine_args(args)
    if args.model or args.layered_model:
        raise UsageError("--model and --layered-model name folders on this computer; a server uses its own.")
    doc = open_document(args.input)
    layer = find_layer(doc, args.layer)
    editor = RemoteLayerEditor(url, token)
    editor.locate(options)
    cancel = CancelToken()
    with _ctrl_c_cancels(cancel):
        try:
            edit = editor.edit_layer(layer, options, _progress_printer(args.quiet), cancel)
        except KeyboardInterrupt:
            raise CancelledError("Edit cancelled.") from None
    return finish_edit(doc, layer, edit, args.output, f" on {url}")
