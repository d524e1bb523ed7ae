"""The kernel files of the LayerNorm benchmarks (benchmarks/ablation/*.cu) build on the CPU, with
the nvcc command the scripts use, and their host entry points agree with the scripts that drive
them: the ablation's mode names, the sweep's shape labels. The scripts themselves need a GPU
(tests/gpu/test_benchmark_scripts.py); this catches a broken kernel file or a shape table out of
step with them in CI, before a GPU session is spent on it. The libraries load without a GPU, and
the entry points check their arguments on the host; nothing here runs a kernel (on a machine with a
GPU the one launch below has an empty grid)."""
import ctypes
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.interleaved import LAUNCHER_ARGTYPES, nvcc_command  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc (the CUDA toolkit)")
ABLATION = ROOT / "benchmarks" / "ablation"
CUDA_SUCCESS, CUDA_INVALID_VALUE = 0, 1


def build(name: str, tmp_path) -> ctypes.CDLL:
    library = tmp_path / f"{name}.so"
    done = subprocess.run(nvcc_command(ABLATION / f"{name}.cu", library, "90"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "warning" not in done.stderr, done.stderr[-3000:]
    return ctypes.CDLL(str(library))


def launch_args(index: int, rows: int = 1):
    return (index, None, None, None, None, rows, 1.0 / 768, 1e-12, None)


def test_ablation_modes_match_the_script(tmp_path):
    from benchmarks.ablate_layernorm import LAYER_NORM_MODES, MODES

    lib = build("layernorm_ablation", tmp_path)
    lib.ablate_launch.argtypes = LAUNCHER_ARGTYPES
    # No rows: should the kernel have a mode the script does not name, it still launches nothing.
    assert lib.ablate_launch(*launch_args(len(MODES), rows=0)) == CUDA_INVALID_VALUE, "a mode the script does not name"
    assert lib.ablate_launch(*launch_args(-1, rows=0)) == CUDA_INVALID_VALUE
    # The last named mode is a kernel: with no rows it gets as far as CUDA, which refuses the empty grid
    # (or, without a GPU, has no device): an error code other than "no such mode", and no kernel runs.
    assert lib.ablate_launch(*launch_args(len(MODES) - 1, rows=0)) not in (CUDA_SUCCESS, CUDA_INVALID_VALUE)
    assert set(LAYER_NORM_MODES) <= set(range(len(MODES)))


def test_sweep_shapes_as_the_script_reads_them(tmp_path):
    from benchmarks.sweep_layernorm_shapes import HIDDEN, SHAPE_INFO_FIELDS, SKIP_LAUNCH_ARGTYPES, VARIANTS, shapes_of

    lib = build("layernorm_shapes", tmp_path)
    lib.shape_launch.argtypes = LAUNCHER_ARGTYPES
    lib.skip_launch.argtypes = SKIP_LAUNCH_ARGTYPES
    count = lib.shape_count()
    for index in range(count):  # shapes_of sorts by this flag: anything but 0 or 1 would be read as fp16
        info = (ctypes.c_int * SHAPE_INFO_FIELDS)()
        lib.shape_info(index, info)
        assert info[0] in (0, 1), f"shape {index}: fp16 flag {info[0]}"
        assert info[6] >= 0 and info[6] & ~sum(VARIANTS) == 0, f"shape {index}: variant {info[6]} has a flag the script does not name"
        assert -1 <= info[7] <= 100, f"shape {index}: carveout {info[7]}%"
    fp32, fp16 = shapes_of(lib, False), shapes_of(lib, True)
    for shapes, element in ((fp32, 4), (fp16, 2)):
        labels = [label for _, label in shapes]
        assert len(set(labels)) == len(labels), f"a shape twice: {labels}"
        for label in labels:  # "G1 W3 R1 K1 B16": a row of HIDDEN values, W warps of K vectors of B bytes
            g, w, r, k, b = (int(part[1:]) for part in label.split()[:5])
            covered = w * 32 * k * (b // element)  # a partial shape: K is the fewest vectors that cover the row
            partial = "partial" in label.split()
            assert (covered > HIDDEN > covered - w * 32 * (b // element)) if partial else covered == HIDDEN, label
            assert b in (4, 8, 16) and g >= 1 and r >= 1, label
    # Shapes named by the GPU smoke test, plugins/layernorm/README.md and the run-13 and run-23 results.
    fp16_labels = {label for _, label in fp16}
    assert {"G1 W3 R1 K1 B16", "G8 W1 R1 K3 B16", "G1 W6 R1 K1 B8", "G1 W12 R1 K1 B4"} <= fp16_labels
    assert {"G1 W6 R1 K1 B16", "G1 W3 R2 K2 B16", "G1 W12 R1 K1 B8", "G1 W8 R2 K1 B16 partial",
            "G1 W4 R1 K2 B16 partial", "G1 W3 R2 K2 B16 +tree", "G1 W3 R2 K2 B16 +i64", "G1 W3 R2 K2 B16 +late",
            "G1 W3 R2 K2 B16 +plain", "G1 W3 R2 K2 B16 +tree+i64+late+plain", "G1 W3 R2 K2 B16 +pipe",
            "G1 W6 R1 K1 B16 +pipe", "G1 W3 R2 K2 B16 +occ8", "G1 W3 R2 K2 B16 +occ12", "G1 W3 R2 K2 B16 +carve",
            "G1 W3 R2 K2 B16 +l1", "G1 W3 R2 K2 B16 +ca", "G1 W8 R2 K1 B16 partial +port",
            "G1 W8 R2 K1 B16 partial +port+keep", "G1 W8 R2 K1 B16 partial +port+exact+ftz",
            "G1 W3 R2 K2 B16 +c7%", "G2 W3 R2 K2 B16 +c7%", "G1 W8 R2 K1 B16 partial +port+c14%"} <= {label for _, label in fp32}
    query = (ctypes.c_int * 4)()
    assert lib.shape_query(count, query) == CUDA_INVALID_VALUE and lib.shape_query(-1, query) == CUDA_INVALID_VALUE
    for launch, args in ((lib.shape_launch, launch_args), (lib.skip_launch, lambda i, rows=1: (
            i, None, None, None, None, None, None, rows, 1.0 / 768, 1e-12, None))):
        assert launch(*args(count)) == CUDA_INVALID_VALUE
        assert launch(*args(-1)) == CUDA_INVALID_VALUE
        assert launch(*args(count - 1, rows=0)) == CUDA_INVALID_VALUE  # no rows: refused before CUDA


def test_emb_layernorm_floor_kernels_as_the_script_reads_them(tmp_path):
    from benchmarks.emb_layernorm_floor import LAUNCH_ARGTYPES, STEPS, kernel_names

    lib = build("emb_layernorm_floor", tmp_path)
    lib.floor_launch.argtypes = LAUNCH_ARGTYPES
    lib.floor_name.restype = ctypes.c_char_p
    lib.floor_name.argtypes = [ctypes.c_int]
    names = kernel_names(lib)  # refuses a kernel of no step
    assert len(set(names)) == len(names), f"a kernel named twice: {names}"
    for step in STEPS:  # every step has a kernel, so the script's steps line has all four
        assert any(name.split()[0] == step for name in names), f"no {step} kernel"
    assert lib.floor_name(len(names)) is None and lib.floor_name(-1) is None
    # The layouts the script's docstring and the plugin README name.
    assert {"gather 192x2", "sum 192x2", "plain 96x2", "plain 64x4", "plain 96x2 wide", "plain 96x1 ids ahead"} <= set(names)

    def launch(index, rows=1):
        return lib.floor_launch(index, 0, *([None] * 9), rows, 384, 1e-12, None)
    assert launch(len(names)) == CUDA_INVALID_VALUE and launch(-1) == CUDA_INVALID_VALUE
    assert launch(0, rows=0) == CUDA_INVALID_VALUE  # no rows: refused before CUDA
