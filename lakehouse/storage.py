"""One storage interface over a local folder and an S3 bucket (MinIO in production).

Keys are ``/``-separated paths relative to the lake root (``raw/iot/air/…``). Writes are
atomic: a reader sees the previous object or the new one, never a partial file. Locally
that is a temp file in ``<root>/.tmp`` then ``os.replace``; on S3 it is a single PUT
(or a multipart upload, which only becomes visible when completed).
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lakehouse.errors import ObjectNotFound, StorageError
from lakehouse.settings import PREFIX, S3Settings, Settings

TMP_DIR = ".tmp"


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    last_modified: datetime


def _check_key(key: str) -> str:
    if not key or key.startswith("/") or "\\" in key or any(p in ("..", ".", "") for p in key.split("/")):
        raise StorageError(f"clé de stockage invalide « {key} »")
    return key


class Storage(ABC):
    """What every backend offers. ``url`` is the lake root as DuckDB/pyarrow address it."""

    url: str

    def uri(self, key: str) -> str:
        return f"{self.url}/{_check_key(key)}"

    @abstractmethod
    def list(self, prefix: str = "") -> list[ObjectInfo]:
        """Every object whose key starts with ``prefix``, recursively, sorted by key."""

    @abstractmethod
    def read_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def put_file(self, key: str, local_path: Path) -> None:
        """Publish a finished local file under ``key`` atomically (the file may be moved)."""

    @abstractmethod
    def download(self, key: str, local_path: Path) -> None: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def check(self) -> None:
        """Raise :class:`StorageError` naming the setting to fix if the store is unusable."""

    @abstractmethod
    def scratch_dir(self) -> Path:
        """A local folder for temp files; for the local backend it is on the lake's filesystem."""

    @contextmanager
    def staged_file(self, key: str, suffix: str = "") -> Iterator[Path]:
        """Yield a temp path to write into; on clean exit it is published under ``key``.

        If the body raises (or the process dies), nothing is published and the temp
        file is removed (or left in the scratch folder, invisible to readers).
        """
        _check_key(key)
        scratch = self.scratch_dir()
        scratch.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="tmp-", suffix=suffix, dir=scratch)
        os.close(fd)
        tmp = Path(name)
        try:
            yield tmp
            self.put_file(key, tmp)
        finally:
            tmp.unlink(missing_ok=True)


class LocalStorage(Storage):
    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def scratch_dir(self) -> Path:
        return self.root / TMP_DIR

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        base = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not base.is_dir():
            return []
        found = []
        for dirpath, dirnames, filenames in os.walk(base):
            if Path(dirpath) == self.root:
                dirnames[:] = [d for d in dirnames if d != TMP_DIR]
            for name in filenames:
                path = Path(dirpath) / name
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    st = path.stat()
                    found.append(ObjectInfo(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC)))
        return sorted(found, key=lambda o: o.key)

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(f"objet absent du lac : {key}") from None

    def write_bytes(self, key: str, data: bytes) -> None:
        with self.staged_file(key) as tmp:
            tmp.write_bytes(data)

    def put_file(self, key: str, local_path: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        local_path = Path(local_path)
        if local_path.parent != self.scratch_dir():
            # Copy next to the lake first so the final rename stays on one filesystem.
            with self.staged_file(key) as tmp:
                shutil.copyfile(local_path, tmp)
            return
        os.replace(local_path, target)

    def download(self, key: str, local_path: Path) -> None:
        try:
            shutil.copyfile(self._path(key), local_path)
        except FileNotFoundError:
            raise ObjectNotFound(f"objet absent du lac : {key}") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.scratch_dir() / f"probe-{uuid.uuid4().hex}"
            probe.parent.mkdir(exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StorageError(
                f"dossier du lac {self.root} inutilisable ({exc.strerror})", PREFIX + "LAKE_DIR"
            ) from exc


class S3Storage(Storage):
    """S3 bucket through the ``minio`` client."""

    def __init__(self, s3: S3Settings, scratch: Path):
        import urllib3
        from minio import Minio

        self.s3 = s3
        self.bucket = s3.bucket
        self.url = f"s3://{s3.bucket}"
        self._scratch = Path(scratch)
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5, read=120),
            retries=urllib3.Retry(total=3, backoff_factor=0.3, status_forcelist=(500, 502, 503, 504)),
            maxsize=16,
        )
        self.client = Minio(
            s3.host_port,
            access_key=s3.access_key,
            secret_key=s3.secret_key,
            secure=s3.secure,
            region=s3.region,
            http_client=http,
        )

    def scratch_dir(self) -> Path:
        return self._scratch

    @contextmanager
    def _errors(self, key: str | None = None):
        """Turn client errors into StorageError naming the variable to fix."""
        from minio.error import S3Error
        from urllib3.exceptions import HTTPError as Urllib3Error

        try:
            yield
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject") or (exc.code == "ResourceNotFound" and key):
                raise ObjectNotFound(f"objet absent du lac : s3://{self.bucket}/{key}") from None
            raise _s3_error(exc, self.s3) from None
        except Urllib3Error as exc:
            raise StorageError(
                f"serveur S3 injoignable à {self.s3.endpoint} ({type(exc).__name__})", PREFIX + "S3_ENDPOINT"
            ) from None

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        with self._errors():
            objs = self.client.list_objects(self.bucket, prefix=prefix or None, recursive=True)
            found = [
                ObjectInfo(o.object_name, o.size, o.last_modified)
                for o in objs
                if not o.is_dir and not o.object_name.endswith("/")
            ]
        return sorted(found, key=lambda o: o.key)

    def read_bytes(self, key: str) -> bytes:
        with self._errors(key):
            resp = self.client.get_object(self.bucket, _check_key(key))
            try:
                return resp.read()
            finally:
                resp.close()
                resp.release_conn()

    def write_bytes(self, key: str, data: bytes) -> None:
        with self._errors(key):
            self.client.put_object(self.bucket, _check_key(key), io.BytesIO(data), len(data))

    def put_file(self, key: str, local_path: Path) -> None:
        with self._errors(key):
            self.client.fput_object(self.bucket, _check_key(key), str(local_path), part_size=64 * 1024 * 1024)

    def download(self, key: str, local_path: Path) -> None:
        with self._errors(key):
            self.client.fget_object(self.bucket, _check_key(key), str(local_path))

    def delete(self, key: str) -> None:
        with self._errors(key):
            self.client.remove_object(self.bucket, _check_key(key))

    def exists(self, key: str) -> bool:
        from minio.error import S3Error

        try:
            with self._errors(key):
                self.client.stat_object(self.bucket, _check_key(key))
            return True
        except ObjectNotFound:
            return False
        except StorageError as exc:
            if isinstance(exc.__cause__, S3Error) and exc.__cause__.code == "NoSuchKey":
                return False
            raise

    def check(self) -> None:
        # A listing (GET) rather than HEAD: its error body tells a wrong key from a wrong secret.
        with self._errors():
            next(iter(self.client.list_objects(self.bucket)), None)


def _s3_error(exc, s3: S3Settings) -> StorageError:
    code = exc.code or ""
    if code == "InvalidAccessKeyId":
        return StorageError(f"clé d'accès refusée par {s3.endpoint}", PREFIX + "S3_ACCESS_KEY")
    if code == "SignatureDoesNotMatch":
        return StorageError(f"clé secrète refusée par {s3.endpoint}", PREFIX + "S3_SECRET_KEY")
    if code == "NoSuchBucket":
        return StorageError(f"le bucket « {s3.bucket} » n'existe pas sur {s3.endpoint}", PREFIX + "S3_BUCKET")
    if code == "AccessDenied":
        return StorageError(
            f"accès refusé au bucket « {s3.bucket} » : vérifier les droits de la clé", PREFIX + "S3_ACCESS_KEY"
        )
    return StorageError(f"erreur S3 {code} : {exc.message}")


def get_storage(settings: Settings) -> Storage:
    if settings.s3:
        return S3Storage(settings.s3, scratch=settings.data_dir / TMP_DIR)
    return LocalStorage(settings.lake_dir)
