"""OpenAPI 3.1 description of the records API (``api/openapi.json`` on the portal).

Generated at each portal rebuild, so the ``dataset_id`` enumeration lists exactly the
datasets published now. The differences with OpenDataSoft's Explore API v2.1 are those of
:data:`opendata.api.DIFFERENCES`.
"""

from __future__ import annotations

from opendata.api import DIFFERENCES, PREFIX


def _param(name: str, description: str, example: str | None = None, schema: dict | None = None) -> dict:
    p = {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }
    if example is not None:
        p["example"] = example
    return p


def _error() -> dict:
    return {
        "description": "Erreur (message en français)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def build(manifests: list[dict], base_url: str, settings) -> dict:
    ids = sorted(m["dataset"] for m in manifests)
    dataset_id = {
        "name": "dataset_id",
        "in": "path",
        "required": True,
        "description": "Identifiant du jeu de données publié",
        "schema": {"type": "string", "enum": ids} if ids else {"type": "string"},
    }
    query = [
        _param("select", "Champs et agrégats à renvoyer (ODSQL)", "station_id, avg(no2_ugm3) as moyenne"),
        _param("where", "Filtre (ODSQL)", "no2_ugm3 > 40 and observed_at >= date'2026-03-01'"),
        _param("group_by", "Champs de regroupement", "station_id"),
        _param("order_by", "Tri : expressions suivies de asc ou desc", "moyenne desc"),
    ]
    limit = _param(
        "limit",
        f"Nombre de lignes (0 à {settings.api_max_limit})",
        schema={"type": "integer", "minimum": 0, "maximum": settings.api_max_limit, "default": 10},
    )
    offset = _param(
        "offset",
        f"Décalage ; offset + limit ≤ {settings.api_max_offset}",
        schema={"type": "integer", "minimum": 0, "default": 0},
    )
    export_limit = _param(
        "limit",
        f"Nombre de lignes (-1 : toutes, au plus {settings.api_export_max_rows})",
        schema={"type": "integer", "minimum": -1, "default": -1},
    )
    common_errors = {"400": _error(), "404": _error(), "429": _error(), "503": _error()}
    exports = {}
    for fmt, media in (("json", "application/json"), ("csv", "text/csv"), ("geojson", "application/geo+json")):
        params = [dataset_id, *query, export_limit, offset]
        if fmt == "csv":
            params.append(
                _param(
                    "delimiter", "Séparateur (; par défaut)", schema={"type": "string", "enum": [";", ",", "|", "\t"]}
                )
            )
        exports[f"{PREFIX}/{{dataset_id}}/exports/{fmt}"] = {
            "get": {
                "summary": f"Export {fmt.upper()} de la sélection",
                "operationId": f"export_{fmt}",
                "parameters": params,
                "responses": {"200": {"description": "Fichier", "content": {media: {}}}, **common_errors},
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "API des données ouvertes",
            "version": "2.1",
            "description": "Lecture seule de la version publiée de chaque jeu de données, avec la syntaxe ODSQL "
            "de l'API Explore v2.1 d'OpenDataSoft (sous-ensemble). Différences : " + " ".join(DIFFERENCES),
        },
        "servers": [{"url": base_url.rstrip("/")}],
        "paths": {
            PREFIX: {
                "get": {
                    "summary": "Jeux de données publiés",
                    "operationId": "datasets",
                    "responses": {"200": {"description": "Liste", "content": {"application/json": {}}}},
                }
            },
            f"{PREFIX}/{{dataset_id}}": {
                "get": {
                    "summary": "Un jeu de données et ses champs",
                    "operationId": "dataset",
                    "parameters": [dataset_id],
                    "responses": {
                        "200": {"description": "Jeu de données", "content": {"application/json": {}}},
                        "404": _error(),
                    },
                }
            },
            f"{PREFIX}/{{dataset_id}}/records": {
                "get": {
                    "summary": "Enregistrements (filtre, tri, agrégats, pagination)",
                    "operationId": "records",
                    "parameters": [dataset_id, *query, limit, offset],
                    "responses": {
                        "200": {
                            "description": "Page d'enregistrements",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Records"}}},
                        },
                        **common_errors,
                    },
                }
            },
            **exports,
        },
        "components": {
            "schemas": {
                "Records": {
                    "type": "object",
                    "required": ["total_count", "results"],
                    "properties": {
                        "total_count": {"type": "integer"},
                        "results": {"type": "array", "items": {"type": "object"}},
                        "links": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"rel": {"type": "string"}, "href": {"type": "string", "format": "uri"}},
                            },
                        },
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error_code", "message"],
                    "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
                },
            }
        },
    }
