"""The default plugin build (what setup.sh runs) targets Turing (sm_75) up to Hopper, while CI's
other builds and the GPU runs target sm_90 only. This compiles every kernel source for the oldest
architecture of the default list, where instructions newer than it (cp.async, ldmatrix, mma.sync,
wgmma) must be guarded. They once were not, and the default build failed in its sm_75 pass."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
SOURCES = sorted(PLUGINS.glob("*/*_kernel.cu")) + sorted(PLUGINS.glob("common/*.cu"))


def oldest_default_architecture() -> str:
    """The first entry of the architecture list CMakeLists.txt sets when none is given."""
    default = re.search(r"set\(CMAKE_CUDA_ARCHITECTURES (\d+)", (PLUGINS / "CMakeLists.txt").read_text())
    assert default, "CMakeLists.txt no longer sets a default CMAKE_CUDA_ARCHITECTURES list"
    return default.group(1)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc (the CUDA toolkit)")
@pytest.mark.parametrize("source", SOURCES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_kernel_compiles_for_the_oldest_default_architecture(source, tmp_path):
    arch = oldest_default_architecture()
    command = ["nvcc", "-std=c++17", "-O3", "--expt-relaxed-constexpr", f"-I{PLUGINS}",
               f"-gencode=arch=compute_{arch},code=sm_{arch}", "-c", str(source),
               "-o", str(tmp_path / "kernel.o")]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, f"sm_{arch}: {result.stderr[-3000:]}"
    assert "warning" not in result.stderr, f"sm_{arch}: {result.stderr[-3000:]}"
