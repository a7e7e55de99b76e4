"""Great Expectations suites (``quality/``) run as Dagster asset checks.

Each checked dataset gets two checks: ``controles_bloquants`` (blocking: a failure stops
every downstream asset, hence later publication) and ``avertissements`` (recorded only).
Results are also kept in ``_meta/quality/`` with an HTML report.
"""

import dagster as dg

from orchestration.assets.raw import MAX_TRANSIENT_RETRIES, RAW_KEYS
from orchestration.resources import LakehouseResource
from orchestration.undelivered import reads_undelivered
from quality.suites import MARTS

BLOCKING_CHECK = "controles_bloquants"
WARNING_CHECK = "avertissements"


def _slug(dataset: str) -> str:
    return dataset.replace(".", "__")


def checked(lh, dataset: str):
    """The dataset's quality result; a mart built from a raw dataset the territory has not
    delivered yet may have no row (:mod:`orchestration.undelivered`; the raw zone is looked
    at only for a mart without rows)."""
    from quality.runner import run_suite

    return run_suite(lh, dataset, empty_allowed=lambda: dataset in MARTS and reads_undelivered(lh, dataset))


def quality_check(dataset: str, key: dg.AssetKey) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(
        name=f"qualite_{_slug(dataset)}",
        specs=[
            dg.AssetCheckSpec(
                BLOCKING_CHECK,
                asset=key,
                blocking=True,
                description="Contrôles bloquants (schéma, valeurs obligatoires, bornes, référentiels, clés)",
            ),
            dg.AssetCheckSpec(
                WARNING_CHECK,
                asset=key,
                description="Avertissements (fraîcheur, variation du nombre de lignes, références secondaires)",
            ),
        ],
    )
    def _check(context: dg.AssetCheckExecutionContext, lakehouse: LakehouseResource):
        import duckdb

        try:
            result = checked(lakehouse.get(), dataset)
        except (duckdb.HTTPException, ConnectionError, TimeoutError) as exc:
            if context.retry_number < MAX_TRANSIENT_RETRIES:
                wait = 2 ** (context.retry_number + 1)
                context.log.warning(f"Lac injoignable ({exc}) : nouvel essai dans {wait} s")
                raise dg.RetryRequested(max_retries=MAX_TRANSIENT_RETRIES, seconds_to_wait=wait) from exc
            raise
        failures = "\n".join(f["message"] for f in result.failures)
        warnings = "\n".join(f["message"] for f in result.warnings)
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name=BLOCKING_CHECK,
            passed=result.blocking_passed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "lignes": result.rows or 0,
                "echecs": failures or "aucun",
                "controles": sum(1 for c in result.checks if c["severity"] == "blocking"),
            },
            description=failures or "Tous les contrôles bloquants sont réussis",
        )
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name=WARNING_CHECK,
            passed=not result.warnings,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"avertissements": warnings or "aucun"},
            description=warnings or "Aucun avertissement",
        )

    return _check


asset_checks = [quality_check(name, key) for name, key in RAW_KEYS.items()] + [
    quality_check(name, dg.AssetKey([name])) for name in MARTS
]
