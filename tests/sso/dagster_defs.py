"""A tiny Dagster code location for the sign-on gateway tests (fast to load)."""

import dagster as dg


@dg.asset
def releves_eau() -> int:
    return 1


defs = dg.Definitions(assets=[releves_eau], jobs=[dg.define_asset_job("job_releves", selection=[releves_eau])])
