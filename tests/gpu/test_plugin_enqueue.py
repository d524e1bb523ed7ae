"""Every plugin's enqueue(), reached through its TensorRT interfaces, against PyTorch on the GPU.

bert_plugin_harness --enqueue takes each case of plugins/harness/make_cases.py the way an engine
takes a plugin (create, configure, serialize, deserialize, attach, onShapeChange, enqueue) and
compares the outputs with float64 PyTorch references: fp32 and fp16, several shapes, one-token,
empty and zero-length inputs, an empty packed sequence and an out-of-table id (a NaN row).
Needs a CUDA GPU, nvcc, cmake and TensorRT headers (not TensorRT); skips otherwise. Builds for
this GPU only (CMAKE_CUDA_ARCHITECTURES=native) into build/plugin-harness/gpu-<headers>/.
"""
from __future__ import annotations

import re
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
    # Every case ran to the comparison of each of its outputs, once with tactic 0 and once with
    # every tactic the plugin offered; the LayerNorm family offers some in fp32 and fp16 (not
    # with INT8 I/O), the other plugins none; every case with tactics had them timed.
    manifest = (tmp_path / "manifest.txt").read_text().splitlines()
    outputs, case = {}, None
    for line in manifest:
        if line.startswith("case "):
            case = line.split()[1]
            outputs[case] = 0
        elif line.startswith("output "):
            outputs[case] += 1
    assert len(outputs) == count
    offered = {r[3]: int(re.search(r"tactics offered: (\d+)", r[4])[1])
               for r in result.results if r[2] == "enqueue-setup" and "tactics offered" in r[4]}
    assert set(offered) == set(outputs)
    compared = [r for r in result.results if r[2] == "enqueue-output"]
    for case, n in outputs.items():
        runs = sum(r[3] == case for r in compared)
        assert runs == n * (1 + offered[case]), f"{case}: {runs} outputs compared, {n} x (1 + {offered[case]}) expected"
        norm_family = case.split("_")[0] in ("layernorm", "skip", "emb")
        assert (offered[case] > 0) == (norm_family and "int8" not in case), f"{case}: {offered[case]} tactics"
    timed = {r[3] for r in result.results if r[2] == "tactic-timing"}
    assert timed == {case for case, n in offered.items() if n > 0}
    # ...and after every run of such a case, the kernel library's record of the version that ran
    # was checked against the tactic (enqueue-tactic; failures are caught above).
    for case, n in offered.items():
        ran = sum(r[3] == case and r[2] == "enqueue-tactic" for r in result.results)
        assert ran == (1 + n if n > 0 else 0), f"{case}: {ran} enqueue-tactic checks"
