"""Superset's per-request work done once (``superset/done_once.py``): the
periods read with the kept date words and parse trees give exactly Superset's own dates, and
a kept tree still reads the clock at every request. Run in Superset's own virtualenv."""

from __future__ import annotations

import textwrap
from pathlib import Path

from in_superset_venv import run_script

from superset import service

HERE = Path(service.__file__).resolve().parent

SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, sys
    from datetime import datetime
    from pathlib import Path
    from superset.utils import date_parser

    def load(name):
        spec = importlib.util.spec_from_file_location(f"hyperviseur_{name}", Path(sys.argv[1]) / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    windows, once = load("time_windows"), load("done_once")
    periods = sorted(windows.DAY_BOUND_RANGES) + [
        "previous calendar month", "Current year", "2024-01-01 : 2024-02-29",
        'DATEADD(DATETIME("2024-03-31"), -1, month) : 2024-03-31', "1 year ago : today", "Last 3 days : today",
    ]

    def dates():
        return {p: str(date_parser.get_since_until(p, relative_start="today", relative_end="today")) for p in periods}

    superset_own = dates()
    once.share_date_words()
    once.keep_parsed_periods()
    kept_first, kept_again = dates(), dates()

    # a kept tree is evaluated at each call: today moved, the bounds move with it
    expression = 'DATEADD(DATETIME("today"), -1, day)'
    before = str(date_parser.datetime_eval(expression))
    read_clock = date_parser.parse_human_datetime
    date_parser.parse_human_datetime = lambda text: datetime(2030, 1, 1) if text == "today" else read_clock(text)
    moved = str(date_parser.datetime_eval(expression))
    try:
        date_parser.datetime_eval("DATEADD(nonsense")
        refused = None
    except ValueError as exc:
        refused = type(exc).__name__
    print(json.dumps({"own": superset_own, "first": kept_first, "again": kept_again,
                      "before": before, "moved": moved, "refused": refused}))
    """
)


def test_kept_periods_give_superset_s_own_dates_and_follow_the_clock(tmp_path):
    out = run_script(SCRIPT, str(HERE), cwd=tmp_path)
    assert len(out["own"]) >= 10 and "None" not in "".join(out["own"].values())
    assert out["first"] == out["own"] and out["again"] == out["own"]
    assert out["moved"] == "2029-12-31 00:00:00" and out["before"] != out["moved"]
    assert out["refused"] == "ValueError"  # an unreadable period is refused as Superset refuses it
