"""Allowlist guard for the SQL Superset sends to DuckDB (SQL Lab, charts, virtual datasets).

Loaded by ``superset_config.py`` inside Superset's virtualenv, and importable from the
platform's: it needs ``sqlglot`` only (Superset's own parser is used when present).

A statement is accepted only if it parses (sqlglot, DuckDB dialect) to exactly one plain
read query whose every node is on an allowlist:

- statement kinds: SELECT, set operations (UNION / INTERSECT / EXCEPT), non-recursive WITH,
  VALUES in a FROM; nothing else (PIVOT, SUMMARIZE, DESCRIBE, SHOW, EXPLAIN, PRAGMA, SET,
  CALL, COPY, EXPORT, ATTACH, INSTALL, LOAD, CREATE, DROP, PREPARE, EXECUTE… are refused
  because they are not on the list, not because they are on a blocklist);
- syntax nodes: :data:`ALLOWED_NODES` (columns, literals, operators, joins, windows…);
- functions: :data:`ALLOWED_FUNCTIONS`, ordinary scalar / aggregate / window functions of
  charts; no table function at all, nothing that reads files, settings or the catalog;
- relations: ``schema.table`` names (plain identifiers) or CTE names; no string paths,
  no catalog-qualified names, no system schemas (``information_schema``, ``pg_catalog``),
  no ``duckdb_*`` / ``sqlite_*`` / ``pragma_*`` objects; and the relations found must be
  exactly the tables Superset extracts (``superset.sql.parse``), so dataset permissions
  and row-level security always apply.

The statement that runs is the one regenerated from the checked syntax tree, so DuckDB
never sees text the guard did not read. Non-admin results are capped by the outermost
LIMIT (and OFFSET may not page past the cap).

:func:`apply_limits` sets DuckDB's memory and thread limits and arms a statement timeout
(DuckDB has none): each cursor ``execute`` starts a timer that calls
``connection.interrupt()`` when it expires.
"""

from __future__ import annotations

import re
import threading

import sqlglot
from sqlglot import exp

__all__ = [
    "ALLOWED_FUNCTIONS",
    "ALLOWED_NODES",
    "ForbiddenStatement",
    "apply_limits",
    "check",
    "guard",
]


class ForbiddenStatement(Exception):
    """A statement refused by the guard; Superset shows the (French) message to the user."""


# -- functions --------------------------------------------------------------------------
# Names as DuckDB spells them and as sqlglot canonicalises them (``exp.Func.sql_name``),
# both lower case: the statement run is regenerated from the tree, so a typed sqlglot
# function becomes its DuckDB equivalent.
_AGGREGATES = """
count count_if countif sum avg mean min max median mode stddev stddev_pop stddev_samp
variance var_pop var_samp variance_pop variance_samp quantile quantile_cont quantile_disc
percentile_cont percentile_disc approx_count_distinct approx_distinct approx_quantile
any_value arbitrary arg_max arg_min argmax argmin max_by min_by first last bool_and bool_or
logical_and logical_or string_agg group_concat listagg corr covar_pop covar_samp product
entropy kurtosis skewness regr_slope regr_intercept regr_r2 regr_count fsum sumkahan
kahan_sum favg bit_and bit_or bit_xor
"""
_WINDOWS = """
row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value
"""
_SCALARS = """
abs ceil ceiling floor round trunc sign sqrt cbrt power pow exp ln log log10 log2 greatest
least mod nullif coalesce ifnull nvl if iff case cast try_cast isnan is_nan isinf is_inf
isfinite pi degrees radians even fdiv fmod div safe_divide
lower upper lcase ucase length len char_length character_length strlen concat concat_ws
substring substr left right trim ltrim rtrim replace lpad rpad pad starts_with ends_with
suffix prefix contains strpos instr str_position position split_part regexp_matches
regexp_like regexp_replace regexp_extract reverse format printf md5 sha256 sha2 hash ascii
chr initcap strip_accents translate like_escape
date_trunc datetrunc timestamp_trunc date_part datepart extract strftime time_to_str
strptime str_to_time to_timestamp unix_to_time epoch epoch_ms epoch_us time_to_unix
make_date date_from_parts make_timestamp timestamp_from_parts date_diff datediff
date_add date_sub datesub dayofweek day_of_week dayofmonth day_of_month dayofyear
day_of_year isodow dayofweek_iso dow year month day hour minute second week weekofyear
week_of_year weekday quarter yearweek isoyear now current_date current_timestamp today
age last_day monthname dayname timezone time_bucket date_bin to_hours to_minutes to_days
to_seconds to_weeks to_months to_years date typeof
"""
ALLOWED_FUNCTIONS: frozenset[str] = frozenset((_AGGREGATES + _WINDOWS + _SCALARS).split())

# -- syntax nodes -----------------------------------------------------------------------
# sqlglot expression classes a plain read query may contain. ``exp.Func`` nodes are
# checked against ALLOWED_FUNCTIONS instead. Anything else is refused.
_NODES = """
Select Union Intersect Except With CTE Subquery From Join Where Group Having Qualify Order
Ordered Limit Offset Fetch Distinct Values Table TableAlias Alias Column Identifier Star
Literal Boolean Null Paren Tuple Window WindowSpec Filter Interval Var DataType
DataTypeParam Bracket Neg Not And Or Xor EQ NEQ NullSafeEQ NullSafeNEQ GT GTE LT LTE Is In
Between Like ILike SimilarTo Add Sub Mul Div IntDiv Mod Pow DPipe Concat BitwiseAnd
BitwiseOr BitwiseXor BitwiseNot BitwiseLeftShift BitwiseRightShift Exists Any All
RegexpLike RegexpILike Escape AtTimeZone IgnoreNulls RespectNulls When Whens
Slice WithinGroup
"""
ALLOWED_NODES: frozenset[str] = frozenset(_NODES.split())

# Statement kinds accepted at the top of the tree.
_QUERY_ROOTS = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery)

# Relation names as the serving catalog spells them: lower case, so that the name DuckDB
# resolves (case-insensitively) is the very one Superset checks permissions and RLS on.
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_SYSTEM_SCHEMAS = {"information_schema", "pg_catalog", "system", "temp"}
_SYSTEM_PREFIXES = ("duckdb_", "sqlite_", "pragma_", "pg_")


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower()


def _cte_names(tree: exp.Expression) -> set[str]:
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


def _relations(tree: exp.Expression, ctes: set[str]) -> set[tuple[str | None, str | None, str]]:
    """Every named relation of the tree (CTE references excepted), checked one by one."""
    found = set()
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            what = table.this.sql("duckdb") if table.this is not None else "?"
            raise ForbiddenStatement(
                f"source de données interdite : {what[:80]} (seules les tables et vues nommées schéma.table sont permises)"
            )
        parts = [p for p in (table.catalog, table.db, table.name) if p]
        for part in parts:
            if not _NAME.match(part):
                raise ForbiddenStatement(
                    f"nom de table interdit : « {part[:80]} » (minuscules, chiffres et _ seulement)"
                )
        extra = sorted(k for k, v in table.args.items() if v and k not in {"this", "db", "catalog", "alias"})
        if extra:
            raise ForbiddenStatement(f"syntaxe interdite sur la table {table.name} : {', '.join(extra).upper()}")
        name = table.name.lower()
        schema = (table.db or "").lower()
        if not schema and not table.catalog and name in ctes:
            continue
        if table.catalog:
            raise ForbiddenStatement(
                f"nom qualifié par une base interdit : {table.sql('duckdb')} (écrire schéma.table)"
            )
        if not schema:
            raise ForbiddenStatement(
                f"table sans schéma : {table.name} (écrire schéma.table, par exemple masked.{table.name})"
            )
        if schema in _SYSTEM_SCHEMAS or schema.startswith(_SYSTEM_PREFIXES) or name.startswith(_SYSTEM_PREFIXES):
            raise ForbiddenStatement(f"catalogue système interdit : {table.db}.{table.name}")
        found.add((None, table.db, table.name))
    return found


def _superset_tables(tree: exp.Expression) -> set[tuple[str | None, str | None, str]]:
    """The tables Superset extracts (permissions, RLS) from the same tree."""
    try:
        from superset.sql.parse import SQLStatement
    except ImportError:  # outside Superset (unit tests): same algorithm as Superset 6.1
        return _extract_like_superset(tree)
    tables = SQLStatement(ast=tree.copy(), engine="duckdb").tables
    return {(t.catalog, t.schema, t.table) for t in tables}


def _extract_like_superset(tree: exp.Expression) -> set[tuple[str | None, str | None, str]]:
    from sqlglot.optimizer.scope import ScopeType, traverse_scope

    out = set()
    for scope in traverse_scope(tree):
        parent = scope.parent.sources if scope.parent else {}
        ctes = {n for n, s in parent.items() if getattr(s, "scope_type", None) == ScopeType.CTE}
        for source in scope.sources.values():
            if isinstance(source, exp.Table) and source.name not in ctes:
                out.add((source.catalog or None, source.db or None, source.name))
    return out


def _check_nodes(tree: exp.Expression) -> None:
    for node in tree.walk():
        kind = type(node).__name__
        if kind not in ALLOWED_NODES:
            if not isinstance(node, exp.Func):
                raise ForbiddenStatement(f"syntaxe non autorisée : {kind.upper()}")
            name = _function_name(node)
            if name not in ALLOWED_FUNCTIONS:
                shown = node.sql(dialect="duckdb")[:60]
                raise ForbiddenStatement(f"fonction non autorisée : {name} ({shown})")
        if isinstance(node, exp.With) and node.args.get("recursive"):
            raise ForbiddenStatement("requête récursive (WITH RECURSIVE) interdite")
        if isinstance(node, exp.Values) and not isinstance(node.parent, (exp.From, exp.Join, exp.Subquery, exp.Table)):
            raise ForbiddenStatement("VALUES n'est permis que comme source d'une requête SELECT")


def _int_literal(node: exp.Expression | None) -> int | None:
    value = node.expression if isinstance(node, (exp.Limit, exp.Offset)) else node
    if isinstance(value, exp.Literal) and not value.is_string and value.this.isdigit():
        return int(value.this)
    return None


def _cap(tree: exp.Expression, row_cap: int) -> exp.Expression:
    """Outermost LIMIT at most ``row_cap``; no OFFSET at or past the cap, anywhere."""
    for node in tree.find_all(exp.Offset):
        offset = _int_literal(node)
        if offset is None or offset >= row_cap:
            raise ForbiddenStatement(
                f"OFFSET au-delà de la limite de {row_cap} lignes : la pagination ne contourne pas le plafond"
            )
    if tree.find(exp.Fetch):
        raise ForbiddenStatement("FETCH interdit : utiliser LIMIT")
    limit = _int_literal(tree.args.get("limit"))
    if limit is None or limit > row_cap:
        if not isinstance(tree, exp.Select):
            inner = tree.unnest() if isinstance(tree, exp.Subquery) else tree
            tree = exp.select("*").from_(inner.subquery("hv_capped", copy=True))
        tree.set("limit", exp.Limit(expression=exp.Literal.number(row_cap)))
    return tree


def check(sql: str) -> exp.Expression:
    """The syntax tree of ``sql`` if it is one allowed read query; else ForbiddenStatement."""
    try:
        trees = [t for t in sqlglot.parse(sql, read="duckdb") if t is not None]
    except sqlglot.errors.SqlglotError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ForbiddenStatement(f"requête illisible ou non autorisée : {first[:200]}") from None
    trees = [t for t in trees if not isinstance(t, exp.Semicolon)]
    if len(trees) != 1:
        raise ForbiddenStatement("une seule instruction à la fois")
    tree = trees[0]
    if not isinstance(tree, _QUERY_ROOTS):
        kind = tree.this if isinstance(tree, exp.Command) else sql.split()[0].strip("(;")
        raise ForbiddenStatement(
            f"instruction interdite sur le catalogue de service : {str(kind).upper()[:40]} "
            "(seules les requêtes SELECT sont permises)"
        )
    _check_nodes(tree)
    ctes = _cte_names(tree)
    mine = _relations(tree, ctes)
    try:
        theirs = _superset_tables(tree)
    except Exception as exc:  # Superset could not extract the tables: permissions unknown
        raise ForbiddenStatement(f"tables de la requête indéterminables : {exc}") from None
    if mine != theirs:
        raise ForbiddenStatement(
            "tables de la requête ambiguës (alias de CTE, sous-requête imbriquée…) : "
            "réécrire la requête avec des noms schéma.table explicites"
        )
    return tree


def guard(sql: str, row_cap: int | None = None) -> str:
    """The SQL to run for ``sql``: regenerated from the checked tree, capped if ``row_cap``."""
    tree = check(sql)
    if row_cap is not None:
        tree = _cap(tree, row_cap)
    return tree.sql(dialect="duckdb", comments=False)


# -- resource limits ----------------------------------------------------------------------


def apply_limits(dbapi_connection, memory_limit: str, threads: int, timeout_s: float) -> None:
    """Memory and thread caps (once per DuckDB instance) and a statement timeout per connection.

    Must run before the instance's configuration is locked; a locked instance keeps the
    limits its first connection set. The timeout wraps the connection's cursors: every
    ``execute`` arms a timer that interrupts the connection, so a runaway query ends with
    an error instead of holding a worker.
    """
    locked = dbapi_connection.execute("SELECT current_setting('lock_configuration')").fetchone()[0]
    if not locked:
        dbapi_connection.execute(f"SET memory_limit = '{_size(memory_limit)}'")
        dbapi_connection.execute(f"SET threads = {int(threads)}")
        dbapi_connection.execute("SET python_enable_replacements = false")
    if timeout_s and timeout_s > 0 and not getattr(dbapi_connection, "_hv_timeout", None):
        plain_cursor = dbapi_connection.cursor

        def cursor(*args, **kwargs):
            return _TimedCursor(plain_cursor(*args, **kwargs), dbapi_connection, timeout_s)

        dbapi_connection.cursor = cursor
        dbapi_connection._hv_timeout = timeout_s


def _size(value: str) -> str:
    value = str(value).strip()
    if not re.match(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$", value, re.IGNORECASE):
        raise ValueError(f"limite mémoire DuckDB invalide : {value!r} (exemple : 1GB)")
    return value


class StatementTimeout(Exception):
    """Raised in place of DuckDB's interrupt error when the statement timeout fired."""


class _TimedCursor:
    """A DBAPI cursor whose ``execute`` is interrupted after ``timeout_s`` seconds."""

    def __init__(self, cursor, connection, timeout_s: float):
        self._cursor = cursor
        self._connection = connection
        self._timeout_s = timeout_s

    def execute(self, *args, **kwargs):
        fired = threading.Event()

        def interrupt() -> None:
            fired.set()
            # duckdb_engine's cursor shares the connection; a DuckDB cursor is its own connection
            target = getattr(self._cursor, "interrupt", None) or self._connection.interrupt
            target()

        timer = threading.Timer(self._timeout_s, interrupt)
        timer.daemon = True
        timer.start()
        try:
            return self._cursor.execute(*args, **kwargs)
        except Exception as exc:
            if fired.is_set():
                raise StatementTimeout(
                    f"requête interrompue : durée maximale de {self._timeout_s:g} s dépassée "
                    "(réduire la période, agréger ou filtrer davantage)"
                ) from exc
            raise
        finally:
            timer.cancel()

    def __getattr__(self, name):
        return getattr(self._cursor, name)

    def __iter__(self):
        return iter(self._cursor)
