"""Compare two results the way Polygraphy does: one `check()` that says how far apart they are,
where the worst element is, and which tolerance would have passed.

Tolerances are per precision (never an epsilon reused as a tolerance). Logits of fp32 engines
match PyTorch to ~1e-4; fp16 to ~1e-2 relative to the logits' scale; INT8 is judged by top-k
agreement of the predictions, since its logits legitimately move.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# precision -> (absolute, relative) tolerance on logits; an element passes if
# |a - e| <= atol + rtol * |e|.
TOLERANCES = {"fp32": (1e-4, 1e-4), "fp16": (2e-2, 1e-2), "int8": (None, None)}
# INT8: minimum share of positions whose top-1 equals PyTorch's, and top-5 overlap.
INT8_MIN_TOP1 = 0.9


@dataclass
class CheckResult:
    name: str
    max_abs: float
    mean_abs: float
    max_rel: float
    worst_index: tuple
    worst_actual: float
    worst_expected: float
    needed_atol: float  # the atol that would have passed with rtol as given
    passed: bool | None  # None: no tolerance applies (INT8 is judged by top-k agreement)

    def line(self) -> str:
        status = {True: "PASS", False: "FAIL", None: "INFO"}[self.passed]
        return (f"{status} {self.name}: max abs {self.max_abs:.3e} (at {self.worst_index}: "
                f"{self.worst_actual:.6g} vs {self.worst_expected:.6g}), mean abs {self.mean_abs:.3e}, "
                f"max rel {self.max_rel:.3e}; atol that passes: {self.needed_atol:.3e}")


def check(name: str, actual: np.ndarray, expected: np.ndarray, precision: str = "fp32",
          valid: np.ndarray | None = None, atol: float | None = None, rtol: float | None = None,
          verbose: bool = True) -> CheckResult:
    """Compare `actual` with `expected` (only where `valid`, broadcast over trailing dims)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise ValueError(f"{name}: shape {actual.shape} != expected {expected.shape}")
    default_atol, default_rtol = TOLERANCES[precision]
    atol = default_atol if atol is None else atol
    rtol = default_rtol if rtol is None else rtol
    diff = np.abs(actual - expected)
    mask = np.ones(actual.shape, dtype=bool)
    if valid is not None:
        mask = np.broadcast_to(valid.reshape(valid.shape + (1,) * (actual.ndim - valid.ndim)), actual.shape)
    diff = np.where(mask, diff, 0.0)
    diff = np.where(np.isnan(diff), np.inf, diff)  # NaN never passes
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    scale = np.abs(expected)
    rel = np.where(mask, diff / np.maximum(scale, 1e-12), 0.0)
    needed = float(np.max(diff - (rtol or 0.0) * scale, initial=0.0))
    passed = None if atol is None else bool(np.all(diff <= atol + rtol * scale))
    result = CheckResult(
        name, float(diff.max(initial=0.0)), float(diff[mask].mean()) if mask.any() else 0.0,
        float(rel.max(initial=0.0)), tuple(int(i) for i in worst),
        float(actual[worst]) if diff.size else 0.0, float(expected[worst]) if diff.size else 0.0,
        max(needed, 0.0), passed)
    if verbose:
        print(result.line())
    return result


def topk_agreement(actual: np.ndarray, expected: np.ndarray, k: int, valid: np.ndarray | None = None) -> float:
    """Share of positions where actual's top-1 is within expected's top-k (k=1: top-1 equal)."""
    top1 = actual.argmax(-1)
    topk = np.argsort(-expected, axis=-1)[..., :k]
    hit = (topk == top1[..., None]).any(-1)
    if valid is not None:
        hit = hit[valid.astype(bool)]
    return float(hit.mean()) if hit.size else 1.0


def masked_kl(actual_logits: np.ndarray, expected_logits: np.ndarray) -> float:
    """KL(expected || actual) of the softmax distributions, in nats (for one position)."""
    def log_softmax(x):
        x = x.astype(np.float64) - x.max(-1, keepdims=True)
        return x - np.log(np.exp(x).sum(-1, keepdims=True))
    lp, lq = log_softmax(expected_logits), log_softmax(actual_logits)
    return float((np.exp(lp) * (lp - lq)).sum(-1).mean())


def accuracy_report(logits: np.ndarray, reference_logits: np.ndarray, valid: np.ndarray,
                    precision: str, mask_positions: list[tuple[int, int]] | None = None) -> dict:
    """The numbers every script prints: max abs diff, top-1/top-5 agreement, and the KL of the
    masked-token distributions."""
    result = check("logits vs PyTorch fp32", logits, reference_logits, precision, valid=valid, verbose=False)
    report = {
        "max_abs_diff": result.max_abs,
        "mean_abs_diff": result.mean_abs,
        "top1_agreement": topk_agreement(logits, reference_logits, 1, valid),
        "top5_agreement": topk_agreement(logits, reference_logits, 5, valid),
        # fp32/fp16: within tolerance; int8: top-1 agreement good enough
        "passed": result.passed if result.passed is not None else None,
        "check": result.line(),
    }
    if result.passed is None:
        report["passed"] = report["top1_agreement"] >= INT8_MIN_TOP1
    if mask_positions:
        report["masked_kl"] = float(np.mean([masked_kl(logits[b, s], reference_logits[b, s])
                                              for b, s in mask_positions]))
    return report
