"""`hyperviseur run` and `hyperviseur demo run`: materialise a whole code location's graph.

``run`` executes the production location (the lake's data and the files waiting in the
inbox); ``demo run`` the demo location (the simulated territory, ``make run``). Both run
in-process with the Dagster instance in ``<data_dir>/dagster`` (the one the UI shows). If
the last run of the graph failed, it is resumed from the failure: finished steps are not
redone. Prints a French summary.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import click
from rich.table import Table

from lakehouse.audit import ensure_audit_key
from lakehouse.encryption import ensure_key_file
from lakehouse.lake import Lake
from lakehouse.platform import Lakehouse
from orchestration.cli.common import console, french_errors, lakehouse, period_options

EVENT_LABELS = {
    "leak": "fuite(s)",
    "pollution_peak": "pic(s) de pollution",
    "traffic_jam": "embouteillage(s)",
    "lamp_failure_cluster": "panne(s) groupée(s) d'éclairage",
    "energy_drift": "dérive(s) énergétique(s)",
    "report_burst": "afflux de signalements",
    "cctv_event": "détection(s) de vidéoprotection",
}


@dataclass
class RunSummary:
    run_id: str
    success: bool
    resumed_from: str | None
    materialized: list[str] = field(default_factory=list)
    skipped_marts: list[str] = field(default_factory=list)
    checks_passed: list[str] = field(default_factory=list)
    checks_failed: list[str] = field(default_factory=list)
    mart_rows: dict[str, int] = field(default_factory=dict)
    step_failures: list[str] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)  # incident timeline: rows per event kind
    metadata: dict[str, dict] = field(default_factory=dict)  # asset key -> materialisation metadata


DAGSTER_YAML = (
    "# Instance Dagster locale d'Hyperviseur (stockage SQLite dans ce dossier).\ntelemetry:\n  enabled: false\n"
)
PRODUCTION_LOCATION = "orchestration.definitions"
DEMO_LOCATION = "orchestration.demo.definitions"


def dagster_home(lh: Lakehouse) -> Path:
    """The local Dagster instance folder (SQLite storage, no call home), created if needed."""
    home = lh.settings.data_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return home


def instance_for(lh: Lakehouse):
    from dagster import DagsterInstance

    return DagsterInstance.from_config(str(dagster_home(lh)))


def _last_run(instance, job_name: str):
    from dagster import RunsFilter

    runs = instance.get_runs(filters=RunsFilter(job_name=job_name), limit=1)
    return runs[0] if runs else None


def run_graph(
    lh: Lakehouse,
    *,
    location: str = PRODUCTION_LOCATION,
    ops_config: dict | None = None,
    resume: bool = True,
    instance=None,
) -> RunSummary:
    """Materialise every asset of a code location; resume its last run if it failed.

    dbt's own log (English, verbose) goes to ``<data_dir>/dagster/derniere_execution.log``.
    """
    instance = instance or instance_for(lh)
    log_path = lh.settings.data_dir / "dagster" / "derniere_execution.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        return _execute(lh, instance, location, ops_config or {}, resume)


def run_demo_graph(
    lh: Lakehouse,
    *,
    days: float = 14,
    scale: float = 1.0,
    seed: int = 42,
    end: str = "",
    resume: bool = True,
    instance=None,
) -> RunSummary:
    """The demo location's graph on the simulated territory (``make run``)."""
    period = {"days": days, "scale": scale, "seed": seed, "end": end}
    return run_graph(
        lh,
        location=DEMO_LOCATION,
        resume=resume,
        instance=instance,
        ops_config={"ingestion_brute": {"config": period}, "alerting__incidents": {"config": period}},
    )


def _execute(lh: Lakehouse, instance, location: str, ops_config: dict, resume: bool) -> RunSummary:
    import importlib

    from dagster import DagsterRunStatus, ReexecutionOptions, execute_job, reconstructable

    module = importlib.import_module(location)
    job = reconstructable(module.get_full_job)
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    last = _last_run(instance, module.FULL_JOB)
    resumed_from = None
    if resume and last is not None and last.status == DagsterRunStatus.FAILURE:
        resumed_from = last.run_id
        result = execute_job(
            job,
            instance=instance,
            reexecution_options=ReexecutionOptions.from_failure(last.run_id, instance),
            run_config={**(last.run_config or {}), **quiet},
            raise_on_error=False,
        )
    else:
        result = execute_job(job, instance=instance, run_config={"ops": ops_config, **quiet}, raise_on_error=False)
    with result:
        summary = _summarise(lh, result, resumed_from)
    return summary


def _summarise(lh: Lakehouse, result, resumed_from: str | None) -> RunSummary:
    from quality.suites import MARTS

    summary = RunSummary(result.run_id, result.success, resumed_from)
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION":
            key = event.asset_key.to_user_string()
            summary.materialized.append(key)
            meta = event.event_specific_data.materialization.metadata
            summary.metadata[key] = {k: getattr(v, "value", v) for k, v in meta.items()}
        elif event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            cause = error.cause if error and error.cause else error
            summary.step_failures.append(f"{event.step_key} : {cause.message.strip() if cause else 'erreur'}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            ev = event.event_specific_data
            name = f"{ev.asset_key.to_user_string()}:{ev.check_name}"
            (summary.checks_passed if ev.passed else summary.checks_failed).append(name)
    summary.skipped_marts = [m for m in MARTS if m not in summary.materialized]
    con = lh.duckdb()
    try:
        for mart in MARTS:
            key = Lake.curated_key(mart)
            if lh.storage.exists(key):
                summary.mart_rows[mart] = con.execute(
                    f"SELECT count(*) FROM read_parquet('{lh.storage.uri(key)}')"
                ).fetchone()[0]
        timeline = Lake.curated_key("mart_incident_timeline")
        if lh.storage.exists(timeline):
            summary.events = dict(
                con.execute(
                    f"SELECT event_kind, count(*) FROM read_parquet('{lh.storage.uri(timeline)}') GROUP BY 1 ORDER BY 1"
                ).fetchall()
            )
    finally:
        con.close()
    return summary


def print_summary(lh: Lakehouse, s: RunSummary) -> None:
    from quality.report import KEY as REPORT_KEY

    if s.resumed_from:
        console.print(f"Reprise du run échoué {s.resumed_from[:8]} (les étapes terminées ne sont pas refaites).")
    status = "[green]réussie[/]" if s.success else "[red]en échec[/]"
    console.print(f"Exécution {s.run_id[:8]} {status} : {len(s.materialized)} jeu(x) de données matérialisé(s).")
    table = Table("Mart", "Lignes", "Reconstruit")
    for mart, rows in sorted(s.mart_rows.items()):
        table.add_row(mart, f"{rows:,}".replace(",", " "), "oui" if mart in s.materialized else "[yellow]non[/]")
    console.print(table)
    console.print(
        f"Contrôles qualité : [green]{len(s.checks_passed)} réussi(s)[/], "
        f"[{'red' if s.checks_failed else 'green'}]{len(s.checks_failed)} en échec[/]"
    )
    for name in s.checks_failed:
        console.print(f"  • {name}", highlight=False)
    if s.events:
        console.print(
            "Chronologie des incidents : "
            + ", ".join(f"{n} {EVENT_LABELS.get(kind, kind)}" for kind, n in sorted(s.events.items()))
        )
    for failure in s.step_failures:
        console.print(f"[red]Étape en échec[/] {failure}", highlight=False)
    if s.skipped_marts:
        console.print(f"[yellow]Marts non reconstruits lors de cette exécution :[/] {', '.join(s.skipped_marts)}")
    _print_downstream(lh, s)
    console.print(f"Marts : {lh.storage.uri(Lake.curated_key('<mart>'))}")
    console.print(f"Rapport qualité : {lh.storage.uri(REPORT_KEY)}")
    console.print(f"Documentation des jeux de données : {lh.storage.uri('_meta/docs/dbt/index.html')}")
    console.print(f"Journal détaillé : {lh.settings.data_dir / 'dagster' / 'derniere_execution.log'}")
    console.print(f"Historique des exécutions : {lh.settings.data_dir / 'dagster'} (interface : hyperviseur ui)")


def _print_downstream(lh: Lakehouse, s: RunSummary) -> None:
    """Governance, open data and alerts: what a steward, a citizen and an operator get."""
    pending = s.metadata.get("governance/classification", {}).get("revues_en_attente")
    if pending is not None:
        console.print(
            f"Gouvernance : {len(pending)} jeu(x) avec des colonnes à revoir"
            + (" (hyperviseur govern review)" if pending else "")
        )
    online = s.metadata.get("opendata/portal", {}).get("en_ligne")
    if online is not None:
        console.print(f"Open data : {len(online)} jeu(x) en ligne — portail {lh.storage.uri('opendata/index.html')}")
    alerts = s.metadata.get("alerting/incidents", {})
    if alerts:
        console.print(
            f"Alertes : {alerts.get('incidents_ouverts', 0)} incident(s) ouvert(s) "
            f"sur {alerts.get('messages', 0):,} messages".replace(",", " ")
        )
        for incident in (alerts.get("incidents") or [])[:5]:
            console.print(f"  • priorité {incident['priorite']:.0f} — {incident['titre']}", highlight=False)


def _finish(lh: Lakehouse, summary: RunSummary, started: datetime) -> None:
    print_summary(lh, summary)
    console.print(f"Durée : {(datetime.now() - started).total_seconds():.0f} s")
    if not summary.success:
        raise SystemExit(1)


@click.command()
@click.option("--nouveau", is_flag=True, help="Toujours lancer une nouvelle exécution (pas de reprise).")
@click.option(
    "--reconstruction-complete",
    is_flag=True,
    help="Reconstruire toutes les partitions journalières, pas seulement les jours des nouvelles données.",
)
@french_errors
def run(nouveau: bool, reconstruction_complete: bool) -> None:
    """Exécuter la chaîne complète sur les données du lac et les fichiers en attente."""
    from orchestration.assets.raw import RAW_OP
    from orchestration.assets.sensors import inbox_files
    from orchestration.assets.transform import DBT_OP

    lh = lakehouse()
    files = sorted(inbox_files(lh))
    console.print(
        f"Lac : [bold]{lh.settings.lake_url}[/] ({lh.settings.backend}) — "
        f"{len(files)} fichier(s) en attente dans la boîte de réception"
    )
    started = datetime.now()
    ops_config = {RAW_OP: {"config": {"files": files}}}
    if reconstruction_complete:
        ops_config[DBT_OP] = {"config": {"reconstruction_complete": True}}
    summary = run_graph(lh, ops_config=ops_config, resume=not nouveau and not reconstruction_complete)
    _finish(lh, summary, started)


@click.command(name="run")
@period_options(scale=True)
@click.option("--nouveau", is_flag=True, help="Toujours lancer une nouvelle exécution (pas de reprise).")
@french_errors
def demo_run(days: float, seed: int, end: str, scale: float, nouveau: bool) -> None:
    """Exécuter la chaîne complète sur le territoire de démonstration."""
    lh = lakehouse()
    console.print(
        f"Lac : [bold]{lh.settings.lake_url}[/] ({lh.settings.backend}) — territoire Val-de-Lys, {days:g} jours"
    )
    key_file = ensure_key_file(lh.settings)
    console.print(
        f"Colonnes personnelles chiffrées dans la zone brute ; clé : {key_file} "
        "(à sauvegarder hors du lac : sans elle ces colonnes sont illisibles)"
    )
    console.print(f"Journal d'audit signé ; clé : {ensure_audit_key(lh.settings)} (à sauvegarder hors du lac)")
    started = datetime.now()
    summary = run_demo_graph(lh, days=days, scale=scale, seed=seed, end=end, resume=not nouveau)
    _finish(lh, summary, started)


def _dagster_behind_signon(location: str, port: int | None) -> None:
    """The Dagster UI is never served without the sign-on (issue 14): the same start as `make run`
    (infra/local/services.py: identity provider, an Admin webserver and a read-only one for
    Stewards on internal loopback ports, the gateway on the public port, the daemon), with
    ``location`` loaded. ``make stop`` (or ``services.py stop ui``) stops them."""
    import subprocess
    import sys

    lh = lakehouse()
    repo = Path(__file__).resolve().parents[2]
    services = repo / "infra" / "local" / "services.py"
    env = {
        **os.environ,
        "HYPERVISEUR_DATA_DIR": str(lh.settings.data_dir),
        "HYPERVISEUR_RUN_DIR": os.environ.get("HYPERVISEUR_RUN_DIR", str(lh.settings.data_dir / "run")),
        "HYPERVISEUR_DAGSTER_LOCATION": location,
    }
    if port:
        env["HYPERVISEUR_DAGSTER_PORT"] = str(port)
    dagster_home(lh)
    started = subprocess.run([sys.executable, str(services), "start", "sso", "dagster", "dagster-daemon"], env=env)
    if started.returncode != 0:
        raise click.ClickException(
            "l'interface Dagster n'a pas démarré derrière l'authentification unique (voir ci-dessus)"
        )
    host, port = lh.settings.host, port or lh.settings.dagster_port
    console.print(f"Interface Dagster (authentification unique) : http://{host}:{port} — arrêt : make stop")


@click.command()
@click.option("--port", default=None, type=int, help="Port de l'interface (défaut : HYPERVISEUR_DAGSTER_PORT, 3000).")
@french_errors
def ui(port: int | None) -> None:
    """Ouvrir l'interface Dagster (lignage, exécutions, contrôles) derrière l'authentification unique."""
    _dagster_behind_signon(PRODUCTION_LOCATION, port)


@click.command(name="ui")
@click.option("--port", default=None, type=int, help="Port de l'interface (défaut : HYPERVISEUR_DAGSTER_PORT, 3000).")
@french_errors
def demo_ui(port: int | None) -> None:
    """Ouvrir l'interface Dagster du territoire de démonstration."""
    _dagster_behind_signon(DEMO_LOCATION, port)
