"""Settings come from the environment; a wrong value names the variable to fix."""

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
        ({"HYPERVISEUR_S3_ENDPOINT": "http://h:9000", "HYPERVISEUR_S3_ACCESS_KEY": "a",
          "HYPERVISEUR_S3_SECRET_KEY": "b", "HYPERVISEUR_S3_BUCKET": "Bad_Bucket"}, "HYPERVISEUR_S3_BUCKET"),
        ({"HYPERVISEUR_MQTT_PORT": "mqtt"}, "HYPERVISEUR_MQTT_PORT"),
        ({"HYPERVISEUR_SUPERSET_PORT": "0"}, "HYPERVISEUR_SUPERSET_PORT"),
        ({"HYPERVISEUR_S3_ENDPOINT": "http://h:9000", "HYPERVISEUR_S3_ACCESS_KEY": "a",
          "HYPERVISEUR_S3_SECRET_KEY_FILE": "/nonexistent/secret"}, "HYPERVISEUR_S3_SECRET_KEY_FILE"),
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
    s = Settings.from_env({"HYPERVISEUR_S3_ENDPOINT": "http://127.0.0.1:9000", "HYPERVISEUR_S3_ACCESS_KEY": "k",
                           "HYPERVISEUR_S3_SECRET_KEY_FILE": str(secret)})
    assert s.s3.secret_key == "s3cr3t"
    assert "s3cr3t" not in repr(s)


def _env(s3_server, tmp_path, **over):
    env = {"HYPERVISEUR_DATA_DIR": str(tmp_path), "HYPERVISEUR_S3_ENDPOINT": s3_server["endpoint"],
           "HYPERVISEUR_S3_ACCESS_KEY": s3_server["access_key"], "HYPERVISEUR_S3_SECRET_KEY": s3_server["secret_key"],
           "HYPERVISEUR_S3_BUCKET": s3_server["bucket"]}
    env.update(over)
    return env


@pytest.mark.parametrize(
    "override, variable",
    [
        ({"HYPERVISEUR_S3_ACCESS_KEY": "wrongkey"}, "HYPERVISEUR_S3_ACCESS_KEY"),
        ({"HYPERVISEUR_S3_SECRET_KEY": "wrongsecret"}, "HYPERVISEUR_S3_SECRET_KEY"),
        ({"HYPERVISEUR_S3_BUCKET": "no-such-bucket-here"}, "HYPERVISEUR_S3_BUCKET"),
        ({"HYPERVISEUR_S3_ENDPOINT": "http://127.0.0.1:1"}, "HYPERVISEUR_S3_ENDPOINT"),
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
