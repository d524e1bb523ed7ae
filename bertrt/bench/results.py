"""One `Row` per measurement, and the four ways they are written: a terminal table (also saved
as results.txt), results.csv, results.json (the same rows plus the environment) and results.png.

A row is one variant at one (batch, seq). Accuracy belongs to the variant (measured once, on the
reference sentences) and is repeated on each of its rows, so every row reads on its own.
Skipped and failed variants keep a row, with the reason.
"""
from __future__ import annotations

import csv
import io
import json
import math
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from bertrt.bench.variants import BASELINE
from bertrt.common import atomic_write_bytes


@dataclass
class Row:
    variant: str
    kind: str                       # onnx | hand | torch | kernel
    precision: str
    backend: str = ""               # tensorrt | reference | cuda | cpu ("" when skipped)
    batch: int | None = None
    seq: int | None = None
    status: str = "ok"              # ok | skipped | failed
    reason: str = ""                # why skipped or failed; or a note on how it was measured
    median_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    iterations: int | None = None
    speedup: float | None = None    # BASELINE's median / this median, same shape, same run
    build_s: float | None = None
    engine_mb: float | None = None
    cached: bool | None = None      # engine reused from an earlier run
    top1: float | None = None       # share of positions whose top-1 matches PyTorch fp32
    top5: float | None = None
    max_abs_diff: float | None = None
    accuracy_ok: bool | None = None   # within the precision's tolerance (bertrt.check)
    torch_op_ms: float | None = None  # kernel rows: the PyTorch op the kernel replaces
    weights: str = ""               # "pretrained" or "random weights: latency only"


COLUMNS = [f.name for f in fields(Row)]


def add_speedups(rows: list[Row]) -> None:
    """speedup = PyTorch fp32 eager's median / the row's, at the same (batch, seq). Kernel rows
    are compared with their own PyTorch op instead."""
    baseline = {(r.batch, r.seq): r.median_ms for r in rows if r.variant == BASELINE and r.median_ms}
    for row in rows:
        reference = row.torch_op_ms if row.kind == "kernel" else baseline.get((row.batch, row.seq))
        row.speedup = reference / row.median_ms if reference and row.median_ms else None


# --- text table -------------------------------------------------------------------------------

def _fmt(value, spec: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return format(value, spec)


def _table(header: list[str], lines: list[list[str]]) -> str:
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    out = [" | ".join(h.ljust(w) for h, w in zip(header, widths)), "-+-".join("-" * w for w in widths)]
    out += [" | ".join(c.rjust(w) if i > 0 else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths)))
            for line in lines]
    return "\n".join(out)


def format_report(rows: list[Row], environment: dict, model: dict) -> str:
    env = environment
    text = [f"BERT fill-mask variants on {env.get('gpu') or 'no GPU'} (driver {env.get('driver') or '-'}), "
            f"TensorRT {env.get('tensorrt') or 'not available'}, torch {env.get('torch')}, "
            f"transformers {env.get('transformers') or '-'}",
            f"model: {model.get('spec')} ({model.get('weights')}); speedup = {BASELINE} median / variant median, "
            "same batch x seq, same run; accuracy: logits vs PyTorch fp32 on the reference sentences",
            ""]
    measured = [r for r in rows if r.status == "ok" and r.kind != "kernel"]
    if measured:
        header = ["variant", "backend", "B", "S", "median ms", "p90 ms", "p99 ms", "iters", "speedup",
                  "build s", "engine MB", "top-1", "max |diff|", "acc ok"]
        text.append(_table(header, [[
            r.variant, r.backend, _fmt(r.batch), _fmt(r.seq), _fmt(r.median_ms, ".3f"), _fmt(r.p90_ms, ".3f"),
            _fmt(r.p99_ms, ".3f"), _fmt(r.iterations), _fmt(r.speedup, ".2f") + ("x" if r.speedup else ""),
            _fmt(r.build_s, ".1f") + (" (cached)" if r.cached else ""), _fmt(r.engine_mb, ".1f"),
            _fmt(r.top1, ".3f"), _fmt(r.max_abs_diff, ".2e"), _fmt(r.accuracy_ok)] for r in measured]))
    kernels = [r for r in rows if r.status == "ok" and r.kind == "kernel"]
    if kernels:
        text += ["", "our CUDA kernels (C API, fp16) vs the PyTorch op they replace, per call inside a CUDA graph:",
                 _table(["kernel", "B", "S", "ours us", "torch us", "speedup", "max |diff|"], [[
                     r.variant, _fmt(r.batch), _fmt(r.seq), _fmt(r.median_ms * 1e3, ".1f"),
                     _fmt(r.torch_op_ms * 1e3 if r.torch_op_ms else None, ".1f"),
                     _fmt(r.speedup, ".2f") + ("x" if r.speedup else ""), _fmt(r.max_abs_diff, ".2e")]
                     for r in kernels])]
    for title, status in (("notes", "ok"), ("skipped", "skipped"), ("failed", "failed")):
        by_reason: dict[str, list[str]] = {}  # variants sharing a reason are listed on one line
        for row in rows:
            if row.status == status and row.reason and row.variant not in by_reason.setdefault(row.reason, []):
                by_reason[row.reason].append(row.variant)
        if by_reason:
            text += ["", f"{title}:"] + [f"  {', '.join(names)}: {reason}" for reason, names in by_reason.items()]
    return "\n".join(text) + "\n"


# --- files --------------------------------------------------------------------------------------

def to_csv(rows: list[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in asdict(row).items()})
    return buffer.getvalue()


def write_all(out_dir: Path, rows: list[Row], document: dict, plots: bool) -> list[Path]:
    """results.{txt,csv,json} (and .png), each written atomically; returns the paths."""
    add_speedups(rows)
    document = dict(document, rows=[asdict(r) for r in rows])
    files = {
        out_dir / "results.txt": format_report(rows, document["environment"], document["model"]).encode(),
        out_dir / "results.csv": to_csv(rows).encode(),
        out_dir / "results.json": (json.dumps(document, indent=2, allow_nan=False, default=str) + "\n").encode(),
    }
    for path, data in files.items():
        atomic_write_bytes(path, data)
    written = list(files)
    if plots:
        png = out_dir / "results.png"
        try:
            if plot(rows, png, title=f"{document['model'].get('spec')} on "
                                     f"{document['environment'].get('gpu') or 'CPU'}"):
                written.append(png)
        except ImportError as err:  # the numbers matter more than the picture
            print(f"note: no plot drawn ({err}); `pip install matplotlib` for results.png", file=sys.stderr)
    return written


# --- plots ------------------------------------------------------------------------------------

def plot(rows: list[Row], path: Path, title: str) -> bool:
    """Left: median latency vs sequence length, a line per variant and batch size. Right: speedup
    over PyTorch fp32 eager, bars per variant grouped by shape. False when nothing was timed."""
    timed = [r for r in rows if r.status == "ok" and r.kind != "kernel" and r.median_ms]
    if not timed:
        return False
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    variants = list(dict.fromkeys(r.variant for r in timed))
    batches = sorted({r.batch for r in timed})
    shapes = sorted({(r.batch, r.seq) for r in timed})
    # tab20 comes in pairs of shades: take the strong ones first, so neighbours differ.
    colors = {v: plt.get_cmap("tab20")((2 * i) % 20 + (i // 10) % 2) for i, v in enumerate(variants)}
    styles = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D")]  # per batch size: line and marker
    figure, (latency, speedup) = plt.subplots(1, 2, figsize=(16, 6.5))

    for variant in variants:
        for index, batch in enumerate(batches):
            points = sorted((r.seq, r.median_ms) for r in timed if r.variant == variant and r.batch == batch)
            if points:
                line, marker = styles[index % len(styles)]
                latency.plot(*zip(*points), linestyle=line, marker=marker, color=colors[variant],
                             label=f"{variant} (batch {batch})")
    latency.set(xlabel="sequence length", ylabel="median latency (ms)", yscale="log",
                title="latency vs sequence length")
    # Plain numbers (0.5, not 5x10^-1); between decades label only the 2s and 5s.
    latency.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    latency.yaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(
        lambda value, _: f"{value:g}" if round(value / 10 ** math.floor(math.log10(value))) in (2, 3, 4, 5, 7) else ""))
    latency.set_xticks(sorted({r.seq for r in timed}))
    latency.grid(True, which="both", alpha=0.3)
    latency.legend(fontsize=7, loc="upper left")

    with_speedup = [v for v in variants if any(r.speedup for r in timed if r.variant == v)]
    width = 0.8 / max(len(shapes), 1)
    for index, (batch, seq) in enumerate(shapes):
        values = [next((r.speedup for r in timed if r.variant == v and (r.batch, r.seq) == (batch, seq)), None)
                  for v in with_speedup]
        positions = [i + index * width for i, value in enumerate(values) if value]
        speedup.bar(positions, [value for value in values if value], width, label=f"batch {batch} x seq {seq}")
    speedup.axhline(1.0, color="black", linewidth=0.8)
    speedup.set_xticks([i + width * (len(shapes) - 1) / 2 for i in range(len(with_speedup))])
    speedup.set_xticklabels(with_speedup, rotation=40, ha="right", fontsize=8)
    speedup.set(ylabel=f"speedup over {BASELINE} (x)", title=f"speedup over {BASELINE}, same run")
    speedup.grid(True, axis="y", alpha=0.3)
    speedup.legend(fontsize=8)

    figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
    return True


# --- re-rendering a saved run -----------------------------------------------------------------

def render(json_path: Path) -> list[Path]:
    """Rewrite the table (.txt) and plot (.png) beside a saved results .json, from its rows: for
    runs whose plot was never drawn (interrupted) or whose table format has changed since."""
    json_path = Path(json_path)
    document = json.loads(json_path.read_text())
    rows = [Row(**row) for row in document["rows"]]
    add_speedups(rows)
    text_path, png_path = json_path.with_suffix(".txt"), json_path.with_suffix(".png")
    atomic_write_bytes(text_path, format_report(rows, document["environment"], document["model"]).encode())
    title = f"{document['model'].get('spec')} on {document['environment'].get('gpu') or 'CPU'}"
    return [text_path] + ([png_path] if plot(rows, png_path, title) else [])


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Re-render the .txt table and .png plot of a saved results .json")
    parser.add_argument("json", type=Path, nargs="+")
    for path in parser.parse_args().json:
        print("wrote " + ", ".join(str(p) for p in render(path)))
