"""Build libbert_plugins.so + bert_plugin_harness against some TensorRT headers and run the harness.

    python -m plugins.harness.run                      # interface checks (no GPU needed)
    python -m plugins.harness.run --enqueue            # + enqueue() on the GPU vs PyTorch
    python -m plugins.harness.run --tensorrt-include .trt-include/10.8/include --cuda-archs 90

Used by tests/test_plugin_harness.py (CPU) and tests/gpu/test_plugin_enqueue.py (GPU).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
SYSTEM_TENSORRT = (Path("/usr/include/x86_64-linux-gnu"), Path("/usr/include"), Path("/usr/local/TensorRT/include"))
LINE = re.compile(r"^(PASS|FAIL) (\S+) (\S+) (\S+): (.*)$")


def header_dirs() -> dict[str, Path]:
    """TensorRT include folders found here, by name: "10.8", "10.16" (the repo's copies, else
    ../shared/tensorrt-include) and "system" (an installed TensorRT)."""
    found = {}
    for version in ("10.8", "10.16"):
        for base in (ROOT / ".trt-include", ROOT.parent / "shared" / "tensorrt-include"):
            if (base / version / "include" / "NvInferRuntime.h").exists():
                found[version] = base / version / "include"
                break
    for folder in SYSTEM_TENSORRT:
        if (folder / "NvInferRuntime.h").exists():
            found["system"] = folder
            break
    return found


def nvcc() -> str | None:
    found = shutil.which("nvcc")
    if found is None and Path("/usr/local/cuda/bin/nvcc").exists():
        found = "/usr/local/cuda/bin/nvcc"
    return found


def missing_tools() -> str | None:
    """Why the plugins cannot be built here, or None."""
    if shutil.which("cmake") is None:
        return "cmake not found"
    if nvcc() is None:
        return "nvcc not found (CUDA toolkit)"
    return None


def build(include_dir: Path, build_dir: Path, cuda_archs: str = "90", jobs: int = 2) -> Path:
    """Configure (once) and build into build_dir; returns build_dir. Raises with the build log."""
    configure = ["cmake", "-S", str(PLUGINS), "-B", str(build_dir), f"-DTENSORRT_INCLUDE_DIR={include_dir}",
                 f"-DCMAKE_CUDA_ARCHITECTURES={cuda_archs}", f"-DCMAKE_CUDA_COMPILER={nvcc()}"]
    for command in (configure, ["cmake", "--build", str(build_dir), "-j", str(jobs)]):
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return build_dir


@dataclass
class HarnessRun:
    returncode: int
    output: str
    results: list[tuple[str, str, str, str, str]]  # (PASS|FAIL, plugin, check, case, detail)
    passed: int | None  # from the SUMMARY line
    failed: int | None


def run_harness(build_dir: Path, cases_dir: Path, enqueue: bool = False, timeout: float = 600) -> HarnessRun:
    command = [str(build_dir / "harness" / "bert_plugin_harness"), str(build_dir / "libbert_plugins.so")]
    command += ["--enqueue", str(cases_dir)] if enqueue else [str(cases_dir)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    output = done.stdout + done.stderr
    results = [m.groups() for m in map(LINE.match, done.stdout.splitlines()) if m]
    summary = re.search(r"^SUMMARY passed=(\d+) failed=(\d+)$", done.stdout, re.MULTILINE)
    passed, failed = (int(summary[1]), int(summary[2])) if summary else (None, None)
    return HarnessRun(done.returncode, output, results, passed, failed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tensorrt-include", type=Path, help="default: .trt-include/10.16/include or a system TensorRT")
    parser.add_argument("--build-dir", type=Path, default=ROOT / "build" / "plugin-harness" / "run")
    parser.add_argument("--cuda-archs", default="90", help="CMAKE_CUDA_ARCHITECTURES (e.g. 90, native)")
    parser.add_argument("--enqueue", action="store_true", help="also run every plugin's enqueue() on the GPU")
    parser.add_argument("--cases-dir", type=Path, help="where to write the cases (default: a temporary folder)")
    args = parser.parse_args()
    from plugins.harness import make_cases

    found = header_dirs()
    include = args.tensorrt_include or found.get("10.16") or found.get("system")
    if include is None:
        sys.exit("no TensorRT headers found: pass --tensorrt-include")
    print(f"building against {include} into {args.build_dir}", flush=True)
    build(include.resolve(), args.build_dir, args.cuda_archs)
    cases = args.cases_dir or Path(tempfile.mkdtemp(prefix="bert-plugin-cases-"))
    make_cases.write_field_cases(cases / "fields")
    status = 0
    run = run_harness(args.build_dir, cases / "fields")
    print(run.output, end="", flush=True)
    status |= run.returncode
    if args.enqueue:
        make_cases.write_enqueue_cases(cases / "enqueue")
        run = run_harness(args.build_dir, cases / "enqueue", enqueue=True)
        print(run.output, end="", flush=True)
        status |= run.returncode
    sys.exit(status)


if __name__ == "__main__":
    main()
