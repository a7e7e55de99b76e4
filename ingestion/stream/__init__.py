"""MQTT stream ingestion: a consumer writing micro-batches to the raw zone, and an embedded broker."""
