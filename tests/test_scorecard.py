"""benchmarks/scorecard.py's verdict rule and the builder's candidates it times, on the CPU (the
timing itself needs a GPU: tests/gpu/test_benchmark_scripts.py runs the script on a small case)."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_memory_bound_kernels import builder_candidates  # noqa: E402
from benchmarks.scorecard import Cell  # noqa: E402


def cell(ratios):
    return Cell("LayerNorm", "fp16", 1, 64, "v12", 2.0, 1.0, "torch.compile", 2.0, ratios, "")


@pytest.mark.parametrize("ratios, verdict", [
    ([1.01, 1.2, 1.05], "ahead"),     # faster in every round
    ([0.99, 0.97, 0.98], "behind"),   # slower in every round
    ([1.01, 0.99, 1.3], "level"),     # the rounds disagree
    ([1.0, 1.1, 1.2], "level"),       # a tie in one round is no win
    ([1.0, 0.9, 0.95], "level"),      # ... and no loss
])
def test_verdict_needs_every_round(ratios, verdict):
    assert cell(ratios).verdict == verdict


def test_line_reports_median_and_range():
    line = cell([0.98, 1.10, 1.02]).line()
    assert "1.02x [0.98-1.10]" in line and "**level**" in line


def test_builder_candidates_leave_v1_out_where_another_version_runs():
    assert set(builder_candidates({"default": 1, "v1": 9, "v2": 2, "torch eager": 3, "copy floor": 1})) \
        == {"default", "v2"}
    assert set(builder_candidates({"default": 1, "v1": 9})) == {"default", "v1"}


def test_needs_a_gpu_and_says_so():
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: tests/gpu/test_benchmark_scripts.py runs the script")
    done = subprocess.run([sys.executable, "benchmarks/scorecard.py"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode != 0 and "needs a CUDA GPU" in done.stderr
