"""Rebuild a TensorRT engine only when something it was built from changed.

An engine is a function of: the ONNX file (its bytes, by sha256), the build mode, the fusions,
the optimization profile, the TensorRT version and the GPU (engines are not portable across
either), plus, where they apply, the plugin library and the INT8 calibration settings. Those go
into an `EngineKey`, stored as JSON next to the engine (`x.engine.key.json`). An engine whose key
file matches is reused; anything else is rebuilt.

Order of writes, so a crash never pairs a key with the wrong engine: the old key file is removed
first, then the engine is written (atomically, by the backend), then the new key (atomically).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from bertrt.common import atomic_write_bytes

_HASHES: dict[tuple, str] = {}  # (path, size, mtime) -> sha256: a 440 MB ONNX file is hashed once


def file_sha256(path: os.PathLike) -> str:
    path = Path(path).resolve()
    stat = path.stat()
    memo = (str(path), stat.st_size, stat.st_mtime_ns)
    if memo not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        _HASHES[memo] = digest.hexdigest()
    return _HASHES[memo]


@dataclass(frozen=True)
class EngineKey:
    builder: str            # "onnx-parser" or "hand-built"
    onnx_sha256: str
    mode: str
    fusions: str            # builder.Fusions.label()
    profile: dict           # asdict(ProfileShapes)
    tensorrt: str
    gpu: str
    extra: dict = field(default_factory=dict)  # plugin library hash, INT8 calibration settings

    def as_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self), sort_keys=True))  # what JSON gives back, to compare


def key_path(engine_path: os.PathLike) -> Path:
    return Path(str(engine_path) + ".key.json")


def stored(engine_path: os.PathLike) -> dict | None:
    """The key file's content, or None when there is none (or it is unreadable)."""
    try:
        return json.loads(key_path(engine_path).read_text())
    except (OSError, ValueError):
        return None


def is_fresh(engine_path: os.PathLike, key: EngineKey) -> bool:
    record = stored(engine_path)
    return Path(engine_path).exists() and record is not None and record.get("key") == key.as_dict()


def build_cached(engine_path: os.PathLike, key: EngineKey,
                 build: Callable[[], float]) -> tuple[float | None, bool]:
    """(build seconds, reused?): `build()` writes the engine and returns its build time; it runs
    only when the stored key differs. A reused engine reports the build time recorded with it."""
    if is_fresh(engine_path, key):
        return stored(engine_path).get("build_seconds"), True
    key_path(engine_path).unlink(missing_ok=True)
    seconds = build()
    record = {"key": key.as_dict(), "build_seconds": round(seconds, 3)}
    atomic_write_bytes(key_path(engine_path), json.dumps(record, indent=2, sort_keys=True).encode())
    return seconds, False
