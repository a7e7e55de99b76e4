"""Canonical datasets of the territory: what every connector maps its input onto.

Sensors (MQTT, FIWARE, SensorThings, files), citizen reports (Open311, Dans ma rue),
weather, social posts and CCTV events all land in these raw datasets, whatever their
original format, so dbt staging has one model per dataset. Timestamps are UTC; the
source's time zone is kept in ``source_tz``.
"""

from __future__ import annotations

import pyarrow as pa

from ingestion.spec import UTC_TS, Column, DatasetSpec

STR, F64, I64 = pa.string(), pa.float64(), pa.int64()

POLLUTANTS = ("no2", "pm10", "pm25", "o3", "so2", "co", "nox", "no")
LAMP_STATUSES = ("ok", "fault", "off")
REPORT_STATUSES = ("open", "in_progress", "closed")


def _observed_at() -> Column:
    return Column("observed_at", UTC_TS, "Horodatage de la mesure (UTC)", required=True)


def _source_tz() -> Column:
    return Column("source_tz", STR, "Fuseau horaire d'origine de l'horodatage (ex. Europe/Paris)")


def _lat() -> Column:
    return Column("lat", F64, "Latitude WGS84", unit="deg", min=-90, max=90)


def _lon() -> Column:
    return Column("lon", F64, "Longitude WGS84", unit="deg", min=-180, max=180)


AIR_QUALITY = DatasetSpec(
    "iot",
    "air_quality",
    "environnement",
    "Mesures des stations de qualité de l'air, un polluant par ligne.",
    (
        Column("station_id", STR, "Identifiant de la station", required=True),
        _observed_at(),
        Column("pollutant", STR, "Polluant (code en minuscules)", required=True, allowed=POLLUTANTS),
        Column("value", F64, "Concentration", required=True, unit="µg/m3", min=0, max=10000),
        _lat(),
        _lon(),
        _source_tz(),
    ),
    key=("station_id", "observed_at", "pollutant"),
    time_column="observed_at",
)

TRAFFIC_FLOW = DatasetSpec(
    "iot",
    "traffic_flow",
    "voirie",
    "Comptages des boucles de trafic par tronçon.",
    (
        Column("segment_id", STR, "Identifiant du tronçon routier", required=True),
        _observed_at(),
        Column("vehicle_count", I64, "Véhicules comptés sur la période", unit="vehicles", min=0, max=100000),
        Column("occupancy_pct", F64, "Taux d'occupation de la boucle", unit="%", min=0, max=100),
        Column("average_speed_kmh", F64, "Vitesse moyenne", unit="km/h", min=0, max=300),
        Column("period_s", I64, "Durée de la période de comptage", unit="s", min=1, max=86400),
        _lat(),
        _lon(),
        _source_tz(),
    ),
    key=("segment_id", "observed_at"),
    time_column="observed_at",
)

WATER_FLOW = DatasetSpec(
    "iot",
    "water_flow",
    "eau",
    "Débits des compteurs de sectorisation du réseau d'eau potable.",
    (
        Column("meter_id", STR, "Identifiant du compteur", required=True),
        Column("sector_id", STR, "Secteur du réseau mesuré", required=True),
        _observed_at(),
        Column("flow_m3h", F64, "Débit instantané", required=True, unit="m3/h", min=0, max=100000),
        _source_tz(),
    ),
    key=("meter_id", "observed_at"),
    time_column="observed_at",
)

STREETLIGHT = DatasetSpec(
    "iot",
    "streetlight",
    "eclairage",
    "Télégestion de l'éclairage public, par point lumineux.",
    (
        Column("lamp_id", STR, "Identifiant du point lumineux", required=True),
        Column("circuit_id", STR, "Armoire / circuit d'alimentation", required=True),
        _observed_at(),
        Column("power_w", F64, "Puissance appelée", unit="W", min=0, max=5000),
        Column("status", STR, "État de la lampe", required=True, allowed=LAMP_STATUSES),
        Column("dimming_pct", F64, "Niveau de gradation (100 = pleine puissance)", unit="%", min=0, max=100),
        _lat(),
        _lon(),
        _source_tz(),
    ),
    key=("lamp_id", "observed_at"),
    time_column="observed_at",
)

BUILDING_ENERGY = DatasetSpec(
    "iot",
    "building_energy",
    "energie",
    "Relevés des compteurs d'énergie des bâtiments publics.",
    (
        Column("building_id", STR, "Identifiant du bâtiment", required=True),
        _observed_at(),
        Column("energy_kwh", F64, "Énergie consommée sur la période", required=True, unit="kWh", min=0, max=1e6),
        Column("period_s", I64, "Durée de la période", unit="s", min=1, max=86400 * 31),
        _source_tz(),
    ),
    key=("building_id", "observed_at"),
    time_column="observed_at",
)

WEATHER = DatasetSpec(
    "weather",
    "observations",
    "environnement",
    "Observations météorologiques horaires.",
    (
        Column("station_id", STR, "Identifiant de la station météo", required=True),
        _observed_at(),
        Column("temperature_c", F64, "Température de l'air", unit="°C", min=-80, max=60),
        Column("humidity_pct", F64, "Humidité relative", unit="%", min=0, max=100),
        Column("wind_speed_ms", F64, "Vitesse moyenne du vent", unit="m/s", min=0, max=120),
        Column("wind_direction_deg", F64, "Direction du vent", unit="deg", min=0, max=360),
        Column("precipitation_mm", F64, "Précipitations sur la période", unit="mm", min=0, max=500),
        Column("pressure_hpa", F64, "Pression au niveau de la mer", unit="hPa", min=800, max=1100),
        _lat(),
        _lon(),
        _source_tz(),
    ),
    key=("station_id", "observed_at"),
    time_column="observed_at",
)

CITIZEN_REPORTS = DatasetSpec(
    "citizen",
    "reports",
    "relation_usagers",
    "Signalements des habitants (Open311, Dans ma rue, application).",
    (
        Column("report_id", STR, "Identifiant du signalement", required=True),
        Column("channel", STR, "Canal de réception", required=True),
        Column("created_at", UTC_TS, "Date de création (UTC)", required=True),
        Column("updated_at", UTC_TS, "Dernière mise à jour (UTC)"),
        Column("closed_at", UTC_TS, "Date de clôture (UTC)"),
        Column("status", STR, "Statut", required=True, allowed=REPORT_STATUSES),
        Column("category", STR, "Catégorie", required=True),
        Column("subcategory", STR, "Sous-catégorie"),
        Column(
            "description",
            STR,
            "Texte libre saisi par l'habitant (peut contenir des données personnelles)",
            encrypted=True,
        ),
        Column("address", STR, "Adresse du signalement", encrypted=True),
        Column("district_id", STR, "Quartier / arrondissement"),
        _lat(),
        _lon(),
        Column("reporter_name", STR, "Nom du déclarant", encrypted=True),
        Column("reporter_phone", STR, "Téléphone du déclarant", encrypted=True),
        Column("reporter_email", STR, "Courriel du déclarant", encrypted=True),
        _source_tz(),
    ),
    key=("report_id", "channel"),
    time_column="created_at",
)

SOCIAL_POSTS = DatasetSpec(
    "social",
    "posts",
    "communication",
    "Messages publics des réseaux sociaux mentionnant le territoire.",
    (
        Column("post_id", STR, "Identifiant du message", required=True),
        Column("platform", STR, "Réseau social"),
        Column("author_handle", STR, "Pseudonyme de l'auteur", required=True),
        Column("text", STR, "Texte du message", required=True),
        Column("posted_at", UTC_TS, "Date de publication (UTC)", required=True),
        _lat(),
        _lon(),
        _source_tz(),
    ),
    key=("post_id",),
    time_column="posted_at",
)

CCTV_EVENTS = DatasetSpec(
    "cctv",
    "events",
    "securite",
    "Événements détectés par la vidéoprotection (métadonnées seulement, jamais d'images).",
    (
        Column("event_id", STR, "Identifiant de l'événement", required=True),
        Column("camera_id", STR, "Identifiant de la caméra", required=True),
        Column("event_type", STR, "Type d'événement (intrusion, attroupement, véhicule_arrêté, …)", required=True),
        Column("occurred_at", UTC_TS, "Horodatage (UTC)", required=True),
        Column("zone", STR, "Zone surveillée"),
        Column("confidence", F64, "Confiance de la détection", min=0, max=1),
        _source_tz(),
    ),
    key=("event_id",),
    time_column="occurred_at",
)

CANONICAL = {
    s.qualified_name: s
    for s in (
        AIR_QUALITY,
        TRAFFIC_FLOW,
        WATER_FLOW,
        STREETLIGHT,
        BUILDING_ENERGY,
        WEATHER,
        CITIZEN_REPORTS,
        SOCIAL_POSTS,
        CCTV_EVENTS,
    )
}


# -- Added by the connectors (issue 3): datasets for inputs that carry more than the ------
# -- canonical contract, and the quarantine of whole rejected files. -------------------------

WATER_METER_READINGS = DatasetSpec(
    "iot",
    "water_meter_readings",
    "eau",
    "Index des compteurs d'eau (FIWARE WaterConsumptionObserved) : volume cumulé et débits min/max.",
    (
        Column("meter_id", STR, "Identifiant du compteur", required=True),
        _observed_at(),
        Column("volume_m3", F64, "Index du compteur (volume cumulé)", unit="m3", min=0),
        Column("min_flow_m3h", F64, "Débit minimal observé sur la semaine", unit="m3/h", min=0, max=100000),
        Column("max_flow_m3h", F64, "Débit maximal observé sur la semaine", unit="m3/h", min=0, max=100000),
        Column("alarm_in_progress", I64, "Alarme en cours (1) ou non (0)", min=0, max=1),
        _lat(),
        _lon(),
        _source_tz(),
    ),
    key=("meter_id", "observed_at"),
    time_column="observed_at",
)

FIWARE_ENTITIES = DatasetSpec(
    "fiware",
    "entities",
    "numerique",
    "Entités FIWARE reçues, telles quelles (tous attributs), quel que soit leur modèle et leur forme.",
    (
        Column("entity_id", STR, "Identifiant de l'entité", required=True),
        Column("entity_type", STR, "Type de l'entité (modèle Smart Data Models)", required=True),
        Column(
            "payload_format",
            STR,
            "Forme de la charge utile",
            required=True,
            allowed=("keyvalues", "ngsi-v2", "ngsi-ld", "geojson"),
        ),
        Column("observed_at", UTC_TS, "Horodatage de l'observation, s'il existe (UTC)"),
        Column("payload", STR, "Entité complète en JSON", required=True),
        _source_tz(),
    ),
    key=("entity_id", "payload_format", "observed_at"),
    time_column="observed_at",
)

SENSORTHINGS_DATASTREAMS = DatasetSpec(
    "sensorthings",
    "datastreams",
    "numerique",
    "Flux de données OGC SensorThings (unité, grandeur observée, capteur).",
    (
        Column("datastream_id", STR, "Identifiant du flux (@iot.id, sinon empreinte du contenu)", required=True),
        Column("name", STR, "Nom du flux"),
        Column("description", STR, "Description du flux"),
        Column("observation_type", STR, "Type d'observation O&M"),
        Column("unit_name", STR, "Unité de mesure"),
        Column("unit_symbol", STR, "Symbole de l'unité"),
        Column("unit_definition", STR, "Définition de l'unité (URI)"),
        Column("observed_property", STR, "Grandeur observée"),
        Column("observed_property_definition", STR, "Définition de la grandeur (URI)"),
        Column("sensor", STR, "Description du capteur"),
        Column("thing_id", STR, "Objet (Thing) porteur"),
        Column("canonical_dataset", STR, "Jeu canonique alimenté par ce flux, s'il existe"),
    ),
    key=("datastream_id",),
)

SENSORTHINGS_OBSERVATIONS = DatasetSpec(
    "sensorthings",
    "observations",
    "numerique",
    "Observations OGC SensorThings dont le flux ne correspond à aucun jeu canonique.",
    (
        Column("observation_id", STR, "Identifiant (@iot.id, sinon empreinte du contenu)", required=True),
        Column("datastream_id", STR, "Flux de rattachement"),
        Column("observed_property", STR, "Grandeur observée"),
        Column("unit_symbol", STR, "Symbole de l'unité du résultat"),
        Column("phenomenon_time", UTC_TS, "Début du phénomène observé (UTC)", required=True),
        Column("phenomenon_end", UTC_TS, "Fin du phénomène observé si intervalle (UTC)"),
        Column("result_time", UTC_TS, "Date de production du résultat (UTC)"),
        Column("result_number", F64, "Résultat numérique"),
        Column("result_text", STR, "Résultat non numérique (JSON)"),
        Column("result_quality", STR, "Qualité du résultat"),
        Column("feature_of_interest", STR, "Objet d'intérêt (identifiant ou description)"),
        _lat(),
        _lon(),
        Column("parameters", STR, "Paramètres de l'observation (JSON)"),
        _source_tz(),
    ),
    key=("observation_id",),
    time_column="phenomenon_time",
)

REJECTED_FILES = DatasetSpec(
    "ingestion",
    "rejected_files",
    "numerique",
    "Fichiers refusés en entier (illisibles, format inattendu, XML dangereux) avec leur contenu et la raison.",
    (
        Column("file", STR, "Chemin du fichier reçu", required=True),
        Column("connector", STR, "Connecteur utilisé", required=True),
        Column("size_bytes", I64, "Taille du fichier", unit="octets"),
        Column("sha256", STR, "Empreinte SHA-256 du contenu"),
        Column("content", pa.binary(), "Contenu brut du fichier (tronqué au-delà de 32 Mo)"),
        Column("reason", STR, "Raison du refus", required=True),
    ),
    key=("file", "connector", "sha256"),
)

EXTRA = {
    s.qualified_name: s
    for s in (
        WATER_METER_READINGS,
        FIWARE_ENTITIES,
        SENSORTHINGS_DATASTREAMS,
        SENSORTHINGS_OBSERVATIONS,
        REJECTED_FILES,
    )
}
