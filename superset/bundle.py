"""The Superset assets bundle: charts and dashboards from ``dashboards.yaml``, datasets from the marts.

Two steps, both deterministic (UUIDs derive from names, so re-importing overwrites the
same objects instead of duplicating them):

* :func:`write_assets` renders ``dashboards.yaml`` into ``superset/assets/charts`` and
  ``superset/assets/dashboards`` (Superset's own YAML format, committed in the repo);
* :func:`build_bundle` zips those files with one database per serving catalog (public,
  masked, clear: one clearance each, pointing at this machine's catalog files) and one
  dataset per mart and catalog (columns, descriptions and certification from
  :mod:`superset.catalog`), ready for ``POST /api/v1/assets/import/``.

Charts are committed on the masked dataset of their mart; when the mart is PUBLIC the
bundle points them at its public dataset instead, so a dashboard built only on PUBLIC marts
opens for the Public role, which has no access to the masked database.
"""

from __future__ import annotations

import copy
import io
import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from lakehouse.errors import LakehouseError
from superset import starter
from superset.access import ACCESS
from superset.catalog import CATALOGS, CERTIFIER, Mart, catalog_files
from superset.starter import is_upload
from superset.time_windows import TIME_WINDOW

HERE = Path(__file__).resolve().parent
SPEC = HERE / "dashboards.yaml"
ASSETS = HERE / "assets"
# One Superset database per serving catalog (clearance -> database name).
DATABASES = {"public": "Hyperviseur — public", "masked": "Hyperviseur — masqué", "clear": "Hyperviseur — clair"}
DATABASE_NAME = DATABASES["masked"]  # the database of the starter dashboards
VERSION = "1.0.0"
_NAMESPACE = uuid.UUID("5b0e3c2e-6c1e-4a8e-9d53-7d1f1c0c2a61")

WIDTH = {"big_number": 4, "pie": 4, "table": 12, "line": 8, "bar": 8, "heatmap": 8}
HEIGHT = {"big_number": 30, "table": 60}
GRID = 12


def object_uuid(kind: str, name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


def database_uuid(clearance: str) -> str:
    return object_uuid("database", "hyperviseur" if clearance == "masked" else f"hyperviseur/{clearance}")


def dataset_uuid(mart: str, clearance: str = "masked") -> str:
    """Masked datasets keep the plain name's UUID (the one the committed charts carry)."""
    return object_uuid("dataset", mart if clearance == "masked" else f"{clearance}/{mart}")


# Superset's SQLite metadata keeps a UNIQUE (table_name) on datasets (its migration cannot
# drop it), so a mart appears under its own name once — the masked physical dataset — and
# as a VIRTUAL dataset ``<mart>__public`` / ``<mart>__clair`` (``SELECT * FROM schema.mart``)
# in the public and clear databases.
DATASET_SUFFIX = {"masked": "", "public": "__public", "clear": "__clair"}


def dataset_name(mart: str, clearance: str = "masked") -> str:
    return mart + DATASET_SUFFIX[clearance]


def has_dataset(mart: Mart, clearance: str) -> bool:
    return clearance == "masked" or (clearance == "public" and mart.public) or (clearance == "clear" and mart.clear)


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")


@dataclass(frozen=True)
class Bundle:
    """A zipped bundle and what it holds (mart names and dashboard slugs)."""

    data: bytes
    datasets: tuple[str, ...]
    dashboards: tuple[str, ...]
    skipped: tuple[str, ...]


def load_spec(path: Path = SPEC) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["dashboards"]


# --- charts and dashboards ---------------------------------------------------------------


def _metric(m: dict) -> dict:
    return {"expressionType": "SQL", "sqlExpression": m["sql"], "label": m["label"]}


def time_window(chart: dict) -> str | None:
    """The relative period of a chart along time (``TIME_WINDOW``); None for the others and
    for a chart over its whole history (``whole_history``)."""
    if chart["kind"] not in ("line", "bar", "heatmap") or chart.get("whole_history"):
        return None
    grain = chart.get("grain", "P1D")
    if grain not in TIME_WINDOW:
        raise LakehouseError(f"dashboards.yaml : pas de période par défaut pour le grain « {grain} » ({chart['name']})")
    return TIME_WINDOW[grain][0]


def chart_description(chart: dict) -> str | None:
    """The chart's own description, or the period it shows by default."""
    if chart.get("description") or not time_window(chart):
        return chart.get("description")
    label = TIME_WINDOW[chart.get("grain", "P1D")][1]
    return f"{label} (période modifiable dans les filtres du graphique)."


def _adhoc_filters(chart: dict) -> list[dict]:
    """The chart's period along its time column (as Superset's time filter) and its
    ``where`` (SQL over the dataset's columns) as a custom SQL filter."""
    window = time_window(chart)
    filters = []
    if window:
        filters.append(
            {
                "expressionType": "SIMPLE",
                "clause": "WHERE",
                "subject": chart["x"],
                "operator": "TEMPORAL_RANGE",
                "comparator": window,
                "filterOptionName": "periode_" + slugify(chart["name"]),
                "isExtra": False,
                "isNew": False,
            }
        )
    if not chart.get("where"):
        return filters
    return filters + [
        {
            "expressionType": "SQL",
            "clause": "WHERE",
            "sqlExpression": chart["where"],
            "filterOptionName": "filter_" + slugify(chart["name"]),
            "isExtra": False,
            "isNew": False,
        }
    ]


def chart_params(chart: dict) -> dict:
    """Superset ``form_data`` of one chart of ``dashboards.yaml``."""
    kind = chart["kind"]
    base = {
        "adhoc_filters": _adhoc_filters(chart),
        "time_range": time_window(chart) or "No filter",
        "extra_form_data": {},
        "dashboards": [],
    }
    if kind in ("line", "bar"):
        return {
            **base,
            "viz_type": "echarts_timeseries_line" if kind == "line" else "echarts_timeseries_bar",
            "x_axis": chart["x"],
            "time_grain_sqla": chart.get("grain", "P1D"),
            "x_axis_sort_asc": True,
            "metrics": [_metric(m) for m in chart["metrics"]],
            "groupby": chart.get("groupby", []),
            "row_limit": 10000,
            "order_desc": True,
            "truncate_metric": True,
            "show_legend": True,
            "legendType": "scroll",
            "legendOrientation": "top",
            "rich_tooltip": True,
            "stack": kind == "bar" and bool(chart.get("groupby")),
            "comparison_type": "values",
            "annotation_layers": [],
            "y_axis_format": "SMART_NUMBER",
            "x_axis_time_format": "%d/%m/%y" if chart.get("grain", "P1D") == "P1D" else "%d/%m %Hh",
        }
    if kind == "big_number":
        return {
            **base,
            "viz_type": "big_number_total",
            "metric": _metric(chart["metric"]),
            "header_font_size": 0.4,
            "subheader_font_size": 0.15,
            "y_axis_format": "SMART_NUMBER",
        }
    if kind == "pie":
        return {
            **base,
            "viz_type": "pie",
            "groupby": chart["groupby"],
            "metric": _metric(chart["metric"]),
            "row_limit": 100,
            "sort_by_metric": True,
            "show_labels": True,
            "show_legend": True,
            "label_type": "key_percent",
            "number_format": "SMART_NUMBER",
            "donut": True,
            "innerRadius": 30,
            "outerRadius": 70,
            "legendType": "scroll",
            "legendOrientation": "top",
        }
    if kind == "heatmap":
        return {
            **base,
            "viz_type": "heatmap_v2",
            "x_axis": chart["x"],
            "groupby": chart["y"],
            "metric": _metric(chart["metric"]),
            "row_limit": 10000,
            "sort_x_axis": "alpha_asc",
            "sort_y_axis": "alpha_asc",
            "normalize_across": "heatmap",
            "linear_color_scheme": "superset_seq_1",
            "xscale_interval": -1,
            "yscale_interval": -1,
            "left_margin": "auto",
            "bottom_margin": "auto",
            "value_bounds": [None, None],
            "y_axis_format": "SMART_NUMBER",
            "x_axis_time_format": "%d/%m/%y",
            "show_legend": True,
            "show_values": True,
            "show_percentage": False,
        }
    if kind == "table":
        table = {
            **base,
            "viz_type": "table",
            "row_limit": chart.get("limit", 100),
            "server_page_length": 10,
            "table_timestamp_format": "smart_date",
            "show_cell_bars": True,
            "percent_metrics": [],
            "include_search": True,
        }
        if "columns" in chart:
            order = chart.get("order_by", chart["columns"][0])
            return {
                **table,
                "query_mode": "raw",
                "all_columns": chart["columns"],
                "order_by_cols": [f'["{order}", {"false" if chart.get("descending") else "true"}]'],
                "groupby": [],
                "metrics": [],
            }
        metrics = [_metric(m) for m in chart["metrics"]]
        return {
            **table,
            "query_mode": "aggregate",
            "groupby": chart["groupby"],
            "metrics": metrics,
            "all_columns": [],
            "order_by_cols": [],
            "timeseries_limit_metric": metrics[0],
            "order_desc": True,
        }
    raise LakehouseError(f"dashboards.yaml : type de graphique inconnu « {kind} » ({chart['name']})")


def chart_query_context(chart: dict, dataset_id: int, force: bool = False, result_type: str = "full") -> dict:
    """The ``/api/v1/chart/data`` body the frontend sends for this chart (imported charts have none).

    Used to check every chart's data call (tests) and to time it (benchmark).
    """
    params = chart_params(chart)
    metrics = params.get("metrics") or ([params["metric"]] if "metric" in params else [])
    if chart["kind"] in ("line", "bar"):
        columns = [
            {
                "timeGrain": params["time_grain_sqla"],
                "columnType": "BASE_AXIS",
                "sqlExpression": chart["x"],
                "label": chart["x"],
                "expressionType": "SQL",
            },
            *chart.get("groupby", []),
        ]
    elif chart["kind"] == "heatmap":
        columns = [chart["x"], chart["y"]]
    elif chart["kind"] == "table" and "columns" in chart:
        columns, metrics = list(chart["columns"]), []
    else:
        columns = list(chart.get("groupby", []))
    orderby = [[metrics[0], False]] if metrics else []
    if chart["kind"] == "table" and "columns" in chart:
        orderby = [[chart.get("order_by", chart["columns"][0]), not chart.get("descending", False)]]
    window = time_window(chart)
    query = {
        "columns": columns,
        "metrics": metrics,
        "filters": [{"col": chart["x"], "op": "TEMPORAL_RANGE", "val": window}] if window else [],
        "extras": {"having": "", "where": f"({chart['where']})" if chart.get("where") else ""},
        "row_limit": params.get("row_limit", 1000),
        "orderby": orderby,
        "time_range": window or "No filter",
    }
    return {
        "datasource": {"id": dataset_id, "type": "table"},
        "force": force,
        "queries": [query],
        "form_data": params,
        "result_format": "json",
        "result_type": result_type,
    }


def chart_yaml(dashboard: dict, chart: dict) -> dict:
    return {
        "slice_name": chart["name"],
        "description": chart_description(chart),
        "certified_by": None,
        "certification_details": None,
        "viz_type": chart_params(chart)["viz_type"],
        "params": chart_params(chart),
        "query_context": None,
        "cache_timeout": None,
        "uuid": object_uuid("chart", f"{dashboard['slug']}/{chart['name']}"),
        "version": VERSION,
        "dataset_uuid": object_uuid("dataset", chart["dataset"]),
    }


def _position(dashboard: dict) -> dict:
    """Charts laid out left to right in rows of 12 columns, in the order of the spec."""
    pos = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": dashboard["title"]}},
    }
    row, used = None, GRID
    for n, chart in enumerate(dashboard["charts"], start=1):
        width = chart.get("width", WIDTH.get(chart["kind"], 6))
        if used + width > GRID:
            row = f"ROW-{len(pos['GRID_ID']['children']) + 1}"
            pos["GRID_ID"]["children"].append(row)
            pos[row] = {
                "type": "ROW",
                "id": row,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID"],
                "meta": {"background": "BACKGROUND_TRANSPARENT"},
            }
            used = 0
        cid = f"CHART-{n}"
        pos[row]["children"].append(cid)
        pos[cid] = {
            "type": "CHART",
            "id": cid,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID", row],
            "meta": {
                "width": width,
                "height": HEIGHT.get(chart["kind"], 50),
                "chartId": n,
                "uuid": object_uuid("chart", f"{dashboard['slug']}/{chart['name']}"),
                "sliceName": chart["name"],
            },
        }
        used += width
    return pos


def native_filter_id(column: str) -> str:
    """The id of a dashboard's filter on ``column``: what an incident's link sets (alerting/links.py)."""
    return f"NATIVE_FILTER-{column}"


def _native_filter(dashboard: dict, spec: dict) -> dict:
    """A value filter on ``spec["column"]`` of the spec's ``datasets``; charts on other datasets are
    out of its scope (their ``chartId`` of :func:`_position`, remapped by Superset's import)."""
    datasets = spec["datasets"]
    return {
        "id": native_filter_id(spec["column"]),
        "name": spec["label"],
        "filterType": "filter_select",
        "type": "NATIVE_FILTER",
        "description": "",
        "targets": [{"datasetUuid": object_uuid("dataset", datasets[0]), "column": {"name": spec["column"]}}],
        "controlValues": {
            "enableEmptyFilter": False,
            "defaultToFirstItem": False,
            "multiSelect": True,
            "searchAllOptions": False,
            "inverseSelection": False,
        },
        "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
        "cascadeParentIds": [],
        "scope": {
            "rootPath": ["ROOT_ID"],
            "excluded": [n for n, c in enumerate(dashboard["charts"], start=1) if c["dataset"] not in datasets],
        },
    }


def dashboard_yaml(dashboard: dict) -> dict:
    return {
        "dashboard_title": dashboard["title"],
        "description": None,
        "css": "",
        "slug": dashboard["slug"],
        "certified_by": None,
        "certification_details": None,
        "published": True,
        "uuid": object_uuid("dashboard", dashboard["slug"]),
        "position": _position(dashboard),
        "metadata": {
            "color_scheme": "supersetColors",
            "refresh_frequency": 0,
            "expanded_slices": {},
            "label_colors": {},
            "shared_label_colors": [],
            "color_scheme_domain": [],
            "timed_refresh_immune_slices": [],
            "cross_filters_enabled": True,
            "default_filters": "{}",
            "chart_configuration": {},
            "native_filter_configuration": [_native_filter(dashboard, f) for f in dashboard.get("filters", [])],
        },
        "version": VERSION,
    }


def _dump(obj: dict) -> str:
    return yaml.safe_dump(obj, allow_unicode=True, sort_keys=False, width=120)


def rendered_assets(spec: list[dict] | None = None) -> dict[str, str]:
    """``{relative path: YAML text}`` of every chart and dashboard of the spec."""
    files = {}
    for dashboard in spec if spec is not None else load_spec():
        for chart in dashboard["charts"]:
            files[f"charts/{dashboard['slug']}__{slugify(chart['name'])}.yaml"] = _dump(chart_yaml(dashboard, chart))
        files[f"dashboards/{dashboard['slug']}.yaml"] = _dump(dashboard_yaml(dashboard))
    return files


def write_assets(out: Path = ASSETS, spec: list[dict] | None = None) -> list[Path]:
    """Regenerate ``superset/assets`` from ``dashboards.yaml`` (stale files are removed)."""
    files = rendered_assets(spec)
    for sub in ("charts", "dashboards"):
        folder = out / sub
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.yaml"):
            if f"{sub}/{old.name}" not in files:
                old.unlink()
    written = []
    for rel, text in files.items():
        path = out / rel
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


# --- database and datasets ---------------------------------------------------------------


def database_yaml(catalog_file: Path, clearance: str = "masked") -> dict:
    return {
        "database_name": DATABASES[clearance],
        "sqlalchemy_uri": f"duckdb:///{Path(catalog_file).resolve()}",
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_file_upload": False,
        "extra": {
            # read-only: a read-write handle would lock every other reader and writer out
            "engine_params": {
                "connect_args": {
                    "read_only": True,
                    "config": {"autoinstall_known_extensions": False, "autoload_known_extensions": False},
                }
            },
            "allows_virtual_table_explore": True,
            "schemas_allowed_for_file_upload": [],
        },
        "impersonate_user": False,
        "uuid": database_uuid(clearance),
        "version": VERSION,
    }


def _description(mart: Mart) -> str | None:
    """The dbt description, and the classification the stewards gave the mart (shown in Superset)."""
    from governance.levels import LEVEL_LABELS_FR

    level = f"Classification : {LEVEL_LABELS_FR.get(mart.level, mart.level)}." if mart.level else ""
    return "\n\n".join(p for p in (mart.description, level) if p) or None


def dataset_yaml(mart: Mart, clearance: str = "masked") -> dict:
    dttm = next((c.name for c in mart.columns if c.is_dttm), None)
    extra = None
    if mart.certified:
        extra = {
            "certification": {
                "certified_by": CERTIFIER,
                "details": f"Modèle dbt documenté et testé ({mart.tests} tests)",
            }
        }
    return {
        "table_name": dataset_name(mart.name, clearance),
        "main_dttm_col": dttm,
        "description": _description(mart),
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "catalog": None,
        "schema": CATALOGS[clearance][1],
        "sql": None if clearance == "masked" else f"SELECT * FROM {CATALOGS[clearance][1]}.{mart.name}",
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": extra,
        "normalize_columns": False,
        "always_filter_main_dttm": False,
        "uuid": dataset_uuid(mart.name, clearance),
        "metrics": [
            {
                "metric_name": "count",
                "verbose_name": "Nombre de lignes",
                "metric_type": "count",
                "expression": "COUNT(*)",
                "description": None,
                "d3format": None,
                "extra": None,
                "warning_text": None,
            }
        ],
        "columns": [
            {
                "column_name": c.name,
                "verbose_name": None,
                "is_dttm": c.is_dttm,
                "is_active": True,
                "type": c.type,
                "advanced_data_type": None,
                "groupby": True,
                "filterable": True,
                "expression": None,
                "description": c.description or None,
                "python_date_format": None,
                "extra": None,
            }
            for c in mart.columns
        ],
        "version": VERSION,
        "database_uuid": database_uuid(clearance),
    }


def _committed(assets: Path) -> tuple[dict[str, dict], dict[str, dict]]:
    charts = {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((assets / "charts").glob("*.yaml"))}
    dashboards = {
        p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((assets / "dashboards").glob("*.yaml"))
    }
    if not dashboards:
        raise LakehouseError(
            f"aucun tableau de bord dans {assets / 'dashboards'} (lancer « hyperviseur superset bundle »)"
        )
    return charts, dashboards


def build_bundle(marts: list[Mart], serving_dir: Path, assets: Path = ASSETS) -> Bundle:
    """Zip the committed charts/dashboards with the databases and one dataset per mart and catalog.

    A dashboard whose charts need a mart absent from the serving catalogs is left out
    (listed in ``skipped``) rather than imported broken. Charts on a PUBLIC mart read its
    public dataset.
    """
    charts, dashboards = _committed(assets)
    by_masked_uuid = {dataset_uuid(m.name): m for m in marts}
    chart_by_uuid = {c["uuid"]: (name, c) for name, c in charts.items()}
    files = {"metadata.yaml": {"version": VERSION, "type": "assets", "timestamp": "2026-01-01T00:00:00+00:00"}}
    for clearance, path in catalog_files(serving_dir).items():
        slug = f"hyperviseur_{clearance}"
        files[f"databases/{slug}.yaml"] = database_yaml(path, clearance)
        for mart in marts:
            if has_dataset(mart, clearance):
                files[f"datasets/{slug}/{mart.name}.yaml"] = dataset_yaml(mart, clearance)
    kept, skipped = [], []
    for name, dash in dashboards.items():
        uuids = [
            v["meta"]["uuid"] for v in dash["position"].values() if isinstance(v, dict) and v.get("type") == "CHART"
        ]
        needed = [chart_by_uuid.get(u) for u in uuids]
        if any(c is None or c[1]["dataset_uuid"] not in by_masked_uuid for c in needed):
            skipped.append(dash["slug"])
            continue
        for chart_name, chart in needed:
            mart = by_masked_uuid[chart["dataset_uuid"]]
            if mart.public:
                chart = {**chart, "dataset_uuid": dataset_uuid(mart.name, "public")}
            files[f"charts/{chart_name}"] = chart
        files[f"dashboards/{name}"] = _filters_on_public(dash, by_masked_uuid)
        kept.append(dash["slug"])
    uploads = starter.upload_pattern(ACCESS)
    for mart in marts:  # each accepted upload of an agent gets its starter chart
        if is_upload(mart, uploads):
            chart = chart_yaml({"slug": starter.SLUG}, starter.starter_chart(mart))
            clearance = "public" if mart.public else "masked"
            files[f"charts/{starter.SLUG}_{mart.name}.yaml"] = {
                **chart,
                "dataset_uuid": dataset_uuid(mart.name, clearance),
            }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, obj in files.items():
            zf.writestr(f"hyperviseur_assets/{rel}", _dump(obj))
    return Bundle(buf.getvalue(), tuple(m.name for m in marts), tuple(kept), tuple(skipped))


def _filters_on_public(dash: dict, by_masked_uuid: dict[str, Mart]) -> dict:
    """The dashboard with its filters reading a PUBLIC mart's public dataset, as its charts do."""
    filters = copy.deepcopy(dash["metadata"].get("native_filter_configuration", []))
    for f in filters:
        for target in f["targets"]:
            mart = by_masked_uuid.get(target["datasetUuid"])
            if mart is not None and mart.public:
                target["datasetUuid"] = dataset_uuid(mart.name, "public")
    return {**dash, "metadata": {**dash["metadata"], "native_filter_configuration": filters}}


def dashboard_datasets(assets: Path = ASSETS) -> dict[str, set[str]]:
    """``{dashboard slug: {dataset uuid, ...}}`` from the committed assets."""
    charts, dashboards = _committed(assets)
    by_uuid = {c["uuid"]: c["dataset_uuid"] for c in charts.values()}
    out = {}
    for dash in dashboards.values():
        out[dash["slug"]] = {
            by_uuid[v["meta"]["uuid"]]
            for v in dash["position"].values()
            if isinstance(v, dict) and v.get("type") == "CHART" and v["meta"]["uuid"] in by_uuid
        }
    return out
