#!/usr/bin/env bash
# Install eemkit's RUNTIME on a Jetson with JetPack 6.1 or 6.2 (L4T r36.4, Ubuntu 22.04, Python 3.10, CUDA 12.6,
# TensorRT 10.3). JetPack's TensorRT bindings and the apt OpenCV (built with GStreamer, which csi:// needs) are
# kept: pip must not replace them, so eemkit goes in without its dependencies and the light ones follow.
# No PyTorch and no onnx here: train and export on a workstation, copy the ONNX (and its reference.npz) over.
# Run as the user that will run the demo.   Usage: bash deploy/jetson/setup.sh /path/to/eemkit
set -euo pipefail
SRC=${1:?path to the eemkit checkout}
VENV=${VENV:-$HOME/eemkit-venv}

if ! grep -q "R36" /etc/nv_tegra_release 2>/dev/null; then
  echo "warning: this is not JetPack 6 (L4T r36); eemkit's engines need TensorRT 10 (JetPack 6.1/6.2)" >&2
fi
sudo apt-get update
# python3-libnvinfer: TensorRT's Python bindings; python3-opencv: OpenCV with GStreamer (csi://, RTSP out);
# opencv-data: the Haar cascades in /usr/share/opencv4/haarcascades (apt's cv2 has no cv2.data folder).
sudo apt-get install -y python3-pip python3-venv python3-libnvinfer python3-opencv opencv-data gstreamer1.0-tools v4l-utils
python3 -m venv --system-site-packages "$VENV"   # sees JetPack's tensorrt and the apt cv2
"$VENV/bin/pip" install --upgrade pip
"$VENV/bin/pip" install --no-deps -e "$SRC"     # no opencv-python-headless from pip: it would shadow the GStreamer build
# The rest of the runtime. numpy<2: the apt cv2 is built against numpy 1.x and fails to import under numpy 2.
# onnxruntime: PyPI's aarch64 wheel (CPU; 1.23.2 is the last release for Python 3.10). cuda-python: device
# buffers for the TensorRT runner without torch (12.x matches JetPack 6's CUDA 12.6).
"$VENV/bin/pip" install "numpy>=1.23,<2" "onnxruntime>=1.17,<2" "typer>=0.12,<1" "rich>=13" "pyyaml>=6" "cuda-python>=12.6,<13"
"$VENV/bin/python" -c "import tensorrt, cv2, numpy; print('TensorRT', tensorrt.__version__, '| OpenCV', cv2.__version__, '| numpy', numpy.__version__)"
"$VENV/bin/python" -c "import cv2, re, sys; sys.exit(not re.search(r'GStreamer:\s+YES', cv2.getBuildInformation()))" \
  || echo "warning: this OpenCV has no GStreamer; csi:// cameras and RTSP output need it" >&2
"$VENV/bin/python" -c "import cv2; from eemkit.runtime.faces import find_cascade_dir; print('Haar cascades in', find_cascade_dir(cv2))"
# JetPack 6.0 is also L4T r36 but ships TensorRT 8.6, which eemkit refuses: say so here, not at the first build
if ! "$VENV/bin/python" -c "import sys, tensorrt; sys.exit(int(tensorrt.__version__.split('.')[0]) < 10)"; then
  echo "warning: TensorRT 8.x (JetPack 6.0?): eemkit builds and runs engines with TensorRT 10 (JetPack 6.1/6.2);" \
       "upgrade JetPack, or run the ONNX models with ONNX Runtime" >&2
fi
"$VENV/bin/eemkit" info
