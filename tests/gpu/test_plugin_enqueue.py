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
    # every tactic the plugin offered; every plugin with kernel versions offers some in fp32 and
    # fp16 (the LayerNorm family not with INT8 I/O; EmbLayerNorm's sequence lengths come from a
    # kernel without versions); every case with tactics had them timed.
    manifest = (tmp_path / "manifest.txt").read_text().splitlines()
    outputs, case = {}, None
    for line in manifest:
        if line.startswith("case "):
            case = line.split()[1]
            outputs[case] = 0
        elif line.startswith("output "):
            outputs[case] += 1
    assert len(outputs) == count
    listed = {r[3]: re.search(r"tactics offered: (\d+) \{([\d,]*)\}", r[4]).groups()
              for r in result.results if r[2] == "enqueue-setup" and "tactics offered" in r[4]}
    offered = {case: int(n) for case, (n, _) in listed.items()}
    versions = {case: [int(v) for v in text.split(",") if v] for case, (_, text) in listed.items()}
    assert set(offered) == set(outputs)
    compared = [r for r in result.results if r[2] == "enqueue-output"]
    for case, n in outputs.items():
        runs = sum(r[3] == case for r in compared)
        assert runs == n * (1 + offered[case]), f"{case}: {runs} outputs compared, {n} x (1 + {offered[case]}) expected"
        assert len(versions[case]) == offered[case]
        assert (offered[case] > 0) == ("int8" not in case), f"{case}: {offered[case]} tactics"
        if case.startswith("attention"):
            assert_attention_tactics(case, versions[case])
    timed = {r[3] for r in result.results if r[2] == "tactic-timing"}
    assert timed == {case for case, n in offered.items() if n > 0}
    # ...and after every run of such a case, the kernel library's record of the version that ran
    # was checked against the tactic (enqueue-tactic; failures are caught above).
    for case, n in offered.items():
        ran = sum(r[3] == case and r[2] == "enqueue-tactic" for r in result.results)
        assert ran == (1 + n if n > 0 else 0), f"{case}: {ran} enqueue-tactic checks"


def assert_attention_tactics(case, versions):
    """QkvToContext offers the versions that run here (attention_kernel.h): v1 always, and at head
    size 64 (the default cases) the fp16 mma.sync ones from compute capability 8.0 on and the wgmma
    ones on Hopper (the harness is built for this GPU, sm_90a included), the fp32 SIMT ones
    everywhere; at 128 no wgmma and no v4; at 48 only v1."""
    major, minor = torch.cuda.get_device_capability()
    fp16 = "_fp16" in case
    head_size = 128 if case.endswith("_h128") else 48 if case.endswith("_h48") else 64
    if head_size == 48:
        expected = [1]
    elif not fp16:
        expected = [1, 7, 8]
    else:
        expected = [1] + ([2, 3] if (major, minor) >= (8, 0) else []) \
            + ([4] if (major, minor) >= (8, 0) and head_size == 64 else []) \
            + ([5, 6] if (major, minor) == (9, 0) and head_size == 64 else [])
    assert versions == expected, f"{case}: offered {versions}, expected {expected}"
