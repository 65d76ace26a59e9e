"""``qil convert IN -o OUT``: any readable image or PSD to our PSD, a flat PNG, a ZIP or a folder."""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from ..io import open_document, save_document


def register(subparsers) -> None:
    p = subparsers.add_parser("convert", help="convert an image or PSD to a clean RGBA PSD (or PNG/ZIP)",
                              description="Open any supported image or PSD and save it as OUT: "
                                          ".psd (layers, RGBA), .png (flat picture), .zip (one PNG per "
                                          "layer) or a folder (one PNG per layer).")
    p.add_argument("input", help="image or PSD/PSB file to read")
    p.add_argument("-o", "--output", required=True, help="file or folder to write")
    p.set_defaults(func=run)


def run(args) -> int:
    if Path(args.output).resolve() == Path(args.input).resolve():
        raise UsageError("The output would overwrite the input file.",
                         "Choose a different output name.")
    doc = open_document(args.input)
    kind = save_document(doc, args.output)
    print(f"wrote {args.output} ({kind}, {doc.width} x {doc.height} px, {len(doc.layers)} layer(s))")
    return 0
