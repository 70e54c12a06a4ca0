"""Stage outputs stored by content hash, so a retried workflow finds what earlier stages already made."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from pipeline.files import sha256_file


class ArtifactStore:
    """A local folder of files named by their SHA-256 (S3 arrives with the cluster issue)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str, suffix: str) -> Path:
        return self.root / digest[:2] / f"{digest}{suffix}"

    def put_file(self, src: str | Path, suffix: str | None = None) -> Path:
        src = Path(src)
        dest = self.path(sha256_file(src), suffix if suffix is not None else src.suffix)
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".part")
            os.close(fd)
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        return dest

    def put_bytes(self, data: bytes, suffix: str) -> Path:
        dest = self.path(hashlib.sha256(data).hexdigest(), suffix)
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".part")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, dest)
        return dest
