#!/usr/bin/env bash
# Install eemkit on a Jetson with JetPack 6.1 or 6.2 (L4T r36.4, TensorRT 10.3): JetPack's TensorRT, CUDA-enabled
# PyTorch and OpenCV
# with GStreamer are used; pip must not replace them. Run as the user that will run the demo.
# Usage: bash deploy/jetson/setup.sh /path/to/eemkit [TORCH_WHEEL]
set -euo pipefail
SRC=${1:?path to the eemkit checkout}
TORCH_WHEEL=${2:-}   # NVIDIA's PyTorch wheel for your JetPack (see NVIDIA's "Installing PyTorch for Jetson Platform")
VENV=${VENV:-$HOME/eemkit-venv}

if ! grep -q "R36" /etc/nv_tegra_release 2>/dev/null; then
  echo "warning: this is not JetPack 6 (L4T r36); eemkit's engines need TensorRT 10 (JetPack 6.1/6.2)" >&2
fi
sudo apt-get update
sudo apt-get install -y python3-pip python3-venv python3-libnvinfer python3-opencv gstreamer1.0-tools v4l-utils
python3 -m venv --system-site-packages "$VENV"
if [ -n "$TORCH_WHEEL" ]; then
  "$VENV/bin/pip" install "$TORCH_WHEEL"
fi
"$VENV/bin/python" -c "import torch; assert torch.cuda.is_available(), 'PyTorch without CUDA: install NVIDIA Jetson wheel'"
# eemkit's pins target x86 PyPI builds: install without dependencies, then the light ones
"$VENV/bin/pip" install --no-deps -e "$SRC"
"$VENV/bin/pip" install onnx onnxruntime onnxslim typer rich pyyaml matplotlib
"$VENV/bin/python" -c "import tensorrt, cv2; print('TensorRT', tensorrt.__version__, '| OpenCV', cv2.__version__)"
# JetPack 6.0 is also L4T r36 but ships TensorRT 8.6, which eemkit refuses: say so here, not at the first build
if ! "$VENV/bin/python" -c "import sys, tensorrt; sys.exit(int(tensorrt.__version__.split('.')[0]) < 10)"; then
  echo "warning: TensorRT 8.x (JetPack 6.0?): eemkit builds and runs engines with TensorRT 10 (JetPack 6.1/6.2);" \
       "upgrade JetPack, or run the ONNX models with ONNX Runtime" >&2
fi
"$VENV/bin/eemkit" info
