"""The ODSQL subset of the records API: parse, check against the dataset, compile to DuckDB SQL.

The four query parameters (``select``, ``where``, ``group_by``, ``order_by``) are parsed by
a Lark LALR grammar (``odsql.lark``) into a tree; the tree is then walked by
:class:`Compiler`, which accepts only:

- field names that are published columns of the dataset (the manifest's columns; never a
  lake bookkeeping column, another table or a file);
- the functions of :data:`AGGREGATES` and :data:`TEXT_FUNCTIONS`;
- literals, which become ``?`` parameters of a prepared statement.

So no text of the request is ever pasted into SQL: identifiers are re-emitted from the
allowlist, functions from fixed templates, values as parameters. The ``FROM`` clause is
given by the caller (the published version of the dataset). Every refusal is a
:class:`QueryError` with a French message naming the parameter.

A query grouped by one column, with no ``where``, can be answered from a *rollup* of that
column (one row per value, every aggregate of :func:`rollup_measures` precomputed, see
:mod:`opendata.copies`) when the caller offers one: its aggregates become column reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedInput

from lakehouse.errors import LakehouseError
from opendata.export import quote

GRAMMAR = Path(__file__).with_name("odsql.lark")
AGGREGATES = {"count", "sum", "avg", "min", "max"}
NUMERIC_ONLY = {"sum", "avg"}
TEXT_FUNCTIONS = {"search", "startswith"}
DIRECTIONS = {"asc": "ASC", "desc": "DESC"}
COMPARISONS = {"=": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
MAX_DEPTH = 32  # nesting of boolean expressions
MAX_IN_VALUES = 100
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "REAL", "DECIMAL")


class QueryError(LakehouseError):
    """The query is not in the accepted subset or names something the dataset does not publish."""


@lru_cache(maxsize=1)
def parser() -> Lark:
    return Lark(
        GRAMMAR.read_text(encoding="utf-8"),
        start=["select", "where", "group_by", "order_by"],
        parser="lalr",
        maybe_placeholders=False,
    )


def parse(text: str, start: str) -> Tree:
    try:
        return parser().parse(text, start=start)
    except UnexpectedInput as exc:
        column = getattr(exc, "column", "?")
        raise QueryError(f"paramètre « {start} » : syntaxe ODSQL non reconnue à la colonne {column}") from None
    except LarkError:
        raise QueryError(f"paramètre « {start} » : syntaxe ODSQL non reconnue") from None


@dataclass(frozen=True)
class Query:
    """A checked query: SQL without LIMIT/OFFSET, its parameters, the names of its output columns."""

    select_sql: str
    from_where_sql: str  # FROM … WHERE … (what a count needs)
    tail_sql: str  # GROUP BY … ORDER BY …
    params: list
    output: list[str]
    grouped: bool

    @property
    def sql(self) -> str:
        return f"SELECT {self.select_sql} {self.from_where_sql}{self.tail_sql}"

    def count_sql(self) -> str:
        if self.grouped:
            return f"SELECT count(*) FROM ({self.sql})"
        return f"SELECT count(*) {self.from_where_sql}"


def _unquote_string(token: Token) -> str:
    return re.sub(r"\\(.)", r"\1", str(token)[1:-1])


def _is_numeric(sql_type: str) -> bool:
    return sql_type.upper().startswith(NUMERIC_TYPES)


def rollup_measures(columns: dict[str, str]) -> list[str]:
    """SELECT items of a rollup: each aggregate a grouped query may ask, named by its ODSQL text."""
    items = [f"count(*) AS {quote('count(*)')}"]
    for name, sql_type in columns.items():
        fns = ("count", "min", "max") + (("sum",) if _is_numeric(sql_type) else ())
        items += [f"{fn}({quote(name)}) AS {quote(f'{fn}({name})')}" for fn in fns]
    return items


def _rollup_read(fn: str, name: str) -> str:
    """SQL of ``fn(name)`` on a rollup row (see :func:`rollup_measures`)."""
    if fn == "avg":
        total, count = quote(f"sum({name})"), quote(f"count({name})")
        return f"CASE WHEN {count} = 0 THEN NULL ELSE {total} / {count} END"
    return quote(f"{fn}({name})")


class Compiler:
    """Compiles the parameters of one request against the columns of one dataset."""

    def __init__(self, columns: dict[str, str]):
        self.columns = columns  # published column name -> DuckDB type
        self.rollup = False  # True: aggregates are read from a rollup's columns
        self.params: list = []

    # -- names ---------------------------------------------------------------------------
    @staticmethod
    def _name(node: Tree) -> str:
        token = node.children[0]
        name = str(token)
        return name[1:-1] if token.type == "QUOTED_NAME" else name

    def field(self, node: Tree, param: str) -> str:
        name = self._name(node)
        if name not in self.columns:
            raise QueryError(f"paramètre « {param} » : champ « {name} » inconnu dans ce jeu de données")
        return name

    # -- expressions (select, order_by) --------------------------------------------------
    def expr(self, node: Tree, param: str) -> tuple[str, str, bool]:
        """(SQL, canonical text, is aggregate) of a field or an aggregate."""
        if node.data == "field":
            name = self.field(node, param)
            return quote(name), name, False
        fn = str(node.children[0]).lower()
        if fn not in AGGREGATES:
            raise QueryError(
                f"paramètre « {param} » : fonction « {node.children[0]} » non prise en charge "
                f"(fonctions d'agrégat : {', '.join(sorted(AGGREGATES))})"
            )
        if node.data == "count_all":
            if fn != "count":
                raise QueryError(f"paramètre « {param} » : « {fn}(*) » invalide, seul count(*) est admis")
            return (quote("count(*)") if self.rollup else "count(*)"), "count(*)", True
        name = self.field(node.children[1], param)
        if fn in NUMERIC_ONLY and not _is_numeric(self.columns[name]):
            raise QueryError(f"paramètre « {param} » : {fn}() demande un champ numérique, « {name} » ne l'est pas")
        return (_rollup_read(fn, name) if self.rollup else f"{fn}({quote(name)})"), f"{fn}({name})", True

    # -- where ---------------------------------------------------------------------------
    def _literal(self, node: Tree):
        kind = node.data
        if kind == "string":
            return _unquote_string(node.children[0]), "?"
        if kind == "number":
            text = str(node.children[0])
            return (float(text) if any(c in text for c in ".eE") else int(text)), "?"
        if kind == "date":
            return _unquote_string(node.children[0]), "CAST(? AS TIMESTAMPTZ)"
        if kind in ("true", "false"):
            return kind == "true", "?"
        raise QueryError("paramètre « where » : valeur non reconnue")

    def _operand(self, node: Tree) -> str:
        if node.data == "field":
            return quote(self.field(node, "where"))
        value, template = self._literal(node)
        self.params.append(value)
        return template

    def where(self, node: Tree, depth: int = 0) -> str:
        if depth > MAX_DEPTH:
            raise QueryError(f"paramètre « where » : expression trop imbriquée (plus de {MAX_DEPTH} niveaux)")
        kind = node.data
        if kind in ("or_", "and_"):
            parts = [self.where(c, depth + 1) for c in node.children]
            return parts[0] if len(parts) == 1 else "(" + (" OR " if kind == "or_" else " AND ").join(parts) + ")"
        if kind == "not_":
            return f"(NOT {self.where(node.children[0], depth + 1)})"
        if kind == "comparison":
            left, op, right = node.children
            sql_left = self._operand(left)
            return f"({sql_left} {COMPARISONS[str(op)]} {self._operand(right)})"
        if kind in ("is_null", "is_not_null"):
            name = quote(self.field(node.children[0], "where"))
            return f"({name} IS {'NOT ' if kind == 'is_not_null' else ''}NULL)"
        if kind == "in_list":
            name = quote(self.field(node.children[0], "where"))
            values = node.children[1:]
            if len(values) > MAX_IN_VALUES:
                raise QueryError(f"paramètre « where » : plus de {MAX_IN_VALUES} valeurs dans IN (…)")
            return f"({name} IN ({', '.join(self._operand(v) for v in values)}))"
        if kind == "in_range":
            name = quote(self.field(node.children[0], "where"))
            open_, low, high, close = node.children[1:]
            lower = ">=" if str(open_) == "[" else ">"
            upper = "<=" if str(close) == "]" else "<"
            return f"({name} {lower} {self._operand(low)} AND {name} {upper} {self._operand(high)})"
        if kind == "text_function":
            return self._text_function(node)
        if kind == "search_all":
            text = _unquote_string(node.children[0])
            texts = [c for c, t in self.columns.items() if t.upper() == "VARCHAR"]
            if not texts:
                return "FALSE"
            parts = []
            for c in texts:
                self.params.append(_like_pattern(text))
                parts.append(f"({quote(c)} ILIKE ? ESCAPE '\\')")
            return "(" + " OR ".join(parts) + ")"
        raise QueryError("paramètre « where » : expression non prise en charge")

    def _text_function(self, node: Tree) -> str:
        fn = str(node.children[0]).lower()
        if fn not in TEXT_FUNCTIONS:
            raise QueryError(
                f"paramètre « where » : fonction « {node.children[0]} » non prise en charge "
                f"(fonctions : {', '.join(sorted(TEXT_FUNCTIONS))})"
            )
        name = quote(self.field(node.children[1], "where"))
        text = _unquote_string(node.children[2])
        if fn == "search":
            self.params.append(_like_pattern(text))
            return f"(CAST({name} AS VARCHAR) ILIKE ? ESCAPE '\\')"
        self.params.append(text)
        return f"starts_with(CAST({name} AS VARCHAR), ?)"


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _alias(node: Tree) -> str:
    token = node.children[0]
    name = str(token)[1:-1] if token.type == "QUOTED_NAME" else str(token)
    if name.startswith("_"):
        raise QueryError(f"paramètre « select » : alias « {name} » invalide (ne peut commencer par _)")
    return name


def compile_query(
    columns: dict[str, str],
    source_sql: str,
    *,
    select: str | None = None,
    where: str | None = None,
    group_by: str | None = None,
    order_by: str | None = None,
    rollups: dict[str, str] | None = None,
) -> Query:
    """Check the four ODSQL parameters against ``columns`` and build the DuckDB query.

    ``source_sql`` is the server's own ``FROM`` target (never request text); ``rollups``
    (column -> ``FROM`` target of its rollup) are used for a grouping on one of them without
    ``where``.
    """
    c = Compiler(columns)
    groups: list[str] = []
    if group_by and group_by.strip():
        for node in parse(group_by, "group_by").children:
            name = c.field(node, "group_by")
            if name not in groups:
                groups.append(name)
    rollup = (rollups or {}).get(groups[0]) if len(groups) == 1 and not (where and where.strip()) else None
    if rollup:
        c.rollup, source_sql = True, rollup

    items: list[tuple[str, str, bool]] = []  # (SQL, output name, is aggregate)
    if select and select.strip():
        for item in parse(select, "select").children:
            if item.data == "select_all":
                if groups:
                    raise QueryError("paramètre « select » : « * » impossible avec group_by")
                items.extend((quote(n), n, False) for n in columns)
                continue
            sql, text, is_agg = c.expr(item.children[0], "select")
            name = _alias(item.children[1]) if len(item.children) > 1 else text
            items.append((sql, name, is_agg))
    else:
        names = groups or list(columns)
        items = [(quote(n), n, False) for n in names]

    output = [name for _, name, _ in items]
    duplicates = sorted({n for n in output if output.count(n) > 1})
    if duplicates:
        raise QueryError(f"paramètre « select » : nom de colonne en double : {', '.join(duplicates)} (utiliser « as »)")
    aggregated = any(is_agg for _, _, is_agg in items)
    grouped = bool(groups) or aggregated
    if grouped:
        bare = [sql for sql, _, is_agg in items if not is_agg and sql not in {quote(g) for g in groups}]
        if bare:
            raise QueryError(
                "paramètre « select » : avec un agrégat ou group_by, chaque champ non agrégé doit figurer dans group_by"
            )

    where_sql = ""
    if where and where.strip():
        where_sql = " WHERE " + c.where(parse(where, "where").children[0])

    order_parts = []
    if order_by and order_by.strip():
        aliases = {name: sql for sql, name, _ in items}
        for item in parse(order_by, "order_by").children:
            node = item.children[0]
            direction = "ASC"
            if len(item.children) > 1:
                word = str(item.children[1]).lower()
                if word not in DIRECTIONS:
                    raise QueryError(f"paramètre « order_by » : sens « {item.children[1]} » inconnu (asc ou desc)")
                direction = DIRECTIONS[word]
            if node.data == "field" and c._name(node) in aliases and c._name(node) not in columns:
                sql = quote(c._name(node))  # an alias of the select
            else:
                sql, _, is_agg = c.expr(node, "order_by")
                if grouped and not is_agg and node.data == "field" and c.field(node, "order_by") not in groups:
                    raise QueryError("paramètre « order_by » : avec group_by, trier sur un champ groupé ou un agrégat")
            order_parts.append(f"{sql} {direction} NULLS LAST")

    select_sql = ", ".join(f"{sql} AS {quote(name)}" for sql, name, _ in items)
    tail = ""
    if groups and not rollup:  # a rollup has one row per group already
        tail += " GROUP BY " + ", ".join(quote(g) for g in groups)
    if order_parts:
        tail += " ORDER BY " + ", ".join(order_parts)
    return Query(
        select_sql=select_sql,
        from_where_sql=f"FROM {source_sql}{where_sql}",
        tail_sql=tail,
        params=c.params,
        output=output,
        grouped=grouped,
    )
