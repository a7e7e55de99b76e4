"""The Dagster UI (webserver on 127.0.0.1) serves the lineage from the raw zone to the marts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.ports import free_ports

QUERY = "{ assetNodes { assetKey { path } dependencyKeys { path } } }"


def _graphql(port: int, query: str) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def test_webserver_shows_lineage_from_raw_datasets_to_marts(tmp_path):
    port = free_ports(1)[0]
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("HYPERVISEUR_") and not k.startswith("HYPERVISEUR_TEST_"))
    }
    (tmp_path / "dagster").mkdir()
    env.update(HYPERVISEUR_DATA_DIR=str(tmp_path / "data"), DAGSTER_HOME=str(tmp_path / "dagster"))
    exe = Path(sys.executable).with_name("dagster-webserver")
    proc = subprocess.Popen(
        [str(exe), "-h", "127.0.0.1", "-p", str(port), "-m", "orchestration.definitions"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        nodes = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                data = _graphql(port, QUERY)
                nodes = data.get("data", {}).get("assetNodes")
                if nodes:
                    break
            except OSError:
                pass
            time.sleep(1)
        assert nodes, f"interface injoignable : {proc.stderr.read() if proc.poll() is not None else 'délai dépassé'}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    parents = {"/".join(n["assetKey"]["path"]): {"/".join(d["path"]) for d in n["dependencyKeys"]} for n in nodes}

    def ancestors(key: str) -> set[str]:
        seen, todo = set(), [key]
        while todo:
            for p in parents.get(todo.pop(), ()):
                if p not in seen:
                    seen.add(p)
                    todo.append(p)
        return seen

    assert {"raw/iot/water_flow", "stg_iot__water_flow", "mart_water_night_flow", "water_sectors"} <= ancestors(
        "mart_water_leak_candidates"
    )
    assert {"raw/iot/air_quality", "raw/iot/traffic_flow", "raw/citizen/reports"} <= ancestors("mart_incident_timeline")
