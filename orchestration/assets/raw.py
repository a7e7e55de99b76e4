"""Raw datasets as assets: every raw dataset ``raw/<source>/<dataset>`` dbt sources point to.

In production the raw zone is filled by the stream consumer (sensors over MQTT) and by the
files dropped in the inbox, ingested here through the connector registry. The asset is
built by :func:`raw_ingestion_asset` so the demo code location (``orchestration.demo``)
can fill the same keys with its simulated territory without the production graph ever
containing simulation code.
"""

from collections.abc import Callable
from pathlib import Path

import dagster as dg

from ingestion.datasets import CANONICAL
from lakehouse.errors import StorageError
from lakehouse.platform import Lakehouse
from orchestration.resources import LakehouseResource
from quality.suites import RAW_DATASETS

RAW_OP = "ingestion_brute"
MAX_TRANSIENT_RETRIES = 3

# rows received, rows written to raw, rows quarantined — per canonical dataset
Counts = dict[str, tuple[int, int, int]]


def raw_key(dataset: str) -> dg.AssetKey:
    spec = CANONICAL[dataset]
    return dg.AssetKey(["raw", spec.source, spec.name])


RAW_KEYS = {name: raw_key(name) for name in RAW_DATASETS}


class InboxConfig(dg.Config):
    """Files to ingest, each as ``"connector|path"`` (set by the inbox sensor)."""

    files: list[str] = []


def _specs() -> list[dg.AssetSpec]:
    return [
        dg.AssetSpec(
            key,
            group_name="brut",
            description=CANONICAL[name].description,
            kinds={"parquet"},
            metadata={"jeu_de_donnees": name, "service": CANONICAL[name].owner_service},
            skippable=True,
        )
        for name, key in RAW_KEYS.items()
    ]


def transient(exc: BaseException) -> bool:
    """Errors worth retrying: the object store or a broker not answering for a moment."""
    return isinstance(exc, (StorageError, ConnectionError, TimeoutError)) and not isinstance(exc, FileNotFoundError)


def retry_if_transient(context: dg.AssetExecutionContext, exc: BaseException) -> None:
    if transient(exc) and context.retry_number < MAX_TRANSIENT_RETRIES:
        wait = 2 ** (context.retry_number + 1)
        context.log.warning(f"Erreur passagère ({exc}) : nouvel essai dans {wait} s")
        raise dg.RetryRequested(max_retries=MAX_TRANSIENT_RETRIES, seconds_to_wait=wait) from exc


def raw_ingestion_asset(
    fill: Callable[[dg.AssetExecutionContext, Lakehouse, dg.Config], Counts],
    config_type: type[dg.Config],
    description: str,
) -> dg.AssetsDefinition:
    """The multi-asset of every raw dataset, filled by ``fill`` (inbox files, or the demo)."""

    @dg.multi_asset(specs=_specs(), name=RAW_OP, can_subset=False, description=description)
    def raw_datasets(context: dg.AssetExecutionContext, config: config_type, lakehouse: LakehouseResource):
        lh = lakehouse.get()
        try:
            counts = fill(context, lh, config)
        except Exception as exc:
            retry_if_transient(context, exc)
            raise
        for name, (rows_in, rows_raw, rows_quarantined) in counts.items():
            if name in RAW_KEYS:
                yield dg.MaterializeResult(
                    asset_key=RAW_KEYS[name],
                    metadata={
                        "lignes_recues": rows_in,
                        "lignes_brutes": rows_raw,
                        "lignes_en_quarantaine": rows_quarantined,
                        "emplacement": f"{lh.storage.url}/{lh.lake.dataset_prefix('raw', *name.split('.', 1))}",
                    },
                )

    return raw_datasets


def ingest_inbox(context: dg.AssetExecutionContext, lh: Lakehouse, config: InboxConfig) -> Counts:
    """Ingest inbox files through the connector registry (``ingestion.sources``)."""
    from ingestion.sources.runner import ingest_path

    counts: dict[str, list[int]] = {}
    for item in config.files:
        connector, _, location = item.partition("|")
        path = Path(location)
        if location.startswith("s3://"):
            key = location.split("/", 3)[3]
            path = lh.storage.scratch_dir() / "inbox" / key
            path.parent.mkdir(parents=True, exist_ok=True)
            lh.storage.download(key, path)
        run = ingest_path(lh, connector, path)
        context.log.info(f"{location} : {run.report.rows_in} ligne(s) reçue(s) par le connecteur {connector}")
        for name, c in run.report.datasets.items():
            acc = counts.setdefault(name, [0, 0, 0])
            acc[0] += c.rows_in
            acc[1] += c.rows_raw
            acc[2] += c.rows_quarantined
    return {k: tuple(v) for k, v in counts.items()}


inbox_raw_datasets = raw_ingestion_asset(
    ingest_inbox,
    InboxConfig,
    "Fichiers déposés dans la boîte de réception, ingérés par leur connecteur (les flux MQTT arrivent "
    "par le consommateur en continu).",
)
