"""The `hyperviseur` command. Each sub-command group lives in its own module, listed here."""

from __future__ import annotations

import sys

import click

from lakehouse.errors import LakehouseError
from orchestration.cli import alerts, audit, demo, govern, ingest, lake, opendata, run, stream, superset
from orchestration.cli.status import probe, status

COMMANDS = [
    run.run,
    run.ui,
    lake.lake,
    govern.govern,
    audit.audit,
    ingest.ingest,
    demo.demo,
    stream.stream,
    alerts.alerts,
    opendata.opendata,
    superset.superset,
    status,
    probe,
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Hyperviseur — tour de contrôle des données du territoire.

    Ingestion, lac de données, gouvernance, open data et alertes, sur vos propres machines.
    """


for command in COMMANDS:
    cli.add_command(command)
for command in (run.demo_run, run.demo_ui):  # the demo location's graph and UI, under `hyperviseur demo`
    demo.demo.add_command(command)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except LakehouseError as exc:  # pragma: no cover - click exits before for usage errors
        click.secho(f"Erreur : {exc}", fg="red", err=True)
        sys.exit(1)
