"""A node's copies of objects from the store, so that a cluster needs no shared folder: size-bounded (the least
recently used go first) and checked against their SHA-256 each time they are used."""

from __future__ import annotations

import os
from pathlib import Path

from actors.object_store import ObjectStore, StorageError
from pipeline.files import sha256_file

DEFAULT_CACHE_BYTES = 20 << 30


class NodeCache:
    """`fetch(key, sha256)` gives a local file with those bytes: the cached copy when its checksum still matches
    (no request to the store), else a fresh download. A local-folder store's own file needs no copy."""

    def __init__(self, store: ObjectStore, root: str | Path, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.store, self.root, self.max_bytes = store, Path(root), max_bytes
        self.root.mkdir(parents=True, exist_ok=True)
        self.hits = self.downloads = 0

    def fetch(self, key: str, sha256: str) -> Path:
        own = self.store.local_path(key)
        if own is not None:
            return own
        path = self.root / key
        if path.is_file():
            if sha256_file(path) == sha256:
                os.utime(path)  # most recently used
                self.hits += 1
                return path
            path.unlink(missing_ok=True)  # changed on disk since it was fetched: fetch it again
        self.store.get_file(key, path)
        self.downloads += 1
        if sha256_file(path) != sha256:
            path.unlink(missing_ok=True)
            raise StorageError("network", f"{key}: the downloaded bytes do not match their SHA-256")
        self._evict(keep=path)
        return path

    def _evict(self, keep: Path) -> None:
        files = [(p.stat().st_mtime, p.stat().st_size, p) for p in self.root.rglob("*") if p.is_file()]
        total = sum(size for _, size, _ in files)
        for _, size, p in sorted(files, key=lambda f: f[0]):
            if total <= self.max_bytes:
                break
            if p != keep and not p.name.endswith(".part"):
                p.unlink(missing_ok=True)
                total -= size
