"""Platform settings, read from environment variables and an optional `.env` file.

Every variable is named ``HYPERVISEUR_*``. Secrets may also be given as ``<NAME>_FILE``
pointing to a file outside the repository (Kubernetes / Docker secrets style), so no
secret ever needs to live in the repo or in a manifest.

:data:`KNOWN_VARIABLES` lists every variable the platform reads (declared below, grouped by
the process that reads them); :data:`SECRET_VARIABLES` those that are secrets, to be given as
``<NAME>_FILE`` in deployments. ``_read`` refuses an undeclared name, so the registry cannot
drift from the reads; tests/infra/test_k8s_settings.py checks the manifests against it.

Modules that read one group only (``MqttSettings.from_env(env)``, ``CapSettings.from_env(env)``…)
take an explicit ``env`` mapping for tests; without it they read the process environment (and
``.env``), which is never modified.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from lakehouse.errors import SettingsError

PREFIX = "HYPERVISEUR_"
LOOPBACK = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[1]

# -- registry of the variables ---------------------------------------------------------------
KNOWN_VARIABLES: set[str] = set()
SECRET_VARIABLES: set[str] = set()
# Variables named freely in a configuration file (alert channels' ``*_env`` in channels.yaml).
KNOWN_PREFIXES: tuple[str, ...] = (PREFIX + "ALERT_",)


def _declare(*names: str, secret: bool = False) -> None:
    for name in names:
        KNOWN_VARIABLES.add(PREFIX + name)
        if secret:
            SECRET_VARIABLES.add(PREFIX + name)


# Read by Settings.from_env (this module).
_declare(
    "ENV_FILE",
    "DATA_DIR",
    "LAKE_DIR",
    "WAREHOUSE_DB",
    "SERVING_DIR",
    "HOST",
    "DAGSTER_PORT",
    "SUPERSET_PORT",
    "PORTAL_PORT",
    "S3_ENDPOINT",
    "S3_BUCKET",
    "S3_REGION",
    "MQTT_HOST",
    "MQTT_PORT",
    "MQTT_TOPIC_ROOT",
    "MQTT_USERNAME",
    "MQTT_TLS",
    "MQTT_TLS_CA_FILE",
    "MQTT_TLS_CERT_FILE",
    "MQTT_TLS_KEY_FILE",
    "MQTT_TLS_INSECURE",
    "KMS_KEY_FILE",
    "DBT_MANIFEST",
    "DBT_TARGET",
    "PARTITION_LOOKBACK_DAYS",
    "OPENDATA_BASE_URL",
    "OPENDATA_MEMORY_LIMIT",
    "OPENDATA_API_MAX_LIMIT",
    "OPENDATA_API_MAX_OFFSET",
    "OPENDATA_API_EXPORT_MAX_ROWS",
    "OPENDATA_API_TIMEOUT_S",
    "OPENDATA_API_MEMORY_LIMIT",
    "OPENDATA_API_RATE_PER_MINUTE",
    "CAP_SENDER",
    "CAP_STATUS",
    "AUDIT_RETENTION_DAYS",
    "AUDIT_KEY_FILE",
    "AUDIT_CHECKPOINT_FILE",
    "AUDIT_WORM_BUCKET",
    "DEMO_END",
    "DEMO_DAYS",
    "OPENMETADATA_URL",
    # input limits (LimitsSettings)
    "MAX_MESSAGE_BYTES",
    "MAX_FILE_BYTES",
    "MAX_DOCUMENT_BYTES",
    "MAX_LINE_BYTES",
    "MAX_CELL_CHARS",
    "MAX_NESTING_DEPTH",
    "MAX_FEATURES",
    "MAX_ARCHIVE_BYTES",
    "MAX_ARCHIVE_RATIO",
    "MAX_HTTP_BODY_BYTES",
    "MAX_UPLOAD_BYTES",
    "MAX_HTTP_URL_BYTES",
    "MAX_EVENT_AGE_DAYS",
    "MAX_CLOCK_SKEW_S",
    "QUEUE_MAX_MESSAGES",
    "DUCKDB_MEMORY_LIMIT",
    "DUCKDB_THREADS",
    "S3_RETRY_S",
)
_declare("S3_ACCESS_KEY", "S3_SECRET_KEY", "MQTT_PASSWORD", "MASKING_KEY", "OPENMETADATA_TOKEN", secret=True)
# Read elsewhere, each by its own process: the dbt profiles (values prepared by
# orchestration.resources.dbt_env, and the Trino target of infra/k8s), the dbt macros (the
# day-partition window and the raw datasets not delivered yet, set by orchestration.dbt_launcher),
# superset/superset_config.py and superset/service.py, infra/local/services.py.
_declare(
    "LAKE_URL",
    "PARTITION_WINDOW_START",
    "UNDELIVERED_SOURCES",
    "DUCKDB_EXTENSION_DIR",
    "DBT_S3_KEY_ID",
    "DBT_S3_SECRET",
    "DBT_S3_REGION",
    "DBT_S3_ENDPOINT",
    "DBT_S3_USE_SSL",
    "TRINO_HOST",
    "TRINO_PORT",
)
_declare("DBT_TRINO_PASSWORD", secret=True)
_declare(
    "SUPERSET_ADMIN_USER",
    "SUPERSET_CACHE_TIMEOUT",
    "SUPERSET_DATABASE_URI",
    "SUPERSET_DUCKDB_EXTENSIONS",
    "SUPERSET_EXPORT_ROW_LIMIT",
    "SUPERSET_HOME",
    "SUPERSET_LAKE_URL",
    "SUPERSET_THREADS",
    "SUPERSET_VENV",
    "SUPERSET_WORKERS",
    "SUPERSET_S3",
    "SUPERSET_MEMORY_LIMIT",
    "SUPERSET_THREADS_PER_QUERY",
    "SUPERSET_STATEMENT_TIMEOUT_S",
)
_declare(
    "SUPERSET_ADMIN_PASSWORD",
    "SUPERSET_SECRET_KEY",
    "SUPERSET_S3_ACCESS_KEY",
    "SUPERSET_S3_SECRET_KEY",
    secret=True,
)
# Superset's sign-on (issue 14): the OpenID Connect provider's issuer URL (its discovery document
# is <issuer>/.well-known/openid-configuration), where to send the browser at logout, Superset's
# client id and secret there (superset/service.py, superset/superset_config.py).
_declare("SSO_ISSUER", "SSO_LOGOUT_URL", "SUPERSET_OIDC_CLIENT_ID")
_declare("SUPERSET_OIDC_CLIENT_SECRET", secret=True)
_declare(
    "RUN_DIR",
    "ALERTS_PORT",
    "WORKSPACE_PORT",
    "SSO_PORT",
    "SSO_LDAP_PORT",
    "SSO_RUN_DIR",
    "DAGSTER_ADMIN_PORT",
    "DAGSTER_READONLY_PORT",
    "DAGSTER_LOCATION",
    "TEST_S3_PORT",
    "TEST_S3_ENDPOINT",
    "TEST_S3_ACCESS_KEY",
    "TEST_S3_SECRET_KEY",
    "TEST_S3_READONLY_ACCESS_KEY",
    "TEST_S3_READONLY_SECRET_KEY",
    "TEST_S3_BUCKET",
    "TEST_MQTT_PORT",
    "TEST_MQTT_USERNAME",
    "TEST_MQTT_PASSWORD",
)
# Read by benchmarks/bench_anomaly.py: folder holding the public labelled anomaly sets, which
# are kept outside the repository.
_declare("ANOMALY_BENCHMARK_DIR")


def is_known(variable: str) -> bool:
    """True if the platform reads ``variable`` (or it is the ``_FILE`` form of a secret it reads)."""
    if variable.endswith("_FILE") and variable[:-5] in SECRET_VARIABLES:
        return True
    return variable in KNOWN_VARIABLES or variable.startswith(KNOWN_PREFIXES)


# -- readers ----------------------------------------------------------------------------------
def process_env() -> Mapping[str, str]:
    """The process environment, completed (never overridden) by ``./.env`` if present."""
    path = Path(os.environ.get(PREFIX + "ENV_FILE", ".env"))
    if not path.is_file():
        return os.environ
    from dotenv import dotenv_values

    return {**{k: v for k, v in dotenv_values(path).items() if v is not None}, **os.environ}


def _read(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    """Value of ``HYPERVISEUR_<name>``, or the content of the file named by ``..._FILE``."""
    key = PREFIX + name
    if key not in KNOWN_VARIABLES:
        raise AssertionError(f"{key} is not declared in lakehouse.settings (KNOWN_VARIABLES)")
    value = _read_any(env, key)
    return default if value is None else value


def _read_any(env: Mapping[str, str], variable: str) -> str | None:
    if env.get(variable):
        return env[variable]
    if env.get(variable + "_FILE"):
        path = Path(env[variable + "_FILE"])
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(variable + "_FILE", f"fichier illisible {path} ({exc.strerror})") from exc
    return None


def read_secret(variable: str, env: Mapping[str, str] | None = None) -> str | None:
    """A secret whose variable is named by a configuration file (alert channels' ``*_env``):
    the value of ``variable``, or the content of the file named by ``<variable>_FILE``."""
    return _read_any(process_env() if env is None else env, variable)


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = _read(env, name, str(default))
    try:
        port = int(raw)
    except ValueError:
        raise SettingsError(PREFIX + name, f"« {raw} » n'est pas un numéro de port") from None
    if not 0 < port < 65536:
        raise SettingsError(PREFIX + name, f"port {port} hors de l'intervalle 1–65535")
    return port


_TRUE, _FALSE = ("1", "true", "yes", "oui", "on"), ("0", "false", "no", "non", "off", "")


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _read(env, name)
    if raw is None:
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise SettingsError(PREFIX + name, f"« {raw} » n'est pas un booléen (true ou false)")


def _existing_file(env: Mapping[str, str], name: str) -> Path | None:
    raw = _read(env, name)
    if not raw:
        return None
    path = Path(raw)
    if not path.is_file():
        raise SettingsError(PREFIX + name, f"fichier introuvable : {path}")
    return path


def _http_url(env: Mapping[str, str], name: str) -> str | None:
    raw = _read(env, name)
    if not raw:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise SettingsError(PREFIX + name, f"« {raw} » n'est pas une URL http(s)://…")
    return raw


# -- groups -------------------------------------------------------------------------------
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


_TOPIC_LEVEL = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class MqttSettings:
    """Broker address, topic root and client credentials (password and TLS optional)."""

    host: str = LOOPBACK
    port: int = 1883
    topic_root: str = "city"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None  # client certificate (mutual TLS), with tls_key_file
    tls_key_file: Path | None = None
    tls_insecure: bool = False  # skip the host name check (test brokers only)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MqttSettings:
        env = process_env() if env is None else env
        root = _read(env, "MQTT_TOPIC_ROOT", "city").strip()
        if not root or not all(_TOPIC_LEVEL.match(level) for level in root.split("/")):
            raise SettingsError(
                PREFIX + "MQTT_TOPIC_ROOT",
                f"« {root} » n'est pas une racine de sujets MQTT valide "
                "(niveaux séparés par « / », sans « + », « # » ni niveau vide ; exemple : city)",
            )
        username, password = _read(env, "MQTT_USERNAME"), _read(env, "MQTT_PASSWORD")
        if password and not username:
            raise SettingsError(PREFIX + "MQTT_USERNAME", f"obligatoire quand {PREFIX}MQTT_PASSWORD est défini")
        if username and not password:
            raise SettingsError(
                PREFIX + "MQTT_PASSWORD",
                f"obligatoire quand {PREFIX}MQTT_USERNAME est défini (ou {PREFIX}MQTT_PASSWORD_FILE)",
            )
        ca, cert, key = (
            _existing_file(env, n) for n in ("MQTT_TLS_CA_FILE", "MQTT_TLS_CERT_FILE", "MQTT_TLS_KEY_FILE")
        )
        if bool(cert) != bool(key):
            missing = "MQTT_TLS_KEY_FILE" if cert else "MQTT_TLS_CERT_FILE"
            raise SettingsError(
                PREFIX + missing,
                "le certificat client et sa clé vont ensemble "
                f"({PREFIX}MQTT_TLS_CERT_FILE et {PREFIX}MQTT_TLS_KEY_FILE)",
            )
        return cls(
            host=_read(env, "MQTT_HOST", LOOPBACK),
            port=_port(env, "MQTT_PORT", 1883),
            topic_root=root,
            username=username,
            password=password,
            tls=_bool(env, "MQTT_TLS", bool(ca or cert)),
            tls_ca_file=ca,
            tls_cert_file=cert,
            tls_key_file=key,
            tls_insecure=_bool(env, "MQTT_TLS_INSECURE", False),
        )

    def configure(self, client) -> None:
        """Apply the credentials and TLS to a paho-mqtt client (before ``connect``)."""
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set(
                ca_certs=str(self.tls_ca_file) if self.tls_ca_file else None,
                certfile=str(self.tls_cert_file) if self.tls_cert_file else None,
                keyfile=str(self.tls_key_file) if self.tls_key_file else None,
            )
            if self.tls_insecure:
                client.tls_insecure_set(True)

    def at(self, host: str | None = None, port: int | None = None, topic_root: str | None = None) -> MqttSettings:
        """The same credentials towards another address or topic root (command-line overrides)."""
        from dataclasses import replace

        return replace(self, host=host or self.host, port=port or self.port, topic_root=topic_root or self.topic_root)


_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)$", re.IGNORECASE)


@dataclass(frozen=True)
class OpenDataSettings:
    base_url: str | None = None  # public address of the portal; None: http://<host>:<portal port>/
    memory_limit: str = "1GB"  # DuckDB memory limit of the exports
    # Public records API of the portal (ODS Explore v2.1 subset): bounds of one request.
    api_max_limit: int = 100  # rows of one records page (ODS: 100)
    api_max_offset: int = 10_000  # offset + limit of a records page (ODS: 10 000)
    api_export_max_rows: int = 100_000  # rows of one export (json/csv/geojson), built in memory
    api_timeout_s: float = 10.0  # one query, then DuckDB is interrupted
    api_memory_limit: str = "512MB"  # DuckDB memory of the API's database
    api_rate_per_minute: int = 120  # requests of one client address per minute

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OpenDataSettings:
        env = process_env() if env is None else env
        memory = _read(env, "OPENDATA_MEMORY_LIMIT", "1GB").strip()
        if not _MEMORY.match(memory):
            raise SettingsError(
                PREFIX + "OPENDATA_MEMORY_LIMIT",
                f"« {memory} » n'est pas une quantité de mémoire (exemples : 512MB, 2GB)",
            )
        d = cls()
        return cls(
            base_url=_http_url(env, "OPENDATA_BASE_URL"),
            memory_limit=memory,
            api_max_limit=_positive(env, "OPENDATA_API_MAX_LIMIT", d.api_max_limit),
            api_max_offset=_positive(env, "OPENDATA_API_MAX_OFFSET", d.api_max_offset),
            api_export_max_rows=_positive(env, "OPENDATA_API_EXPORT_MAX_ROWS", d.api_export_max_rows),
            api_timeout_s=_positive(env, "OPENDATA_API_TIMEOUT_S", d.api_timeout_s, float),
            api_memory_limit=_memory(env, "OPENDATA_API_MEMORY_LIMIT", d.api_memory_limit),
            api_rate_per_minute=_positive(env, "OPENDATA_API_RATE_PER_MINUTE", d.api_rate_per_minute),
        )


def _positive(env: Mapping[str, str], name: str, default: int | float, kind=int) -> int | float:
    raw = _read(env, name, str(default)).strip()
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(PREFIX + name, f"« {raw} » n'est pas un nombre") from None
    if not value > 0 or value == float("inf"):
        raise SettingsError(PREFIX + name, f"{raw} : un nombre strictement positif et fini est attendu")
    return value


def _memory(env: Mapping[str, str], name: str, default: str) -> str:
    raw = _read(env, name, default).strip()
    if not _MEMORY.match(raw):
        raise SettingsError(PREFIX + name, f"« {raw} » n'est pas une quantité de mémoire (exemples : 512MB, 2GB)")
    return raw


@dataclass(frozen=True)
class LimitsSettings:
    """What the platform accepts from outside, at every entry point (files, MQTT, HTTP).

    Anything beyond a limit is refused with a French reason naming the limit and its
    variable, and lands in quarantine: never a crash, never a silent drop.
    """

    max_message_bytes: int = 256 * 1024  # one message: an MQTT payload, an inbound CAP alert
    max_file_bytes: int = 8 * 1024**3  # one input file (streamed formats: CSV)
    max_document_bytes: int = 256 * 1024**2  # a file read whole (GeoJSON, JSON/XML exports: Open311, FIWARE…)
    max_line_bytes: int = 1024**2  # one physical line / CSV record
    max_cell_chars: int = 100_000  # one value
    max_nesting_depth: int = 32  # JSON / XML nesting
    max_features: int = 2_000_000  # records of a document (GeoJSON features, JSON items, shapefile records)
    max_archive_bytes: int = 2 * 1024**3  # total expanded size of an archive (zipped shapefile, xlsx)
    max_archive_ratio: int = 200  # expanded / compressed size of one archive member
    max_http_body_bytes: int = 64 * 1024  # request body accepted by the portal and the incidents page
    max_upload_bytes: int = 32 * 1024**2  # a file uploaded in the workspace (multipart body, « Déposer des données »)
    max_http_url_bytes: int = 8 * 1024  # request target (path + query) accepted by the portal
    max_event_age_days: float = 30.0  # event time older than now − this: quarantined (stream), ignored (engine)
    max_clock_skew_s: float = 300.0  # event time later than now + this: idem
    queue_max_messages: int = 10_000  # in-memory queues between the MQTT client thread and its worker
    duckdb_memory_limit: str = "2GB"  # every DuckDB connection the platform opens
    duckdb_threads: int = 2
    s3_retry_s: float = 60.0  # total time one S3 operation is retried (server restart, 5xx) before failing

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LimitsSettings:
        env = process_env() if env is None else env
        d = cls()
        return cls(
            max_message_bytes=_positive(env, "MAX_MESSAGE_BYTES", d.max_message_bytes),
            max_file_bytes=_positive(env, "MAX_FILE_BYTES", d.max_file_bytes),
            max_document_bytes=_positive(env, "MAX_DOCUMENT_BYTES", d.max_document_bytes),
            max_line_bytes=_positive(env, "MAX_LINE_BYTES", d.max_line_bytes),
            max_cell_chars=_positive(env, "MAX_CELL_CHARS", d.max_cell_chars),
            max_nesting_depth=_positive(env, "MAX_NESTING_DEPTH", d.max_nesting_depth),
            max_features=_positive(env, "MAX_FEATURES", d.max_features),
            max_archive_bytes=_positive(env, "MAX_ARCHIVE_BYTES", d.max_archive_bytes),
            max_archive_ratio=_positive(env, "MAX_ARCHIVE_RATIO", d.max_archive_ratio),
            max_http_body_bytes=_positive(env, "MAX_HTTP_BODY_BYTES", d.max_http_body_bytes),
            max_upload_bytes=_positive(env, "MAX_UPLOAD_BYTES", d.max_upload_bytes),
            max_http_url_bytes=_positive(env, "MAX_HTTP_URL_BYTES", d.max_http_url_bytes),
            max_event_age_days=_positive(env, "MAX_EVENT_AGE_DAYS", d.max_event_age_days, float),
            max_clock_skew_s=_positive(env, "MAX_CLOCK_SKEW_S", d.max_clock_skew_s, float),
            queue_max_messages=_positive(env, "QUEUE_MAX_MESSAGES", d.queue_max_messages),
            duckdb_memory_limit=_memory(env, "DUCKDB_MEMORY_LIMIT", d.duckdb_memory_limit),
            duckdb_threads=_positive(env, "DUCKDB_THREADS", d.duckdb_threads),
            s3_retry_s=_positive(env, "S3_RETRY_S", d.s3_retry_s, float),
        )


CAP_STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
DEFAULT_CAP_SENDER = "alertes@val-de-lys.fr"


@dataclass(frozen=True)
class CapSettings:
    sender: str = DEFAULT_CAP_SENDER
    status: str = "Actual"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CapSettings:
        env = process_env() if env is None else env
        sender = _read(env, "CAP_SENDER", DEFAULT_CAP_SENDER).strip()
        if not sender or any(c in sender for c in " ,<&"):
            raise SettingsError(
                PREFIX + "CAP_SENDER",
                f"« {sender} » : identifiant d'émetteur CAP sans espace, virgule, « < » ni « & » attendu",
            )
        status = _read(env, "CAP_STATUS", "Actual").strip()
        if status not in CAP_STATUSES:
            raise SettingsError(PREFIX + "CAP_STATUS", f"« {status} » : valeurs possibles {', '.join(CAP_STATUSES)}")
        return cls(sender=sender, status=status)


RETENTION_RANGE = (180, 366)  # days; CNIL recommends 6 to 12 months for access logs


def audit_retention_days(env: Mapping[str, str] | None = None) -> int:
    env = process_env() if env is None else env
    raw = _read(env, "AUDIT_RETENTION_DAYS", "365")
    try:
        days = int(raw)
    except ValueError:
        raise SettingsError(PREFIX + "AUDIT_RETENTION_DAYS", f"« {raw} » n'est pas un nombre de jours") from None
    lo, hi = RETENTION_RANGE
    if not lo <= days <= hi:
        raise SettingsError(
            PREFIX + "AUDIT_RETENTION_DAYS",
            f"{days} jours hors de la fourchette recommandée par la CNIL ({lo}–{hi} jours)",
        )
    return days


DEFAULT_DEMO_END = datetime(2026, 3, 15, tzinfo=UTC)


@dataclass(frozen=True)
class DemoSettings:
    end: datetime = DEFAULT_DEMO_END  # end of the simulated period (UTC)
    days: float = 14.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DemoSettings:
        env = process_env() if env is None else env
        raw_end = _read(env, "DEMO_END")
        end = DEFAULT_DEMO_END
        if raw_end:
            try:
                end = datetime.fromisoformat(raw_end.strip().replace("Z", "+00:00"))
            except ValueError:
                raise SettingsError(
                    PREFIX + "DEMO_END",
                    f"« {raw_end} » n'est pas une date ISO 8601 (exemple : 2026-03-15T00:00:00+00:00)",
                ) from None
            end = (end if end.tzinfo else end.replace(tzinfo=UTC)).astimezone(UTC)
        raw_days = _read(env, "DEMO_DAYS", "14")
        try:
            days = float(raw_days)
        except ValueError:
            raise SettingsError(PREFIX + "DEMO_DAYS", f"« {raw_days} » n'est pas un nombre de jours") from None
        if not 0 < days <= 366:
            raise SettingsError(PREFIX + "DEMO_DAYS", f"{raw_days} jours hors de l'intervalle ]0, 366]")
        return cls(end=end, days=days)


# The live services of the control tower (issue 17): health listeners and the demo's broker.
_declare("STREAM_HEALTH_PORT", "ENGINE_HEALTH_PORT", "SIMULATOR_HEALTH_PORT", "DEMO_MQTT_PORT", "ENGINE_CLIENT_ID")
_declare("DEMO_MQTT_PASSWORD", secret=True)


@dataclass(frozen=True)
class LiveSettings:
    """Loopback ports of the ``/healthz`` and ``/readyz`` listeners of the long-lived services
    (stream consumer, alert engine, demo simulator), the port of the demo's embedded broker
    (kept apart from a test or production Mosquitto on 1883) and the password it requires of its
    clients (``HYPERVISEUR_DEMO_MQTT_PASSWORD`` or ``_FILE``), and the engine's fixed MQTT client
    id (its persistent session)."""

    stream_health_port: int = 8091
    engine_health_port: int = 8092
    simulator_health_port: int = 8093
    demo_mqtt_port: int = 1884
    engine_client_id: str = "hyperviseur-alerting"
    demo_mqtt_password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LiveSettings:
        env = process_env() if env is None else env
        d = cls()
        return cls(
            stream_health_port=_port(env, "STREAM_HEALTH_PORT", d.stream_health_port),
            engine_health_port=_port(env, "ENGINE_HEALTH_PORT", d.engine_health_port),
            simulator_health_port=_port(env, "SIMULATOR_HEALTH_PORT", d.simulator_health_port),
            demo_mqtt_port=_port(env, "DEMO_MQTT_PORT", d.demo_mqtt_port),
            engine_client_id=_read(env, "ENGINE_CLIENT_ID", d.engine_client_id),
            demo_mqtt_password=_read(env, "DEMO_MQTT_PASSWORD"),
        )


DBT_TARGETS = ("local", "s3", "trino")
DEFAULT_MANIFEST = REPO_ROOT / "dbt_project" / "target" / "manifest.json"


def dbt_manifest_path(env: Mapping[str, str] | None = None) -> Path:
    """dbt's manifest (``HYPERVISEUR_DBT_MANIFEST``, default ``dbt_project/target/manifest.json``)."""
    env = process_env() if env is None else env
    return Path(_read(env, "DBT_MANIFEST") or DEFAULT_MANIFEST)


WORKSPACE_PORT = 8100  # the workspace's gateway (workspace/, infra/sso/gateway.py --application workspace)


def workspace_port(env: Mapping[str, str] | None = None) -> int:
    """Public port of the stewards' and agents' workspace (``HYPERVISEUR_WORKSPACE_PORT``, default 8100)."""
    return _port(process_env() if env is None else env, "WORKSPACE_PORT", WORKSPACE_PORT)


def masking_key_value(env: Mapping[str, str] | None = None) -> str | None:
    """The pseudonymisation key (``HYPERVISEUR_MASKING_KEY`` or ``..._FILE``), if configured."""
    return _read(process_env() if env is None else env, "MASKING_KEY")


def superset_s3_credentials(env: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """Superset's READ-ONLY S3 key (``HYPERVISEUR_SUPERSET_S3_ACCESS_KEY``/``_SECRET_KEY``, or ``_FILE``)."""
    env = process_env() if env is None else env
    key, secret = _read(env, "SUPERSET_S3_ACCESS_KEY"), _read(env, "SUPERSET_S3_SECRET_KEY")
    if bool(key) != bool(secret):
        missing = "SUPERSET_S3_SECRET_KEY" if key else "SUPERSET_S3_ACCESS_KEY"
        raise SettingsError(PREFIX + missing, "la clé S3 de Superset se donne en entier (identifiant et secret)")
    return (key, secret) if key else None


def kms_key_file_path(data_dir: Path, env: Mapping[str, str] | None = None) -> Path:
    """The raw-encryption key file (``HYPERVISEUR_KMS_KEY_FILE``, default ``<data dir>/keys/kms.json``)."""
    raw = _read(process_env() if env is None else env, "KMS_KEY_FILE")
    return Path(raw).resolve() if raw else Path(data_dir) / "keys" / "kms.json"


def kms_key_file_setting(env: Mapping[str, str] | None = None) -> Path | None:
    """``HYPERVISEUR_KMS_KEY_FILE`` if set (readers without settings: dbt's decrypting model)."""
    raw = _read(process_env() if env is None else env, "KMS_KEY_FILE")
    return Path(raw).resolve() if raw else None


def audit_key_file_path(data_dir: Path, env: Mapping[str, str] | None = None) -> Path:
    """The audit signing key (``HYPERVISEUR_AUDIT_KEY_FILE``, default ``<data dir>/keys/audit.key``)."""
    raw = _read(process_env() if env is None else env, "AUDIT_KEY_FILE")
    return Path(raw).resolve() if raw else Path(data_dir) / "keys" / "audit.key"


def audit_checkpoint_file_path(key_file: Path, env: Mapping[str, str] | None = None) -> Path:
    """The local checkpoint of the audit chain (``HYPERVISEUR_AUDIT_CHECKPOINT_FILE``, default beside the key)."""
    raw = _read(process_env() if env is None else env, "AUDIT_CHECKPOINT_FILE")
    return Path(raw).resolve() if raw else Path(key_file).parent / "audit.head"


def audit_worm_bucket(env: Mapping[str, str] | None = None) -> str | None:
    """``HYPERVISEUR_AUDIT_WORM_BUCKET``: S3 bucket (object lock) holding the audit checkpoints, if any."""
    raw = _read(process_env() if env is None else env, "AUDIT_WORM_BUCKET")
    if raw and (not (3 <= len(raw) <= 63) or not all(c.islower() or c.isdigit() or c in "-." for c in raw)):
        raise SettingsError(PREFIX + "AUDIT_WORM_BUCKET", f"« {raw} » n'est pas un nom de bucket S3 valide")
    return raw or None


# -- all settings ---------------------------------------------------------------------------
PARTITION_LOOKBACK_DAYS = 3  # see Settings.partition_lookback_days


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    lake_dir: Path  # local lake root (used when s3 is None)
    s3: S3Settings | None
    warehouse_db: Path
    host: str = LOOPBACK
    dagster_port: int = 3000
    superset_port: int = 8088
    portal_port: int = 8080
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    kms_key_file: Path | None = None  # None: <data dir>/keys/kms.json
    masking_key: str | None = field(default=None, repr=False)
    dbt_manifest: Path = DEFAULT_MANIFEST
    dbt_target_name: str | None = None  # None: the backend ("local" or "s3")
    opendata: OpenDataSettings = field(default_factory=OpenDataSettings)
    cap: CapSettings = field(default_factory=CapSettings)
    audit_retention_days: int = 365
    audit_key_file: Path | None = None  # None: <data dir>/keys/audit.key
    audit_checkpoint_file: Path | None = None  # None: audit.head beside the audit key
    audit_worm_bucket: str | None = None  # S3 bucket with object lock for the audit checkpoints
    demo: DemoSettings = field(default_factory=DemoSettings)
    openmetadata_url: str | None = None
    openmetadata_token: str | None = field(default=None, repr=False)
    serving_dir: Path | None = None  # None: <data dir>/serving (one DuckDB catalog per clearance)
    limits: LimitsSettings = field(default_factory=LimitsSettings)
    dbt_trino_password: str | None = field(default=None, repr=False)  # the `dbt` user of Trino (target trino)
    # A dbt run rebuilds the day partitions from this many days before the earliest ingest day
    # of the raw batches received since the previous run: readings arriving up to that late
    # are counted; older ones wait for a full refresh (orchestration.partitions).
    partition_lookback_days: int = PARTITION_LOOKBACK_DAYS

    def __post_init__(self):
        if self.kms_key_file is None:
            object.__setattr__(self, "kms_key_file", Path(self.data_dir) / "keys" / "kms.json")
        if self.audit_key_file is None:
            object.__setattr__(self, "audit_key_file", Path(self.data_dir) / "keys" / "audit.key")
        if self.audit_checkpoint_file is None:
            object.__setattr__(self, "audit_checkpoint_file", Path(self.audit_key_file).parent / "audit.head")
        if self.serving_dir is None:
            object.__setattr__(self, "serving_dir", Path(self.data_dir) / "serving")

    @property
    def backend(self) -> str:
        return "s3" if self.s3 else "local"

    @property
    def generated_models_dir(self) -> Path:
        """dbt models generated for this lake (the agents' accepted uploads), outside the repository."""
        return Path(self.data_dir) / "dbt" / "generated_models"

    @property
    def generated_dbt_project(self) -> Path:
        """The repository's dbt project copied with the generated models, where dbt builds them."""
        return Path(self.data_dir) / "dbt" / "generated_project"

    @property
    def generated_manifest(self) -> Path:
        """The manifest of its last build: the generated models' lineage and documentation."""
        return self.generated_dbt_project / "target" / "manifest.json"

    @property
    def dbt_target(self) -> str:
        return self.dbt_target_name or self.backend

    @property
    def mqtt_host(self) -> str:
        return self.mqtt.host

    @property
    def mqtt_port(self) -> int:
        return self.mqtt.port

    @property
    def lake_url(self) -> str:
        """Root of the lake as DuckDB and pyarrow address it."""
        return f"s3://{self.s3.bucket}" if self.s3 else str(self.lake_dir)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, dotenv: bool = True) -> Settings:
        if env is None:
            env = process_env() if dotenv else os.environ
        data_dir = Path(_read(env, "DATA_DIR", "./data")).resolve()
        lake_dir = Path(_read(env, "LAKE_DIR", str(data_dir / "lake"))).resolve()
        target = _read(env, "DBT_TARGET")
        if target is not None and target not in DBT_TARGETS:
            raise SettingsError(PREFIX + "DBT_TARGET", f"« {target} » : cibles dbt possibles {', '.join(DBT_TARGETS)}")
        trino_password = _read(env, "DBT_TRINO_PASSWORD") if target == "trino" else None  # read only if used
        if target == "trino" and not trino_password:
            raise SettingsError(
                PREFIX + "DBT_TRINO_PASSWORD",
                f"obligatoire avec {PREFIX}DBT_TARGET=trino (ou {PREFIX}DBT_TRINO_PASSWORD_FILE)",
            )
        return cls(
            data_dir=data_dir,
            lake_dir=lake_dir,
            s3=_s3_from_env(env),
            warehouse_db=Path(_read(env, "WAREHOUSE_DB", str(data_dir / "warehouse.duckdb"))).resolve(),
            host=_read(env, "HOST", LOOPBACK),
            dagster_port=_port(env, "DAGSTER_PORT", 3000),
            superset_port=_port(env, "SUPERSET_PORT", 8088),
            portal_port=_port(env, "PORTAL_PORT", 8080),
            mqtt=MqttSettings.from_env(env),
            kms_key_file=kms_key_file_path(data_dir, env),
            masking_key=masking_key_value(env),
            dbt_manifest=dbt_manifest_path(env),
            dbt_target_name=target,
            opendata=OpenDataSettings.from_env(env),
            cap=CapSettings.from_env(env),
            audit_retention_days=audit_retention_days(env),
            audit_key_file=(audit_key := audit_key_file_path(data_dir, env)),
            audit_checkpoint_file=audit_checkpoint_file_path(audit_key, env),
            audit_worm_bucket=audit_worm_bucket(env),
            demo=DemoSettings.from_env(env),
            openmetadata_url=_http_url(env, "OPENMETADATA_URL"),
            openmetadata_token=_read(env, "OPENMETADATA_TOKEN"),
            serving_dir=Path(_read(env, "SERVING_DIR", str(data_dir / "serving"))).resolve(),
            limits=LimitsSettings.from_env(env),
            dbt_trino_password=trino_password,
            partition_lookback_days=_positive(env, "PARTITION_LOOKBACK_DAYS", PARTITION_LOOKBACK_DAYS),
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
        _ = parsed.port  # urllib validates the port only when it is read
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
