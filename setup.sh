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
    if [ ! -e plugins/build/libbert_plugins.so ]; then
        echo "TensorRT's C++ headers not found (pip's TensorRT has none): built the CUDA kernels only, not the" \
             "TensorRT plugins that builder.py --fusions needs; set TENSORRT_INCLUDE_DIR to a TensorRT 10" \
             "tarball's include/ and rerun"
    fi
else
    echo "nvcc/cmake not found: skipping the CUDA plugins (builder.py --fusions needs them on TensorRT)"
fi
