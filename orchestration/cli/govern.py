"""``hyperviseur govern …``: the data steward's workflow (scan → review → decide → publish)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from lakehouse.registry import LEVELS
from orchestration.cli.common import actor_option, console, french_errors, lakehouse

BY = actor_option("Responsable des données qui décide (inscrit dans la décision et au journal d'audit).")
REASON = click.option("--motif", "reason", default="", help="Motif de la décision (obligatoire sauf pour accept).")


@click.group()
def govern() -> None:
    """Gouvernance : classification, revue, décisions, niveaux, vues masquées, catalogue."""


def _print_proposal(p: dict) -> None:
    t = Table(
        title=f"{p['dataset']} — niveau proposé {p['level']} (échantillon {p['sample_rows']} / {p.get('rows_total')} lignes)"
    )
    for col in ("colonne", "type", "nature", "étiquettes", "entités (taux, score)", "modifié"):
        t.add_column(col)
    for name, c in p["columns"].items():
        ents = ", ".join(
            f"{e} ({v['hit_rate']:.0%}, {v['mean_score']:.2f})" for e, v in c["evidence"].get("entities", {}).items()
        )
        t.add_row(
            name, c["type"], c["kind"], ", ".join(c["tags"]) or "—", ents or "—", "oui" if c.get("changed") else ""
        )
    console.print(t)


@govern.command()
@click.argument("datasets", nargs=-1)
@click.option(
    "--echantillon",
    "sample",
    default=200,
    show_default=True,
    type=click.IntRange(10, 100000),
    help="Taille de l'échantillon par jeu.",
)
@click.option("--force", is_flag=True, help="Réanalyser même si ni le schéma ni les données n'ont changé.")
@BY
@french_errors
def scan(datasets, sample, force, actor):
    """Analyser les colonnes (Presidio) et proposer des étiquettes, avec leurs preuves."""
    from governance.catalog import curated_models, raw_datasets
    from governance.classify import scan_dataset
    from governance.scan import ScanConfig

    lh = lakehouse()
    names = list(datasets) or raw_datasets(lh) + curated_models(lh)
    if not names:
        console.print("Aucun jeu de données dans le lac.")
        return
    for name in names:
        p = scan_dataset(lh, name, ScanConfig(sample_size=sample), force=force, actor=actor)
        if p.get("skipped"):
            console.print(f"{name} : inchangé depuis l'analyse du {p['scanned_at']} (--force pour réanalyser)")
        else:
            _print_proposal(p)


@govern.command()
@click.argument("dataset", required=False)
@french_errors
def review(dataset):
    """Lister les propositions en attente de revue (nouvelles ou modifiées)."""
    from governance.state import Classifier

    lh = lakehouse()
    cl = Classifier(lh)
    names = [dataset] if dataset else cl.datasets()
    t = Table(title="Revues en attente")
    for col in ("jeu", "colonne", "proposé", "décidé", "preuves"):
        t.add_column(col)
    n = 0
    for name in names:
        st = cl.state(name)
        for c in st.columns.values():
            if c.pending:
                n += 1
                ev = ", ".join(f"{e} {v['hit_rate']:.0%}" for e, v in c.evidence.get("entities", {}).items())
                t.add_row(
                    name,
                    c.name,
                    ", ".join(c.proposed_tags) or "—",
                    ", ".join(c.decision.get("tags", [])) if c.decision else "—",
                    ev,
                )
        if st.declassification_requested:
            n += 1
            t.add_row(name, "(jeu)", "déclassement demandé dans dbt", "—", "")
    console.print(t if n else "Aucune revue en attente.")


def _cli_identity() -> dict:
    """On the command line the only authenticated identity is the system account: it is the
    audit record's actor, the name declared with ``--par`` only a detail (``by``), as for
    ``hyperviseur alerts ack``. The workspace (workspace/) records the signed-on user instead."""
    import getpass

    return {"sub": getpass.getuser(), "interface": "ligne de commande"}


@govern.command()
@click.argument("dataset")
@click.argument("columns", nargs=-1)
@BY
@REASON
@french_errors
def accept(dataset, columns, actor, reason):
    """Accepter la proposition pour des colonnes (toutes les colonnes en attente si aucune n'est donnée)."""
    from governance import decisions

    lh = lakehouse()
    for d in decisions.accept(lh, dataset, columns, actor, reason, identity=_cli_identity()):
        if "column" in d:
            console.print(f"{dataset}.{d['column']} : accepté {', '.join(d['tags']) or '(aucune étiquette)'}")
        else:
            console.print(f"{dataset} : accepté tel quel (aucune proposition en attente)")
    _publish_upload(lh, dataset)


def _publish_upload(lh, dataset: str) -> None:
    """An agent's upload this decision validates is published, as from the workspace."""
    from workspace.depot_publish import after_decision, local_superset

    published = after_decision(lh, dataset, _cli_identity(), local_superset)
    if published:
        where = published.chart_url or "Superset non démarré : au prochain approvisionnement"
        console.print(f"{dataset} publié : modèle {published.model} ({published.rows} lignes) ; graphique : {where}")


@govern.command()
@click.argument("dataset")
@click.argument("column")
@click.option(
    "--etiquettes", "tags", default="", help="Étiquettes séparées par des virgules (vide = aucune donnée personnelle)."
)
@BY
@REASON
@french_errors
def override(dataset, column, tags, actor, reason):
    """Fixer soi-même les étiquettes d'une colonne (motif obligatoire)."""
    from governance import decisions

    tag_list = [t.strip() for t in tags.split(",") if t.strip()]
    lh = lakehouse()
    d = decisions.override(lh, dataset, column, tag_list, actor, reason, identity=_cli_identity())
    console.print(
        f"{dataset}.{column} : étiquettes fixées à {', '.join(d['tags']) or '(aucune)'} (version {d['version']})"
    )
    _publish_upload(lh, dataset)


@govern.command()
@click.argument("dataset")
@click.option("--niveau", "level", required=True, type=click.Choice(list(LEVELS)))
@BY
@REASON
@french_errors
def declassify(dataset, level, actor, reason):
    """Déclasser un jeu (ex. agrégé par quartier) sous le niveau hérité de ses sources (motif obligatoire)."""
    from governance import decisions

    d = decisions.declassify(lakehouse(), dataset, level, actor, reason, identity=_cli_identity())
    console.print(f"{dataset} : déclassé au niveau {level} (version {d['version']})")


@govern.command("approve-publication")
@click.argument("dataset")
@BY
@REASON
@french_errors
def approve_publication(dataset, actor, reason):
    """Approuver la publication en open data (le garde-fou d'export vérifie aussi niveau et étiquettes)."""
    from governance import decisions
    from governance.export_guard import refusal_reasons

    lh = lakehouse()
    d = decisions.publication(lh, dataset, True, actor, reason, identity=_cli_identity())
    console.print(f"{dataset} : publication approuvée (version {d['version']})")
    remaining = refusal_reasons(lh, dataset)
    for r in remaining:
        console.print(f"  [yellow]export encore bloqué : {r}[/yellow]")


@govern.command("revoke-publication")
@click.argument("dataset")
@BY
@REASON
@french_errors
def revoke_publication(dataset, actor, reason):
    """Retirer l'approbation de publication."""
    from governance import decisions

    decisions.publication(lakehouse(), dataset, False, actor, reason, identity=_cli_identity())
    console.print(f"{dataset} : approbation de publication retirée")


@govern.command()
@click.argument("dataset")
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON.")
@french_errors
def show(dataset, as_json):
    """Afficher la classification effective d'un jeu : colonnes, étiquettes, niveau, lignée, décisions."""
    from dataclasses import asdict

    from governance.export_guard import refusal_reasons
    from governance.state import Classifier

    lh = lakehouse()
    cl = Classifier(lh)
    st = cl.state(dataset)
    if as_json:
        click.echo(json.dumps(asdict(st), ensure_ascii=False, indent=1, default=str))
        return
    console.print(f"[bold]{dataset}[/bold] — niveau {st.level} (propre {st.own_level}, hérité {st.inherited_level})")
    if st.parents:
        console.print(f"sources (dbt) : {', '.join(st.parents)}")
    if st.declassification:
        d = st.declassification
        console.print(f"déclassé à {d['level']} par {d['by']} le {d['at']} : {d['reason']}")
    t = Table()
    for col in ("colonne", "nature", "étiquettes", "niveau", "décision", "revue"):
        t.add_column(col)
    for c in st.columns.values():
        dec = f"{c.decision['action']} par {c.decision['by']}" if c.decision else "—"
        t.add_row(c.name, c.kind, ", ".join(c.tags) or "—", c.level, dec, "en attente" if c.pending else "")
    console.print(t)
    reasons = refusal_reasons(lh, dataset, cl)
    console.print("open data : " + ("autorisé" if not reasons else "refusé — " + " ; ".join(reasons)))


@govern.command()
@french_errors
def propagate():
    """Calculer les niveaux effectifs (lignée dbt) et les écrire dans le registre."""
    from governance.classify import propagate as run

    for name, level in sorted(run(lakehouse()).items()):
        console.print(f"{name} : {level}")


@govern.command()
@french_errors
def serve():
    """Reconstruire la base DuckDB de service (vues curated / masked / public) et la basculer."""
    from governance.serving import build_serving_catalog

    path = build_serving_catalog(lakehouse())
    console.print(f"base de service reconstruite : {path}")


@govern.command()
@click.option(
    "--sortie", "out", type=click.Path(path_type=Path), help="Fichier HTML (défaut : <données>/catalog/index.html)."
)
@french_errors
def catalog(out):
    """Générer la page HTML du catalogue (jeux, colonnes, étiquettes, niveaux, preuves, revues)."""
    from governance.catalog_page import write_catalog_page

    path = write_catalog_page(lakehouse(), out)
    console.print(f"catalogue écrit : {path}")


@govern.command("sync-openmetadata")
@click.option(
    "--sortie",
    "out",
    type=click.Path(path_type=Path),
    help="Dossier des charges utiles (défaut : <données>/openmetadata/).",
)
@french_errors
def sync_openmetadata(out):
    """Produire les charges utiles OpenMetadata et les pousser si HYPERVISEUR_OPENMETADATA_URL est défini."""
    from governance.openmetadata import build_payloads, push, write_payloads

    lh = lakehouse()
    payloads = build_payloads(lh)
    folder = write_payloads(payloads, out or Path(lh.settings.data_dir) / "openmetadata")
    console.print(f"charges utiles écrites dans {folder} ({sum(len(v) for v in payloads.values())} objets)")
    host = lh.settings.openmetadata_url  # HYPERVISEUR_OPENMETADATA_URL, jeton HYPERVISEUR_OPENMETADATA_TOKEN(_FILE)
    if host:
        push(payloads, host, lh.settings.openmetadata_token)
        console.print(f"charges utiles envoyées à {host}")
