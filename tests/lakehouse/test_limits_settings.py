"""Input limits come from the settings, once; a wrong value names the variable to fix."""

import pytest

from lakehouse.errors import SettingsError
from lakehouse.platform import Lakehouse
from lakehouse.settings import LimitsSettings, Settings


def test_every_limit_is_read_from_its_variable():
    env = {
        "HYPERVISEUR_MAX_MESSAGE_BYTES": "1000",
        "HYPERVISEUR_MAX_NESTING_DEPTH": "5",
        "HYPERVISEUR_MAX_EVENT_AGE_DAYS": "1.5",
        "HYPERVISEUR_DUCKDB_MEMORY_LIMIT": "300MB",
        "HYPERVISEUR_DUCKDB_THREADS": "1",
    }
    limits = Settings.from_env(env).limits
    assert limits.max_message_bytes == 1000
    assert limits.max_nesting_depth == 5
    assert limits.max_event_age_days == 1.5
    assert limits.duckdb_memory_limit == "300MB"
    assert limits.duckdb_threads == 1
    assert Settings.from_env({}).limits == LimitsSettings()


@pytest.mark.parametrize(
    "variable, value",
    [
        ("HYPERVISEUR_MAX_LINE_BYTES", "0"),
        ("HYPERVISEUR_MAX_LINE_BYTES", "-5"),
        ("HYPERVISEUR_MAX_FEATURES", "beaucoup"),
        ("HYPERVISEUR_MAX_CLOCK_SKEW_S", "inf"),
        ("HYPERVISEUR_MAX_CLOCK_SKEW_S", "nan"),
        ("HYPERVISEUR_MAX_ARCHIVE_RATIO", "1.5"),
        ("HYPERVISEUR_DUCKDB_MEMORY_LIMIT", "illimité"),
    ],
)
def test_a_wrong_limit_names_its_variable(variable, value):
    with pytest.raises(SettingsError) as err:
        Settings.from_env({variable: value})
    assert err.value.variable == variable


def test_platform_duckdb_connections_are_bounded(tmp_path):
    lh = Lakehouse(
        Settings.from_env(
            {
                "HYPERVISEUR_DATA_DIR": str(tmp_path),
                "HYPERVISEUR_DUCKDB_MEMORY_LIMIT": "256MB",
                "HYPERVISEUR_DUCKDB_THREADS": "1",
            }
        )
    )
    con = lh.duckdb()
    try:
        memory, threads = con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchone()
    finally:
        con.close()
    assert threads == 1
    assert memory.replace(" ", "") in ("256.0MB", "244.1MiB")
