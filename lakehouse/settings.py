"""Platform settings, read from environment variables and an optional `.env` file.

Every variable is named ``HYPERVISEUR_*``. Secrets may also be given as ``<NAME>_FILE``
pointing to a file outside the repository (Kubernetes / Docker secrets style), so no
secret ever needs to live in the repo or in a manifest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlparse

from lakehouse.errors import SettingsError

PREFIX = "HYPERVISEUR_"
LOOPBACK = "127.0.0.1"


def _read(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    """Value of ``HYPERVISEUR_<name>``, or the content of the file named by ``..._FILE``."""
    key = PREFIX + name
    if env.get(key):
        return env[key]
    file_key = key + "_FILE"
    if env.get(file_key):
        path = Path(env[file_key])
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(file_key, f"fichier illisible {path} ({exc.strerror})") from exc
    return default


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = _read(env, name, str(default))
    try:
        port = int(raw)
    except ValueError:
        raise SettingsError(PREFIX + name, f"« {raw} » n'est pas un numéro de port") from None
    if not 0 < port < 65536:
        raise SettingsError(PREFIX + name, f"port {port} hors de l'intervalle 1–65535")
    return port


@dataclass(frozen=True)
class S3Settings:
    endpoint: str  # e.g. http://127.0.0.1:8333
    access_key: str
    secret_key: str = field(repr=False)
    bucket: str
    region: str = "us-east-1"

    @property
    def secure(self) -> bool:
        return urlparse(self.endpoint).scheme == "https"

    @property
    def host_port(self) -> str:
        """``host:port`` as the minio client and DuckDB's S3 secret expect it."""
        parsed = urlparse(self.endpoint)
        return parsed.netloc


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    lake_dir: Path  # local lake root (used when s3 is None)
    s3: S3Settings | None
    warehouse_db: Path
    serving_db: Path
    host: str = LOOPBACK
    dagster_port: int = 3000
    superset_port: int = 8088
    portal_port: int = 8080
    mqtt_host: str = LOOPBACK
    mqtt_port: int = 1883

    @property
    def backend(self) -> str:
        return "s3" if self.s3 else "local"

    @property
    def lake_url(self) -> str:
        """Root of the lake as DuckDB and pyarrow address it."""
        return f"s3://{self.s3.bucket}" if self.s3 else str(self.lake_dir)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, dotenv: bool = True) -> "Settings":
        if env is None:
            if dotenv:
                _load_dotenv()
            env = os.environ
        data_dir = Path(_read(env, "DATA_DIR", "./data")).resolve()
        lake_dir = Path(_read(env, "LAKE_DIR", str(data_dir / "lake"))).resolve()
        return cls(
            data_dir=data_dir,
            lake_dir=lake_dir,
            s3=_s3_from_env(env),
            warehouse_db=Path(_read(env, "WAREHOUSE_DB", str(data_dir / "warehouse.duckdb"))).resolve(),
            serving_db=Path(_read(env, "SERVING_DB", str(data_dir / "serving.duckdb"))).resolve(),
            host=_read(env, "HOST", LOOPBACK),
            dagster_port=_port(env, "DAGSTER_PORT", 3000),
            superset_port=_port(env, "SUPERSET_PORT", 8088),
            portal_port=_port(env, "PORTAL_PORT", 8080),
            mqtt_host=_read(env, "MQTT_HOST", LOOPBACK),
            mqtt_port=_port(env, "MQTT_PORT", 1883),
        )


def _s3_from_env(env: Mapping[str, str]) -> S3Settings | None:
    endpoint = _read(env, "S3_ENDPOINT")
    if not endpoint:
        return None
    parsed = urlparse(endpoint)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise SettingsError(
            PREFIX + "S3_ENDPOINT",
            f"« {endpoint} » n'est pas une URL http(s)://hôte:port (exemple : http://127.0.0.1:9000)",
        )
    try:
        parsed.port
    except ValueError:
        raise SettingsError(PREFIX + "S3_ENDPOINT", f"port invalide dans « {endpoint} »") from None
    if parsed.path not in ("", "/"):
        raise SettingsError(
            PREFIX + "S3_ENDPOINT",
            f"« {endpoint} » contient un chemin ; le bucket se règle avec {PREFIX}S3_BUCKET",
        )
    missing = [n for n in ("S3_ACCESS_KEY", "S3_SECRET_KEY") if not _read(env, n)]
    if missing:
        raise SettingsError(
            PREFIX + missing[0],
            f"obligatoire quand {PREFIX}S3_ENDPOINT est défini (ou {PREFIX}{missing[0]}_FILE)",
        )
    bucket = _read(env, "S3_BUCKET", "hyperviseur")
    if not (3 <= len(bucket) <= 63) or not all(c.islower() or c.isdigit() or c in "-." for c in bucket):
        raise SettingsError(PREFIX + "S3_BUCKET", f"« {bucket} » n'est pas un nom de bucket S3 valide")
    return S3Settings(
        endpoint=endpoint.rstrip("/"),
        access_key=_read(env, "S3_ACCESS_KEY"),
        secret_key=_read(env, "S3_SECRET_KEY"),
        bucket=bucket,
        region=_read(env, "S3_REGION", "us-east-1"),
    )


def _load_dotenv() -> None:
    """Load ``./.env`` if present; real environment variables win."""
    path = Path(os.environ.get(PREFIX + "ENV_FILE", ".env"))
    if path.is_file():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)
