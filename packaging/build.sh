#!/usr/bin/env bash
# Build the QIL Editor application with PyInstaller (one folder, no UPX).
#
#   packaging/build.sh [lite|full] [PyInstaller options...]
#
#   lite (default)  classical engine only, no torch: dist/qil-editor/qil-editor
#   full            with torch, diffusers and transformers: dist/qil-editor-full/qil-editor
#
# On Linux the lite flavour takes a slim OpenCV compiled from source once (packaging/slim_opencv.py,
# 7-15 minutes, cached in ~/.cache/qil-editor/opencv-slim); QIL_OPENCV=wheel uses the wheel's instead.
# Options such as --distpath DIR, --workpath DIR, --clean or --log-level WARN are
# passed to PyInstaller. The Python used is $PYTHON, else the project's .venv,
# else python3; PyInstaller is installed into it when missing (pyproject's
# "package" extra). Then smoke-test the result:
#   dist/qil-editor/qil-editor --smoke-test
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
flavour=lite
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then
  flavour=$1
  shift
fi
case "$flavour" in
  lite|full) ;;
  *) echo "usage: packaging/build.sh [lite|full] [PyInstaller options...]" >&2; exit 2 ;;
esac

distpath="$root/dist"
workpath="$root/build/$flavour"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --distpath) distpath=${args[$((i + 1))]} ;;
    --distpath=*) distpath=${args[$i]#--distpath=} ;;
    --workpath) workpath=${args[$((i + 1))]} ;;
    --workpath=*) workpath=${args[$i]#--workpath=} ;;
  esac
done

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in "$root/.venv/bin/python" "$root/.venv/Scripts/python.exe"; do
    if [ -x "$candidate" ]; then python=$candidate; break; fi
  done
fi
python=${python:-python3}

if ! "$python" -c "import PyInstaller" 2>/dev/null; then
  echo "Installing PyInstaller into $("$python" -c 'import sys; print(sys.prefix)')"
  "$python" -m pip install -q "pyinstaller>=6.10"
fi

# Be polite to whatever else runs on the machine; PyInstaller is mostly single-threaded.
nice_cmd=()
if command -v nice >/dev/null 2>&1; then nice_cmd=(nice -n 10); fi

start=$(date +%s)
"${nice_cmd[@]}" "$python" -m PyInstaller --noconfirm \
  --distpath "$distpath" --workpath "$workpath" "$@" \
  "$root/packaging/qil_editor.spec" -- --flavour "$flavour"
seconds=$(( $(date +%s) - start ))

bundle="$distpath/qil-editor"
[ "$flavour" = full ] && bundle="$distpath/qil-editor-full"
if [ "$(uname -s)" = Darwin ]; then
  app="$distpath/QIL Editor.app"
  [ "$flavour" = full ] && app="$distpath/QIL Editor Full.app"
  [ -d "$app" ] && bundle=$app
fi
if [ ! -d "$bundle" ]; then
  echo "build.sh: PyInstaller finished but $bundle is missing" >&2
  exit 1
fi

if [ "$flavour" = lite ]; then
  # The lite build must not carry model support: torch alone is gigabytes.
  leaked=$(find "$bundle" \( -iname '*torch*' -o -iname 'triton' -o -iname 'nvidia' -o -iname 'diffusers' \
           -o -iname 'transformers' -o -iname 'libcudnn*' -o -iname 'libcublas*' -o -iname 'accelerate' \
           -o -iname 'safetensors' -o -iname 'bitsandbytes' -o -iname 'ray' \) -print | head -20)
  if [ -n "$leaked" ]; then
    echo "build.sh: the lite build contains model packages it must not ship:" >&2
    echo "$leaked" >&2
    exit 1
  fi
fi

if [ -d "$bundle/_internal" ]; then
  echo "Largest parts:"
  du -sm "$bundle/_internal"/* | sort -n | tail -12 | awk '{printf "  %5d MB  %s\n", $1, $2}'
fi
size=$(du -sh "$bundle" | cut -f1)
echo "Built the $flavour flavour in ${seconds}s: $bundle ($size)"
