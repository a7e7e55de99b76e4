"""One storage interface over a local folder and an S3 bucket (MinIO in production).

Keys are ``/``-separated paths relative to the lake root (``raw/iot/air/…``). Writes are
atomic: a reader sees the previous object or the new one, never a partial file. Locally
that is a temp file in ``<root>/.tmp`` then ``os.replace``; on S3 it is a single PUT
(or a multipart upload, which only becomes visible when completed).

Faults. A full local disk (``ENOSPC``, in the lake folder or the scratch folder) raises
:class:`StorageError` « espace disque insuffisant » naming the folder; the temp file is
removed, so nothing partial is published. On S3, a transient fault (connection refused or
reset, timeout, HTTP 5xx) is retried for the whole operation with exponential backoff, at
most ``MAX_ATTEMPTS`` times and ``HYPERVISEUR_S3_RETRY_S`` seconds in all; the HTTP pool
itself only retries blips (a reset read, a 5xx) twice within a second, never a refused connection,
so the two layers never multiply into a storm. Refusals (4xx: keys, rights, missing bucket) are never retried. Every write is
idempotent (same key, same content), so retrying one is safe.
"""

from __future__ import annotations

import errno
import io
import itertools
import logging
import os
import shutil
import tempfile
import time
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
MAX_ATTEMPTS = 10  # per S3 operation, first try included
BACKOFF_FIRST_S = 0.5  # then doubled after each failure…
BACKOFF_MAX_S = 8.0  # …up to this pause

log = logging.getLogger(__name__)


class StorageUnavailable(StorageError):
    """The store could not be reached or failed on its side (5xx): a transient fault."""


def backoff(budget_s: float) -> Iterator[float]:
    """Pauses before each retry of a transient fault: 0.5 s, 1 s, 2 s… capped at
    ``BACKOFF_MAX_S``, at most ``MAX_ATTEMPTS`` − 1 of them, ending before ``budget_s`` runs out."""
    t0 = time.monotonic()
    for retry in range(MAX_ATTEMPTS - 1):
        pause = min(BACKOFF_FIRST_S * 2**retry, BACKOFF_MAX_S)
        if time.monotonic() - t0 + pause > budget_s:
            return
        yield pause


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
        with disk_errors(scratch):
            scratch.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix="tmp-", suffix=suffix, dir=scratch)
            os.close(fd)
            tmp = Path(name)
            try:
                yield tmp
                self.put_file(key, tmp)
            finally:
                tmp.unlink(missing_ok=True)


def _disk_full(exc: BaseException) -> bool:
    # pyarrow reports ENOSPC as a bare OSError whose text carries the errno.
    return isinstance(exc, OSError) and (exc.errno == errno.ENOSPC or "[errno 28]" in str(exc).lower())


@contextmanager
def disk_errors(folder: Path):
    """Turn a full disk into a French :class:`StorageError` naming ``folder``."""
    try:
        yield
    except OSError as exc:
        if not _disk_full(exc):
            raise
        usage = shutil.disk_usage(folder if folder.exists() else folder.parent)
        raise StorageError(
            f"espace disque insuffisant sur {folder} ({usage.free // 1024**2} Mo libres sur "
            f"{usage.total // 1024**2} Mo) : écriture annulée, rien n'a été publié"
        ) from exc


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
    """S3 bucket through the ``minio`` client; transient faults retried (module docstring)."""

    def __init__(self, s3: S3Settings, scratch: Path, retry_s: float = 60.0):
        import urllib3
        from minio import Minio

        self.s3 = s3
        self.bucket = s3.bucket
        self.url = f"s3://{s3.bucket}"
        self._scratch = Path(scratch)
        self.retry_s = retry_s
        self.retries = 0  # operations retried since creation (for reports and tests)
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5, read=120),
            # blips (reset reads, 5xx) twice within a second; a refused connection (server down or
            # restarting) goes straight to the backoff of _call, which counts it
            retries=urllib3.Retry(total=2, connect=0, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)),
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
        from minio.error import InvalidResponseError, S3Error, ServerError
        from urllib3.exceptions import HTTPError as Urllib3Error

        try:
            yield
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject") or (exc.code == "ResourceNotFound" and key):
                raise ObjectNotFound(f"objet absent du lac : s3://{self.bucket}/{key}") from None
            if exc.response is not None and exc.response.status >= 500:
                raise StorageUnavailable(
                    f"le serveur S3 {self.s3.endpoint} a échoué ({exc.response.status} {exc.code})"
                ) from None
            raise _s3_error(exc, self.s3) from None
        except (ServerError, InvalidResponseError) as exc:
            status = exc.status_code if isinstance(exc, ServerError) else getattr(exc, "_code", 0)
            if isinstance(status, int) and status >= 500:
                raise StorageUnavailable(f"le serveur S3 {self.s3.endpoint} a échoué (HTTP {status})") from None
            raise StorageError(f"réponse inattendue du serveur S3 {self.s3.endpoint} (HTTP {status})") from None
        except Urllib3Error as exc:
            raise StorageUnavailable(
                f"serveur S3 injoignable à {self.s3.endpoint} ({_cause(exc)})", PREFIX + "S3_ENDPOINT"
            ) from None

    def _call(self, operation, key: str | None = None):
        """Run ``operation()`` (one whole S3 request); retry transient faults with backoff."""
        t0, pauses = time.monotonic(), backoff(self.retry_s)
        for attempt in itertools.count(1):
            try:
                with self._errors(key):
                    return operation()
            except StorageUnavailable as exc:
                pause = next(pauses, None)
                if pause is None:
                    raise StorageUnavailable(
                        f"{exc.args[0]} ; abandon après {attempt} tentative(s) en {time.monotonic() - t0:.0f} s "
                        f"(HYPERVISEUR_S3_RETRY_S={self.retry_s:g})",
                        exc.variable,
                    ) from None
                log.warning("S3 : %s ; nouvel essai %d dans %.1f s", exc, attempt + 1, pause)
                self.retries += 1
                time.sleep(pause)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        def listing():
            objs = self.client.list_objects(self.bucket, prefix=prefix or None, recursive=True)
            return [
                ObjectInfo(o.object_name, o.size, o.last_modified)
                for o in objs
                if not o.is_dir and not o.object_name.endswith("/")
            ]

        return sorted(self._call(listing), key=lambda o: o.key)

    def read_bytes(self, key: str) -> bytes:
        def read():
            resp = self.client.get_object(self.bucket, _check_key(key))
            try:
                return resp.read()
            finally:
                resp.close()
                resp.release_conn()

        return self._call(read, key)

    def write_bytes(self, key: str, data: bytes) -> None:
        self._call(lambda: self.client.put_object(self.bucket, _check_key(key), io.BytesIO(data), len(data)), key)

    def put_file(self, key: str, local_path: Path) -> None:
        self._call(
            lambda: self.client.fput_object(self.bucket, _check_key(key), str(local_path), part_size=64 * 1024 * 1024),
            key,
        )

    def download(self, key: str, local_path: Path) -> None:
        with disk_errors(Path(local_path).parent):
            self._call(lambda: self.client.fget_object(self.bucket, _check_key(key), str(local_path)), key)

    def delete(self, key: str) -> None:
        self._call(lambda: self.client.remove_object(self.bucket, _check_key(key)), key)

    def exists(self, key: str) -> bool:
        try:
            self._call(lambda: self.client.stat_object(self.bucket, _check_key(key)), key)
            return True
        except ObjectNotFound:
            return False

    def check(self) -> None:
        # A listing (GET) rather than HEAD: its error body tells a wrong key from a wrong secret.
        self._call(lambda: next(iter(self.client.list_objects(self.bucket)), None))


def _cause(exc: Exception) -> str:
    """The root network cause of a urllib3 error, e.g. ``ConnectionRefusedError``."""
    reason = getattr(exc, "reason", None) or exc
    while reason.__context__ is not None and not isinstance(reason, OSError):
        reason = reason.__context__
    return type(reason).__name__


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
        return S3Storage(settings.s3, scratch=settings.data_dir / TMP_DIR, retry_s=settings.limits.s3_retry_s)
    return LocalStorage(settings.lake_dir)
