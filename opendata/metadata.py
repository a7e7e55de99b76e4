"""Open-data metadata declared next to each dbt model (``meta.opendata``), read from dbt's manifest.

The producer declares in the model's YAML::

    meta:
      opendata: {publish: true, title_fr: …, description_fr: …, licence: etalab-2.0|odbl,
                 themes: [ENVI], keywords: […], frequency: daily|hourly, spatial: Val-de-Lys,
                 producer: …, contact_point: …,
                 hvd_category: earth_observation_environment|mobility|… (High-Value Dataset)}

and a ``description`` per column, with its unit in the column's ``meta: {unit: "µg/m³"}``. Any dbt project name is accepted: models are looked up
by their name, whatever ``model.<project>.`` prefix the manifest gives them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from lakehouse.errors import LakehouseError
from lakehouse.settings import DEFAULT_MANIFEST, dbt_manifest_path  # noqa: F401  (DEFAULT_MANIFEST: public name)
from opendata import vocab

MANIFEST_ENV = "HYPERVISEUR_DBT_MANIFEST"
REQUIRED = ("title_fr", "description_fr", "themes", "frequency", "producer", "contact_point")


class MetadataError(LakehouseError):
    """Metadata missing or invalid; the message names the file, the model and the field."""


@dataclass(frozen=True)
class DatasetMetadata:
    name: str
    publish: bool
    title: str
    description: str
    licence: str
    themes: tuple[str, ...]
    keywords: tuple[str, ...]
    frequency: str
    spatial: str
    producer: str
    contact_point: str  # e-mail address or URL
    columns: dict[str, str] = field(default_factory=dict)  # column name -> description
    units: dict[str, str] = field(default_factory=dict)  # column name -> unit (column meta ``unit``)
    hvd_category: str | None = None  # key of vocab.HVD_CATEGORIES when the dataset is a High-Value Dataset

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "publish": self.publish,
            "title": self.title,
            "description": self.description,
            "licence": self.licence,
            "themes": list(self.themes),
            "keywords": list(self.keywords),
            "frequency": self.frequency,
            "spatial": self.spatial,
            "producer": self.producer,
            "contact_point": self.contact_point,
            "columns": dict(self.columns),
            "units": dict(self.units),
            "hvd_category": self.hvd_category,
        }

    @classmethod
    def from_dict(cls, data: dict) -> DatasetMetadata:
        return cls(**{**data, "themes": tuple(data["themes"]), "keywords": tuple(data["keywords"])})


def manifest_path(path: str | Path | None = None, env=None) -> Path:
    """``path``, else ``HYPERVISEUR_DBT_MANIFEST`` (read by the settings from ``env``, default the process environment)."""
    return Path(path) if path else dbt_manifest_path(env)


def load_manifest(path: str | Path | None = None) -> dict:
    path = manifest_path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MetadataError(
            f"manifeste dbt introuvable : {path} (lancer « dbt parse » ou définir {MANIFEST_ENV})"
        ) from None
    except ValueError as exc:
        raise MetadataError(f"manifeste dbt illisible : {path} ({exc})") from None


def _models(manifest: dict) -> dict[str, dict]:
    """Model nodes by model name, whatever the dbt project is called."""
    return {
        node["name"]: node
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "model" and node.get("name")
    }


def _opendata_meta(node: dict) -> dict | None:
    meta = node.get("meta") or (node.get("config") or {}).get("meta") or {}
    return meta.get("opendata")


def declared(manifest: dict) -> list[str]:
    """Names of the models that carry a ``meta.opendata`` block (candidates for publication)."""
    return sorted(name for name, node in _models(manifest).items() if _opendata_meta(node) is not None)


def read(manifest: dict, name: str, source: str = "manifest.json") -> DatasetMetadata:
    """The validated metadata of model ``name``; :class:`MetadataError` says what is wrong."""
    node = _models(manifest).get(name)
    if node is None:
        raise MetadataError(f"{source} : modèle « {name} » absent du projet dbt")
    raw = _opendata_meta(node)
    if raw is None:
        raise MetadataError(
            f"{source}, modèle {name} : bloc meta.opendata absent (métadonnées open data non déclarées)"
        )
    where = f"{source}, modèle {name}, meta.opendata"

    missing = [f for f in REQUIRED if not raw.get(f)]
    if missing:
        raise MetadataError(f"{where} : champ(s) obligatoire(s) manquant(s) : {', '.join(missing)}")
    licence = raw.get("licence") or vocab.DEFAULT_LICENCE
    if licence not in vocab.LICENCES:
        raise MetadataError(f"{where}.licence : « {licence} » inconnue (attendu : {', '.join(vocab.LICENCES)})")
    themes = raw["themes"] if isinstance(raw["themes"], list) else [raw["themes"]]
    unknown = [t for t in themes if t not in vocab.THEMES_FR]
    if unknown:
        raise MetadataError(
            f"{where}.themes : thème(s) inconnu(s) {', '.join(map(str, unknown))} (thèmes de données UE : {', '.join(vocab.THEMES_FR)})"
        )
    if raw["frequency"] not in vocab.FREQUENCIES:
        raise MetadataError(
            f"{where}.frequency : « {raw['frequency']} » inconnue (attendu : {', '.join(vocab.FREQUENCIES)})"
        )
    hvd = raw.get("hvd_category") or None
    if hvd is not None and hvd not in vocab.HVD_CATEGORIES:
        raise MetadataError(
            f"{where}.hvd_category : « {hvd} » inconnue (catégories HVD UE : {', '.join(vocab.HVD_CATEGORIES)})"
        )
    keywords = raw.get("keywords") or []
    if not isinstance(keywords, list):
        raise MetadataError(f"{where}.keywords : une liste est attendue")

    columns = {
        col_name: (col.get("description") or "").strip() for col_name, col in (node.get("columns") or {}).items()
    }
    units = {
        col_name: str(unit).strip()
        for col_name, col in (node.get("columns") or {}).items()
        if (unit := ((col.get("meta") or {}).get("unit") or ((col.get("config") or {}).get("meta") or {}).get("unit")))
    }
    return DatasetMetadata(
        name=name,
        publish=bool(raw.get("publish", False)),
        title=str(raw["title_fr"]).strip(),
        description=str(raw["description_fr"]).strip(),
        licence=licence,
        themes=tuple(themes),
        keywords=tuple(str(k) for k in keywords),
        frequency=raw["frequency"],
        spatial=str(raw.get("spatial") or "").strip(),
        producer=str(raw["producer"]).strip(),
        contact_point=str(raw["contact_point"]).strip(),
        columns=columns,
        units=units,
        hvd_category=hvd,
    )
