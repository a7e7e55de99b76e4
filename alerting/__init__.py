"""Real-time supervision: rules, anomaly detection, consequence graph, priority, CAP 1.2 and channels.

The engine consumes the same MQTT topics as ingestion (as an independent consumer) and
decides per message, with bounded state; incidents are kept in the lake (``_meta/alerts/``).
"""
