#!/usr/bin/env bash
# One-command set-up. With an NVIDIA GPU: TensorRT 10 + everything, and the CUDA plugins built.
# Without one: everything but TensorRT's runtime (the scripts then run the reference backend).
set -euo pipefail
cd "$(dirname "$0")"
python -m pip install torch==2.13.0            # first, pinned: pip must not pick another build
if command -v nvidia-smi >/dev/null 2>&1; then
    python -m pip install -r requirements.txt
else
    echo "no NVIDIA GPU found: installing without TensorRT's runtime (reference backend only)"
    python -m pip install -r requirements-cpu.txt
fi
if command -v nvcc >/dev/null 2>&1 && command -v cmake >/dev/null 2>&1; then
    # TensorRT's headers: the installed ones, else TENSORRT_INCLUDE_DIR (e.g. a TensorRT tarball's include/).
    cmake -S plugins -B plugins/build ${TENSORRT_INCLUDE_DIR:+-DTENSORRT_INCLUDE_DIR=$TENSORRT_INCLUDE_DIR}
    cmake --build plugins/build -j
else
    echo "nvcc/cmake not found: skipping the CUDA plugins (builder.py --fusions needs them on TensorRT)"
fi
