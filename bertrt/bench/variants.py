"""Every variant the runner knows, how `--variants` selects them, and which can run here.

Planning is a pure function of the variants asked for and what this machine has (a
`Capabilities`), so every "skipped because ..." is decided, printed and tested before any work
starts. A skipped variant keeps its row in the results, with the reason.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from bertrt.common import UserError

# The single fusions of builder.Fusions, each tried alone in fp16 (packed needs others: see "all").
SINGLE_FUSIONS = ("layernorm", "skip_layernorm", "emb_layernorm", "fused_qkv", "attention", "bias_gelu")
# Kernels with a C API in plugins/<name>/ and a PyTorch op they replace.
KERNELS = ("layernorm", "skip_layernorm", "emb_layernorm", "bias_gelu", "attention")


@dataclass(frozen=True)
class Variant:
    name: str
    kind: str          # "onnx" (TensorRT's parser), "hand" (builder.py), "torch", "kernel"
    precision: str     # fp32 | fp16 | int8
    fusions: str = ""  # hand-built: builder.Fusions.parse() text
    recipe: str = ""   # torch: eager | sdpa | sdpa-graph | compile-graph; kernel: the kernel's folder
    about: str = ""

    @property
    def needs_plugins(self) -> bool:
        """Whether a TensorRT build needs libbert_plugins.so (fused_qkv alone is a plain GEMM)."""
        from builder import Fusions

        return self.kind == "hand" and Fusions.parse(self.fusions).plugins


def _all_variants() -> tuple[Variant, ...]:
    variants = [Variant(f"onnx-{p}", "onnx", p, about=f"TensorRT ONNX parser, {p}") for p in ("fp32", "fp16", "int8")]
    variants += [Variant(f"hand-{p}", "hand", p, "none", about=f"hand-built network, {p}, no plugins")
                 for p in ("fp32", "fp16", "int8")]
    variants += [Variant(f"hand-fp16-{f}", "hand", "fp16", f, about=f"hand-built fp16 + {f} alone")
                 for f in SINGLE_FUSIONS]
    variants += [Variant("hand-fp16-all", "hand", "fp16", "all", about="hand-built fp16, every fusion"),
                 Variant("hand-fp16-all-packed", "hand", "fp16", "all,packed",
                         about="hand-built fp16, every fusion, packed (no padding tokens)"),
                 Variant("hand-int8-all", "hand", "int8", "all",
                         about="hand-built INT8, every fusion but packed, residual stream fp16"),
                 Variant("hand-int8-all-int8-residual", "hand", "int8", "all,int8_residual",
                         about="hand-built INT8, every fusion, SkipLayerNorm with INT8 I/O")]
    variants += [
        Variant("torch-fp32-eager", "torch", "fp32", recipe="eager", about="PyTorch fp32, eager attention"),
        Variant("torch-fp16-sdpa", "torch", "fp16", recipe="sdpa", about="PyTorch fp16, SDPA attention"),
        Variant("torch-fp16-sdpa-graph", "torch", "fp16", recipe="sdpa-graph",
                about="PyTorch fp16 SDPA replayed from a CUDA graph"),
        Variant("torch-fp16-compile-graph", "torch", "fp16", recipe="compile-graph",
                about='torch.compile(mode="max-autotune-no-cudagraphs") fp16, replayed from a CUDA graph'),
    ]
    variants += [Variant(f"kernel-{k}", "kernel", "fp16", recipe=k, about=f"our {k} kernel vs the PyTorch op")
                 for k in KERNELS]
    return tuple(variants)


VARIANTS = _all_variants()
BASELINE = "torch-fp32-eager"  # speedups are ratios against this, measured in the same run


def select(patterns: str = "all", skip_pytorch: bool = False) -> list[Variant]:
    """The variants named by comma-separated names or globs ('hand-fp16-*'), in registry order."""
    wanted = [p.strip() for p in patterns.split(",") if p.strip()] or ["all"]
    chosen = set()
    for pattern in wanted:
        matches = {v.name for v in VARIANTS if pattern == "all" or fnmatch.fnmatchcase(v.name, pattern)}
        if not matches:
            raise UserError(f"--variants {pattern!r} matches no variant; known: {', '.join(v.name for v in VARIANTS)}")
        chosen |= matches
    return [v for v in VARIANTS if v.name in chosen and not (skip_pytorch and v.kind == "torch")]


@dataclass(frozen=True)
class Capabilities:
    """What this machine can do, each as the reason it cannot (None: it can)."""

    tensorrt_problem: str | None     # bertrt.trt_api.runtime_problem()
    cuda_problem: str | None         # None when torch sees a CUDA GPU
    plugins_problem: str | None      # None when plugins/build/libbert_plugins.so exists
    kernels_problem: str | None      # None when plugins/build/libbert_kernels.so exists


@dataclass(frozen=True)
class Planned:
    variant: Variant
    backend: str | None   # tensorrt | reference | cuda | cpu; None when skipped
    skip_reason: str = ""
    note: str = ""        # said next to the results (e.g. "accuracy only")

    @property
    def runs(self) -> bool:
        return self.backend is not None


def engine_backend(requested: str, caps: Capabilities) -> str:
    """Where engine variants go: 'tensorrt' or 'reference' (auto: TensorRT when it can run)."""
    if requested == "tensorrt" and caps.tensorrt_problem:
        raise UserError(f"--backend tensorrt: {caps.tensorrt_problem}; use --backend auto to run what can run")
    if requested == "reference" or caps.tensorrt_problem:
        return "reference"
    return "tensorrt"


def plan(variants: list[Variant], caps: Capabilities, requested_backend: str = "auto",
         random_weights: bool = False) -> list[Planned]:
    engines = engine_backend(requested_backend, caps) if any(v.kind in ("onnx", "hand") for v in variants) else None
    why_no_trt = caps.tensorrt_problem or "--backend reference"
    planned = []
    for v in variants:
        if v.kind == "onnx":
            planned.append(Planned(v, "tensorrt") if engines == "tensorrt" else
                           Planned(v, None, f"{why_no_trt}: the ONNX parser baseline needs TensorRT "
                                            "(the reference backend has no parser)"))
        elif v.kind == "hand" and engines == "tensorrt":
            planned.append(Planned(v, None, caps.plugins_problem) if v.needs_plugins and caps.plugins_problem
                           else Planned(v, "tensorrt"))
        elif v.kind == "hand":
            planned.append(
                Planned(v, None, f"{why_no_trt}, and random weights make the reference backend's accuracy "
                                 "columns meaningless") if random_weights else
                Planned(v, "reference", note="reference backend (CPU): accuracy only, no TensorRT latency"))
        elif v.kind == "torch":
            if caps.cuda_problem is None:
                planned.append(Planned(v, "cuda"))
            elif v.recipe == "eager":
                planned.append(Planned(v, "cpu", note=caps.cuda_problem))
            else:
                planned.append(Planned(v, None, f"{caps.cuda_problem}: fp16 SDPA, CUDA graphs and "
                                                "torch.compile are GPU baselines"))
        else:  # kernel
            problem = caps.cuda_problem or caps.kernels_problem
            planned.append(Planned(v, None, problem) if problem else Planned(v, "cuda"))
    return planned


def detect_capabilities() -> Capabilities:
    import torch

    from bertrt.backend import PLUGIN_BUILD_HINT, PLUGIN_LIBRARY
    from bertrt.trt_api import runtime_problem
    from plugins import kernels

    kernel_library = kernels.library_path("libbert_kernels.so")
    return Capabilities(
        tensorrt_problem=runtime_problem(),
        cuda_problem=None if torch.cuda.is_available() else "no CUDA GPU is visible",
        plugins_problem=None if PLUGIN_LIBRARY.exists() else f"{PLUGIN_LIBRARY} not found: {PLUGIN_BUILD_HINT}",
        kernels_problem=None if kernel_library.exists() else f"{kernel_library} not found; {kernels.BUILD_HINT}",
    )
