"""benchmarks/scorecard.py's verdict rule and the builder's candidates it times, on the CPU (the
timing itself needs a GPU: tests/gpu/test_benchmark_scripts.py runs the script on a small case)."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_memory_bound_kernels import builder_candidates  # noqa: E402
import benchmarks.scorecard as scorecard  # noqa: E402
from benchmarks.scorecard import Cell  # noqa: E402


def cell(ratios):
    return Cell("LayerNorm", "fp16", 1, 64, "v12", 2.0, "torch.compile", 2.0, ratios, ratios, "")


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
    assert builder_candidates(["default", "v1", "v2", "torch eager", "copy floor"]) == ["default", "v2"]
    assert builder_candidates(["default", "v1"]) == ["default", "v1"]
    assert builder_candidates(["v1", "v7", "v8"]) == ["v7", "v8"]


# Round times (us) as time_in_rounds would return them: 3 rounds.
ROUND_TIMES = {"pick": [2.0, 2.0, 2.0], "default": [2.5, 2.5, 2.5],
               "torch eager": [3.0, 1.5, 3.0], "torch.compile": [2.2, 2.4, 1.9], "copy floor": [1.0, 1.0, 1.0]}


def score_with(monkeypatch, pick, floor=True):
    monkeypatch.setattr(scorecard, "ROUNDS", 3)
    monkeypatch.setattr(scorecard, "time_in_rounds",
                        lambda contenders, sets, calls, rounds, replays: {k: ROUND_TIMES[k] for k in contenders})
    ours = {"default": "the default's call", "v2": "v2's call"}
    pytorch = {"torch eager": "eager call", "torch.compile": "compiled call"}
    return scorecard.score("LayerNorm", "fp16", 1, 64, ours, pick, pytorch, sets=2,
                           floor="copy call" if floor else None, notes=lambda us, floor_us: f"floor {floor_us}")


def test_score_takes_pytorch_best_per_round_and_never_the_floor(monkeypatch):
    cell = score_with(monkeypatch, "v2")
    best = [2.2, 1.5, 1.9]  # per round the faster of eager and compile; the 1.0 us floor is not PyTorch's
    assert cell.ratios == pytest.approx([b / 2.0 for b in best])  # PyTorch's best over ours: > 1 means ours faster
    assert cell.default_ratios == pytest.approx([b / 2.5 for b in best])
    assert cell.torch_us == pytest.approx(1.9) and cell.ours_us == pytest.approx(2.0)
    assert cell.best_torch == "torch.compile"  # fastest in 2 of the 3 rounds
    assert cell.verdict == "level" and cell.notes == "floor 1.0"


def test_score_when_the_pick_is_the_default(monkeypatch):
    cell = score_with(monkeypatch, "default", floor=False)
    assert cell.default_ratios == cell.ratios and cell.notes == "floor None"


def test_score_lists_each_fresh_compile_and_takes_the_fastest(monkeypatch):
    times = {**ROUND_TIMES, "torch.compile #1": [2.6, 2.6, 2.6], "torch.compile #2": [1.8, 2.9, 2.1]}
    monkeypatch.setattr(scorecard, "ROUNDS", 3)
    monkeypatch.setattr(scorecard, "time_in_rounds",
                        lambda contenders, sets, calls, rounds, replays: {k: times[k] for k in contenders})
    pytorch = {"torch eager": "eager call", "torch.compile #1": "first", "torch.compile #2": "second"}
    cell = scorecard.score("LayerNorm", "fp16", 1, 64, {"default": "call"}, "default", pytorch, sets=2,
                           notes=lambda us, floor_us: "3% of copy peak")
    assert cell.ratios == pytest.approx([1.8 / 2.0, 1.5 / 2.0, 2.1 / 2.0])  # the fastest of all, per round
    assert cell.best_torch == "torch.compile #2"
    assert cell.notes == "3% of copy peak, compiles 2.60 / 2.10 us"  # each compile's median, in order


def test_compile_afresh_compiles_and_autotunes_again_each_time():
    """A second torch.compile of the same function reuses the first one's graph (dynamo keys its
    cache by code object) and inductor's caches would hand it the first one's picks: compile_afresh
    must get a new graph every time, with no cache hit, and leave the earlier compiles working."""
    import torch
    from torch._dynamo.utils import counters

    def function(x, weight, **_):
        return torch.nn.functional.layer_norm(x + 1.0, (8,), weight)
    x, weight = torch.randn(4, 8), torch.randn(8)
    torch._dynamo.reset()
    counters.clear()
    compiles = [scorecard.compile_afresh(function, (x,), {"weight": weight}) for _ in range(2)]
    assert counters["stats"]["unique_graphs"] == 2
    assert "fxgraph_cache_hit" not in counters["inductor"]
    for compiled in compiles:
        torch.testing.assert_close(compiled(x, weight=weight), function(x, weight))
    assert counters["stats"]["unique_graphs"] == 2  # no compile again when called again


def test_compiles_must_be_positive():
    bad = subprocess.run([sys.executable, "benchmarks/scorecard.py", "--compiles", "0"], cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "--compiles must be at least 1" in bad.stderr


def test_needs_a_gpu_and_says_so():
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: tests/gpu/test_benchmark_scripts.py runs the script")
    done = subprocess.run([sys.executable, "benchmarks/scorecard.py"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode != 0 and "needs a CUDA GPU" in done.stderr


def test_each_sdpa_contender_call_runs_attention_once(monkeypatch):
    """A contender's call(i) is what gets captured and timed: one attention, on set i (the probe of
    which backends take the inputs happens once, when the contenders are made)."""
    from benchmarks import bench_attention
    computed = []
    monkeypatch.setattr(bench_attention, "sdpa_attention", lambda qkv, key_mask: computed.append(qkv) or qkv)
    contenders = scorecard.sdpa_contenders(["set 0", "set 1"])
    assert set(contenders) == {f"SDPA {name}" for name in scorecard.SDPA_BACKENDS}
    computed.clear()
    for call in contenders.values():
        call(1)
    assert computed == ["set 1"] * len(contenders)


def scorecard_row(kernel, ours, torch_best, verdict):
    return (f"| {kernel} | fp16 | 1 x 64 | v7 | {ours:.2f} | torch.compile | {torch_best:.2f} | 1.00x [1.00-1.00] | "
            f"**{verdict}** | 1.00x | notes |")


def test_compare_scorecards_finds_the_fastest_pytorch_of_any_run(tmp_path):
    from benchmarks.compare_scorecards import compare, read_scorecard

    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    # LayerNorm: PyTorch fast only in the second run; BiasGelu: ours faster than every PyTorch.
    first.write_text("\n".join([scorecard_row("LayerNorm", 2.00, 2.50, "ahead"),
                                scorecard_row("BiasGelu", 2.00, 2.10, "ahead")]) + "\n")
    second.write_text("\n".join(["  " + scorecard_row("LayerNorm", 2.04, 9.99, "ahead"),  # a progress line
                                 scorecard_row("LayerNorm", 2.04, 1.90, "behind"),
                                 scorecard_row("BiasGelu", 2.02, 2.20, "ahead")]) + "\n")
    lines, slower = compare([read_scorecard(first), read_scorecard(second)])
    assert slower == [(("LayerNorm", "fp16", "1 x 64"), 2.00, 1.90)]
    assert "1 of 2 cells changed verdict between runs" in lines
    assert lines[0].startswith("ours moved between runs by up to 1.020x")
    assert "| LayerNorm | fp16 | 1 x 64 | 2.00 | 1.90 | 0.950x | ahead, behind |" in lines


def test_compare_scorecards_reads_the_committed_h100_runs():
    from benchmarks.compare_scorecards import read_scorecard

    results = ROOT / "benchmarks" / "results"
    for name in ("nvidia-h100-80gb-hbm3_scorecard.txt", "nvidia-h100-80gb-hbm3_scorecard_run17.txt",
                 "nvidia-h100-80gb-hbm3_scorecard_run18_compiles3.txt",
                 "nvidia-h100-80gb-hbm3_scorecard_run19_compiles3.txt"):
        cells = read_scorecard(results / name)
        assert len(cells) == 90, name
        assert {verdict for _, _, verdict in cells.values()} <= {"ahead", "level", "behind"}


@pytest.mark.parametrize("script, needs", [("benchmarks/scorecard.py", "the kernels built"),
                                           ("benchmarks/ablate_cache_hints.py", "nvcc")])
def test_cell_arguments_are_checked_before_anything_runs(script, needs):
    bad = subprocess.run([sys.executable, script, "--seqs", "64", "513"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode != 0 and "--seqs must be 1..512" in bad.stderr
    import torch

    if not torch.cuda.is_available():
        done = subprocess.run([sys.executable, script, "--batches", "1", "--seqs", "64"], cwd=ROOT,
                              capture_output=True, text=True)
        assert done.returncode != 0 and "needs a CUDA GPU" in done.stderr and needs in done.stderr


def test_report_keeps_what_it_printed_and_saves_it_whole(tmp_path, capsys):
    out = tmp_path / "report.txt"
    log = scorecard.Report(out)
    log("first")
    log.save(partial=True)
    assert out.read_text() == "first\n(partial)\n"
    log("second")
    log.save()
    assert out.read_text() == "first\nsecond\n" and capsys.readouterr().out == "first\nsecond\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]  # no temp file left
    scorecard.Report(None).save()  # no --out: nothing written, no error


@pytest.mark.parametrize("text, expected", [("fp32:1:64", ("fp32", 1, 64)), ("fp16:32:384", ("fp16", 32, 384))])
def test_interleave_versions_reads_its_cells(text, expected):
    from benchmarks.interleave_versions import parse_cell

    assert parse_cell(text) == expected


@pytest.mark.parametrize("text", ["fp32:1", "bf16:1:64", "fp32:0:64", "fp32:1:513", "fp32:x:64", "fp32:1:64:2"])
def test_interleave_versions_refuses_a_bad_cell_naming_the_form(text):
    from benchmarks.interleave_versions import parse_cell

    with pytest.raises(SystemExit, match="dtype:batch:sequence"):
        parse_cell(text)


def test_interleave_versions_checks_its_arguments_before_anything_runs():
    script = "benchmarks/interleave_versions.py"
    bad = subprocess.run([sys.executable, script, "--kernel", "BiasGelu", "--versions", "6", "--cells", "fp32:1:999"],
                         cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode != 0 and "sequence 1..512" in bad.stderr
    unknown = subprocess.run([sys.executable, script, "--kernel", "BiasGelu", "--versions", "6", "10", "--cells",
                              "fp32:1:64"], cwd=ROOT, capture_output=True, text=True)
    assert unknown.returncode != 0 and "--versions of BiasGelu: 1-9" in unknown.stderr
    import torch

    if not torch.cuda.is_available():
        done = subprocess.run([sys.executable, script, "--kernel", "BiasGelu", "--versions", "6", "--cells",
                               "fp32:1:64"], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode != 0 and "needs a CUDA GPU" in done.stderr


def test_describe_autotuner_names_the_kernel_and_the_kept_config():
    """What the scorecard logs for each fresh compile: the Triton kernel and its config (no Triton runs
    here: a stand-in with CachingAutotuner's attributes)."""
    from types import SimpleNamespace

    def launcher(xblock, warps, regs):
        return SimpleNamespace(config=SimpleNamespace(kwargs={"XBLOCK": xblock, "R0_BLOCK": 1024}, num_warps=warps),
                               n_regs=regs)
    fn = SimpleNamespace(__name__="triton_per_fused_native_layer_norm_0")
    kept = SimpleNamespace(fn=fn, launchers=[launcher(2, 8, 32)])
    assert scorecard.describe_autotuner(kept) == ("triton_per_fused_native_layer_norm_0: XBLOCK 2, R0_BLOCK 1024, "
                                                  "8 warps, 32 registers")
    both = SimpleNamespace(fn=fn, launchers=[launcher(1, 4, 27), launcher(2, 8, 32)])
    assert scorecard.describe_autotuner(both).count(" | ") == 1
    assert scorecard.describe_autotuner(SimpleNamespace(fn=fn)).endswith(": not compiled")


def test_compiled_contenders_log_each_compiles_new_kernels_and_survive_a_failing_log(monkeypatch):
    """Each compile's line names the kernels made during it that ran (a twin without a launcher is left
    out, an earlier compile's kernel too); a config log that fails costs a line, never the compile."""
    from types import SimpleNamespace

    def tuner(name, ran=True):
        launchers = [SimpleNamespace(config=SimpleNamespace(kwargs={"XBLOCK": 1}, num_warps=2), n_regs=48)] if ran else []
        return SimpleNamespace(fn=SimpleNamespace(__name__=name), launchers=launchers)
    alive = {}

    def compile_one():
        made = [tuner(f"triton_kernel_{len(alive)}"), tuner("twin", ran=False)]
        alive.update({id(t): t for t in made})
        return lambda i: i
    monkeypatch.setattr(scorecard, "triton_autotuners", lambda: dict(alive))
    lines = []
    contenders = scorecard.compiled_contenders(2, "torch.compile", compile_one, lines.append, "1 x 64 fp16")
    assert list(contenders) == ["torch.compile #1", "torch.compile #2"]
    assert lines == ["  torch.compile #1 at 1 x 64 fp16: triton_kernel_0: XBLOCK 1, 2 warps, 48 registers",
                     "  torch.compile #2 at 1 x 64 fp16: triton_kernel_2: XBLOCK 1, 2 warps, 48 registers"]

    def broken():
        raise AttributeError("no launchers here")
    monkeypatch.setattr(scorecard, "triton_autotuners", broken)
    lines.clear()
    contenders = scorecard.compiled_contenders(1, "torch.compile", compile_one, lines.append, "1 x 64 fp16")
    assert list(contenders) == ["torch.compile"]
    assert lines == ["  torch.compile at 1 x 64 fp16: (config log failed: AttributeError: no launchers here)"]


@pytest.mark.parametrize("arguments, message", [(["--cell", "fp32:32"], "--cell takes dtype:batch:sequence"),
                                                (["--compiles", "0"], "--compiles must be at least 1"),
                                                ([], "needs a CUDA GPU")])
def test_show_compiled_kernel_refuses_bad_arguments_in_one_line(tmp_path, arguments, message):
    """benchmarks/show_compiled_kernel.py: a malformed cell, no compile, or (here, with no GPU) no GPU,
    each refused with a line naming it before anything is compiled or written."""
    import torch

    if message == "needs a CUDA GPU" and torch.cuda.is_available():
        pytest.skip("a GPU is present: the script would run")
    out_dir = tmp_path / "compiled"
    done = subprocess.run([sys.executable, "benchmarks/show_compiled_kernel.py", "--out-dir", str(out_dir), *arguments],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode != 0 and message in done.stderr.strip().splitlines()[-1], done.stderr
    assert not out_dir.exists()


def test_show_compiled_kernel_refuses_a_folder_with_files(tmp_path):
    """An out folder holding an earlier run's files would mix two runs' kernels: refused, untouched."""
    (tmp_path / "compile0_old.ptx").write_text("old")
    done = subprocess.run([sys.executable, "benchmarks/show_compiled_kernel.py", "--out-dir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode != 0 and "must be a new or empty folder" in done.stderr.strip().splitlines()[-1]
    assert [p.name for p in tmp_path.iterdir()] == ["compile0_old.ptx"]
