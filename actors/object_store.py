"""Where the job system's files live: one interface (ObjectStore) with two backends, a local folder (the embedded
default) or an S3 bucket through boto3 (any S3-compatible server with REELS_S3_ENDPOINT_URL).

Keys are '/'-separated paths chosen by the system (`artifacts/ab/abcd….wav`, `outputs/<owner>/<task>/reel.mp4`);
REELS_S3_PREFIX puts them all under a prefix of the bucket."""

from __future__ import annotations

import contextlib
import mimetypes
import os
import shutil
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from pipeline.errors import ProviderError, ReelError
from pipeline.files import atomic_path

MULTIPART_BYTES = 8 << 20  # files from this size go up and down in parts of this size, several at once
TRANSFER_THREADS = 10  # boto3's own defaults: 16 MB parts by 8 threads uploaded 0.83x as fast on SeaweedFS
_TYPES = {".srt": "application/x-subrip", ".vtt": "text/vtt", ".json": "application/json", ".mp4": "video/mp4"}
_AUTH_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}


class StorageError(ProviderError):
    """The store failed: `kind` auth (credentials or permissions: not retried) or network (retried)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__("object store", kind, message)


class ObjectMissingError(ReelError, KeyError):
    """No object under the key: an input that is gone is not retried."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"no object {key!r} in the store")

    def __str__(self) -> str:
        return str(self.args[0])


def content_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def content_disposition(filename: str) -> str:
    """`attachment` with the name as is where it is plain ASCII, else its RFC 5987 form beside an ASCII fallback."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    if plain == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{urllib.parse.quote(filename)}"


def check_key(key: str) -> str:
    parts = key.split("/")
    if not key or len(key.encode()) > 1024 or "\\" in key or "\x00" in key or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid object key {key!r}")
    return key


class ObjectStore(Protocol):
    def put_file(self, key: str, src: Path, filename: str | None = None) -> None:
        """Store a file under key, whole or not at all; `filename` is what a download saves it as."""

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def get_file(self, key: str, dest: Path) -> None:
        """Write the object to dest, whole or not at all (ObjectMissingError when there is none)."""

    def exists(self, key: str) -> bool: ...

    def keys(self, prefix: str) -> list[str]:
        """The keys under prefix, in order."""

    def delete(self, keys: Iterable[str]) -> int:
        """Delete these objects (missing ones are no error); how many were asked for."""

    def url(self, key: str, filename: str | None = None) -> str | None:
        """A link that downloads the object (with HTTP ranges), or None where the API serves the file itself."""

    def local_path(self, key: str) -> Path | None:
        """The object's own file where the store is a local folder, else None."""


class LocalStore:
    """A folder: keys are paths below it. Writes land under a temporary name and are renamed into place."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_file(self, key: str, src: Path, filename: str | None = None) -> None:
        with atomic_path(self.path(key)) as tmp:
            shutil.copyfile(src, tmp)

    def put_bytes(self, key: str, data: bytes) -> None:
        with atomic_path(self.path(key)) as tmp:
            tmp.write_bytes(data)

    def get_file(self, key: str, dest: Path) -> None:
        src = self.path(key)
        if not src.is_file():
            raise ObjectMissingError(key)
        with atomic_path(dest) as tmp:
            shutil.copyfile(src, tmp)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def keys(self, prefix: str) -> list[str]:
        base = self.root / prefix.rstrip("/") if prefix else self.root
        if not base.exists():
            return []
        found = [base] if base.is_file() else [p for p in base.rglob("*") if p.is_file()]
        return sorted(p.relative_to(self.root).as_posix() for p in found if not p.name.endswith(".part"))

    def delete(self, keys: Iterable[str]) -> int:
        n = 0
        for key in keys:
            self.path(key).unlink(missing_ok=True)
            n += 1
        return n

    def url(self, key: str, filename: str | None = None) -> str | None:
        return None

    def local_path(self, key: str) -> Path | None:
        return self.path(key)


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    endpoint_url: str | None = None  # an S3-compatible server; unset: AWS
    region: str | None = None
    prefix: str = ""
    url_expiry_s: int = 3600  # presigned download links
    public_base_url: str | None = None  # a CDN in front of the bucket: links are this plus the key

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> S3Settings | None:
        """The REELS_S3_* settings, or None when REELS_S3_BUCKET is unset (the local folder is the store)."""
        bucket = env.get("REELS_S3_BUCKET", "").strip()
        if not bucket:
            return None
        expiry = env.get("REELS_S3_URL_EXPIRY_S", "3600")
        if not expiry.isdigit() or not 1 <= int(expiry) <= 7 * 24 * 3600:
            raise ValueError(f"REELS_S3_URL_EXPIRY_S must be 1–604800 seconds, not {expiry!r}")
        return cls(
            bucket=bucket,
            endpoint_url=env.get("REELS_S3_ENDPOINT_URL") or None,
            region=env.get("REELS_S3_REGION") or None,
            prefix=env.get("REELS_S3_PREFIX", "").strip("/"),
            url_expiry_s=int(expiry),
            public_base_url=(env.get("REELS_PUBLIC_BASE_URL") or "").rstrip("/") or None,
        )


class S3Store:
    """A bucket through boto3: managed transfers (multipart from MULTIPART_BYTES, aborted on failure, so no partial
    object is ever visible), SigV4 everywhere (presigned links included), path-style addressing for a custom
    endpoint. Credentials come from the standard AWS chain."""

    def __init__(self, settings: S3Settings, client: Any = None) -> None:
        self.settings = settings
        addressing = "path" if settings.endpoint_url else "auto"
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": addressing},
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=TRANSFER_THREADS * 2,
        )
        # A session of its own: the credential chain is read when the store is made, not once per process.
        session = boto3.session.Session()
        self.client = client or session.client(
            "s3", endpoint_url=settings.endpoint_url, region_name=settings.region, config=config
        )
        self.transfer = TransferConfig(
            multipart_threshold=MULTIPART_BYTES, multipart_chunksize=MULTIPART_BYTES, max_concurrency=TRANSFER_THREADS
        )

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.settings.prefix}/{key}" if self.settings.prefix else key

    def put_file(self, key: str, src: Path, filename: str | None = None) -> None:
        extra = {"ContentType": content_type(filename or key)}
        if filename:
            extra["ContentDisposition"] = content_disposition(filename)
        with _errors():
            self.client.upload_file(
                str(src), self.settings.bucket, self._key(key), ExtraArgs=extra, Config=self.transfer
            )

    def put_bytes(self, key: str, data: bytes) -> None:
        with _errors():
            self.client.put_object(
                Bucket=self.settings.bucket, Key=self._key(key), Body=data, ContentType=content_type(key)
            )

    def get_file(self, key: str, dest: Path) -> None:
        with _errors(key), atomic_path(dest) as tmp:
            self.client.download_file(self.settings.bucket, self._key(key), str(tmp), Config=self.transfer)

    def exists(self, key: str) -> bool:
        try:
            with _errors(key):
                self.client.head_object(Bucket=self.settings.bucket, Key=self._key(key))
            return True
        except ObjectMissingError:
            return False

    def keys(self, prefix: str) -> list[str]:
        full = self._key(prefix.rstrip("/")) if prefix else self.settings.prefix
        cut = len(self.settings.prefix) + 1 if self.settings.prefix else 0
        found: list[str] = []
        with _errors():
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.settings.bucket, Prefix=full):
                found.extend(o["Key"][cut:] for o in page.get("Contents", ()))
        return sorted(found)

    def delete(self, keys: Iterable[str]) -> int:
        batch = [{"Key": self._key(k)} for k in keys]
        with _errors():
            for i in range(0, len(batch), 1000):  # DeleteObjects takes up to 1000 keys
                self.client.delete_objects(Bucket=self.settings.bucket, Delete={"Objects": batch[i : i + 1000]})
        return len(batch)

    def url(self, key: str, filename: str | None = None) -> str:
        if self.settings.public_base_url:
            return f"{self.settings.public_base_url}/{urllib.parse.quote(self._key(key))}"
        params: dict[str, str] = {"Bucket": self.settings.bucket, "Key": self._key(key)}
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        with _errors():
            url: str = self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=self.settings.url_expiry_s
            )
        return url

    def local_path(self, key: str) -> Path | None:
        return None


def open_store(data_dir: str | Path, env: Mapping[str, str] = os.environ) -> ObjectStore:
    """The bucket when REELS_S3_BUCKET is set, else the data folder's `objects/`."""
    settings = S3Settings.from_env(env)
    return S3Store(settings) if settings is not None else LocalStore(Path(data_dir) / "objects")


@contextlib.contextmanager
def _errors(key: str | None = None) -> Iterator[None]:
    """boto3's errors as the store's: missing objects, credentials refused (not retried), the rest retried."""
    try:
        yield
    except Boto3Error as wrapper:  # managed transfers wrap what failed
        cause = wrapper.__cause__ or wrapper.__context__
        if not isinstance(cause, ClientError | BotoCoreError):
            raise StorageError("network", f"{type(wrapper).__name__}: {wrapper}") from wrapper
        _raise_as_store_error(cause, key)
    except (ClientError, BotoCoreError) as e:
        _raise_as_store_error(e, key)


def _raise_as_store_error(exc: ClientError | BotoCoreError, key: str | None) -> NoReturn:
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if key is not None and (code in ("404", "NoSuchKey", "NotFound") or status == 404):
            raise ObjectMissingError(key) from None
        if code in _AUTH_CODES or status == 403:
            raise StorageError("auth", f"{code or status}: check the S3 credentials and the bucket policy") from exc
        raise StorageError("network", f"{code or status}: {exc}") from exc
    if isinstance(exc, NoCredentialsError):
        raise StorageError("auth", "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") from exc
    raise StorageError("network", f"{type(exc).__name__}: {exc}") from exc
