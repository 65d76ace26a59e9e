"""The ``qil`` command line: headless versions of what the editor does.

Each subcommand lives in its own module with a ``register(subparsers)``
function; this module only dispatches and turns errors into exit codes
(``errors.EXIT_CODES``: 0 ok, 1 internal error, 2 usage, 3 bad input file,
4 model problem, 5 model server problem, 6 cannot write the output,
130 cancelled). Every error is
one ``qil: error:`` line and a hint, never a traceback (``QIL_DEBUG=1``
shows the traceback of an internal error).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .. import __version__
from ..errors import EXIT_CODES, QilError

# Modules under qil_editor.cli that each register one or more subcommands.
COMMAND_MODULES = ["info", "convert", "decompose", "make_tiny_model", "edit_layer", "evaluate", "serve",
                   "set_layer"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 on usage errors already; keep its text short
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _exit_code_epilog() -> str:
    return "exit codes: " + "; ".join(f"{code} {text.split(' (')[0]}" for code, text in EXIT_CODES.items())


def _memory_budget(text: str) -> str:
    from ..io.limits import parse_size
    try:
        parse_size(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (for example 4G, 1500M or unlimited)") \
            from None
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qil", description="QIL Editor command line: layered images from flat ones.",
                     epilog=_exit_code_epilog())
    parser.add_argument("--version", action="version", version=f"qil {__version__}")
    parser.add_argument("--memory-budget", metavar="SIZE", type=_memory_budget,
                        help="most memory one file may take to open, e.g. 4G or unlimited "
                             "[QIL_MEMORY_BUDGET, else 60%% of the memory available]")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def report_error(err: QilError) -> None:
    print(f"qil: error: {err.message}", file=sys.stderr)
    if err.hint:
        print(f"  {err.hint}", file=sys.stderr)


def _quiet_library_logs() -> None:
    """Libraries' log lines (psd-tools reports a damaged block with its validator's repr) are
    for developers: the user gets our one-line error instead. ``QIL_DEBUG=1`` keeps them."""
    import logging

    if os.environ.get("QIL_DEBUG"):
        return
    for name in ("psd_tools", "PIL"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())
        logger.propagate = False


def warn(message: str) -> None:
    """One ``qil: warning:`` line on stderr."""
    print(f"qil: warning: {message}", file=sys.stderr)


def save_output(doc, path, *, linked: bool = False) -> str:
    """Save as every command does: by the target's kind, what the format cannot hold as
    ``qil: warning:`` lines (not raw Python warnings); returns the kind written."""
    from ..io import save_document

    return save_document(doc, path, linked=linked, on_warning=warn)


def main(argv: list[str] | None = None) -> int:
    from ..io.atomic import install_cleanup_handlers
    from ..io.limits import parse_size, set_memory_budget

    parser = build_parser()
    args = parser.parse_args(argv)
    install_cleanup_handlers()  # SIGTERM/SIGHUP during a save leave no temporary file behind
    _quiet_library_logs()
    budget_set = getattr(args, "memory_budget", None) is not None
    if budget_set:
        set_memory_budget(parse_size(args.memory_budget))
    try:
        result = args.func(args)
        return int(result or 0)
    except QilError as err:
        report_error(err)
        return err.exit_code
    except KeyboardInterrupt:
        print("qil: cancelled", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except MemoryError:
        report_error(QilError("ran out of memory.",
                                "Close other programs, or lower the work (a smaller file, fewer layers, "
                                "a smaller --memory-budget so big files are refused up front)."))
        return 3
    except Exception as exc:  # a bug: one line for the user, the traceback only on request
        if os.environ.get("QIL_DEBUG"):
            raise
        print(f"qil: internal error: {type(exc).__name__}: {str(exc)[:300]}", file=sys.stderr)
        print("  This is a bug in QIL Editor; please report it with the command you ran "
              "(QIL_DEBUG=1 shows the details).", file=sys.stderr)
        return 1
    finally:
        if budget_set:
            set_memory_budget()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
