"""The default plugin build (what setup.sh runs) targets Turing (sm_75) up to Hopper, while CI's
other builds and the GPU runs target sm_90 only. This compiles every kernel source for the oldest
architecture of the default list, where instructions newer than it (cp.async, ldmatrix, mma.sync,
wgmma) must be guarded. They once were not, and the default build failed in its sm_75 pass."""
import functools
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import pytest

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
SOURCES = sorted(PLUGINS.glob("*/*_kernel.cu")) + sorted(PLUGINS.glob("common/*.cu"))
NVCC = ["nvcc", "-std=c++17", "-O3", "--expt-relaxed-constexpr", f"-I{PLUGINS}"]  # as CMakeLists.txt builds


def oldest_default_architecture() -> str:
    """The first entry of the architecture list CMakeLists.txt sets when none is given."""
    default = re.search(r"set\(CMAKE_CUDA_ARCHITECTURES (\d+)", (PLUGINS / "CMakeLists.txt").read_text())
    assert default, "CMakeLists.txt no longer sets a default CMAKE_CUDA_ARCHITECTURES list"
    return default.group(1)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc (the CUDA toolkit)")
@pytest.mark.parametrize("source", SOURCES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_kernel_compiles_for_the_oldest_default_architecture(source, tmp_path):
    arch = oldest_default_architecture()
    command = [*NVCC, f"-gencode=arch=compute_{arch},code=sm_{arch}", "-c", str(source),
               "-o", str(tmp_path / "kernel.o")]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, f"sm_{arch}: {result.stderr[-3000:]}"
    assert "warning" not in result.stderr, f"sm_{arch}: {result.stderr[-3000:]}"


@functools.cache
def ptx_entries(source: Path, *flags: str) -> dict[str, str]:
    """The PTX of `source` for sm_90, kernel name (mangled) -> its body. Built once per source and
    flags for all the tests here (the names do not depend on the flags)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{source.stem}.ptx"
        command = [*NVCC, "-arch=sm_90", "-ptx", *flags, str(source), "-o", str(out)]
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-3000:]
        pieces = out.read_text().split(".entry ")[1:]
    return {piece.split("(", 1)[0].strip(): piece for piece in pieces}


UNHINTED_VECTOR_LOAD = re.compile(r"ld\.global(\.nc)?\.v[24]\.")  # no cache operator (the read-only path or not)
STREAMING = "-DBERT_STREAMING_ACTIVATIONS=1"
VECTOR_KERNELS = ("layernorm_rows_registers", "layernorm_rows_loads_first", "layernorm_rows_shaped",
                  "layernorm_rows_triton_layout", "layernorm_rows_ids_ahead")


def norm_vector_kernels(kernel_dir: str, flag: str, off_marker: str) -> dict[str, str]:
    """The vector kernels of one LayerNorm-family file built with `flag`, name -> PTX body: v2-v20 in
    fp32 and fp16, every instantiated size (at least 100). The default build must show `off_marker`
    nowhere."""
    source = PLUGINS / kernel_dir / f"{kernel_dir}_kernel.cu"
    assert not any(off_marker in body for body in ptx_entries(source).values()), kernel_dir
    kernels = {name: body for name, body in ptx_entries(source, flag).items()
               if any(kernel in name for kernel in VECTOR_KERNELS)}
    assert len(kernels) >= 100, kernel_dir
    return kernels


def gelu_vector_kernels(flag: str, off_marker: str) -> dict[str, tuple[str, bool]]:
    """BiasGelu's vector kernels built with `flag`, name -> (PTX body, whether it loads a bias): v2-v9
    in fp32 and fp16, with and without a bias (at least 14; the scalar kernel's element accesses take
    no hints, vector_io.cuh). The default build must show `off_marker` nowhere."""
    gelu = PLUGINS / "bias_gelu" / "bias_gelu_kernel.cu"
    assert not any(off_marker in body for body in ptx_entries(gelu).values())
    kernels = {name: (body, "bias_gelu_vectors" in name or "Lb1E" in name)  # a run-time bias, or kBias = true
               for name, body in ptx_entries(gelu, flag).items() if "bias_gelu_scalar" not in name}
    assert len(kernels) >= 14
    return kernels


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc (the CUDA toolkit)")
def test_streaming_activations_switch_sets_the_cache_hints(tmp_path):
    """BERT_STREAMING_ACTIVATIONS (common/vector_io.cuh; CMake option of the same name) gives the
    activation rows evict-first loads and stores (ld/st.global.cs) in every vector kernel of BiasGelu
    and SkipLayerNorm when on, and none when off, the default; the parameters they re-read for every
    row (the bias; gamma and beta) stay plain loads either way."""
    for name, (body, with_bias) in gelu_vector_kernels(STREAMING, ".cs.").items():
        assert "ld.global.cs." in body and "st.global.cs." in body, name
        assert bool(UNHINTED_VECTOR_LOAD.search(body)) == with_bias, f"{name}: the bias load"

    skip = PLUGINS / "skip_layernorm" / "skip_layernorm_kernel.cu"
    streaming = {name: body for name, body in ptx_entries(skip, STREAMING).items()
                 if "ld.global.cs." in body}
    assert len(streaming) >= 20  # the vector versions of the float kernels
    for name, body in streaming.items():
        assert "st.global.cs." in body and UNHINTED_VECTOR_LOAD.search(body), f"{name}: gamma/beta must stay plain"


KEEP = "-DBERT_KEEP_PARAMETERS=1"
# 16-byte vectors, or 8 bytes of halves (v20's fp16 parameters: four values a vector).
EVICT_LAST_LOAD = re.compile(r"ld\.global\.L1::evict_last\.L2::cache_hint\.v[24]\.")


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc (the CUDA toolkit)")
def test_keep_parameters_switch_marks_the_parameters_only(tmp_path):
    """BERT_KEEP_PARAMETERS (common/vector_io.cuh; CMake option of the same name) gives the loads of
    what every row reads again an evict-last policy when on, and nothing when off (the default):
    in every vector kernel of LayerNorm and SkipLayerNorm gamma and beta (2 loads at least; 3 with
    SkipLayerNorm's bias, where the mangled name says it has one), of EmbLayerNorm also the position
    and type rows (4), BiasGelu's bias wherever the kernel has one. The rows themselves stay plain
    loads (EmbLayerNorm's word rows ld.global.nc). Before sm_80 (no cache_hint operand) the loads
    keep the L1 hint and the global space."""
    for kernel_dir, parameters in (("layernorm", 2), ("skip_layernorm", 2), ("emb_layernorm", 4)):
        for name, body in norm_vector_kernels(kernel_dir, KEEP, "evict_last").items():
            expected = parameters + (1 if re.search(r"ResidualRowsI(f|6__half)Lb1E", name) else 0)
            assert len(EVICT_LAST_LOAD.findall(body)) >= expected, f"{name}: the parameters' loads"
            assert UNHINTED_VECTOR_LOAD.search(body), f"{name}: the row's loads must stay plain"
            if kernel_dir == "emb_layernorm":
                assert "ld.global.nc.v4." in body, f"{name}: the word rows"

    gelu_kernels = gelu_vector_kernels(KEEP, "evict_last")
    for name, (body, with_bias) in gelu_kernels.items():
        assert ("ld.global.L1::evict_last.L2::cache_hint." in body) == with_bias, f"{name}: the bias load"
    assert sum(with_bias for _, with_bias in gelu_kernels.values()) >= 8

    arch = oldest_default_architecture()
    for kernel_dir in ("layernorm", "emb_layernorm"):
        old = tmp_path / f"{kernel_dir}_sm{arch}.ptx"
        done = subprocess.run([*NVCC, f"-gencode=arch=compute_{arch},code=sm_{arch}", KEEP, "-ptx",
                               str(PLUGINS / kernel_dir / f"{kernel_dir}_kernel.cu"), "-o", str(old)],
                              capture_output=True, text=True)
        assert done.returncode == 0 and "warning" not in done.stderr, f"sm_{arch}: {done.stderr[-3000:]}"
        ptx = old.read_text()
        assert "ld.global.L1::evict_last.v4." in ptx and "cache_hint" not in ptx, kernel_dir
        assert not re.search(r"\bld\.v4\.", ptx), f"{kernel_dir}: a generic load on sm_{arch}"


PREFETCH_LOAD = re.compile(r"ld\.global(\.nc)?\.L2::256B\.")


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc (the CUDA toolkit)")
def test_l2_prefetch_switch_marks_the_activation_rows_only(tmp_path):
    """BERT_L2_PREFETCH_BYTES (common/vector_io.cuh; a CMake cache variable of the same name) puts an
    L2 prefetch size on the loads of activation rows when set (here 256), and nowhere when 0, the
    default: in every vector kernel of LayerNorm, SkipLayerNorm, EmbLayerNorm (whose word rows keep
    the read-only path: ld.global.nc.L2::256B) and BiasGelu, every load of a row and no other one
    (gamma, beta, biases, position and type rows stay plain), counted kernel by kernel."""
    flag = "-DBERT_L2_PREFETCH_BYTES=256"
    for kernel_dir in ("layernorm", "skip_layernorm", "emb_layernorm"):
        off = ptx_entries(PLUGINS / kernel_dir / f"{kernel_dir}_kernel.cu")
        keep = norm_vector_kernels(kernel_dir, KEEP, "evict_last")
        for name, body in norm_vector_kernels(kernel_dir, flag, "L2::").items():
            prefetched = PREFETCH_LOAD.findall(body)
            assert all(nc == (".nc" if kernel_dir == "emb_layernorm" else "") for nc in prefetched), name
            assert_hint_on_the_rows_only(name, body, len(prefetched), off[name], keep[name])

    off = ptx_entries(PLUGINS / "bias_gelu" / "bias_gelu_kernel.cu")
    keep = gelu_vector_kernels(KEEP, "evict_last")
    for name, (body, _) in gelu_vector_kernels(flag, "L2::").items():
        assert_hint_on_the_rows_only(name, body, body.count("ld.global.L2::256B."), off[name], keep[name][0])


def assert_hint_on_the_rows_only(name: str, body: str, hinted: int, off_body: str, keep_body: str) -> None:
    """`hinted` loads of a kernel's `body` carry a switch's hint. They must be exactly its row loads,
    which the keep-parameters build leaves plain (it marks the parameters' loads), and every other
    load of the default build must stay plain. (Counts of plain loads, not of evict-last ones: the
    compiler merges two plain loads of one address, as of one bias vector for two rows, and not two
    inline-asm ones.)"""
    rows = len(UNHINTED_VECTOR_LOAD.findall(keep_body))
    assert rows > 0 and hinted == rows, f"{name}: {hinted} hinted loads, {rows} row loads"
    plain, plain_off = len(UNHINTED_VECTOR_LOAD.findall(body)), len(UNHINTED_VECTOR_LOAD.findall(off_body))
    assert plain == plain_off - rows, f"{name}: {plain} plain loads, {plain_off - rows} parameter loads"


READ_ONLY = "-DBERT_READONLY_ACTIVATIONS=1"
NC_VECTOR_LOAD = re.compile(r"ld\.global\.nc\.v[24]\.")
COHERENT_VECTOR_LOAD = re.compile(r"ld\.global\.v[24]\.")


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc (the CUDA toolkit)")
def test_read_only_switch_marks_the_rows_of_layernorm_and_skip_layernorm_only():
    """BERT_READONLY_ACTIVATIONS (common/vector_io.cuh; CMake option of the same name) loads the rows
    of LayerNorm and SkipLayerNorm through the read-only path (ld.global.nc) when on, and no load of
    theirs when off, the default: in every vector kernel as many read-only loads as row loads (those
    the keep-parameters build leaves plain), gamma, beta and the bias staying plain. BiasGelu, which may
    run in place, and EmbLayerNorm, whose word rows take that path anyway, compile to the same PTX
    with the switch as without it."""
    for kernel_dir in ("layernorm", "skip_layernorm"):
        keep = norm_vector_kernels(kernel_dir, KEEP, "evict_last")
        for name, body in norm_vector_kernels(kernel_dir, READ_ONLY, "ld.global.nc").items():
            rows = len(UNHINTED_VECTOR_LOAD.findall(keep[name]))
            read_only = len(NC_VECTOR_LOAD.findall(body))
            assert rows > 0 and read_only == rows, f"{name}: {read_only} read-only loads, {rows} row loads"
            # gamma and beta at least. (Not an exact count: the compiler merges plain loads of one
            # address, as of one bias vector for two rows, differently in the two builds.)
            assert len(COHERENT_VECTOR_LOAD.findall(body)) >= 2, f"{name}: the parameters' loads must stay plain"
    for kernel_dir in ("bias_gelu", "emb_layernorm"):
        source = PLUGINS / kernel_dir / f"{kernel_dir}_kernel.cu"
        on, off = ptx_entries(source, READ_ONLY), ptx_entries(source)
        changed = [name for name in on if on[name] != off.get(name)]
        assert on.keys() == off.keys() and not changed, f"{kernel_dir}: {changed}"


REGISTER_CAP = "-DBERT_SHAPED_MAX_REGISTERS=40"


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc (the CUDA toolkit)")
def test_register_cap_gives_v14_fp32_its_own_bounded_kernel_and_moves_nothing_else():
    """BERT_SHAPED_MAX_REGISTERS (common/layernorm_rows.cuh), an experiment's knob, adds for each
    LayerNorm-family file a kernel only v14 fp32 launches, `layernorm_rows_shaped_capped`, whose
    least blocks an SM hold it to the cap: 16 blocks of 3 warps at hidden 768 (40 registers, where
    17 would put 13 warps on one of the SM's four schedulers and leave 32), in place of v14 fp32's
    plain kernel. Every other kernel keeps the PTX of the build without it, which has no capped
    kernel at all."""
    for kernel_dir in ("layernorm", "skip_layernorm", "emb_layernorm"):
        source = PLUGINS / kernel_dir / f"{kernel_dir}_kernel.cu"
        on, off = ptx_entries(source, REGISTER_CAP), ptx_entries(source)
        capped = {name: body for name, body in on.items() if "layernorm_rows_shaped_capped" in name}
        assert capped and not any("capped" in name for name in off), kernel_dir
        assert all("shaped_cappedIff" in name for name in capped), f"{kernel_dir}: only fp32 is capped"
        h768 = [body for name, body in capped.items() if "BlockShapeILi1ELi3ELi2ELi2E" in name]
        assert h768 and all(".maxntid 96, 1, 1" in b and ".minnctapersm 16" in b for b in h768), kernel_dir
        replaced = {name.replace("28layernorm_rows_shaped_capped", "21layernorm_rows_shaped") for name in capped}
        assert replaced <= off.keys() and not replaced & on.keys(), kernel_dir
        changed = [name for name in off.keys() - replaced if on.get(name) != off[name]]
        assert not changed, f"{kernel_dir}: {changed[:3]}"


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc (the CUDA toolkit)")
def test_register_cap_holds_at_hidden_768(tmp_path):
    """What ptxas makes of the bound: LayerNorm v14 fp32 h768's capped kernel within 40 registers and
    without a spill, with the read-only path too (run 23's build). The cap is exact at this size only
    (the bound is a block count; at h256 it is clamped to 32 blocks and leaves 53 registers)."""
    source = PLUGINS / "layernorm" / "layernorm_kernel.cu"
    command = [*NVCC, "-arch=sm_90", "-Xptxas", "-v", REGISTER_CAP, READ_ONLY, "-c", str(source),
               "-o", str(tmp_path / "capped.o")]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    report = re.findall(r"Compiling entry function '(\S+)'.*?(\d+) bytes spill stores.*?Used (\d+) registers",
                        done.stderr, re.S)
    h768 = [(int(spill), int(used)) for name, spill, used in report
            if "shaped_capped" in name and "BlockShapeILi1ELi3ELi2ELi2E" in name]
    assert h768 and all(spill == 0 and used <= 40 for spill, used in h768), h768


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc (the CUDA toolkit)")
def test_prefer_l1_switch_leaves_the_device_code_alone():
    """BERT_PREFER_L1 (common/layernorm_rows.cuh) sets a launch attribute on the host, the carveout
    preference of the shaped kernel (v12-v15, v18, v19): the kernels' PTX must be the default build's, so
    that its timing (ablate_cache_hints.py --switch prefer-l1) measures the carveout and nothing else."""
    for kernel_dir in ("layernorm", "skip_layernorm", "emb_layernorm"):
        source = PLUGINS / kernel_dir / f"{kernel_dir}_kernel.cu"
        assert ptx_entries(source, "-DBERT_PREFER_L1=1") == ptx_entries(source), kernel_dir


@pytest.mark.skipif(shutil.which("nvcc") is None or shutil.which("nm") is None, reason="needs nvcc and nm")
def test_prefer_l1_switch_reaches_the_host_code(tmp_path):
    """The other half: with BERT_PREFER_L1 the launcher calls cudaFuncSetAttribute, without it not
    (a misspelled #if would leave the knob dead and the test above passing)."""
    source = PLUGINS / "layernorm" / "layernorm_kernel.cu"

    def calls_set_attribute(*flags):
        obj = tmp_path / f"layernorm{len(flags)}.o"
        done = subprocess.run([*NVCC, "-arch=sm_90", *flags, "-c", str(source), "-o", str(obj)],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        undefined = subprocess.run(["nm", "-u", str(obj)], capture_output=True, text=True, check=True).stdout
        return "cudaFuncSetAttribute" in undefined
    assert calls_set_attribute("-DBERT_PREFER_L1=1") and not calls_set_attribute()


WHOLE_BLOCKS = "-DBERT_SHAPED_WHOLE_BLOCKS=1"
FTZ_RSQRT = "-DBERT_FTZ_RSQRT=1"
SHAPE_ARGUMENTS = re.compile(r"BlockShapeILi(\d+)ELi(\d+)ELi(\d+)ELi(\d+)E")  # G, W, R, K


def without_block_numbers(body: str) -> str:
    """A kernel's PTX with its basic blocks' labels unnumbered: the labels count on through the file, so a
    kernel added before another renumbers that one's."""
    return re.sub(r"\$L__BB\d+_", "$L__BB_", body)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc (the CUDA toolkit)")
def test_whole_blocks_switch_adds_an_unchecked_twin_for_shapes_of_several_rows():
    """BERT_SHAPED_WHOLE_BLOCKS (common/layernorm_rows.cuh) adds, for every instance of the shaped kernel
    whose block holds several rows (v13: 8 groups of a row, v14 and v18: a group of 2, v19: of 4), a twin
    that trusts its rows to be in range (its last template argument true); v12's and v15's blocks hold one
    row each, which the grid covers exactly already, so they get none. Every kernel of the default build keeps its PTX."""
    for kernel_dir in ("layernorm", "skip_layernorm", "emb_layernorm"):
        source = PLUGINS / kernel_dir / f"{kernel_dir}_kernel.cu"
        on, off = ptx_entries(source, WHOLE_BLOCKS), ptx_entries(source)
        changed = [name for name in off if without_block_numbers(on.get(name, "")) != without_block_numbers(off[name])]
        assert not changed, f"{kernel_dir}: {changed[:3]}"
        added = on.keys() - off.keys()
        twins = {name.replace("Lb1EEEv", "Lb0EEEv") for name in added}
        several_rows = set()
        for name in off:
            shape = SHAPE_ARGUMENTS.search(name)
            if "layernorm_rows_shaped" in name and shape and int(shape[1]) * int(shape[3]) > 1:
                several_rows.add(name)
        assert several_rows and twins == several_rows, f"{kernel_dir}: {sorted(twins ^ several_rows)[:3]}"
        for name in added:  # the row checks are gone: the twin's code is not its checked kernel's
            twin = name.replace("Lb1EEEv", "Lb0EEEv")
            assert without_block_numbers(on[name]) != without_block_numbers(off[twin]), name


def instructions(body: str) -> Counter:
    """How many times each PTX instruction (opcode with its modifiers) occurs in a kernel's body."""
    return Counter(line.split()[0] for line in body.splitlines()
                   if line.startswith("\t") and line.strip() and not line.strip().startswith(("//", ".", "{", "}")))


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc (the CUDA toolkit)")
def test_ftz_rsqrt_switch_changes_the_shaped_kernels_rsqrt_only():
    """BERT_FTZ_RSQRT turns the shaped kernel's (v12-v15, v18, v19) rsqrt.approx.f32 (rsqrtf; ptxas guards
    it against denormal inputs) into rsqrt.approx.ftz.f32 and changes nothing else, in those kernels or any other. (The same
    instructions, not the same text: nvcc orders them around the inline asm differently.)"""
    for kernel_dir in ("layernorm", "skip_layernorm", "emb_layernorm"):
        source = PLUGINS / kernel_dir / f"{kernel_dir}_kernel.cu"
        on, off = ptx_entries(source, FTZ_RSQRT), ptx_entries(source)
        assert on.keys() == off.keys(), kernel_dir
        shaped = [name for name in off if "layernorm_rows_shaped" in name]
        assert shaped, kernel_dir
        for name in shaped:
            assert "rsqrt.approx.f32" in off[name] and "rsqrt.approx.ftz" not in off[name], name
            assert "rsqrt.approx.f32" not in on[name], name
            assert instructions(on[name].replace("rsqrt.approx.ftz.f32", "rsqrt.approx.f32")) == instructions(off[name]), name
        assert all(on[name] == off[name] for name in off.keys() - set(shaped)), kernel_dir


PLAIN_MEAN = "-DBERT_PLAIN_MEAN=1"


def float_arithmetic(body: str) -> int:
    """How many fp32/fp16 arithmetic instructions (no loads or moves) a kernel's PTX holds."""
    return sum(n for op, n in instructions(body).items()
               if op.endswith((".f32", ".f16")) and not op.startswith(("ld.", "st.", "mov.", "cvt.")))


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc (the CUDA toolkit)")
def test_plain_mean_switch_drops_the_correction_step():
    """BERT_PLAIN_MEAN (common/layernorm_rows.cuh) leaves every LayerNorm-family mean as sum * (1 / hidden):
    every kernel that normalizes (the vector and scalar versions, SkipLayerNorm's int8 kernels) loses the
    correction's fma (two a mean) and its isinf test, and holds less float arithmetic (nvcc may order what
    is left, and the predicates around it, differently); the others (EmbLayerNorm's mask kernel) keep their PTX."""
    for kernel_dir in ("layernorm", "skip_layernorm", "emb_layernorm"):
        source = PLUGINS / kernel_dir / f"{kernel_dir}_kernel.cu"
        on, off = ptx_entries(source, PLAIN_MEAN), ptx_entries(source)
        assert on.keys() == off.keys(), kernel_dir
        changed = {name for name in off if on[name] != off[name]}
        assert {name for name in off if "layernorm_rows" in name} <= changed, kernel_dir
        assert len(changed) >= 100, kernel_dir
        for name in changed:
            lost = instructions(off[name]) - instructions(on[name])
            assert lost["fma.rn.f32"] >= 2 and lost["setp.neu.f32"] >= 1, f"{name}: lost {dict(lost)}"
            assert float_arithmetic(on[name]) < float_arithmetic(off[name]), name
