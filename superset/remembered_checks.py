"""Superset's permission checks answered from memory while the metadata database is unchanged.

Flask-AppBuilder decides each permission by reading the metadata database: at every API call
the ``Public`` role's permissions (``is_item_public``, asked first even for a signed-in user)
and, for a chart, the user's roles and their permissions several times over
(``_has_view_access``): ≈ a quarter of the CPU of a chart answered from Superset's cache.
Row-level security is read the same way at every chart request (``get_rls_filters``: the
rules of the user's roles on the dataset, ≈ a tenth of the CPU of such a request), and, for a
virtual dataset (the public and clear ones), once more for each table its SQL reads, to put
those tables' rules in the answer's cache key (≈ a twelfth: the SQL parsed, each table's
dataset looked up; :func:`remember_rule_free_virtual_sql`).
All these answers depend only on that database (and on the configuration, fixed for a
process), so each worker keeps them for as long as the database's counter of access-relevant
changes (``metadata_epoch.py``) keeps the value this request read before any of its checks: a
role, a permission, a row-level security rule or an account changed anywhere, by any writer,
and the next request decides afresh. No counter (a database without its triggers): nothing is remembered.

The same counter keeps, per worker, a copy of the rows a chart request reads before its checks:
its dataset (with its columns, metrics and database) and the signed-in account
(:func:`remembered_dataset`, :meth:`RememberedChecks.get_user_by_id`); each request gets its
own object merged from the copy.

Mixed into the security manager by ``superset_config.py``; runs only inside Superset's
virtualenv.
"""

from __future__ import annotations

import threading


class RememberedChecks:
    """Security manager mixin: permission checks kept per value of the metadata counter."""

    read_epoch = None  # metadata_epoch.read, set by superset_config.py when the triggers are laid

    def _remembered(self, key: tuple, check):
        """``check()``'s answer, kept for ``key`` while the metadata counter stays the same."""
        from superset import db

        epoch = self.read_epoch(db.session) if self.read_epoch else None
        if epoch is None:
            return check()
        state = self.__dict__.setdefault("_remembered_state", {"lock": threading.Lock(), "epoch": None, "answers": {}})
        with state["lock"]:
            if state["epoch"] is None or epoch > state["epoch"]:  # the database changed: forget everything
                state["epoch"], state["answers"] = epoch, {}
            found = state["answers"].get(key) if state["epoch"] == epoch else None
        if found is None:
            found = check()
            with state["lock"]:
                if state["epoch"] == epoch:  # not if the database changed meanwhile
                    state["answers"][key] = found
        return found

    def get_user_by_id(self, pk):
        """The account of a chart data request from a copy kept while the metadata counter is
        unchanged (its SELECT: ≈ a twelfth of a checked request's CPU); Superset's read otherwise.
        Whether the account is active, its roles: any change counts (``metadata_epoch.py``);
        only the sign-in bookkeeping columns do not, and no chart request reads them."""
        if isinstance(pk, int) and (copy := _kept_copy(self, self.user_model, pk)) is not None:
            return copy
        return super().get_user_by_id(pk)

    def _signed_in_id(self, user) -> int | None:
        """The id of a signed-in account; None for a guest or the public (then as Superset)."""
        user_id = getattr(user, "id", None)
        if not isinstance(user, self.user_model) or not isinstance(user_id, int) or not user.is_authenticated:
            return None
        return user_id

    def is_item_public(self, permission_name, view_name):
        return self._remembered(
            ("public", permission_name, view_name),
            lambda: bool(super(RememberedChecks, self).is_item_public(permission_name, view_name)),
        )

    def _has_view_access(self, user, permission_name, view_name) -> bool:
        if (user_id := self._signed_in_id(user)) is None:
            return super()._has_view_access(user, permission_name, view_name)
        return self._remembered(
            ("user", user_id, permission_name, view_name),
            lambda: bool(super(RememberedChecks, self)._has_view_access(user, permission_name, view_name)),
        )

    def get_rls_filters(self, table):
        """The row-level security rules of the request's user (``g.user``, as Superset) on
        ``table``: rows of (id, group key, clause), detached from any session."""
        from flask import g

        user_id = self._signed_in_id(g.get("user"))
        table_id = getattr(table, "id", None)
        if user_id is None or not isinstance(table_id, int):
            return super().get_rls_filters(table)
        rules = self._remembered(
            ("rls", user_id, table_id), lambda: tuple(super(RememberedChecks, self).get_rls_filters(table))
        )
        return list(rules)

    def rule_free_sql(self, sql: str, database, catalog: str | None, schema: str) -> bool:
        """True when no table ``sql`` reads has a row-level security rule for the request's
        signed-in user, remembered as the other checks; False when it has one, or for anyone
        else (a guest's rules come from the request, not from the database).

        Read as Superset reads it (``SQLScript``, ``get_predicates_for_table``). Whether there
        is a rule depends on the metadata database and the user alone, so it is remembered;
        the rules' clauses are not (a clause is a template that may read the request), Superset
        renders them at each request. An error (SQL it cannot read, the database) propagates,
        so nothing is remembered from it."""
        from flask import g

        user_id = self._signed_in_id(g.get("user"))
        if user_id is None:
            return False
        return self._remembered(
            ("rule-free sql", user_id, database.id, sql, catalog, schema),
            lambda: not _rules_of_tables_read(sql, database, catalog, schema),
        )


def _rules_of_tables_read(sql: str, database, catalog: str | None, schema: str) -> bool:
    from superset.sql.parse import SQLScript
    from superset.utils import rls

    default_catalog = database.get_default_catalog()
    return any(
        rls.get_predicates_for_table(table.qualify(catalog=catalog, schema=schema), database, default_catalog)
        for statement in SQLScript(sql, engine=database.db_engine_spec.engine).statements
        for table in statement.tables
    )


def remember_rule_free_virtual_sql() -> None:
    """A virtual dataset's cache-key rules (``collect_rls_predicates_for_sql``) are none
    without reading its SQL again while :meth:`RememberedChecks.rule_free_sql` remembers so;
    otherwise, or when that cannot be decided, Superset collects them as before."""
    from superset import security_manager
    from superset.utils import rls

    collect = rls.collect_rls_predicates_for_sql

    def collect_rls_predicates_for_sql(sql, database, catalog, schema):
        try:
            if security_manager.rule_free_sql(sql, database, catalog, schema):
                return []
        except Exception:  # SQL it cannot read, a database error: Superset's own call decides
            pass
        return collect(sql, database, catalog, schema)

    rls.collect_rls_predicates_for_sql = collect_rls_predicates_for_sql


# What a chart request reads of its dataset besides the dataset's own row: read once with it.
DATASET_RELATIONS = ("columns", "metrics", "database")
CHART_DATA_ENDPOINT = "ChartDataRestApi.data"  # the only requests given the kept copy (they never write it)


def remembered_dataset(model, dataset_id: int):
    """The dataset ``dataset_id`` for this request's session, from a copy each worker keeps
    while the metadata counter is unchanged; None (then Superset looks it up) when there is
    no counter or no such dataset.

    Superset reads the dataset's row, then its columns, metrics and database in three more
    SELECTs, at every chart request (≈ a quarter of a checked request's CPU). The copy is read
    with those relations (:func:`_kept_copy`). A dataset, its columns, metrics or database
    changed anywhere changes the counter, and the next request reads it afresh."""
    from superset import security_manager

    return _kept_copy(security_manager, model, dataset_id, DATASET_RELATIONS)


def _kept_copy(security_manager, model, pk: int, relations: tuple[str, ...] = ()):
    """Row ``pk`` of ``model`` (with ``relations``) for this request's session, from a copy kept
    per worker while the metadata counter is unchanged; None when there is no counter, no
    such row, or the request is not a chart data request.

    The copy is read in its own session and kept detached; each request gets its own object,
    merged into its session without any SELECT (``merge(load=False)``, the SQLAlchemy way to
    use an object from a cache), so nothing is shared between requests and any other attribute
    still loads from the database as before. Only chart data requests get it: they read these
    rows, never write them (the dataset editor and the account pages keep Superset's own read)."""
    from flask import has_request_context, request

    from superset import db

    read_epoch = security_manager.read_epoch
    if not has_request_context() or request.endpoint != CHART_DATA_ENDPOINT:
        return None
    if read_epoch is None or read_epoch(db.session) is None:
        return None
    copy = security_manager._remembered(("row", model.__name__, pk), lambda: _detached(db.engine, model, pk, relations))
    return db.session.merge(copy, load=False) if copy is not None else None


def _detached(engine, model, pk: int, relations: tuple[str, ...]):
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        row = session.get(model, pk)
        for relation in relations if row is not None else ():
            getattr(row, relation)
    return row  # closing the session detached it, relations loaded
