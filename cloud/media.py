"""Where clips and snapshots live: files under one root directory (the default) or objects in
an S3-compatible bucket (AWS S3, MinIO, Aliyun OSS, Tencent COS...), addressed by keys the
cloud makes itself (`site/node/event_id/filename`), never by a path a client sent.

Uploads are streamed to a local staging file while their SHA-256 is computed, so a 500 MB
clip never sits in memory, and only a verified file is committed to the store (an atomic
rename on disk, an upload carrying the hash in S3). Serving honours a single HTTP Range, so
`<video>` can seek in a clip whichever backend holds it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.responses import FileResponse, Response, StreamingResponse

if TYPE_CHECKING:
    from cloud.config import MediaConfig, S3Config

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
ONE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 256 * 1024


class TooLarge(Exception):
    pass


class StoreUnavailable(Exception):
    """The object store did not answer or refused the cloud's credentials; retry later."""


class BadRange(Exception):
    """A Range header that is not `bytes=a-b`, `bytes=a-` or `bytes=-n`."""


@dataclass
class Received:
    path: Path
    sha256: str
    size: int


class MediaStore(ABC):
    """What the API, the alerting engine and the retention sweep need of a store."""

    where: str  # for logs and check-config

    def __init__(self, staging: Path) -> None:
        self.staging = staging.resolve()
        self.staging.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def key(*parts: str) -> str:
        for part in parts:
            if not SAFE_NAME.match(part) or ".." in part:
                raise ValueError(f"unsafe name {part!r}: letters, digits, '.', '_' and '-' only")
        return "/".join(parts)

    async def receive(self, chunks: AsyncIterator[bytes], limit: int) -> Received:
        """Stream a body to a staging file, hashing it; raise TooLarge past `limit` bytes."""
        fd, name = tempfile.mkstemp(dir=self.staging)
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

    def discard(self, received: Received) -> None:
        received.path.unlink(missing_ok=True)

    @abstractmethod
    def check(self) -> None:
        """Raise StoreUnavailable if the store cannot be reached or written."""

    @abstractmethod
    def commit(self, received: Received, key: str, content_type: str) -> None:
        """Move a verified staging file into the store under `key` (the staging file is gone after)."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """Store a small object the cloud made itself (a grid worker's photo)."""

    @abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """A small object's bytes (a snapshot for a chat message); FileNotFoundError if missing."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; a missing one is not an error (the sweep may run twice)."""

    @abstractmethod
    def response(self, key: str, media_type: str, filename: str, range_header: str | None) -> Response:
        """The object as an HTTP response honouring one Range; FileNotFoundError if missing."""


class LocalMediaStore(MediaStore):
    """Files under `root`; staging in `root/.incoming`, so a commit is a rename on one disk."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.where = str(self.root)
        super().__init__(self.root / ".incoming")

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"key {key!r} leaves the media root")
        return path

    def check(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise StoreUnavailable(f"{self.root} is not writable by this user")

    def commit(self, received: Received, key: str, content_type: str) -> None:
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(received.path, dest)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)

    def read_bytes(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def response(self, key: str, media_type: str, filename: str, range_header: str | None) -> Response:
        path = self.path(key)
        if not path.exists():
            raise FileNotFoundError(key)
        # Starlette reads the request's Range header itself.
        return FileResponse(path, media_type=media_type, filename=filename, content_disposition_type="inline")


class S3MediaStore(MediaStore):
    """Objects in one bucket under an optional prefix, through boto3. Each object carries its
    SHA-256 as metadata (`x-amz-meta-sha256`), so the bucket alone still proves what was
    uploaded. Clips are served through the cloud (with the user's session and role checks),
    not by presigned links the bucket would have to expose to browsers."""

    def __init__(self, cfg: S3Config, staging: Path) -> None:
        import boto3
        from botocore.config import Config

        super().__init__(staging)
        self.bucket = cfg.bucket
        self.prefix = cfg.prefix.strip("/") + "/" if cfg.prefix.strip("/") else ""
        secret = cfg.secret_access_key.get_secret_value() if cfg.secret_access_key else None
        self.client = boto3.client(
            "s3",
            endpoint_url=cfg.endpoint_url,
            region_name=cfg.region,
            aws_access_key_id=cfg.access_key_id,
            aws_secret_access_key=secret,
            config=Config(
                s3={"addressing_style": cfg.addressing_style},
                connect_timeout=cfg.timeout_s,
                read_timeout=cfg.timeout_s,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )
        self.where = f"s3://{self.bucket}/{self.prefix} at {cfg.endpoint_url or 'AWS'}"

    def _object(self, key: str) -> str:
        return self.prefix + key

    def _call(self, fn: str, **kw: Any) -> Any:
        """One S3 call; network and credential failures become StoreUnavailable (the API
        answers 503 and the node retries its upload), a missing object FileNotFoundError."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, fn)(Bucket=self.bucket, **kw)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "")
            if "Key" in kw and code in ("NoSuchKey", "404", "NotFound"):
                raise FileNotFoundError(kw["Key"]) from None
            if code == "InvalidRange":
                raise
            raise StoreUnavailable(f"{self.where}: {code} {error.get('Message', '')}".strip()) from None
        except BotoCoreError as exc:
            raise StoreUnavailable(f"{self.where}: {exc}") from None

    def check(self) -> None:
        self._call("head_bucket")

    def commit(self, received: Received, key: str, content_type: str) -> None:
        try:
            with received.path.open("rb") as body:
                self._call(
                    "put_object",
                    Key=self._object(key),
                    Body=body,
                    ContentType=content_type,
                    ContentLength=received.size,
                    Metadata={"sha256": received.sha256},
                )
        finally:
            self.discard(received)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        sha = hashlib.sha256(data).hexdigest()
        self._call("put_object", Key=self._object(key), Body=data, ContentType=content_type, Metadata={"sha256": sha})

    def read_bytes(self, key: str) -> bytes:
        return self._call("get_object", Key=self._object(key))["Body"].read()

    def exists(self, key: str) -> bool:
        try:
            self._call("head_object", Key=self._object(key))
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        self._call("delete_object", Key=self._object(key))

    def response(self, key: str, media_type: str, filename: str, range_header: str | None) -> Response:
        from botocore.exceptions import ClientError

        kw: dict[str, str] = {"Key": self._object(key)}
        if range_header is not None:
            spec = range_header.strip()
            m = ONE_RANGE.match(spec)
            if m is not None and m.groups() != ("", ""):
                kw["Range"] = spec
            elif "," not in spec:
                raise BadRange(f"Range {range_header!r} is not bytes=start-end, bytes=start- or bytes=-length")
            # several ranges: the whole object with 200, as RFC 9110 allows
        try:
            obj = self._call("get_object", **kw)
        except ClientError:  # InvalidRange: past the end
            size = self._call("head_object", Key=self._object(key))["ContentLength"]
            return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
        headers = {
            "Accept-Ranges": "bytes",
            "Content-Length": str(obj["ContentLength"]),
            "Content-Disposition": f'inline; filename="{filename}"',
        }
        if "ContentRange" in obj:
            headers["Content-Range"] = obj["ContentRange"]
        body: Iterator[bytes] = obj["Body"].iter_chunks(CHUNK)
        status = 206 if "ContentRange" in obj else 200
        return StreamingResponse(body, status_code=status, media_type=media_type, headers=headers)


def open_media_store(cfg: MediaConfig, data_dir: Path) -> MediaStore:
    """The store the config names. S3 stages uploads under `<data_dir>/media-staging`."""
    if cfg.backend == "s3":
        assert cfg.s3 is not None  # the config validator insists on it
        return S3MediaStore(cfg.s3, data_dir / "media-staging")
    return LocalMediaStore(cfg.local_dir or data_dir / "media")
