"""Controlled vocabularies used in open-data metadata, with their EU / W3C URIs.

Values declared by producers in dbt (``licence: etalab-2.0``, ``frequency: daily``,
``themes: [ENVI]``) are short codes; this module maps each to the URI a DCAT-AP harvester
expects and to the French label shown on the portal.
"""

from __future__ import annotations

from dataclasses import dataclass

EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
THEME_SCHEME = EU_AUTHORITY + "data-theme"
FREQUENCY_SCHEME = EU_AUTHORITY + "frequency"
FILE_TYPE_SCHEME = EU_AUTHORITY + "file-type"
LANGUAGE_SCHEME = EU_AUTHORITY + "language"
COUNTRY_SCHEME = EU_AUTHORITY + "country"
ACCESS_RIGHT_SCHEME = EU_AUTHORITY + "access-right"
AVAILABILITY_SCHEME = EU_AUTHORITY + "planned-availability"
STABLE = AVAILABILITY_SCHEME + "/STABLE"
LICENCE_TYPE_SCHEME = "http://purl.org/adms/licencetype/1.0"
PUBLISHER_TYPE_SCHEME = "http://purl.org/adms/publishertype/1.0"
FRENCH = EU_AUTHORITY + "language/FRA"
FRANCE = EU_AUTHORITY + "country/FRA"
PUBLIC_ACCESS = EU_AUTHORITY + "access-right/PUBLIC"
LOCAL_AUTHORITY = "http://purl.org/adms/publishertype/LocalAuthority"
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
SPDX = "http://spdx.org/rdf/terms#"
# High-Value Datasets: the legal act (by its ELI) and the EU "HVD categories" vocabulary.
HVD_LEGISLATION = "http://data.europa.eu/eli/reg_impl/2023/138/oj"
HVD_LEGISLATION_TITLE = (
    "Règlement d'exécution (UE) 2023/138 de la Commission établissant une liste d'ensembles de données "
    "de forte valeur spécifiques et les modalités de leur publication et de leur réutilisation"
)
HVD_CATEGORY_SCHEME = "http://data.europa.eu/bna/asd487ae75"


@dataclass(frozen=True)
class Licence:
    code: str
    uri: str  # the licence's own page: data.gouv.fr's harvester recognises it by this URL
    label_fr: str
    licence_types: tuple[str, ...]  # ADMS licence type concepts
    eu_match: str | None = None  # same licence in the EU licence authority table, if it has one


LICENCES = {
    "etalab-2.0": Licence(
        "etalab-2.0",
        "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
        "Licence Ouverte / Open Licence version 2.0",
        ("http://purl.org/adms/licencetype/Attribution",),
    ),
    "odbl": Licence(
        "odbl",
        "https://opendatacommons.org/licenses/odbl/1-0/",
        "Open Database License (ODbL) 1.0",
        ("http://purl.org/adms/licencetype/Attribution", "http://purl.org/adms/licencetype/ShareAlike"),
        EU_AUTHORITY + "licence/ODC_BL",
    ),
}
DEFAULT_LICENCE = "etalab-2.0"

# EU data themes (the DCAT-AP mandatory theme vocabulary), French labels from the EU table.
THEMES_FR = {
    "AGRI": "Agriculture, pêche, sylviculture et alimentation",
    "ECON": "Économie et finances",
    "EDUC": "Éducation, culture et sport",
    "ENER": "Énergie",
    "ENVI": "Environnement",
    "GOVE": "Gouvernement et secteur public",
    "HEAL": "Santé",
    "INTR": "Questions internationales",
    "JUST": "Justice, système juridique et sécurité publique",
    "REGI": "Régions et villes",
    "SOCI": "Population et société",
    "TECH": "Science et technologie",
    "TRAN": "Transports",
    "OP_DATPRO": "Données provisoires",
}

# Producer codes -> EU frequency authority table.
FREQUENCIES = {
    "continuous": ("UPDATE_CONT", "en continu"),
    "hourly": ("HOURLY", "toutes les heures"),
    "daily": ("DAILY", "quotidienne"),
    "weekly": ("WEEKLY", "hebdomadaire"),
    "monthly": ("MONTHLY", "mensuelle"),
    "quarterly": ("QUARTERLY", "trimestrielle"),
    "annual": ("ANNUAL", "annuelle"),
    "irregular": ("IRREG", "irrégulière"),
}

# Producer codes (meta.opendata.hvd_category) -> (EU HVD category concept, French label).
HVD_CATEGORIES = {
    "geospatial": ("http://data.europa.eu/bna/c_ac64a52d", "Données géospatiales"),
    "earth_observation_environment": (
        "http://data.europa.eu/bna/c_dd313021",
        "Observation de la Terre et environnement",
    ),
    "meteorological": ("http://data.europa.eu/bna/c_164e0bf5", "Données météorologiques"),
    "statistics": ("http://data.europa.eu/bna/c_e1da4e07", "Statistiques"),
    "companies": ("http://data.europa.eu/bna/c_a9135398", "Entreprises et propriété d'entreprises"),
    "mobility": ("http://data.europa.eu/bna/c_b79e35eb", "Mobilité"),
}


@dataclass(frozen=True)
class FileFormat:
    key: str  # file extension in the lake
    label: str  # shown on download buttons
    eu_code: str  # EU file-type authority table
    media_type: str  # IANA media type


FORMATS = {
    "csv": FileFormat("csv", "CSV", "CSV", "text/csv"),
    "parquet": FileFormat("parquet", "Parquet", "PARQUET", "application/vnd.apache.parquet"),
    "json": FileFormat("json", "JSON", "JSON", "application/json"),
    "geojson": FileFormat("geojson", "GeoJSON", "GEOJSON", "application/geo+json"),
}


def theme_uri(code: str) -> str:
    return f"{THEME_SCHEME}/{code}"


def frequency_uri(code: str) -> str:
    return f"{FREQUENCY_SCHEME}/{FREQUENCIES[code][0]}"


def file_type_uri(fmt: str) -> str:
    return f"{FILE_TYPE_SCHEME}/{FORMATS[fmt].eu_code}"
