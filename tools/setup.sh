#!/usr/bin/env bash
# Install QIL Editor into ./.venv on a Debian/Ubuntu machine with Python >= 3.10.
#   bash tools/setup.sh          the editor, the qil command line, the classical engine, PSD I/O (no torch)
#   bash tools/setup.sh --model  also the model engines (torch, diffusers, transformers: the "model" extra)
#   bash tools/setup.sh --test   the model engines, the test tools, PyInstaller, Ray Serve (serve extra), the real PSD clients
#                                (GIMP, Krita, Xvfb): what the test suite needs
# System libraries Qt needs are installed with apt-get when they are missing
# (as root, or through sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
want_model=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1; want_model=1 ;;
    --model) want_model=1 ;;
    *) echo "usage: bash tools/setup.sh [--model] [--test]" >&2; exit 2 ;;
  esac
done

packages=(libegl1 libgl1 libopengl0 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libfreetype6
          libdbus-1-3 libglib2.0-0 libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0
          libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0
          libxcb-xkb1 fonts-dejavu-core)
if [ "$want_test" = 1 ]; then
  packages+=(gimp krita xvfb xauth)
  # the real clients of the .pptx/.svg exports (tests/test_exports_clients.py): ~125 MB download, ~40 s
  packages+=(libreoffice-impress librsvg2-bin inkscape)
  # the lite build's slim OpenCV is compiled from source (packaging/slim_opencv.py, tests/test_packaging.py)
  packages+=(cmake g++ ninja-build)
fi
python3 -c "import ensurepip, venv" 2>/dev/null || packages+=(python3-venv)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "Installing system packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Please install these system packages first: ${missing[*]}" >&2
    exit 1
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
extras=()
[ "$want_model" = 1 ] && extras+=(model)
[ "$want_test" = 1 ] && extras+=(test package serve)
target=.
if [ "${#extras[@]}" -gt 0 ]; then
  target=".[$(IFS=,; echo "${extras[*]}")]"
fi
# pip's own notices are not ours to show; real errors still print and stop the script.
.venv/bin/python -m pip install -q --progress-bar off -e "$target"
if [ "$want_model" = 1 ]; then
  echo "QIL Editor is installed in $(pwd)/.venv (with the model engines)"
else
  echo "QIL Editor is installed in $(pwd)/.venv (classical engine; add the model engines with: bash tools/setup.sh --model)"
fi
