"""Work Superset repeats at every chart request although its result cannot change: done once
per worker, or once per request, instead (issue 20: many agents on the dashboards at once).

The per-process patches keep what depends only on the process's fixed set-up (the
configuration, the installed libraries, a read-only catalog), never on the request, the user
or the metadata database; the per-request one keeps, for one request, the very object its
database session would return again. Installed by ``FLASK_APP_MUTATOR`` of
``superset_config.py``; runs only inside Superset's virtualenv.
"""

from __future__ import annotations

import types

_DATASETS = "hyperviseur_datasets_read"  # per request, in flask.g
PARSED_PERIODS = 512  # periods' texts kept parsed per process (the starter windows, the agents' own)


def remember_default_schemas() -> None:
    """Ask each DuckDB catalog its default schema once per process, not at every chart request.

    Superset 6.1 adds a virtual dataset's RLS predicates to the cache key and, to do so, opens
    a new connection to the catalog (engine, lockdown, inspector: ≈ 50 ms) on EVERY chart data
    request, cached or not, only to read its default schema, which a read-only catalog
    cannot change.
    """
    from superset.db_engine_specs.duckdb import DuckDBEngineSpec

    ask = DuckDBEngineSpec.get_default_schema.__func__
    known: dict[tuple[str, str | None], str | None] = {}

    def get_default_schema(cls, database, catalog):
        key = (database.sqlalchemy_uri, catalog)
        if key not in known:
            known[key] = ask(cls, database, catalog)
        return known[key]

    DuckDBEngineSpec.get_default_schema = classmethod(get_default_schema)


def share_query_context_schema() -> None:
    """One chart request schema per process, not a new one at every chart request.

    Superset builds a ``ChartDataQueryContextSchema`` for each request it reads, and
    marshmallow deep-copies every field of it, and of each nested schema, at each
    construction: ≈ a twentieth of the CPU of a chart request answered from the cache.
    Loading a request keeps nothing in the schema (marshmallow's ``load`` works on its
    arguments), so one instance reads every request of every thread.
    """
    from superset.charts.data import api

    schema = api.ChartDataQueryContextSchema()
    _build_nested_schemas(schema)
    api.ChartDataQueryContextSchema = lambda: schema


def _build_nested_schemas(schema, path: tuple[type, ...] = ()) -> None:
    """Build each nested schema now, in one thread: marshmallow builds one at its first use
    and fills it in steps, which two threads of a shared schema must not do at once (a schema
    nested in itself is built down to its first repetition)."""
    from marshmallow import fields

    def nested(field):
        if isinstance(field, fields.Nested):
            yield field
        inner = [getattr(field, name, None) for name in ("inner", "key_field", "value_field")]
        for child in [*inner, *getattr(field, "tuple_fields", ())]:
            if child is not None:
                yield from nested(child)

    path = (*path, type(schema))
    for field in schema.fields.values():
        for found in nested(field):
            if type(found.schema) not in path:
                _build_nested_schemas(found.schema, path)


def share_date_words() -> None:
    """One table of date words for every period Superset reads, not a new one per period.

    Superset reads a period such as the starter charts' ``DATEADD(DATETIME("today"), -1,
    year) : tomorrow`` with a new ``parsedatetime.Calendar`` for each word, and each builds
    its ``Constants`` (the locale's words and ≈ 60 regular expressions): half the cost of the
    period, ≈ a twentieth of a chart request. ``Constants`` is only read once built; each
    ``Calendar`` (which keeps a per-parse state) is still new.
    """
    import parsedatetime

    from superset.utils import date_parser

    class SharedConstantsCalendar(parsedatetime.Calendar):
        constants = parsedatetime.Constants()

        def __init__(self, constants=None, version=parsedatetime.VERSION_FLAG_STYLE):
            super().__init__(constants or self.constants, version)

    date_parser.parsedatetime = types.SimpleNamespace(Calendar=SharedConstantsCalendar)


def keep_parsed_periods() -> None:
    """Each period's text parsed once per process, its dates still computed at every request.

    Superset parses a period's bounds (``DATEADD(DATETIME("today"), -1, year)``) with its
    pyparsing grammar at every request: ≈ a fortieth of a chart request. The parse is a tree
    of ``Eval…`` nodes that keep only the words and numbers read; the clock is read when the
    tree is evaluated, at each request, so a kept tree gives today's dates every day.
    """
    from pyparsing import ParseException

    from superset.utils import date_parser

    parsed: dict[str, object] = {}

    def datetime_eval(datetime_expression: str | None = None):
        if not datetime_expression:
            return None
        tree = parsed.get(datetime_expression)
        if tree is None:
            try:
                tree = date_parser.datetime_parser().parseString(datetime_expression)[0]
            except ParseException as ex:
                raise ValueError(ex) from ex  # as Superset's
            if len(parsed) < PARSED_PERIODS:
                parsed[datetime_expression] = tree
        return tree.eval()

    date_parser.datetime_eval = datetime_eval


def read_each_dataset_once_per_request(kept=None) -> None:
    """A chart request reads its dataset once, not once for its context and again per query.

    Superset's query context and each of its query objects look the dataset up by id, each
    with its own SELECT (the second one ≈ a fortieth of a chart request). Within one
    request the database session returns the very same object each time (its identity map),
    so the first one is kept for the request, and used again only while that session still
    holds it.

    ``kept(model, id)``, when given, is asked first for a dataset looked up by id: an object of
    this request's session, or None to look it up as Superset does
    (``remembered_checks.remembered_dataset``).
    """
    from flask import g, has_request_context

    from superset import db
    from superset.daos.datasource import DatasourceDAO

    look_up = DatasourceDAO.get_datasource.__func__

    def read(cls, model, datasource_type, database_id_or_uuid):
        found = kept(model, int(database_id_or_uuid)) if kept and str(database_id_or_uuid).isdigit() else None
        return found if found is not None else look_up(cls, datasource_type, database_id_or_uuid)

    def get_datasource(cls, datasource_type, database_id_or_uuid):
        model = cls.sources.get(datasource_type)
        if model is None or not has_request_context():
            return look_up(cls, datasource_type, database_id_or_uuid)
        read_now = g.setdefault(_DATASETS, {})
        key = (model, str(database_id_or_uuid))
        if key not in read_now or read_now[key] not in db.session:
            read_now[key] = read(cls, model, datasource_type, database_id_or_uuid)
        return read_now[key]

    DatasourceDAO.get_datasource = classmethod(get_datasource)


def no_ping_of_a_local_metadata_file() -> None:
    """Superset sends ``SELECT 1`` to its metadata database each time a request's session
    takes a connection, to find a server connection that dropped (≈ a thirtieth of a chart
    request's CPU). A local SQLite file has no connection to drop, so the ping is taken off
    that engine only; a metadata server (the Kubernetes path) keeps it."""
    from sqlalchemy import event

    from superset import db

    if db.engine.dialect.name != "sqlite":
        return
    for listener in list(db.engine.dispatch.engine_connect):
        if getattr(listener, "__name__", "") == "ping_connection":
            event.remove(db.engine, "engine_connect", listener)


def install(kept_dataset=None) -> None:
    no_ping_of_a_local_metadata_file()
    remember_default_schemas()
    share_query_context_schema()
    share_date_words()
    keep_parsed_periods()
    read_each_dataset_once_per_request(kept_dataset)
