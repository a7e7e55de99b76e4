"""An agent's upload, once a steward accepted it, becomes a governed dataset of their service.

Every upload (``depots.<jeu>``) waits in the stewards' queue — with its classification
proposals, or as « dépôt à valider » when the scan proposed nothing — until a steward accepts
it with nothing left pending. Then, as the same request's consequence:

1. the staging model is generated (:mod:`workspace.staging_model`) and built by dbt into the
   curated zone (its own warehouse file, so a graph run's dbt is never locked out);
2. levels are propagated and the serving catalogs rebuilt (:mod:`governance.consequences`): the
   model is served masked as its classification says (level and tags from the upload, by lineage);
3. Superset, when this platform runs one, is provisioned: the dataset, readable by the owner
   service's agents only (``superset/access.yaml``: ``uploads``), and its starter chart.

Each publication is audited with the steward's identity before anything is written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import asdict, dataclass

from governance import consequences
from governance.state import Classifier
from lakehouse.audit import AuditLog
from lakehouse.errors import LakehouseError, ObjectNotFound
from lakehouse.lake import Lake, Zone
from workspace import staging_model
from workspace.upload import UPLOAD_SOURCE

AUDIT_EVENT = "depot.publication"
DBT_OUTPUT_CHARS = 2000  # tail of dbt's output kept in the error shown to the steward
PROJECT_PARTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests")
GENERATED_FOLDER = "generated"  # models/generated/ of the project copy


class PublicationFailed(LakehouseError):
    """The accepted upload could not be built or served; the message (French) says where."""


@dataclass
class Published:
    dataset: str
    model: str
    rows: int
    chart_url: str | None  # the starter chart in Superset, when this platform runs one


def is_upload(dataset: str) -> bool:
    return dataset.startswith(f"{UPLOAD_SOURCE}.")


def awaiting_validation(state) -> bool:
    """An upload waits for a steward until one accepted it with nothing left pending."""
    decided = any(d["action"] in ("accept", "override") for d in state.decisions)
    return bool(state.pending) or not decided


def publish(lh, dataset: str, identity: dict, superset=None) -> Published:
    """Generate, build and serve the model of the accepted upload ``dataset``; provision ``superset``
    (a :class:`superset.service.Instance`) when given."""
    entry = lh.registry.find(dataset, Zone.RAW.value)
    if entry is None or not is_upload(dataset):
        raise PublicationFailed(f"« {dataset} » n'est pas un dépôt d'agent")
    state = Classifier(lh).state(dataset)
    if awaiting_validation(state):
        raise PublicationFailed(f"« {dataset} » attend encore la validation d'un référent")
    if entry.encrypted_columns:  # the generated model reads raw columns as they are
        raise PublicationFailed(f"« {dataset} » a des colonnes chiffrées : publication réservée à un modèle dbt écrit")
    model = staging_model.model_name(dataset, entry.owner_service)
    columns = staging_model.columns_of(entry, state)
    AuditLog(lh).append(
        AUDIT_EVENT, identity["sub"], {"dataset": dataset, "model": model, "identity": identity}
    )  # fails closed: no audit key, nothing published
    settings = lh.settings
    staging_model.write(settings.generated_models_dir, settings.lake_url, model, entry, columns)
    _dbt_build(lh, model)
    consequences.refresh(lh)
    published = Published(dataset, model, lh.lake.read_table(Lake.curated_key(model)).num_rows, None)
    if superset is not None:
        published.chart_url = _provision(superset, settings.generated_manifest, model)
    lh.lake.write_json(_record_key(dataset), {**asdict(published), "by": identity["sub"]})
    return published


def after_decision(lh, dataset: str, identity: dict, superset=None) -> Published | None:
    """The consequence of a decision on ``dataset``: an upload validated by it is (re)published;
    ``superset``: a callable giving the platform's Superset or None, asked only then."""
    if not is_upload(dataset) or awaiting_validation(Classifier(lh).state(dataset)):
        return None
    return publish(lh, dataset, identity, superset() if superset else None)


def publication_of(lh, dataset: str) -> Published | None:
    """The last publication of the upload ``dataset``, if any."""
    try:
        record = lh.lake.read_json(_record_key(dataset))
    except ObjectNotFound:  # never published
        return None
    return Published(record["dataset"], record["model"], record["rows"], record.get("chart_url"))


def _record_key(dataset: str) -> str:
    return f"{Zone.META.value}/{UPLOAD_SOURCE}/{dataset}.json"


def local_superset():
    """This platform's Superset when it answers (its settings from the environment), else None."""
    from superset.service import Instance, healthy

    inst = Instance.from_env()
    return inst if healthy(inst) else None


def _dbt_build(lh, model: str) -> None:
    """``dbt build`` of ``model`` in a copy of the repository's project holding the generated models
    (``models/generated/``: relative paths, as dbt needs to write its compiled files beside them)."""
    from orchestration.resources import DBT_PROJECT_DIR, dbt_env, dbt_executable, prepare_curated_dirs

    settings = lh.settings
    project = settings.generated_dbt_project
    for part in PROJECT_PARTS:  # the repository's project as it is now (its last parse stays in target/)
        src, dst = DBT_PROJECT_DIR / part, project / part
        if dst.is_dir():
            shutil.rmtree(dst)
        if src.is_dir():
            shutil.copytree(src, dst)
        elif src.is_file():
            project.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    shutil.copytree(settings.generated_models_dir, project / "models" / GENERATED_FOLDER)
    prepare_curated_dirs(lh, (model,))
    env = {
        **os.environ,
        **dbt_env(settings),
        "HYPERVISEUR_WAREHOUSE_DB": str(project / "warehouse.duckdb"),  # a graph run's dbt keeps its own
    }
    proc = subprocess.run(
        [dbt_executable(), "build", "--project-dir", str(project), "--profiles-dir", str(project), "--select", model],
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise PublicationFailed(f"construction dbt du modèle {model} en échec :\n{proc.stdout[-DBT_OUTPUT_CHARS:]}")


def _provision(superset, manifest, model: str) -> str:
    from superset.provision import admin_client, provision
    from superset.starter import chart_name

    report = provision(superset, manifest=manifest)
    if model not in report.datasets:
        raise PublicationFailed(f"Superset n'a pas créé le jeu {model}")
    chart = admin_client(superset).find("/api/v1/chart/", "slice_name", chart_name(model))
    if chart is None:
        raise PublicationFailed(f"graphique de départ du jeu {model} absent de Superset")
    return f"{superset.url}/explore/?slice_id={chart['id']}"
