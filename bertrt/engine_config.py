"""Builder configuration shared by `onnx2trt.py` and `builder.py`: precision flags, the
optimization profile, workspace, INT8 calibration and the timing cache."""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from bertrt import precision
from bertrt.common import INPUT_NAMES, PACKED_INPUT_NAMES, UserError, atomic_write_bytes


@dataclass(frozen=True)
class ProfileShapes:
    """min/opt/max batch and sequence length of the optimization profile."""

    min_batch: int = 1
    opt_batch: int = 1
    max_batch: int = 8
    min_seq: int = 1
    opt_seq: int = 128
    max_seq: int = 128

    def __post_init__(self):
        if not (1 <= self.min_batch <= self.opt_batch <= self.max_batch):
            raise UserError(f"need 1 <= --min-batch <= --opt-batch <= --max-batch, got "
                            f"{self.min_batch}, {self.opt_batch}, {self.max_batch}")
        if not (1 <= self.min_seq <= self.opt_seq <= self.max_seq):
            raise UserError(f"need 1 <= --min-seq <= --opt-seq <= --max-seq, got "
                            f"{self.min_seq}, {self.opt_seq}, {self.max_seq}")

    def for_input(self, name: str, packed: bool) -> tuple[tuple[int, ...], ...]:
        """(min, opt, max) shapes of one network input."""
        if not packed:
            return tuple((b, s) for b, s in ((self.min_batch, self.min_seq), (self.opt_batch, self.opt_seq),
                                             (self.max_batch, self.max_seq)))
        batches = (self.min_batch, self.opt_batch, self.max_batch)
        seqs = (self.min_seq, self.opt_seq, self.max_seq)
        if name == "cu_seqlens":
            return tuple((b + 1,) for b in batches)
        if name == "max_seqlen":
            return tuple((s,) for s in seqs)
        return ((self.min_batch * self.min_seq,), (self.opt_batch * self.opt_seq,),
                (self.max_batch * self.max_seq,))

    def check_model(self, max_position: int) -> None:
        if self.max_seq > max_position:
            raise UserError(f"--max-seq {self.max_seq} exceeds the model's {max_position} positions: lower it")


def profile_violation(name: str, shape, low, high) -> str | None:
    """Why `shape` of input `name` is outside the profile's [low, high], or None if it fits.
    One message for TensorRT engines and the reference backend alike."""
    shape, low, high = tuple(shape), tuple(low), tuple(high)
    if len(shape) == len(low) and all(lo <= d <= hi for d, lo, hi in zip(shape, low, high)):
        return None
    return (f"input {name!r} has shape {shape}, outside the engine's profile (min {low}, max {high}): "
            "rebuild the engine with a larger --max-batch/--max-seq")


def add_profile_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("optimization profile")
    for field, default in (("min-batch", 1), ("opt-batch", 1), ("max-batch", 8),
                           ("min-seq", 1), ("opt-seq", None), ("max-seq", 128)):
        group.add_argument(f"--{field}", type=int, default=default,
                           help="default: --max-seq" if field == "opt-seq" else None)
    parser.add_argument("--workspace-mb", type=int, default=2048, help="builder workspace limit")
    parser.add_argument("--timing-cache", type=Path, default=Path("artifacts/timing.cache"),
                        help="reused across builds: later builds skip kernel timing they already did")


def profile_from_args(args) -> ProfileShapes:
    opt_seq = args.max_seq if args.opt_seq is None else args.opt_seq
    return ProfileShapes(args.min_batch, args.opt_batch, args.max_batch, args.min_seq, opt_seq, args.max_seq)


def input_names(packed: bool) -> tuple[str, ...]:
    return PACKED_INPUT_NAMES if packed else INPUT_NAMES


def configure(builder, network, trt, mode: str, shapes: ProfileShapes, *, packed: bool = False,
              workspace_mb: int = 2048, calibrator=None, calibration_shape: tuple[int, int] | None = None,
              timing_cache: Path | None = None):
    """An IBuilderConfig for `mode` (precision flags from bertrt.precision) with one profile."""
    config = builder.create_builder_config()
    for flag in precision.builder_flag_names(mode):
        config.set_flag(getattr(trt.BuilderFlag, flag))
    for flag in precision.cleared_flag_names(mode):
        config.clear_flag(getattr(trt.BuilderFlag, flag))
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED  # layer names in engine inspection

    profile = builder.create_optimization_profile()
    for index in range(network.num_inputs):
        name = network.get_input(index).name
        profile.set_shape(name, *shapes.for_input(name, packed))
    config.add_optimization_profile(profile)

    if mode == "int8":
        if calibrator is None:
            raise UserError("INT8 needs calibration data: pass --calib-data (calibrator_data.txt)")
        config.int8_calibrator = calibrator
        # Calibrate at one declared shape, not at whatever the opt shape happens to be.
        batch, seq = calibration_shape
        calibration = builder.create_optimization_profile()
        for index in range(network.num_inputs):
            name = network.get_input(index).name
            fixed = ProfileShapes(batch, batch, batch, seq, seq, seq).for_input(name, packed)[1]
            calibration.set_shape(name, fixed, fixed, fixed)
        config.set_calibration_profile(calibration)

    if timing_cache is not None:
        data = timing_cache.read_bytes() if timing_cache.exists() else b""
        cache = config.create_timing_cache(data)
        if cache is None or not config.set_timing_cache(cache, False):
            print(f"note: timing cache {timing_cache} is unusable here (another GPU or TensorRT?); "
                  "starting a new one", file=sys.stderr)
            config.set_timing_cache(config.create_timing_cache(b""), False)
    return config


def save_timing_cache(config, path: Path | None) -> None:
    if path is not None and hasattr(config, "get_timing_cache"):
        cache = config.get_timing_cache()
        if cache is not None:
            atomic_write_bytes(path, bytes(cache.serialize()))
