"""Which chart requests may be answered before Superset's checks, by the period they ask
(``superset/answer_cache.py``: ``time_bound``, grants keyed by day), in Superset's own
virtualenv with the modules loaded as ``superset_config.py`` loads them."""

from __future__ import annotations

import textwrap
from pathlib import Path

from in_superset_venv import run_script

from superset import service

HERE = Path(service.__file__).resolve().parent

SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, sys, types
    from pathlib import Path
    from flask import Flask

    def load(name):
        spec = importlib.util.spec_from_file_location(f"hyperviseur_{name}", Path(sys.argv[1]) / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[f"hyperviseur_{name}"] = module
        spec.loader.exec_module(module)
        return module

    load("file_cache"); windows = load("time_windows"); cache = load("answer_cache")
    starter = windows.TIME_WINDOW["P1D"][0]
    today = {"DEFAULT_RELATIVE_START_TIME": "today", "DEFAULT_RELATIVE_END_TIME": "today"}

    def query(time_range=None, filters=(), extras=None, shift=None, offsets=(), bounds=(None, None)):
        return types.SimpleNamespace(
            time_range=time_range, filter=[{"col": "d", "op": "TEMPORAL_RANGE", "val": v} for v in filters],
            extras=extras or {}, time_shift=shift, time_offsets=list(offsets), from_dttm=bounds[0], to_dttm=bounds[1],
        )

    def bound(*queries, config=today):
        return cache.time_bound(types.SimpleNamespace(queries=list(queries)), config)

    cases = {
        "no period": bound(query(), query("No filter")),
        "starter window": bound(query(starter, [starter])),
        "Last week": bound(query(None, ["Last week"])),
        "fixed and day-bound": bound(query(), query(None, [starter])),
        "from now": bound(query(None, ['DATEADD(DATETIME("now"), -7, day) : now'])),
        "Last 24 hours": bound(query(None, ["Last 24 hours"])),
        "dates": bound(query("2026-01-01 : 2026-02-01")),
        "one moving among others": bound(query(None, [starter]), query(None, ["now : tomorrow"])),
        "time shift": bound(query(None, [starter], shift="1 week ago")),
        "offsets": bound(query(None, [starter], offsets=["1 year ago"])),
        "relative end moved": bound(query(None, ["Last week"], extras={"relative_end": "now"})),
        "instant comparison": bound(query(None, [starter], extras={"instant_time_comparison_range": "y"})),
        "bounds without a period": bound(query(bounds=("2026-01-01", None))),
        "end set to now": bound(query(None, ["Last week"]), config={**today, "DEFAULT_RELATIVE_END_TIME": "now"}),
        "not a string": bound(query(None, [["Last week"]])),
    }
    grants = cache.Grants(sys.argv[2], "set-up", lambda session: 1)
    app = Flask("essai")
    with app.test_request_context("/api/v1/chart/data", method="POST", json={"queries": [1]}):
        grants.put(grants.key(7, 1, "2026-12-01"), "digest", ["k"])
        kept = {
            "same day": grants.get(grants.key(7, 1, "2026-12-01")),
            "next day": grants.get(grants.key(7, 1, "2026-12-02")),
            "no day": grants.get(grants.key(7, 1)),
            "another person": grants.get(grants.key(8, 1, "2026-12-01")),
        }
    print(json.dumps({"cases": cases, "kept": kept}))
    """
)


def test_only_periods_bounded_by_whole_days_are_noted_and_for_their_day_only(tmp_path):
    result = run_script(SCRIPT, str(HERE), str(tmp_path / "grants"), cwd=tmp_path)
    day, fixed = "day", "fixed"
    assert result["cases"] == {
        "no period": fixed,
        "starter window": day,
        "Last week": day,
        "fixed and day-bound": day,
        "from now": None,
        "Last 24 hours": None,
        "dates": None,
        "one moving among others": None,
        "time shift": None,
        "offsets": None,
        "relative end moved": None,
        "instant comparison": None,
        "bounds without a period": None,
        "end set to now": None,
        "not a string": None,
    }
    assert result["kept"] == {"same day": ["digest", ["k"]], "next day": None, "no day": None, "another person": None}
