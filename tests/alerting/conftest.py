"""Fixtures of the alerting tests: a small local lake and an engine without external channels."""

from __future__ import annotations

import textwrap

import pytest

from lakehouse.platform import Lakehouse


@pytest.fixture
def lh(tmp_path) -> Lakehouse:
    return Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path / "data")})


@pytest.fixture
def mqtt_lh(tmp_path, mqtt_broker) -> Lakehouse:
    """A lake whose settings reach the test Mosquitto with its account (HYPERVISEUR_MQTT_*)."""
    return Lakehouse.from_env({"HYPERVISEUR_DATA_DIR": str(tmp_path / "data"), **mqtt_broker["env"]})


@pytest.fixture
def channels_file(tmp_path):
    """Only the log and lake-outbox channels, so no gateway is needed."""
    path = tmp_path / "channels.yaml"
    path.write_text(
        textwrap.dedent("""
        audiences:
          astreinte:
            scope: Restricted
            actions: [new, update, escalate, clear, close]
            channels: [{type: log}, {type: file}]
          public:
            scope: Public
            min_priority: 0
            actions: [new, close]
            channels: [{type: file}]
    """)
    )
    return path
