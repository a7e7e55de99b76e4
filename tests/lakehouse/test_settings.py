"""Settings come from the environment; a wrong value names the variable to fix."""

from datetime import UTC

import pytest

from lakehouse.errors import SettingsError, StorageError
from lakehouse.platform import Lakehouse
from lakehouse.settings import Settings


def test_defaults_are_local_and_loopback(clean_env, tmp_path):
    clean_env.chdir(tmp_path)
    s = Settings.from_env({})
    assert s.backend == "local"
    assert s.lake_dir == (tmp_path / "data" / "lake").resolve()
    assert s.host == s.mqtt_host == "127.0.0.1"
    assert (s.dagster_port, s.superset_port, s.portal_port, s.mqtt_port) == (3000, 8088, 8080, 1883)


def test_dotenv_is_read_but_environment_wins(clean_env, tmp_path):
    clean_env.chdir(tmp_path)
    (tmp_path / ".env").write_text("HYPERVISEUR_PORTAL_PORT=9090\nHYPERVISEUR_DAGSTER_PORT=3333\n")
    clean_env.setenv("HYPERVISEUR_DAGSTER_PORT", "3100")
    s = Settings.from_env()
    assert s.portal_port == 9090
    assert s.dagster_port == 3100


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"HYPERVISEUR_S3_ENDPOINT": "127.0.0.1:9000"}, "HYPERVISEUR_S3_ENDPOINT"),
        ({"HYPERVISEUR_S3_ENDPOINT": "ftp://x:1"}, "HYPERVISEUR_S3_ENDPOINT"),
        ({"HYPERVISEUR_S3_ENDPOINT": "http://h:99999"}, "HYPERVISEUR_S3_ENDPOINT"),
        ({"HYPERVISEUR_S3_ENDPOINT": "http://h:9000/bucket"}, "HYPERVISEUR_S3_ENDPOINT"),
        ({"HYPERVISEUR_S3_ENDPOINT": "http://h:9000"}, "HYPERVISEUR_S3_ACCESS_KEY"),
        ({"HYPERVISEUR_S3_ENDPOINT": "http://h:9000", "HYPERVISEUR_S3_ACCESS_KEY": "a"}, "HYPERVISEUR_S3_SECRET_KEY"),
        (
            {
                "HYPERVISEUR_S3_ENDPOINT": "http://h:9000",
                "HYPERVISEUR_S3_ACCESS_KEY": "a",
                "HYPERVISEUR_S3_SECRET_KEY": "b",
                "HYPERVISEUR_S3_BUCKET": "Bad_Bucket",
            },
            "HYPERVISEUR_S3_BUCKET",
        ),
        ({"HYPERVISEUR_MQTT_PORT": "mqtt"}, "HYPERVISEUR_MQTT_PORT"),
        ({"HYPERVISEUR_SUPERSET_PORT": "0"}, "HYPERVISEUR_SUPERSET_PORT"),
        (
            {
                "HYPERVISEUR_S3_ENDPOINT": "http://h:9000",
                "HYPERVISEUR_S3_ACCESS_KEY": "a",
                "HYPERVISEUR_S3_SECRET_KEY_FILE": "/nonexistent/secret",
            },
            "HYPERVISEUR_S3_SECRET_KEY_FILE",
        ),
    ],
)
def test_invalid_settings_name_the_variable(env, variable):
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    assert err.value.variable == variable
    assert variable in str(err.value)


def test_secret_from_file_outside_repo(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    s = Settings.from_env(
        {
            "HYPERVISEUR_S3_ENDPOINT": "http://127.0.0.1:9000",
            "HYPERVISEUR_S3_ACCESS_KEY": "k",
            "HYPERVISEUR_S3_SECRET_KEY_FILE": str(secret),
        }
    )
    assert s.s3.secret_key == "s3cr3t"
    assert "s3cr3t" not in repr(s)


def _env(s3_server, tmp_path, **over):
    env = {
        "HYPERVISEUR_DATA_DIR": str(tmp_path),
        "HYPERVISEUR_S3_ENDPOINT": s3_server["endpoint"],
        "HYPERVISEUR_S3_ACCESS_KEY": s3_server["access_key"],
        "HYPERVISEUR_S3_SECRET_KEY": s3_server["secret_key"],
        "HYPERVISEUR_S3_BUCKET": s3_server["bucket"],
    }
    env.update(over)
    return env


@pytest.mark.parametrize(
    "override, variable",
    [
        ({"HYPERVISEUR_S3_ACCESS_KEY": "wrongkey"}, "HYPERVISEUR_S3_ACCESS_KEY"),
        ({"HYPERVISEUR_S3_SECRET_KEY": "wrongsecret"}, "HYPERVISEUR_S3_SECRET_KEY"),
        ({"HYPERVISEUR_S3_BUCKET": "no-such-bucket-here"}, "HYPERVISEUR_S3_BUCKET"),
        # nothing listens there: connections are retried (a restarting server) for the budget, kept short here
        ({"HYPERVISEUR_S3_ENDPOINT": "http://127.0.0.1:1", "HYPERVISEUR_S3_RETRY_S": "2"}, "HYPERVISEUR_S3_ENDPOINT"),
    ],
)
def test_wrong_s3_setting_is_named_by_the_real_server(s3_server, tmp_path, override, variable):
    lh = Lakehouse.from_env(_env(s3_server, tmp_path, **override))
    with pytest.raises(StorageError) as err:
        lh.storage.check()
    assert err.value.variable == variable, str(err.value)


def test_wrong_local_lake_dir_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    lh = Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path), "HYPERVISEUR_LAKE_DIR": str(blocker / "lake")})
    with pytest.raises(StorageError) as err:
        lh.storage.check()
    assert err.value.variable == "HYPERVISEUR_LAKE_DIR"


# -- one source of configuration: every group, its defaults, its errors, the registry -----------
def test_defaults_of_every_group(clean_env, tmp_path):
    clean_env.chdir(tmp_path)
    from datetime import datetime

    from lakehouse.settings import DEFAULT_MANIFEST

    s = Settings.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path / "data")})
    assert s.mqtt.topic_root == "city" and s.mqtt.username is None and not s.mqtt.tls
    assert s.kms_key_file == (tmp_path / "data" / "keys" / "kms.json").resolve()
    assert s.dbt_manifest == DEFAULT_MANIFEST and s.dbt_manifest.parts[-3:] == (
        "dbt_project",
        "target",
        "manifest.json",
    )
    assert s.dbt_target == "local" and s.masking_key is None
    assert (s.opendata.base_url, s.opendata.memory_limit) == (None, "1GB")
    assert (s.cap.sender, s.cap.status) == ("alertes@val-de-lys.fr", "Actual")
    assert s.audit_retention_days == 365
    assert s.demo.end == datetime(2026, 3, 15, tzinfo=UTC) and s.demo.days == 14


def test_every_group_read_from_the_environment(tmp_path):
    password, ca = tmp_path / "mqtt-password", tmp_path / "ca.crt"
    password.write_text("mot-de-passe\n")
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    masking = tmp_path / "masking"
    masking.write_text("cle-de-masquage\n")
    trino = tmp_path / "trino-password"
    trino.write_text("mot-de-passe-trino\n")
    s = Settings.from_env(
        {
            "HYPERVISEUR_DATA_DIR": str(tmp_path),
            "HYPERVISEUR_MQTT_TOPIC_ROOT": "hyperviseur/capteurs",
            "HYPERVISEUR_MQTT_USERNAME": "lake-ingest",
            "HYPERVISEUR_MQTT_PASSWORD_FILE": str(password),
            "HYPERVISEUR_MQTT_TLS_CA_FILE": str(ca),
            "HYPERVISEUR_KMS_KEY_FILE": str(tmp_path / "k.json"),
            "HYPERVISEUR_MASKING_KEY_FILE": str(masking),
            "HYPERVISEUR_DBT_MANIFEST": str(tmp_path / "m.json"),
            "HYPERVISEUR_DBT_TARGET": "trino",
            "HYPERVISEUR_DBT_TRINO_PASSWORD_FILE": str(trino),
            "HYPERVISEUR_OPENDATA_BASE_URL": "https://data.example.fr/",
            "HYPERVISEUR_OPENDATA_MEMORY_LIMIT": "512MB",
            "HYPERVISEUR_CAP_SENDER": "alertes@ville.fr",
            "HYPERVISEUR_CAP_STATUS": "Exercise",
            "HYPERVISEUR_AUDIT_RETENTION_DAYS": "200",
            "HYPERVISEUR_DEMO_END": "2026-04-01T00:00:00Z",
            "HYPERVISEUR_DEMO_DAYS": "3",
        }
    )
    m = s.mqtt
    assert (m.topic_root, m.username, m.password, m.tls, m.tls_ca_file) == (
        "hyperviseur/capteurs",
        "lake-ingest",
        "mot-de-passe",
        True,
        ca,
    )
    assert "mot-de-passe" not in repr(s) and "cle-de-masquage" not in repr(s)
    assert s.dbt_trino_password == "mot-de-passe-trino"
    assert s.masking_key == "cle-de-masquage" and s.kms_key_file == (tmp_path / "k.json").resolve()
    assert s.dbt_target == "trino" and s.dbt_manifest == tmp_path / "m.json"
    assert (s.opendata.base_url, s.opendata.memory_limit) == ("https://data.example.fr/", "512MB")
    assert (s.cap.sender, s.cap.status, s.audit_retention_days) == ("alertes@ville.fr", "Exercise", 200)
    assert s.demo.end.isoformat() == "2026-04-01T00:00:00+00:00" and s.demo.days == 3


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"HYPERVISEUR_MQTT_TOPIC_ROOT": "city/#"}, "HYPERVISEUR_MQTT_TOPIC_ROOT"),
        ({"HYPERVISEUR_MQTT_TOPIC_ROOT": "/city"}, "HYPERVISEUR_MQTT_TOPIC_ROOT"),
        ({"HYPERVISEUR_MQTT_USERNAME": "u"}, "HYPERVISEUR_MQTT_PASSWORD"),
        ({"HYPERVISEUR_MQTT_PASSWORD": "p"}, "HYPERVISEUR_MQTT_USERNAME"),
        (
            {"HYPERVISEUR_MQTT_USERNAME": "u", "HYPERVISEUR_MQTT_PASSWORD_FILE": "/nonexistent/p"},
            "HYPERVISEUR_MQTT_PASSWORD_FILE",
        ),
        ({"HYPERVISEUR_MQTT_TLS_CA_FILE": "/nonexistent/ca.crt"}, "HYPERVISEUR_MQTT_TLS_CA_FILE"),
        ({"HYPERVISEUR_MQTT_TLS": "peut-être"}, "HYPERVISEUR_MQTT_TLS"),
        ({"HYPERVISEUR_DBT_TARGET": "duckdb"}, "HYPERVISEUR_DBT_TARGET"),
        ({"HYPERVISEUR_OPENDATA_MEMORY_LIMIT": "1GB'; DROP"}, "HYPERVISEUR_OPENDATA_MEMORY_LIMIT"),
        ({"HYPERVISEUR_OPENDATA_BASE_URL": "data.example.fr"}, "HYPERVISEUR_OPENDATA_BASE_URL"),
        ({"HYPERVISEUR_CAP_STATUS": "Réel"}, "HYPERVISEUR_CAP_STATUS"),
        ({"HYPERVISEUR_CAP_SENDER": "alertes, mairie"}, "HYPERVISEUR_CAP_SENDER"),
        ({"HYPERVISEUR_AUDIT_RETENTION_DAYS": "30"}, "HYPERVISEUR_AUDIT_RETENTION_DAYS"),
        ({"HYPERVISEUR_DEMO_END": "15/03/2026"}, "HYPERVISEUR_DEMO_END"),
        ({"HYPERVISEUR_DEMO_DAYS": "-1"}, "HYPERVISEUR_DEMO_DAYS"),
        ({"HYPERVISEUR_OPENMETADATA_URL": "openmetadata:8585"}, "HYPERVISEUR_OPENMETADATA_URL"),
    ],
)
def test_invalid_new_settings_name_the_variable(env, variable):
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    assert err.value.variable == variable and variable in str(err.value)


def test_client_certificate_needs_its_key(tmp_path):
    cert = tmp_path / "client.crt"
    cert.write_text("x")
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"HYPERVISEUR_MQTT_TLS_CERT_FILE": str(cert)})
    assert err.value.variable == "HYPERVISEUR_MQTT_TLS_KEY_FILE"


def test_mqtt_settings_configure_a_paho_client(tmp_path):
    from lakehouse.settings import MqttSettings

    calls = []

    class Client:
        def username_pw_set(self, *a):
            calls.append(("auth", a))

        def tls_set(self, **kw):
            calls.append(("tls", kw))

        def tls_insecure_set(self, value):
            calls.append(("insecure", value))

    ca = tmp_path / "ca.crt"
    ca.write_text("x")
    MqttSettings.from_env(
        {"HYPERVISEUR_MQTT_USERNAME": "u", "HYPERVISEUR_MQTT_PASSWORD": "p", "HYPERVISEUR_MQTT_TLS_CA_FILE": str(ca)}
    ).configure(Client())
    assert calls == [("auth", ("u", "p")), ("tls", {"ca_certs": str(ca), "certfile": None, "keyfile": None})]
    calls.clear()
    MqttSettings.from_env({}).configure(Client())
    assert calls == []


def test_registry_knows_every_variable_the_code_names():
    """Every HYPERVISEUR_* name written in the platform's code is in the registry (KNOWN_VARIABLES)."""
    import re
    from pathlib import Path

    from lakehouse.settings import KNOWN_VARIABLES, SECRET_VARIABLES, is_known

    root = Path(__file__).resolve().parents[2]
    names = set()
    for folder in (
        "lakehouse",
        "ingestion",
        "alerting",
        "governance",
        "opendata",
        "orchestration",
        "quality",
        "superset",
        "dbt_project",
    ):
        for path in (root / folder).rglob("*"):
            if path.suffix in (".py", ".yml", ".yaml", ".sql") and path.is_file():
                names |= set(
                    re.findall(r"HYPERVISEUR_[A-Z0-9]+(?:_[A-Z0-9]+)*(?![A-Z0-9_{])", path.read_text(errors="replace"))
                )
    names = {n for n in names if not n.endswith("_") and n != "HYPERVISEUR_TEST"}
    unknown = sorted(n for n in names if not is_known(n))
    assert not unknown, f"variables named in the code but missing from lakehouse.settings: {unknown}"
    assert "HYPERVISEUR_MQTT_PASSWORD" in SECRET_VARIABLES and "HYPERVISEUR_MQTT_TOPIC_ROOT" in KNOWN_VARIABLES
    assert is_known("HYPERVISEUR_MQTT_PASSWORD_FILE") and not is_known("HYPERVISEUR_MQTT_TOPIC_ROOT_FILE")
