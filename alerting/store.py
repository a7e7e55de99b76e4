"""Alert state in the lake: the engine's snapshot of incidents and the operators' actions.

The engine is the only writer of ``_meta/alerts/state.json``. Operators (CLI, HTML page)
never edit it: each acknowledgement or closing is a new object under
``_meta/alerts/actions/`` (time-ordered key), which the engine applies and readers merge,
so both can run at once without losing a write. A restarted engine reloads the snapshot
and applies any action it has not seen.
"""

from __future__ import annotations

import json
import time
import uuid

from lakehouse.errors import ObjectNotFound

STATE = "_meta/alerts/state.json"
ACTIONS = "_meta/alerts/actions/"


class AlertStore:
    def __init__(self, lh):
        self.lh = lh
        self.storage = lh.storage

    def load(self) -> dict:
        try:
            return json.loads(self.storage.read_bytes(STATE))
        except ObjectNotFound:
            return {"incidents": [], "last_action": ""}

    def save(self, incidents: list[dict], last_action: str, stats: dict | None = None) -> None:
        doc = {"saved_at": time.time(), "incidents": incidents, "last_action": last_action, "stats": stats or {}}
        self.storage.write_bytes(STATE, json.dumps(doc, ensure_ascii=False, default=str).encode())

    def add_action(self, incident_id: str, action: str, actor: str, identity: dict | None = None) -> str:
        """``identity``: the signed-on user (``sub``, ``name``, ``groups``) when the action comes
        from the operators' page behind the sign-on; ``actor`` is then their subject."""
        if action not in ("ack", "close"):
            raise ValueError(action)
        key = f"{ACTIONS}{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.json"
        record = {"incident_id": incident_id, "action": action, "actor": actor, "ts": time.time()}
        if identity:
            record["identity"] = identity
        self.storage.write_bytes(key, json.dumps(record, ensure_ascii=False).encode())
        return key

    def actions_after(self, last_key: str) -> list[tuple[str, dict]]:
        keys = sorted(o.key for o in self.storage.list(ACTIONS) if o.key.endswith(".json") and o.key > last_key)
        return [(k, json.loads(self.storage.read_bytes(k))) for k in keys]
