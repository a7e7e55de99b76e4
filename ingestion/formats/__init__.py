"""Readers for the file formats territories really produce (CSV, Excel, OpenDocument, shapefile, GeoJSON).

Each reader streams a file as :class:`~ingestion.formats.tabular.RecordChunk` objects of a
fixed number of records, so chunk boundaries (hence lake batch ids) are deterministic, and
numbers every record from the file so a rejection can point at it. Readers keep within
:class:`~lakehouse.settings.LimitsSettings` (:mod:`~ingestion.formats.limits`) and raise only
:class:`~ingestion.formats.errors.InputRejected` (or a subclass) for what they refuse.

:mod:`~ingestion.formats.detect` proposes how to read a file and the type of each column
(csv-detective), :mod:`~ingestion.formats.schema` holds that schema (a JSON file a user may
edit) and types records with it; :mod:`~ingestion.formats.records` reads JSON lists of
records (OpenDataSoft exports); :mod:`~ingestion.formats.opendocument` streams an ``.ods`` sheet.
"""
