"""Two more stand-in libraries for the lite build (Linux): ICU's data and OpenCV's OpenBLAS.

- **ICU data** (``libicudata.so.NN``, 31 MB): Qt uses ICU for collation (QCollator, which
  sorts file names in Qt's file dialog), locale-aware case mapping and legacy text codecs;
  Qt's own locale and Unicode tables serve everything else, and the editor itself calls
  none of it. The stand-in has the same soname and symbol and keeps, of ICU's 3,900 data
  items, the root collation (the Unicode collation algorithm's order with numeric mode,
  what English and most languages use) and the codec alias table: 0.9 MB. Lost: the
  collation tailorings of individual languages (e.g. Swedish å/ä/ö after z) and codecs
  other than UTF-8/16/32, Latin-1 and ASCII (the editor decodes PSD and export text in
  Python). ICU's code (libicuuc, libicui18n) stays.
- **OpenCV's OpenBLAS** (39 MB): ``cv2`` calls 19 BLAS/LAPACK functions (matrix
  products, SVD, QR, LU, Cholesky, eigenvalues). SciPy ships its own OpenBLAS with the
  same 32-bit-integer interface under ``scipy_``-prefixed names, so the stand-in has
  ``cv2``'s soname and one entry per function that jumps to SciPy's (arguments and
  stack untouched: no signature is restated), found next to it in the bundle.

    python packaging/lib_standins.py icu LIBICUDATA OUT_DIR
    python packaging/lib_standins.py blas CV2_SO LIBSCIPY_OPENBLAS OUT_DIR

Needs ``nm``, ``readelf`` and a C compiler (``cc``), as on any Linux build machine.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling build helper, however this is loaded
from opencv_stubs import defined_symbols, needed, soname, undefined_symbols  # noqa: E402

#: the prefix SciPy's OpenBLAS puts before every BLAS/LAPACK name (scipy-openblas32 wheels)
SCIPY_PREFIX = "scipy_"


def icu_common_data_header(real: Path) -> tuple[str, bytes]:
    """(symbol, header bytes) of the ICU common-data package inside ``real`` (libicudata)."""
    symbols = [name for name in defined_symbols(real) if name.startswith("icudt") and name.endswith("_dat")]
    if len(symbols) != 1:
        raise RuntimeError(f"{real}: expected one icudtNN_dat symbol, found {symbols}")
    blob = real.read_bytes()
    at = blob.find(b"CmnD")  # UDataInfo.dataFormat of the common-data package
    if at < 12:
        raise RuntimeError(f"{real}: no ICU common-data header found")
    start = at - 12  # headerSize(2) magic(2) UDataInfo.size..reservedByte(8), then dataFormat
    header_size, magic1, magic2 = struct.unpack_from("<HBB", blob, start)
    if (magic1, magic2) != (0xDA, 0x27) or blob[at + 4] != 1:
        raise RuntimeError(f"{real}: unexpected ICU data header (magic or format version)")
    return symbols[0], blob[start:start + header_size]


#: ICU data items the stand-in keeps (names inside the package, after "icudtNNl/")
ICU_KEPT = ("coll/root.res", "coll/ucadata.icu", "coll/res_index.res", "coll/en.res", "cnvalias.icu")


def icu_package_subset(real: Path, keep: tuple[str, ...] = ICU_KEPT) -> tuple[str, bytes]:
    """(symbol, package) of ICU common data holding only the ``keep`` items of ``real``'s.

    Layout (ICU's ucmndata.h): header, then the table of contents ``count`` and ``count``
    (name offset, data offset) pairs relative to the table, names, then the items,
    16-byte aligned; names stay in ICU's sorted order (it searches them by bisection).
    """
    symbol, header = icu_common_data_header(real)
    size = defined_symbols(real)[symbol][1]
    blob = real.read_bytes()
    start = blob.find(b"CmnD") - 12
    package = blob[start:start + size]
    toc = package[len(header):]
    count = struct.unpack_from("<I", toc, 0)[0]
    entries = [struct.unpack_from("<II", toc, 4 + 8 * i) for i in range(count)]
    ends = sorted(data for _name, data in entries) + [len(toc)]
    end_of = {data: ends[ends.index(data) + 1] for _name, data in entries}
    items = []
    for name_at, data_at in entries:
        name = toc[name_at:toc.index(b"\0", name_at)].decode("ascii")
        if name.split("/", 1)[-1] in keep:
            items.append((name, toc[data_at:end_of[data_at]]))
    if {name.split("/", 1)[-1] for name, _ in items} != set(keep):
        raise RuntimeError(f"{real}: ICU data lacks some of {keep}")
    names = b"".join(name.encode("ascii") + b"\0" for name, _ in items)
    table_size = 4 + 8 * len(items)
    data_start = (table_size + len(names) + 15) // 16 * 16
    out = bytearray(struct.pack("<I", len(items)))
    name_at, data_at, body = table_size, data_start, bytearray()
    for name, data in items:
        out += struct.pack("<II", name_at, data_at)
        name_at += len(name) + 1
        padded = data + b"\0" * (-len(data) % 16)
        body += padded
        data_at += len(padded)
    out += names + b"\0" * (data_start - table_size - len(names)) + body
    return symbol, header + bytes(out)


def build_icu_data_standin(real: Path, out_dir: Path, cc: str = "cc") -> Path:
    """A libicudata with the same soname and symbol holding only the ``ICU_KEPT`` items."""
    symbol, data = icu_package_subset(real)
    name = soname(real)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = out_dir / f"{name}.c"
    body = ",".join(str(b) for b in data)
    source.write_text(f"const unsigned char {symbol}[{len(data)}] __attribute__((aligned(16))) = {{{body}}};\n",
                      encoding="utf-8")
    target = out_dir / name
    subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", str(target), str(source), f"-Wl,-soname,{name}"],
                   check=True)
    return target


def blas_symbols(cv2_module: Path, openblas: Path, scipy_openblas: Path) -> list[str]:
    """The functions ``cv2`` takes from its OpenBLAS; each must exist, prefixed, in SciPy's."""
    wanted = undefined_symbols(cv2_module)
    provided = defined_symbols(openblas)
    names = sorted(name for name in wanted if name in provided)
    if any(provided[name][0] not in "TtWwi" for name in names):
        raise RuntimeError(f"cv2 uses data from {openblas.name}, not only functions")
    scipy = defined_symbols(scipy_openblas)
    missing = [name for name in names if SCIPY_PREFIX + name not in scipy]
    if missing:
        raise RuntimeError(f"{scipy_openblas.name} lacks {', '.join(SCIPY_PREFIX + n for n in missing)}")
    return names


def build_blas_forwarder(cv2_module: Path, openblas: Path, scipy_openblas: Path, out_dir: Path,
                         rpath: str, cc: str = "cc") -> Path:
    """A library with ``openblas``'s soname whose functions jump to SciPy's OpenBLAS.

    ``rpath`` is where the loader finds ``scipy_openblas`` from the stand-in's folder
    (``$ORIGIN/../scipy.libs`` in the bundle).
    """
    names = blas_symbols(cv2_module, openblas, scipy_openblas)
    if not names:
        raise RuntimeError(f"cv2 takes nothing from {openblas.name}")
    name = soname(openblas)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["\t.text"]
    for sym in names:
        lines += [f"\t.globl {sym}", f"\t.type {sym}, @function", f"{sym}:",
                  f"\tjmp {SCIPY_PREFIX}{sym}@PLT", f"\t.size {sym}, .-{sym}"]
    lines.append('\t.section .note.GNU-stack,"",@progbits')
    source = out_dir / f"{name}.S"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    target = out_dir / name
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(target), str(source), f"-Wl,-soname,{name}",
                    f"-L{scipy_openblas.parent}", f"-l:{scipy_openblas.name}", f"-Wl,-rpath,{rpath}",
                    "-Wl,--no-as-needed"], check=True)
    if scipy_openblas.name not in needed(target):
        raise RuntimeError(f"{target}: does not link {scipy_openblas.name}")
    return target


def main(argv: list[str]) -> int:
    if argv[:1] == ["icu"] and len(argv) == 3:
        print(build_icu_data_standin(Path(argv[1]), Path(argv[2])))
        return 0
    if argv[:1] == ["blas"] and len(argv) == 4:
        cv2_module, scipy_openblas = Path(argv[1]), Path(argv[2])
        openblas = next(cv2_module.parent.parent.glob("opencv_python*.libs/libopenblas*.so*"))
        print(build_blas_forwarder(cv2_module, openblas, scipy_openblas, Path(argv[3]),
                                   rpath=str(scipy_openblas.parent)))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
