"""Superset's per-request work done once (``superset/done_once.py``): the
periods read with the kept date words and parse trees give exactly Superset's own dates, and
a kept tree still reads the clock at every request; the connection ping is taken off a local
metadata file only. Run in Superset's own virtualenv."""

from __future__ import annotations

import textwrap
from pathlib import Path

from in_superset_venv import run_script

from superset import service

HERE = Path(service.__file__).resolve().parent

# Each script loads the repository's modules by path from the folder given first.
LOAD = textwrap.dedent(
    """
    import importlib.util, json, sys
    from pathlib import Path

    def load(name):
        spec = importlib.util.spec_from_file_location(f"hyperviseur_{name}", Path(sys.argv[1]) / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    """
)

SCRIPT = LOAD + textwrap.dedent(
    """
    from datetime import datetime
    from superset.utils import date_parser

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


PING_SCRIPT = LOAD + textwrap.dedent(
    """
    from flask import Flask
    from sqlalchemy import event, text
    from superset import db
    from superset.utils.core import pessimistic_connection_handling

    once = load("done_once")

    def statements(uri):
        app = Flask("essai")
        app.config.update(SQLALCHEMY_DATABASE_URI=uri, SQLALCHEMY_TRACK_MODIFICATIONS=False)
        db.init_app(app)
        with app.app_context():
            pessimistic_connection_handling(db.engine)  # as Superset's start does
            once.no_ping_of_a_local_metadata_file()
            if db.engine.dialect.name != "sqlite":
                return [getattr(f, "__name__", "") for f in db.engine.dispatch.engine_connect]
            sent = []
            event.listen(db.engine, "before_cursor_execute", lambda *a: sent.append(a[2]))
            for _ in range(3):
                db.session.execute(text("SELECT 42")).scalar()
                db.session.remove()
            return sent

    print(json.dumps({"sqlite": statements(f"sqlite:///{sys.argv[2]}"),
                      "server": statements("postgresql://superset@127.0.0.1:9/superset")}))
    """
)


def test_the_ping_is_taken_off_a_local_metadata_file_only(tmp_path):
    out = run_script(PING_SCRIPT, str(HERE), str(tmp_path / "metadata.db"), cwd=tmp_path)
    assert out["sqlite"] == ["SELECT 42"] * 3  # three sessions, three connections, no SELECT 1
    assert out["server"] == ["ping_connection"]  # a metadata server keeps Superset's ping
