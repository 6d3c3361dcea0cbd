"""Where clips and snapshots live: files under one root directory, addressed by keys the
cloud makes itself (`site/node/event_id/filename`), never by a path a client sent.

Uploads are streamed to a temporary file while their SHA-256 is computed, so a 500 MB clip
never sits in memory, and only a verified file is moved into place (atomic rename).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class TooLarge(Exception):
    pass


@dataclass
class Received:
    path: Path
    sha256: str
    size: int


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.tmp = self.root / ".incoming"
        self.tmp.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def key(*parts: str) -> str:
        for part in parts:
            if not SAFE_NAME.match(part) or ".." in part:
                raise ValueError(f"unsafe name {part!r}: letters, digits, '.', '_' and '-' only")
        return "/".join(parts)

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"key {key!r} leaves the media root")
        return path

    async def receive(self, chunks: AsyncIterator[bytes], limit: int) -> Received:
        """Stream a body to a temporary file, hashing it; raise TooLarge past `limit` bytes."""
        fd, name = tempfile.mkstemp(dir=self.tmp)
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as f:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(f"upload exceeds {limit} bytes")
                    digest.update(chunk)
                    f.write(chunk)
        except BaseException:
            os.unlink(name)
            raise
        return Received(Path(name), digest.hexdigest(), size)

    def commit(self, received: Received, key: str) -> None:
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(received.path, dest)

    def discard(self, received: Received) -> None:
        received.path.unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
