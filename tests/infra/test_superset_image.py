"""The Superset image as the Containerfile lays it out, configured as the Helm chart configures
it, starts: every module the configuration loads is in the image, the secret key comes from
the Kubernetes secret. No registry is reachable here to build the image itself, so its
``/app/hyperviseur`` folder is rebuilt from the Containerfile's own COPY instructions."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import yaml
from infra_support import K8S, REPO

CONTAINERFILE = REPO / "infra" / "Containerfile"
IMAGE_FOLDER = "/app/hyperviseur"
CONFIG_SOURCE = REPO / "superset" / "superset_config.py"
SUPERSET_PYTHON = REPO / ".venv-superset" / "bin" / "python"
CHART_VALUES = yaml.safe_load((K8S / "helm" / "superset" / "values.yaml").read_text())


def superset_stage_copies() -> list[tuple[list[str], str]]:
    """(sources, destination) of each COPY of the Containerfile's ``superset`` stage."""
    text = CONTAINERFILE.read_text().replace("\\\n", " ")
    stages = re.split(r"(?m)^FROM ", text)[1:]
    (stage,) = [s for s in stages if re.match(r"\S+ AS superset\b", s)]
    copies = []
    for line in re.findall(r"(?m)^COPY\s+(.*)$", stage):
        args = [a for a in line.split() if not a.startswith("--")]
        copies.append((args[:-1], args[-1]))
    return copies


def lay_out_image(root) -> None:
    for sources, dest in superset_stage_copies():
        target = root / dest.lstrip("/")
        for source in sources:
            path = target / source.rsplit("/", 1)[-1] if dest.endswith("/") else target
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / source, path)


def chart_environment(tmp_path) -> dict[str, str]:
    """What the chart gives the Superset pod: its extra settings, the OpenID Connect client's
    id and mounted secret, and the ``superset-env`` secret's keys."""
    values = CHART_VALUES
    env = {k: str(v) for k, v in values["extraEnv"].items()}
    secret_file = tmp_path / "oidc-client-secret"
    secret_file.write_text("secret-du-client\n")
    assert env["HYPERVISEUR_SUPERSET_OIDC_CLIENT_SECRET_FILE"].startswith("/run/secrets/")
    env["HYPERVISEUR_SUPERSET_OIDC_CLIENT_SECRET_FILE"] = str(secret_file)
    for item in values["extraEnvRaw"]:
        env[item["name"]] = "superset"
    docs = yaml.safe_load_all((K8S / "components" / "external-secrets" / "external-secrets.yaml").read_text())
    (superset_env,) = [d for d in docs if d and d["metadata"]["name"] == values["envFromSecret"]]
    for key, value in superset_env["spec"]["target"]["template"]["data"].items():
        env[key] = f"valeur-de-{key}" if "{{" in str(value) else str(value)
    return env


def test_every_module_the_configuration_loads_is_copied_into_the_image():
    loaded = set(re.findall(r'_load\("(\w+)"\)', CONFIG_SOURCE.read_text()))
    copied = {s.rsplit("/", 1)[-1] for sources, _dest in superset_stage_copies() for s in sources}
    assert loaded, "superset_config.py loads no module by path any more: update this test"
    assert {f"{name}.py" for name in loaded} <= copied, sorted({f"{n}.py" for n in loaded} - copied)


def test_the_image_folder_with_the_chart_settings_starts_superset(tmp_path):
    lay_out_image(tmp_path)
    folder = tmp_path / IMAGE_FOLDER.lstrip("/")
    override = "\n".join(CHART_VALUES["configOverrides"].values())
    assert f'"{IMAGE_FOLDER}"' in override
    # the official chart writes its configuration file from configOverrides; here the image's
    # folder is the test's, and the metadata database a SQLite file (no PostgreSQL on this machine)
    config = tmp_path / "superset_config.py"
    config.write_text(
        override.replace(f'"{IMAGE_FOLDER}"', repr(str(folder)))
        + f"\nSQLALCHEMY_DATABASE_URI = {'sqlite:///' + str(tmp_path / 'metadata.db')!r}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYPERVISEUR_", "SUPERSET_"))}
    env |= chart_environment(tmp_path)
    env |= {"SUPERSET_CONFIG_PATH": str(config), "SUPERSET_HOME": str(tmp_path / "superset_home")}
    probe = (
        "import json\n"
        "from superset.app import create_app\n"
        "app = create_app()\n"
        "print(json.dumps({'secret': app.config['SECRET_KEY'],"
        " 'manager': app.config['CUSTOM_SECURITY_MANAGER'].__name__}))\n"
    )
    proc = subprocess.run(
        [str(SUPERSET_PYTHON), "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    started = json.loads(proc.stdout.strip().splitlines()[-1])
    assert started["secret"] == "valeur-de-SUPERSET_SECRET_KEY"
    assert started["manager"] == "_SecurityManager"
    # the app mutator ran to its end: its last step lays the query locks' folder
    assert (tmp_path / "superset_home" / "cache" / "locks").is_dir()
