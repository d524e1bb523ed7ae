"""Every plugin's enqueue(), reached through its TensorRT interfaces, against PyTorch on the GPU.

bert_plugin_harness --enqueue takes each case of plugins/harness/make_cases.py the way an engine
takes a plugin (create, configure, serialize, deserialize, attach, onShapeChange, enqueue) and
compares the outputs with float64 PyTorch references: fp32 and fp16, several shapes, one-token,
empty and zero-length inputs, an empty packed sequence and an out-of-table id (a NaN row).
Needs a CUDA GPU, nvcc, cmake and TensorRT headers (not TensorRT); skips otherwise. Builds for
this GPU only (CMAKE_CUDA_ARCHITECTURES=native) into build/plugin-harness/gpu-<headers>/.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from gpu_support import require_cuda  # noqa: E402

torch = require_cuda()
ROOT = Path(__file__).resolve().parents[2]

from plugins.harness import make_cases, run  # noqa: E402


def test_enqueue_matches_pytorch(tmp_path):
    headers = run.header_dirs()
    name = next((n for n in ("10.16", "system", "10.8") if n in headers), None)
    if name is None:
        pytest.skip("no TensorRT headers")
    if run.missing_tools():
        pytest.skip(run.missing_tools())
    build_dir = run.build(headers[name], ROOT / "build" / "plugin-harness" / f"gpu-{name}", cuda_archs="native")
    count = make_cases.write_enqueue_cases(tmp_path)
    result = run.run_harness(build_dir, tmp_path, enqueue=True)

    print(f"GPU: {torch.cuda.get_device_name()}")
    failures = [" ".join(r) for r in result.results if r[0] == "FAIL"]
    assert not failures, "\n".join(failures)
    assert result.returncode == 0, result.output[-3000:]
    # Every case ran to the comparison of each of its outputs.
    manifest = (tmp_path / "manifest.txt").read_text().splitlines()
    outputs = sum(line.startswith("output ") for line in manifest)
    compared = [r for r in result.results if r[2] == "enqueue-output"]
    assert len({r[3] for r in compared}) == count
    assert len(compared) == outputs
