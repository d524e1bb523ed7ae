"""plugins.kernels.library: launches inside the block go to another build of the kernel library
(benchmarks/ablate_cache_hints.py times two builds in one process this way). Two stand-in
libraries, built here with gcc, answer bertLastLaunchedVersion differently, so a call reaching the
wrong one, or a launcher cached from the first library and reused for the second, shows."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from plugins import kernels  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


def stand_in(tmp_path: Path, version: int) -> Path:
    source = tmp_path / f"lib{version}.c"
    source.write_text('const char* bertKernelErrorString(int status) { (void)status; return "stand-in"; }\n'
                      f"int bertLastLaunchedVersion(void) {{ return {version}; }}\n")
    library = tmp_path / f"lib{version}.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    return library


def test_launches_go_to_the_library_of_the_block(tmp_path):
    first, second = stand_in(tmp_path, 7), stand_in(tmp_path, 9)
    before = kernels._lib
    with kernels.library(first):
        assert kernels.last_version() == 7
        with kernels.library(second):
            assert kernels.last_version() == 9
        assert kernels.last_version() == 7
    assert kernels._lib is before
    with kernels.library(second):
        assert kernels.last_version() == 9


def test_the_library_is_restored_after_an_error(tmp_path):
    before = kernels._lib
    with pytest.raises(RuntimeError, match="stand-in"):
        with kernels.library(stand_in(tmp_path, 3)):
            kernels.check(2, "a launch")
    assert kernels._lib is before
