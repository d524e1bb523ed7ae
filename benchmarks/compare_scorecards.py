"""Several scorecard runs of one GPU, cell by cell: how far ours and PyTorch's best moved between
runs, and where ours is slower than the fastest PyTorch that any run saw.

    python3 benchmarks/compare_scorecards.py benchmarks/results/nvidia-h100-80gb-hbm3_scorecard.txt \\
        benchmarks/results/nvidia-h100-80gb-hbm3_scorecard_run17.txt

Why: a scorecard's verdict is against the torch.compile of its own process, and max-autotune keeps
other Triton configs in other processes, so the same cell can read "ahead" in one run and "behind"
in the next with our kernel unchanged. The fastest PyTorch over several runs is the harder bar
(PyTorch's best config, as far as the runs found it). Runs are separate processes, not interleaved
rounds, so a ratio across them carries both runs' spread: read the "ours moved" line first, and a
cell within that spread as level. No GPU needed: it reads the result files.
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path

Cell = tuple[str, str, str]  # kernel, dtype, "batch x seq"


def read_scorecard(path: Path) -> dict[Cell, tuple[float, float, str]]:
    """cell -> (ours us, PyTorch's best us, verdict) from a scorecard file's table rows (each cell's
    last row: the progress lines repeat it)."""
    cells = {}
    for line in path.read_text().splitlines():
        fields = [f.strip() for f in line.strip().strip("|").split("|")]
        if not line.startswith("| ") or len(fields) < 9 or not fields[8].startswith("**"):
            continue
        cells[(fields[0], fields[1], fields[2])] = (float(fields[4]), float(fields[6]), fields[8].strip("*"))
    if not cells:
        raise SystemExit(f"{path}: no scorecard rows (write one with benchmarks/scorecard.py --out)")
    return cells


def compare(runs: list[dict]) -> tuple[list[str], list[tuple[Cell, float, float]]]:
    """(report lines, [(cell, fastest ours, fastest PyTorch)] where PyTorch's is faster) over the
    cells every run has."""
    common = [cell for cell in runs[0] if all(cell in run for run in runs[1:])]
    lines = []
    for who, index in (("ours", 0), ("PyTorch's best", 1)):
        moves = [max(run[c][index] for run in runs) / min(run[c][index] for run in runs) for c in common]
        lines.append(f"{who} moved between runs by up to {max(moves):.3f}x per cell (median {statistics.median(moves):.3f}x)")
    flips = sum(len({run[c][2] for run in runs}) > 1 for c in common)
    lines.append(f"{flips} of {len(common)} cells changed verdict between runs")
    slower = []
    for cell in common:
        ours, torch_best = min(run[cell][0] for run in runs), min(run[cell][1] for run in runs)
        if torch_best < ours:
            slower.append((cell, ours, torch_best))
    slower.sort(key=lambda item: item[2] / item[1])
    lines.append(f"{len(slower)} cells where the fastest PyTorch of any run beats our fastest "
                 "(fastest PyTorch / fastest ours; < 1: ours slower):")
    lines.append("| kernel | dtype | batch x seq | ours us (fastest) | PyTorch us (fastest) | ratio | verdicts |")
    lines.append("|---|---|---|---|---|---|---|")
    for cell, ours, torch_best in slower:
        verdicts = ", ".join(run[cell][2] for run in runs)
        lines.append(f"| {cell[0]} | {cell[1]} | {cell[2]} | {ours:.2f} | {torch_best:.2f} | "
                     f"{torch_best / ours:.3f}x | {verdicts} |")
    return lines, slower


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="scorecard result files of one GPU (two or more)")
    args = parser.parse_args(argv)
    if len(args.files) < 2:
        raise SystemExit("give two or more scorecard files of the same GPU")
    for path in args.files:
        if not path.is_file():
            raise SystemExit(f"{path}: no such file")
    lines, _ = compare([read_scorecard(path) for path in args.files])
    print("\n".join(lines))


if __name__ == "__main__":
    main()
