"""Run a suite with Great Expectations on a dataset read from the lake, and keep the result.

The dataset is read with DuckDB (local folder or S3, only the columns the suite needs)
into a pandas frame validated by an ephemeral GE context. Each expectation becomes a
:class:`~quality.results.CheckOutcome` with a French message; the result is stored in
``_meta/quality/`` and the HTML report is re-rendered.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache

import duckdb
import pandas as pd

from lakehouse.lake import Lake, Zone
from lakehouse.platform import Lakehouse
from quality import report, results
from quality.results import BLOCKING, WARNING, CheckOutcome, QualityResult
from quality.suites import BUILT_AT, CRITICAL, Suite, suite_for

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

META_COLUMNS = ("_ingested_at", "_batch_id")


@lru_cache(maxsize=1)
def _batch_definition():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    asset = ctx.data_sources.add_pandas("lac").add_dataframe_asset("jeu")
    return asset.add_batch_definition_whole_dataframe("tout")


def dataset_location(lh: Lakehouse, dataset: str) -> str:
    """DuckDB table expression reading ``dataset`` from the lake."""
    if "." in dataset:
        source, name = dataset.split(".", 1)
        glob = lh.lake.dataset_glob(Zone.RAW, source, name)
        return f"read_parquet('{glob}', hive_partitioning = true, union_by_name = true)"
    return f"read_parquet('{lh.storage.uri(Lake.curated_key(dataset))}')"


def load(lh: Lakehouse, dataset: str, columns: list[str]):
    """The suite's columns of ``dataset`` as a pandas frame (missing columns left out: the
    schema expectations then fail with a clear message)."""
    con = lh.duckdb()
    try:
        source = dataset_location(lh, dataset)
        present = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        wanted = [c for c in columns if c in present] or present[:1]
        cols = ", ".join(f'"{c}"' for c in wanted)
        return con.execute(f"SELECT {cols} FROM {source}").df()
    finally:
        con.close()


def file_facts(lh: Lakehouse, dataset: str):
    """One row of facts about the mart's file, whatever its rows: when it was written."""
    written = lh.storage.list(Lake.curated_key(dataset))
    return pd.DataFrame({BUILT_AT: [pd.Timestamp(written[0].last_modified) if written else pd.NaT]})


def _message(res, label: str) -> str:
    r = res.result or {}
    if res.success:
        return f"{label} : conforme"
    if res.exception_info and res.exception_info.get("raised_exception"):
        return f"{label} : contrôle impossible ({res.exception_info.get('exception_message', '')[:200]})"
    if "unexpected_count" in r:
        sample = ", ".join(str(v) for v in (r.get("partial_unexpected_list") or [])[:5])
        pct = r.get("unexpected_percent") or 0
        return f"{label} : {r['unexpected_count']} ligne(s) non conforme(s) ({pct:.2f} %), ex. {sample}"
    if "observed_value" in r:
        return f"{label} : valeur observée {r['observed_value']}"
    return f"{label} : non conforme"


def _outcomes(validation) -> list[CheckOutcome]:
    out = []
    for res in validation.results:
        cfg = res.expectation_config
        column = cfg.kwargs.get("column") or ",".join(cfg.kwargs.get("column_list") or [])
        label = (cfg.meta or {}).get("label") or cfg.type
        severity = getattr(cfg, "severity", CRITICAL)
        severity = getattr(severity, "value", severity)
        observed = {
            k: v
            for k, v in (res.result or {}).items()
            if k in ("unexpected_count", "unexpected_percent", "observed_value")
        }
        out.append(
            CheckOutcome(
                check=f"{cfg.type}:{column}" if column else cfg.type,
                severity=BLOCKING if str(severity).lower() == CRITICAL else WARNING,
                passed=bool(res.success),
                message=_message(res, label),
                observed={
                    k: (v if isinstance(v, (int, float, str, bool, type(None))) else str(v))
                    for k, v in observed.items()
                },
            )
        )
    return out


def _validate(df, name: str, expectations: tuple) -> list[CheckOutcome]:
    import great_expectations as gx

    batch = _batch_definition().get_batch(batch_parameters={"dataframe": df})
    return _outcomes(batch.validate(gx.ExpectationSuite(name=name, expectations=list(expectations))))


def validate_frame(df, suite: Suite) -> list[CheckOutcome]:
    """The suite's expectations on the dataset's rows."""
    return _validate(df, suite.dataset, suite.expectations)


def validate_file(facts, suite: Suite) -> list[CheckOutcome]:
    """The suite's expectations on the dataset's file (:func:`file_facts`)."""
    return _validate(facts, suite.dataset, suite.file_expectations) if suite.file_expectations else []


def run_suite(
    lh: Lakehouse, dataset: str, render: bool = True, *, empty_allowed: Callable[[], bool] | None = None
) -> QualityResult:
    """Check ``dataset`` against its suite, store the result and refresh the HTML report.

    ``empty_allowed``, asked only when the dataset has no row: whether that is no failure
    (see :func:`quality.suites.mart_suite`).
    """
    previous = results.latest(lh, dataset)
    previous_rows = previous.rows if previous else None
    suite = suite_for(dataset, previous_rows)
    try:
        df = load(lh, dataset, suite.columns)
    except (duckdb.HTTPException, ConnectionError, TimeoutError):
        raise  # the object store did not answer: transient, the caller retries
    except duckdb.Error as exc:  # unreadable or absent dataset: one blocking failure, never a crash
        outcomes = [CheckOutcome("lecture", BLOCKING, False, f"jeu de données illisible : {exc}")]
        rows = 0
    else:
        if df.empty and empty_allowed is not None and empty_allowed():
            suite = suite_for(dataset, previous_rows, empty_allowed=True)
        outcomes = validate_frame(df, suite) + validate_file(file_facts(lh, dataset), suite)
        rows = len(df)
    result = QualityResult.from_outcomes(dataset, outcomes, rows=rows)
    results.save(lh, result)
    if render:
        report.render(lh)
    return result
