"""Atomic output: write to a temp file beside the target, then rename, so no reader sees half a file."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.errors import InvalidMediaError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yields a temp path in the target's folder; renames it over the target only if the block succeeds."""
    out = Path(target)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}-", suffix=".part", dir=out.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_file(path: str | Path) -> str:
    """The file's SHA-256, hex, read in 1 MB pieces."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_text_atomic(target: str | Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def require_media_file(path: str | Path) -> Path:
    """The path of an existing, non-empty file; otherwise an InvalidMediaError naming it."""
    p = Path(path)
    if not p.is_file():
        raise InvalidMediaError(str(p), "no such file")
    if p.stat().st_size == 0:
        raise InvalidMediaError(str(p), "file is empty (0 bytes)")
    return p
