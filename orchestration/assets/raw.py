"""Raw datasets as assets: the demo territory simulation, or files dropped in the inbox.

One multi-asset produces every raw dataset, so both ways of filling the raw zone (the
simulator for ``hyperviseur run``, the inbox sensor for real files) land on the same
asset keys ``raw/<source>/<dataset>`` that dbt sources point to.
"""


import dagster as dg

from ingestion.datasets import CANONICAL
from lakehouse.errors import StorageError
from orchestration.resources import LakehouseResource
from quality.suites import RAW_DATASETS

DEMO_END = "2026-03-15T00:00:00+00:00"
MAX_TRANSIENT_RETRIES = 3


def raw_key(dataset: str) -> dg.AssetKey:
    spec = CANONICAL[dataset]
    return dg.AssetKey(["raw", spec.source, spec.name])


RAW_KEYS = {name: raw_key(name) for name in RAW_DATASETS}


class RawIngestConfig(dg.Config):
    """``mode="demo"`` simulates Val-de-Lys; ``mode="inbox"`` ingests ``files`` ("connector|path")."""

    mode: str = "demo"
    days: float = 14
    scale: float = 1.0
    seed: int = 42
    end: str = DEMO_END
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


@dg.multi_asset(specs=_specs(), name="ingestion_brute", can_subset=False)
def raw_datasets(context: dg.AssetExecutionContext, config: RawIngestConfig, lakehouse: LakehouseResource):
    lh = lakehouse.get()
    try:
        counts = _demo(lh, config) if config.mode == "demo" else _inbox(context, lh, config.files)
    except Exception as exc:
        retry_if_transient(context, exc)
        raise
    for name, (rows_in, rows_raw, rows_quarantined) in counts.items():
        if name in RAW_KEYS:
            yield dg.MaterializeResult(
                asset_key=RAW_KEYS[name],
                metadata={"lignes_recues": rows_in, "lignes_brutes": rows_raw, "lignes_en_quarantaine": rows_quarantined,
                          "emplacement": f"{lh.storage.url}/{lh.lake.dataset_prefix('raw', *name.split('.', 1))}"},
            )


def _demo(lh, config: RawIngestConfig) -> dict[str, tuple[int, int, int]]:
    from orchestration.assets.realtime import simulate_with_live_stream

    result, _ = simulate_with_live_stream(lh, end=config.end, days=config.days, seed=config.seed, scale=config.scale)
    return {n: (c.rows_in, c.rows_raw, c.rows_quarantined) for n, c in result.report.datasets.items()}


def _inbox(context, lh, files: list[str]) -> dict[str, tuple[int, int, int]]:
    """Ingest inbox files through the connector registry (``ingestion.sources``)."""
    from pathlib import Path

    from ingestion.sources.runner import ingest_path

    counts: dict[str, list[int]] = {}
    for item in files:
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
