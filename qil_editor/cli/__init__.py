"""The ``qil`` command line: headless versions of what the editor does.

Each subcommand lives in its own module with a ``register(subparsers)``
function; this module only dispatches and turns errors into exit codes
(0 ok, 2 usage, 3 bad input file, 4 model problem, 130 cancelled).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from ..errors import QilError

# Modules under qil_editor.cli that each register one or more subcommands.
COMMAND_MODULES = ["info", "convert", "decompose", "make_tiny_model", "edit_layer", "evaluate", "serve",
                   "set_layer"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 on usage errors already; keep its text short
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qil", description="QIL Editor command line: layered images from flat ones.")
    parser.add_argument("--version", action="version", version=f"qil {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def report_error(err: QilError) -> None:
    print(f"qil: error: {err.message}", file=sys.stderr)
    if err.hint:
        print(f"  {err.hint}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
