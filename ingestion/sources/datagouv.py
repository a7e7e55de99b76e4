"""data.gouv.fr tabular files (CSV from any producer: ``,`` or ``;``, UTF-8 or cp1252, often a
title line or a metadata block above the header).

csv-detective, data.gouv.fr's own detector, labels the columns the platform then types:
INSEE commune codes, postcodes and SIREN/SIRET stay text (their leading zeros matter),
French dates and decimal commas are read (:mod:`ingestion.formats.detect`).
"""

from __future__ import annotations

from ingestion.sources import register
from ingestion.sources.business import BusinessFileSource


@register
class DataGouvSource(BusinessFileSource):
    name = "datagouv"
    label = "Fichiers tabulaires data.gouv.fr : CSV, Excel (types et codes français détectés par csv-detective)"
    suffixes = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm")
    dataset_source = "datagouv"
