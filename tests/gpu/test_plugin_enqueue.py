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


@pytest.fixture(scope="module")
def build_dir():
    """libbert_plugins.so and the harness built for this GPU (sm_90a on Hopper), once."""
    headers = run.header_dirs()
    name = next((n for n in ("10.16", "system", "10.8") if n in headers), None)
    if name is None:
        pytest.skip("no TensorRT headers")
    if run.missing_tools():
        pytest.skip(run.missing_tools())
    return run.build(headers[name], ROOT / "build" / "plugin-harness" / f"gpu-{name}", cuda_archs="native")


def test_interface_checks_on_this_gpu(build_dir, tmp_path):
    """The harness's interface checks (tests/test_plugin_harness.py runs them in CI, without a GPU)
    with this GPU present: the attention plugin's tactics then depend on it (the mma.sync versions
    from compute capability 8.0, the wgmma ones on Hopper), and the harness's rule checks them."""
    make_cases.write_field_cases(tmp_path)
    result = run.run_harness(build_dir, tmp_path)
    failures = [" ".join(r) for r in result.results if r[0] == "FAIL"]
    assert not failures, "\n".join(failures)
    assert result.returncode == 0, result.output[-3000:]
    tactics = {r[3]: r[4] for r in result.results if r[2] == "tactics"}
    assert set(tactics) == set(make_cases.FIELD_CASES)
    print("\n".join(f"{case}: {detail}" for case, detail in sorted(tactics.items()) if case.startswith("attention")))


def test_enqueue_matches_pytorch(build_dir, tmp_path):
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
        assert (offered[case] > 0) == ("int8" not in case), f"{case}: {offered[case]} tactics"
    # A pinned tactic that refuses the shape gave way to the default: in the gives-way case, each
    # tactic the harness announced as one that must (since run 19 BiasGelu's v6 and v9), and no other.
    announced = sorted((r[3], int(re.search(r"gives-way tactic (\d+) offered", r[4]).group(1)))
                       for r in result.results if r[2] == "enqueue-setup" and "gives-way tactic" in r[4])
    gave_way = sorted((r[3], int(re.search(r"tactic (\d+):", r[4]).group(1)))
                      for r in result.results if r[2] == "enqueue-tactic" and "the pinned one refuses" in r[4])
    assert announced and {case for case, _ in announced} == {"bias_gelu_fp32_beyond_one_grid"}, announced
    assert gave_way == announced, (gave_way, announced)
    # On Hopper the builder can pick the wgmma kernel for BERT-base attention (the rule for every
    # GPU is the harness's, checked by test_interface_checks_on_this_gpu).
    if torch.cuda.get_device_capability() == (9, 0):
        assert 5 in versions["attention_padded_fp16_bert_base"], versions["attention_padded_fp16_bert_base"]
    timed = {r[3] for r in result.results if r[2] == "tactic-timing"}
    assert timed == {case for case, n in offered.items() if n > 0}
    # ...and after every run of such a case, the kernel library's record of the version that ran
    # was checked against the tactic (enqueue-tactic; failures are caught above).
    for case, n in offered.items():
        ran = sum(r[3] == case and r[2] == "enqueue-tactic" for r in result.results)
        assert ran == (1 + n if n > 0 else 0), f"{case}: {ran} enqueue-tactic checks"
