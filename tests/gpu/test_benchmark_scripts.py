"""The benchmark scripts run end to end on a small case and write the tables they promise: every
row checked against float64 first (the scripts exit on a mismatch), the report written in one
piece. No timing is asserted: what the numbers are is for the reader of the table."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gpu_support import require_kernel_library

require_kernel_library()

ROOT = Path(__file__).resolve().parents[2]
CUDA_INVALID_CONFIGURATION = 9  # cudaErrorInvalidConfiguration


def run_script(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def table_rows(report: str, kernel: str) -> dict[tuple[str, str], list[str]]:
    """(version, shape) -> the row's cells, for one kernel of a bench_memory_bound_kernels table."""
    rows = {}
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 9 and cells[0] == kernel:
            rows[(cells[1], cells[2])] = cells
    return rows


def contender_us(report: str, label: str) -> float:
    """The us column of a contender's row in an interleaved-rounds table (ablation, shape sweep)."""
    row = next((line for line in report.splitlines()
                if line.startswith("|") and line.split("|")[1].strip() == label), None)
    assert row is not None, f"{label} missing from the table"
    return float(row.split("|")[2])


def test_memory_bound_benchmark_copy_floor_and_hot_l2(tmp_path):
    out = tmp_path / "table.txt"
    done = run_script("benchmarks/bench_memory_bound_kernels.py", "--kernels", "LayerNorm", "SkipLayerNormInt8",
                      "--dtypes", "fp16", "int8", "--hidden", "768", "--tokens", "128", "1000",
                      "--compile-hidden", "--copy-floor", "--hot-l2", "--out", str(out))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = out.read_text()
    assert "--hot-l2: every call reads the same inputs" in report
    assert " 1 input sets)" in done.stdout and " input sets)" not in done.stdout.replace(" 1 input sets)", "")
    assert not list(tmp_path.glob(".table.txt.*")), "a temp file of the atomic write was left behind"
    from plugins.skip_layernorm.ops import INT8_VERSIONS

    for kernel, versions in (("LayerNorm", ("default", "v10")), ("SkipLayerNormInt8",
                                                                 ("default", *(f"v{v}" for v in INT8_VERSIONS)))):
        rows = table_rows(report, kernel)
        for tokens in (128, 1000):
            shape = f"{tokens} x 768"
            for label in (*versions, "torch eager", "copy floor"):
                assert (label, shape) in rows, f"{kernel} {label} {shape} missing from the table"
                assert float(rows[(label, shape)][4]) > 0
            # The builder's pick, timed again: one row naming a contender of the table, for the
            # kernels whose plugin offers tactics (not INT8 SkipLayerNorm).
            tuned = [label for label, at in rows if at == shape and label.startswith("tuned (")]
            assert len(tuned) == (1 if kernel == "LayerNorm" else 0), f"{kernel} {shape}: {tuned}"
            assert all((label[len("tuned ("):-1], shape) in rows for label in tuned), tuned


def test_attention_benchmark_quick(tmp_path):
    out = tmp_path / "attention.txt"
    done = run_script("benchmarks/bench_attention.py", "--quick", "--no-compile", "--versions", "1", "5",
                      "--out", str(out))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "fp16" in out.read_text()


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="the ablation builds its kernels with nvcc from PATH")
def test_layernorm_ablation_quick(tmp_path):
    """The ablation builds its kernels with nvcc, checks modes 4-7 and ours against float64 and
    prints a row per contender; one round at 128 tokens, inputs in L2."""
    out = tmp_path / "ablation.txt"
    done = run_script("benchmarks/ablate_layernorm.py", "--tokens", "128", "--rounds", "1", "--hot-l2",
                      "--out", str(out))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = out.read_text()
    assert not list(tmp_path.glob(".ablation.txt.*")), "a temp file of the atomic write was left behind"
    for label in ("0 copy", "5 two-pass", "7 plain loads", "ours v12", "ours default", "torch.compile"):
        assert contender_us(report, label) > 0, f"{label}: no time in the ablation table"


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="the sweep builds its kernels with nvcc from PATH")
@pytest.mark.parametrize("kernel, dtype, ours, labels", [
    ("layernorm", "fp16", "13", ("G1 W3 R1 K1 B16", "G8 W1 R1 K3 B16", "G1 W6 R1 K1 B8", "G1 W12 R1 K1 B4",
                                 "torch copy x*1")),
    ("skip", "fp32", "15", ("G1 W6 R1 K1 B16", "G1 W3 R2 K2 B16", "G1 W8 R2 K1 B16 partial",
                            "G1 W4 R1 K2 B16 partial", "G1 W3 R2 K2 B16 +tree+i64+late+plain",
                            "G1 W3 R2 K2 B16 +pipe", "G1 W2 R1 K3 B16 +pipe", "torch copy x+skip"))])
def test_layernorm_shape_sweep_quick(tmp_path, kernel, dtype, ours, labels):
    """The shape sweep builds its kernels with nvcc, checks every shape and ours against float64 and
    prints a row per contender; one round at 1,001 tokens (a ragged last block for every shape), for
    LayerNorm fp16 and for SkipLayerNorm's x + skip + bias in fp32, whose shapes include the partial
    ones (torch.compile's layouts, their surplus vectors masked) and the code variants ("+pipe" with
    one row group a block: its loop is test_pipelined_shapes_equal_their_plain_shapes's)."""
    out = tmp_path / "shapes.txt"
    done = run_script("benchmarks/sweep_layernorm_shapes.py", "--kernel", kernel, "--dtype", dtype, "--tokens",
                      "1001", "--rounds", "1", "--ours", ours, "0", "--out", str(out))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = out.read_text()
    assert not list(tmp_path.glob(".shapes.txt.*")), "a temp file of the atomic write was left behind"
    for label in (*labels, f"ours v{ours}", "ours default", "torch.compile"):
        assert contender_us(report, label) > 0, f"{label}: no time in the sweep table"


def sweep_outputs(lib, index_of, labels, rows, seed=0):
    """{(label, kernel): y} of each shape label run as LayerNorm and as x + skip + bias on one set of
    rows (synchronized; a CUDA error fails the test)."""
    import torch

    from benchmarks.sweep_layernorm_shapes import HIDDEN

    epsilon = 1e-12
    torch.manual_seed(seed)
    x = 3.0 * torch.randn(rows, HIDDEN, device="cuda") + 1.0
    skip = torch.randn_like(x)
    bias = 0.5 * torch.randn(HIDDEN, device="cuda")
    gamma = 1.0 + 0.1 * torch.randn(HIDDEN, device="cuda")
    beta = 0.1 * torch.randn(HIDDEN, device="cuda")
    outputs = {}
    for label in labels:
        for kernel in ("layernorm", "skip"):
            y = torch.full_like(x, float("nan"))
            if kernel == "layernorm":
                status = lib.shape_launch(index_of[label], x.data_ptr(), gamma.data_ptr(), beta.data_ptr(),
                                          y.data_ptr(), rows, 1.0 / HIDDEN, epsilon, None)
            else:
                status = lib.skip_launch(index_of[label], x.data_ptr(), skip.data_ptr(), bias.data_ptr(),
                                         gamma.data_ptr(), beta.data_ptr(), y.data_ptr(), rows, 1.0 / HIDDEN, epsilon,
                                         None)
            assert status == 0, f"{label} {kernel}: CUDA error {status}"
            outputs[(label, kernel)] = y
    torch.cuda.synchronize()
    for (label, kernel), y in outputs.items():
        assert not y.isnan().any(), f"{label} {kernel}: rows left unwritten"
    return outputs


def test_port_variants_equal_the_port(tmp_path):
    """"+port"'s run-24 variants change no arithmetic: "+exact" drops the row clamp and row check where the rows
    are a whole number of blocks (2,000 rows: its own instance; 2,001: the launcher falls back to the clamped
    one), "+ftz" computes rsqrt.approx.ftz as Triton does (rsqrtf's denormal guard never fires on these
    variances), and a carveout is a launch attribute. Each must equal the plain port bit for bit. And every
    shape's occupancy query (the sweep's table) answers."""
    import ctypes

    import torch

    from benchmarks.sweep_layernorm_shapes import build, shapes_of

    if shutil.which("nvcc") is None:
        pytest.skip("the sweep builds its kernels with nvcc")
    lib = build(tmp_path)
    shapes = shapes_of(lib, False) + shapes_of(lib, True)
    for index, label in shapes:
        out = (ctypes.c_int * 4)()
        status = lib.shape_query(index, out)
        if status == CUDA_INVALID_CONFIGURATION and "+occ" in label:
            continue  # a cap of resident blocks this GPU cannot reach through shared memory (the sweep logs it)
        assert status == 0 and out[0] > 0 and out[3] >= 1, f"{label}: query {status} {list(out)}"
    index_of = {label: index for index, label in shapes}
    port = "G1 W8 R2 K1 B16 partial +port"
    variants = [label for label in index_of if label.startswith(port + "+") and "keep" not in label]
    assert {port + "+exact", port + "+ftz", port + "+exact+ftz", port + "+c7%"} <= set(variants), variants
    for rows in (2000, 2001):
        outputs = sweep_outputs(lib, index_of, [port, *variants], rows)
        for label in variants:
            for kernel in ("layernorm", "skip"):
                assert torch.equal(outputs[(label, kernel)], outputs[(port, kernel)]), f"{label} {kernel} at {rows} rows"


def test_pipelined_shapes_equal_their_plain_shapes(tmp_path):
    """"+pipe" (layernorm_shapes.cu's layernorm_pipelined) loops over row groups only where the blocks
    that fit the GPU at once do not cover the rows, which the sweep's smoke test at 1,001 rows never
    reaches: at 20,001 every block takes several groups (the next group's loads, the shared partials
    rewritten), and in the shape of two rows a group the last group is ragged. Its arithmetic is
    layernorm_shape's in the same order, so its output must equal that shape's bit for bit, for
    LayerNorm and for x + skip + bias."""
    import torch

    from benchmarks.sweep_layernorm_shapes import build, shapes_of

    if shutil.which("nvcc") is None:
        pytest.skip("the sweep builds its kernels with nvcc")
    lib = build(tmp_path)
    index_of = {label: index for index, label in shapes_of(lib, False)}
    pipelined = [label for label in index_of if label.endswith(" +pipe")]
    assert len(pipelined) == 4, pipelined
    plain = [label.removesuffix(" +pipe") for label in pipelined]
    outputs = sweep_outputs(lib, index_of, pipelined + plain, 20001)
    for label, twin in zip(pipelined, plain):
        for kernel in ("layernorm", "skip"):
            assert torch.equal(outputs[(label, kernel)], outputs[(twin, kernel)]), f"{label} {kernel}: differs from {twin}"


def test_scorecard_small_case(tmp_path):
    out = tmp_path / "scorecard.txt"
    done = run_script("benchmarks/scorecard.py", "--kernels", "SkipLayerNorm", "QkvToContext", "--dtypes", "fp16",
                      "--batches", "1", "--seqs", "64", "--out", str(out))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = out.read_text()
    assert "(partial)" not in report and not list(tmp_path.glob(".scorecard.txt.*"))
    rows = [line for line in report.splitlines() if line.startswith("| SkipLayerNorm ") or line.startswith("| QkvToContext ")]
    assert len(rows) == 2, report
    for row in rows:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        assert cells[1:3] == ["fp16", "1 x 64"] and cells[8].strip("*") in ("ahead", "level", "behind"), row
    assert "copy floor" in rows[0] and "TFLOP/s" in rows[1]
    assert "SkipLayerNorm: " in report and "QkvToContext: " in report


def test_scorecard_fresh_compiles(tmp_path):
    """--compiles 2: two torch.compile contenders a cell, each autotuned afresh, both timed."""
    out = tmp_path / "scorecard.txt"
    done = run_script("benchmarks/scorecard.py", "--kernels", "LayerNorm", "--dtypes", "fp16", "--batches", "1",
                      "--seqs", "64", "--compiles", "2", "--out", str(out))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = out.read_text()
    row = next(line for line in report.splitlines() if line.startswith("| LayerNorm "))
    assert re.search(r"compiles \d+\.\d\d / \d+\.\d\d us", row), row
    # Each compile's own Triton kernel, with the config its autotuning kept (one per compile, not the
    # earlier compile's again).
    for k in (1, 2):
        line = next(line for line in report.splitlines() if line.startswith(f"  torch.compile #{k} at 1 x 64 fp16: "))
        assert re.search(r"triton_\w+: .*\d+ warps, \d+ registers$", line) and line.count("warps") == 1, line


@pytest.mark.parametrize("hot", [False, True], ids=["cold", "hot_l2"])
def test_interleave_versions_small_case(tmp_path, hot):
    """Two versions, the default, one fresh compile and the copy, timed in rounds: one line a cell with
    every contender's median and the rounds it won against the first version (which wins none against
    itself); a version that does not take the cell is logged and left out."""
    out = tmp_path / "versions.txt"
    done = run_script("benchmarks/interleave_versions.py", "--kernel", "BiasGelu", "--versions", "6", "9", "7",
                      "--cells", "fp32:1:64", "--compiles", "1", *(["--hot-l2"] if hot else []), "--out", str(out))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = out.read_text()
    assert "(partial)" not in report and not list(tmp_path.glob(".versions.txt.*"))
    assert "BiasGelu v7 does not take 1 x 64 fp32: left out" in report  # v7 is fp16 only
    line = next(line for line in report.splitlines() if line.startswith("BiasGelu 1 x 64 fp32: "))
    found = dict(re.findall(r"(v6|v9|default|torch\.compile|copy) (\d+\.\d{3}) \(\d/9\)", line))
    assert set(found) == {"v6", "v9", "default", "torch.compile", "copy"} and all(float(us) > 0 for us in found.values()), line
    assert "v6 " + found["v6"] + " (0/9)" in line


@pytest.mark.parametrize("switch, off, on", [
    ("streaming", "plain", "evict-first"), ("keep-parameters", "plain", "evict-last params"),
    ("l2-prefetch-256", "plain", "L2::256B"), ("read-only", "plain", "ld.global.nc"),
    ("read-only-40", "plain", "ld.global.nc, v14 40 regs"),
    ("read-only-at-40", "v14 40 regs", "ld.global.nc, v14 40 regs"), ("prefer-l1", "default carveout", "most L1"),
    ("whole-blocks", "row clamp", "whole blocks"), ("ftz-rsqrt", "rsqrtf", "rsqrt.ftz"),
    ("plain-mean", "rounded mean", "plain mean")])
def test_cache_hints_ablation_small_case(tmp_path, switch, off, on):
    """Both builds of a switch (off, on) are built, checked against float64 and timed, the kernel
    alone and followed by its GEMM."""
    if shutil.which("nvcc") is None:
        pytest.skip("the ablation builds the kernels with nvcc")
    out = tmp_path / "hints.txt"
    done = run_script("benchmarks/ablate_cache_hints.py", "--switch", switch, "--kernels", "BiasGelu", "SkipLayerNorm",
                      "--dtypes", "fp16", "--batches", "1", "--seqs", "64", "--pair-tokens", "64", "--out", str(out))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = out.read_text()
    assert f"| {off} us | {on} us |" in report
    assert "(partial)" not in report and not list(tmp_path.glob(".hints.txt.*"))
    for kernel in ("BiasGelu", "SkipLayerNorm"):
        row = next(line for line in report.splitlines() if line.startswith(f"| {kernel} "))
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        assert cells[1:3] == ["fp16", "1 x 64"], row
        assert float(cells[3]) > 0 and float(cells[4]) > 0 and float(cells[7]) > 0 and float(cells[8]) > 0, row
        assert cells[6] in ("ahead", "level", "behind") and cells[10] in ("ahead", "level", "behind"), row
    assert "of 2 cells" in report


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="the floor script builds its kernels with nvcc from PATH")
def test_emb_layernorm_floor_quick(tmp_path):
    """The EmbLayerNorm floor builds its kernels with nvcc, checks each (copy, gather, sum exactly, plain against
    float64) and prints every contender and a line of the steps per cell; no compiles, small cells."""
    out = tmp_path / "floor.txt"
    done = run_script("benchmarks/emb_layernorm_floor.py", "--cells", "fp32:2:64", "fp16:3:50", "--versions", "14",
                      "--compiles", "0", "--out", str(out))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = out.read_text()
    assert "(partial)" not in report
    steps = [line for line in report.splitlines() if line.startswith("  steps at ")]
    assert len(steps) == 4, report[-3000:]  # each cell's, then the summary's
    for line in steps:
        for part in ("copy ", "gather ", "sum ", "plain ", "ours (default) "):
            assert f"| {part}" in line or line.split(": ", 1)[1].startswith(part), f"{part!r} missing: {line}"
    assert "ours v14" in report.split("2 x 64 fp32: ", 1)[1].splitlines()[0]
