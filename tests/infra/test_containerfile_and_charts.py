"""The platform's container image recipe and the values for the official Helm charts."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml
from infra_support import K8S, REPO, run, tool

CONTAINERFILE = REPO / "infra" / "Containerfile"
HELM = K8S / "helm"


def test_containerfile_passes_hadolint():
    hadolint = tool("hadolint")
    proc = run([hadolint, "--no-color", "--failure-threshold", "style", CONTAINERFILE])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_containerfile_passes_checkov(tmp_path):
    checkov = tool("checkov")
    # checkov's dockerfile framework recognises files by the name `Dockerfile`.
    shutil.copy(CONTAINERFILE, tmp_path / "Dockerfile")
    proc = run(
        [checkov, "-d", tmp_path, "--framework", "dockerfile", "--skip-download", "-o", "json"],
        env={"BC_SKIP_MAPPING": "TRUE", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    report = json.loads(proc.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["failed"] == 0, [c["check_id"] for c in report["results"]["failed_checks"]]
    assert report["summary"]["passed"] > 0


def test_containerfile_pins_bases_and_runs_unprivileged():
    text = CONTAINERFILE.read_text()
    froms = re.findall(r"(?m)^FROM\s+(\S+)", text)
    assert froms
    for image in froms:
        tag = image.rsplit(":", 1)[-1]
        assert ":" in image and tag != "latest" and re.search(r"\d+\.\d+", tag), image
    # every stage that ships (not the build stage) ends as a numeric non-root user
    stages = re.split(r"(?m)^FROM ", text)[1:]
    for stage in stages:
        name = stage.split()[2] if " AS " in stage.splitlines()[0] else "?"
        if name == "build":
            continue
        users = re.findall(r"(?m)^USER\s+(\S+)", stage)
        assert users and re.fullmatch(r"[1-9]\d*(:\d+)?", users[-1]), f"stage {name}: {users}"
    # every package installed by name carries an exact version
    joined = text.replace("\\\n", " ").replace("&&", "\n")
    for spec in re.findall(r"(?:pip|uv pip) install[^\n]*", joined):
        names = [t.strip('"') for t in spec.split("install", 1)[1].split() if not t.startswith("-")]
        for token in names:
            if token in (".", "requirements.lock") or token.startswith("&&"):
                break
            assert "==" in token, f"unpinned package in Containerfile: {token}"


def load(path):
    return yaml.safe_load((HELM / path).read_text())


def walk(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, path + (str(k),))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, path + (str(i),))
    else:
        yield path, node


VALUES = sorted(p.relative_to(HELM).as_posix() for p in HELM.rglob("*.yaml"))


@pytest.mark.parametrize("values", VALUES)
def test_chart_values_hold_no_secret_and_pin_images(values):
    doc = load(values)
    for path, value in walk(doc):
        key = path[-1].lower()
        if (
            re.search(r"pass(word)?$|secret$|^db_pass$|cookie$|apikey$|token$", key)
            and not isinstance(value, bool)
            and not re.search(r"fromsecret$|secretname$|secretref$", key)
        ):
            assert value in ("", None), f"{values}: {'.'.join(path)} has a literal value"
        if key == "tag":
            assert value and value != "latest", f"{values}: {'.'.join(path)}"
        if key == "readonlyrootfilesystem":
            assert value is True
        if key == "runasnonroot":
            assert value is True
        if key == "allowprivilegeescalation":
            assert value is False


def test_dagster_runs_each_job_in_its_own_pod():
    v = load("dagster/values.yaml")
    assert v["runLauncher"]["type"] == "K8sRunLauncher"
    cfg = v["runLauncher"]["config"]["k8sRunLauncher"]
    assert cfg["jobNamespace"] == "hyperviseur-processing"
    run_cfg = cfg["runK8sConfig"]
    assert run_cfg["containerConfig"]["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"cpu", "memory"} <= set(run_cfg["containerConfig"]["resources"]["limits"])
    assert v["postgresql"]["enabled"] is False and v["generatePostgresqlPasswordSecret"] is False
    assert v["global"]["postgresqlSecretName"] == "dagster-postgresql-secret"
    (code,) = v["dagster-user-deployments"]["deployments"]
    assert code["dagsterApiGrpcArgs"][:2] == ["-m", "orchestration.definitions"]
    assert v["rabbitmq"]["enabled"] is False and v["telemetry"]["enabled"] is False


def test_superset_has_no_default_admin_nor_bundled_databases():
    v = load("superset/values.yaml")
    assert v["secretEnv"]["create"] is False and v["envFromSecret"] == "superset-env"
    assert v["init"]["createAdmin"] is False and v["init"]["loadExamples"] is False
    assert v["postgresql"]["enabled"] is False and v["redis"]["enabled"] is False
    assert "db_pass" not in v["supersetNode"]["connections"]
    assert v["runAsUser"] != 0
    # idle pooled connections: kept by gunicorn longer than ingress-nginx keeps them (60 s), and
    # one gunicorn worker per pod, so none is left idle by connections kept long (service.py)
    assert int(v["extraEnv"]["GUNICORN_KEEPALIVE"]) > 60
    assert "SERVER_WORKER_AMOUNT" not in {**v["extraEnv"], **v["supersetNode"].get("env", {})}
    ingress = v["ingress"]
    assert ingress["enabled"] and set(ingress["hosts"]) <= {h for t in ingress["tls"] for h in t["hosts"]}
    databases = yaml.safe_load(v["extraConfigs"]["import_datasources.yaml"])["databases"]
    # one Trino database per serving catalog, each with the Trino user of its clearance, over HTTPS
    users = {}
    for db in databases:
        assert db["sqlalchemy_uri"].startswith("trino://") and db["allow_dml"] is False
        m = re.match(r"trino://([^@:]+)@[^/]+:8443/(\w+)$", db["sqlalchemy_uri"])
        assert m, db["sqlalchemy_uri"]
        users[m.group(2)] = m.group(1)
        assert "https" in db["extra"]
    assert users == {"public": "superset-public", "masked": "superset-masked", "clear": "superset-clear"}


def helm_merge(base: dict, override: dict) -> dict:
    """Values as Helm combines two ``-f`` files: maps merged key by key, anything else replaced."""
    out = dict(base)
    for key, value in override.items():
        out[key] = helm_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


# the official image's SUPERSET_HOME: superset_config.py keeps its caches in <home>/cache
SUPERSET_HOME = "/app/superset_home"


def test_several_superset_pods_share_one_results_cache(rendered):
    base = load("superset/values.yaml")
    values = helm_merge(base, load("superset/values-metropole.yaml"))
    assert base["supersetNode"]["replicas"]["replicaCount"] == 1  # small: the pod's own volume
    assert values["supersetNode"]["replicas"]["replicaCount"] > 1
    mounts = {m["mountPath"]: m["name"] for m in values["extraVolumeMounts"]}
    volumes = {v["name"]: v for v in values["extraVolumes"]}
    # nothing of values.yaml lost where the métropole repeats its lists
    assert base["extraVolumeMounts"] == values["extraVolumeMounts"][: len(base["extraVolumeMounts"])]
    assert SUPERSET_HOME in {m["mountPath"] for m in base["extraVolumeMounts"]} and SUPERSET_HOME in mounts
    claim = volumes[mounts[f"{SUPERSET_HOME}/cache"]]["persistentVolumeClaim"]["claimName"]
    pvc = rendered["metropole"].get("PersistentVolumeClaim", claim, "hyperviseur-serving")
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]


def test_openmetadata_replaces_chart_defaults():
    v = load("openmetadata/values.yaml")["openmetadata"]["config"]
    assert v["fernetkey"]["value"] == "" and v["fernetkey"]["secretRef"]
    assert v["authentication"]["provider"] != "basic" and v["authentication"]["enableSelfSignup"] is False
    assert v["pipelineServiceClientConfig"]["enabled"] is False
    assert v["database"]["driverClass"] == "org.postgresql.Driver"
    assert v["database"]["auth"]["password"]["secretRef"] == "openmetadata-db"


def test_emqx_stays_open_source_and_authenticated():
    v = load("emqx/values-metropole.yaml")
    assert v["image"]["tag"].startswith("5.8.")
    cfg = v["emqxConfig"]
    assert cfg["EMQX_AUTHORIZATION__NO_MATCH"] == "deny"
    assert cfg["EMQX_AUTHENTICATION__1__BACKEND"] == "built_in_database"
    assert v["envFromSecret"] == "emqx-env"


def test_scaling_plan_covers_the_three_sizes():
    text = (REPO / "infra" / "SCALING.md").read_text()
    for population in ("20 000", "200 000", "1 500 000"):
        assert population in text
    for column in ("messages/s", "rows/day", "nodes"):
        assert column in text
