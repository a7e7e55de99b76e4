"""Escape corpus (``escapes.sql``) against the real Superset of ``conftest.py``.

Every line is run, for each tested role, through SQL Lab (``/api/v1/sqllab/execute/``) and
through the chart data API (``/api/v1/chart/data``: the line injected as an adhoc column,
as a WHERE clause and, for a SELECT, its first expression as an adhoc column). Each attempt
must be refused, or return only what the role may see: no clear personal value, no masked
value for Public, no other service's rows for an agent (RLS), at most the row cap; it must
end within the statement timeout (no hung worker); and no lake or serving file may change.
Public is an anonymous visitor (no login): Superset serves it as the ``Public`` role.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import sqlglot

from superset import service
from superset.client import SupersetApiError, SupersetClient

pytestmark = pytest.mark.superset

CORPUS = Path(__file__).resolve().parent / "escapes.sql"
SCHEMAS = {"clear_schema": "curated", "masked_schema": "masked", "public_schema": "public"}
# Clear values of the synthetic marts (synthetic_marts.py): names, phones, e-mails, addresses.
CLEAR_MARKERS = ("Jean Dupont", "+33 6 12 34", "06 12 34 56 78", "@exemple.fr", "rue de la Lys")
OTHER_SERVICES = ("voirie", "proprete", "eclairage", "environnement", "securite")
OTHER_DOMAINS = ("trafic", "air", "videoprotection")
ROLES = ["analyste", "agent_eau", "public"]
RUNAWAY_PREFIX = "SELECT count(*) FROM {masked_schema}.mart_citizen_reports AS a,"


def corpus_lines() -> list[str]:
    lines = [line.strip() for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line and not line.startswith("--")]


def test_corpus_is_large_and_well_formed():
    lines = corpus_lines()
    assert len(lines) >= 60
    assert len(set(lines)) == len(lines), "ligne en double dans escapes.sql"
    assert any(line.startswith(RUNAWAY_PREFIX) for line in lines)


def _substitute(line: str, inst) -> str:
    values = dict(SCHEMAS)
    values.update({k.upper(): v.upper() for k, v in SCHEMAS.items()})
    values["lake"] = str(inst.settings.lake_dir)
    values["catalog"] = "serving_masked"  # the masked catalog's DuckDB name (its file's stem)
    for key, value in values.items():
        line = line.replace("{" + key + "}", value)
    return line


def _data_files(inst) -> dict[str, str]:
    roots = [Path(inst.settings.lake_dir), Path(inst.settings.serving_dir)]
    hashes = {}
    for root in roots:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
        for path in files:
            hashes[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def _anonymous_client(url: str) -> SupersetClient:
    """A visitor without login: Superset serves it as the ``Public`` role (AUTH_ROLE_PUBLIC)."""
    client = SupersetClient.__new__(SupersetClient)
    client.base_url, client.timeout, client.username = url.rstrip("/"), 60.0, "anonyme"
    client.session = requests.Session()
    client.session.headers["Referer"] = client.base_url
    form = client.session.get(client.base_url + "/login/", timeout=client.timeout)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text)
    if token:
        client.session.headers["X-CSRFToken"] = token.group(1)
    return client


@pytest.fixture(scope="module")
def role_clients(superset_instance, users) -> dict[str, SupersetClient]:
    return {
        "analyste": users["analyste"],
        "agent_eau": users["agent_eau"],
        "public": _anonymous_client(superset_instance.url),
    }


@pytest.fixture(scope="module")
def chart_datasets(admin) -> dict[str, int]:
    """Dataset each role's chart requests target: the reports for the agents, a public mart for Public."""
    datasets = list(admin.iterate("/api/v1/dataset/"))
    reports = next(d for d in datasets if d["table_name"] == "mart_citizen_reports")
    public = next((d for d in datasets if d.get("schema") == SCHEMAS["public_schema"]), reports)
    return {"analyste": reports["id"], "agent_eau": reports["id"], "public": public["id"]}


def _leaks(role: str, payload) -> list[str]:
    text = json.dumps(payload, ensure_ascii=False, default=str)
    found = [m for m in CLEAR_MARKERS if m in text]
    if role == "public" and "pseudo:" in text:
        found.append("valeur masquée")
    if role == "agent_eau":
        found += [s for s in OTHER_SERVICES + OTHER_DOMAINS if f'"{s}"' in text or f":{s}" in text]
    return found


def _sql_lab(client, database_id, sql):
    body = client.post(
        "/api/v1/sqllab/execute/",
        {
            "database_id": database_id,
            "sql": sql,
            "schema": SCHEMAS["masked_schema"],
            "runAsync": False,
            "queryLimit": 100000,
            "client_id": secrets.token_hex(5),
        },
    )
    if body.get("status") != "success":
        raise SupersetApiError(str(body)[:300])
    return body.get("data") or [], body.get("columns")


def _chart_variants(sql: str) -> list[dict]:
    variants = [
        {"columns": [{"expressionType": "SQL", "sqlExpression": f"({sql})", "label": "hv"}]},
        {"columns": [], "where": f"EXISTS ({sql})"},
    ]
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.SqlglotError:
        tree = None
    if isinstance(tree, sqlglot.exp.Select) and tree.expressions and not tree.is_star:
        first = tree.expressions[0].unalias().sql(dialect="duckdb")
        variants.append({"columns": [{"expressionType": "SQL", "sqlExpression": first, "label": "hv"}]})
    return variants


def _chart_data(client, dataset_id, variant):
    query = {
        "columns": variant["columns"],
        "metrics": [{"expressionType": "SQL", "sqlExpression": "COUNT(*)", "label": "n"}],
        "filters": [],
        "extras": {"where": variant.get("where", ""), "having": ""},
        "row_limit": 100000,
        "orderby": [],
        "time_range": "No filter",
    }
    body = client.post(
        "/api/v1/chart/data",
        {
            "datasource": {"id": dataset_id, "type": "table"},
            "force": True,
            "queries": [query],
            "result_format": "json",
            "result_type": "full",
        },
    )
    results = body.get("result") or []
    if not results or any(r.get("status") != "success" or r.get("error") for r in results):
        raise SupersetApiError(str(body)[:300])
    return [row for r in results for row in r.get("data") or []], results[0].get("colnames")


@pytest.mark.parametrize("role", ROLES)
def test_escape_corpus_is_refused_or_harmless(role, superset_instance, role_clients, chart_datasets, database_id):
    inst = superset_instance
    cap = int(inst.env["HYPERVISEUR_SUPERSET_EXPORT_ROW_LIMIT"])
    timeout_s = float(
        inst.env.get("HYPERVISEUR_SUPERSET_STATEMENT_TIMEOUT_S")
        or service.QUERY_LIMITS["HYPERVISEUR_SUPERSET_STATEMENT_TIMEOUT_S"]
    )
    client = role_clients[role]
    attempts = []
    for raw in corpus_lines():
        sql = _substitute(raw, inst)
        attempts.append((raw, "sqllab", lambda s=sql: _sql_lab(client, database_id, s)))
        for i, variant in enumerate(_chart_variants(sql)):
            attempts.append((raw, f"chart#{i}", lambda v=variant: _chart_data(client, chart_datasets[role], v)))

    def run(attempt):
        raw, path, call = attempt
        start = time.monotonic()
        try:
            rows, columns = call()
            outcome = ("ok", rows, columns)
        except SupersetApiError as exc:
            outcome = ("refused", str(exc), None)
        return raw, path, outcome, time.monotonic() - start

    before = _data_files(inst)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, attempts))
    after = _data_files(inst)

    escapes = []
    for raw, path, (status, rows, columns), elapsed in results:
        if elapsed > timeout_s + 30:
            escapes.append(f"{path} {raw} : {elapsed:.0f} s (délai dépassé, worker bloqué ?)")
        if status != "ok":
            continue
        leaks = _leaks(role, {"rows": rows, "columns": columns})
        if leaks:
            escapes.append(f"{path} {raw} : fuite {leaks}")
        if len(rows) > cap:
            escapes.append(f"{path} {raw} : {len(rows)} lignes > plafond {cap}")
    assert after == before, "un fichier du lac ou du catalogue de service a changé"
    assert not escapes, f"{len(escapes)} évasion(s) pour {role} :\n" + "\n".join(escapes)

    refused = sum(1 for _, _, (status, *_), _ in results if status != "ok")
    print(f"{role} : {len(results)} tentatives, {refused} refusées, {len(results) - refused} sans fuite")
    if role != "public":
        runaway = [o for raw, path, o, _ in results if raw.startswith(RUNAWAY_PREFIX) and path == "sqllab"]
        assert runaway and runaway[0][0] == "refused", "la jointure croisée sans fin n'a pas été interrompue"
        # stopped by the statement timeout or by the connection's memory limit, whichever comes first
        bounded = ("interrompue", "Interrupted", "Out of Memory")
        assert any(word in runaway[0][1] for word in bounded), runaway[0][1]  # JSON-escaped accents
    assert service.healthy(inst)


def _saved_chart_query(chart: dict) -> dict:
    """A chart-data query context from a provisioned chart's form data (the charts carry none)."""
    params = json.loads(chart.get("params") or "{}")
    metrics = params.get("metrics") or ([params["metric"]] if params.get("metric") else [])
    columns = []
    if params.get("x_axis"):
        columns.append(
            {
                "columnType": "BASE_AXIS",
                "expressionType": "SQL",
                "sqlExpression": params["x_axis"],
                "label": params["x_axis"],
                "timeGrain": params.get("time_grain_sqla"),
            }
        )
    groupby = params.get("groupby") or []
    columns += [c for c in ([groupby] if isinstance(groupby, str) else groupby) if c != params.get("x_axis")]
    if params.get("query_mode") == "raw" or (params.get("all_columns") and not metrics):
        columns, metrics = params.get("all_columns") or [], []
    filters, where = [], []
    for f in params.get("adhoc_filters") or []:
        if f.get("expressionType") == "SQL":
            where.append(f"({f['sqlExpression']})")
        elif f.get("operator") != "TEMPORAL_RANGE":
            filters.append({"col": f["subject"], "op": f["operator"], "val": f.get("comparator")})
    return {
        "datasource": {"id": chart["datasource_id"], "type": "table"},
        "force": True,
        "queries": [
            {
                "columns": columns,
                "metrics": metrics,
                "filters": filters,
                "extras": {"where": " AND ".join(where), "having": ""},
                "row_limit": params.get("row_limit") or 1000,
                "orderby": [[metrics[0], False]] if metrics else [],
                "time_range": "No filter",
            }
        ],
        "result_format": "json",
        "result_type": "full",
    }


def test_provisioned_charts_still_render(admin, users):
    """The allowlist lets the SQL of every provisioned chart through, for an admin and for the analyst."""
    charts = [
        admin.get(f"/api/v1/chart/{c['id']}")["result"] | {"id": c["id"]} for c in admin.iterate("/api/v1/chart/")
    ]
    listed = {c["id"]: c for c in admin.iterate("/api/v1/chart/")}
    assert charts
    failures = []
    for client in (admin, users["analyste"]):
        for chart in charts:
            chart.setdefault("datasource_id", listed[chart["id"]].get("datasource_id"))
            try:
                body = client.post("/api/v1/chart/data", _saved_chart_query(chart))
                errors = [r.get("error") for r in body["result"] if r.get("status") != "success" or r.get("error")]
                if errors:
                    failures.append(f"{client.username} « {chart['slice_name']} » : {errors}")
            except SupersetApiError as exc:
                if client is admin or " 403 " not in str(exc):
                    failures.append(f"{client.username} « {chart['slice_name']} » : {str(exc)[:300]}")
    assert not failures, "\n".join(failures)
