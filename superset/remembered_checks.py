"""Superset's permission checks answered from memory while the metadata database is unchanged.

Flask-AppBuilder decides each permission by reading the metadata database: at every API call
the ``Public`` role's permissions (``is_item_public``, asked first even for a signed-in user)
and, for a chart, the user's roles and their permissions several times over
(``_has_view_access``): ≈ a quarter of the CPU of a chart answered from Superset's cache.
Both answers depend only on that database (and on the configuration, fixed for a process),
so each worker keeps them for as long as the database's counter of access-relevant changes
(``metadata_epoch.py``) keeps the value this request read before any of its checks: a role,
a permission or an account changed anywhere, by any writer, and the next request decides
afresh. No counter (a database without its triggers): nothing is remembered.

Mixed into the security manager by ``superset_config.py``; runs only inside Superset's
virtualenv.
"""

from __future__ import annotations

import threading


class RememberedChecks:
    """Security manager mixin: permission checks kept per value of the metadata counter."""

    read_epoch = None  # metadata_epoch.read, set by superset_config.py when the triggers are laid

    def _remembered(self, key: tuple, check) -> bool:
        from superset import db

        epoch = self.read_epoch(db.session) if self.read_epoch else None
        if epoch is None:
            return check()
        state = self.__dict__.setdefault("_remembered_state", {"lock": threading.Lock(), "epoch": None, "answers": {}})
        with state["lock"]:
            if state["epoch"] is None or epoch > state["epoch"]:  # the database changed: forget everything
                state["epoch"], state["answers"] = epoch, {}
            found = state["answers"].get(key) if state["epoch"] == epoch else None
        if found is None:
            found = bool(check())
            with state["lock"]:
                if state["epoch"] == epoch:  # not if the database changed meanwhile
                    state["answers"][key] = found
        return found

    def is_item_public(self, permission_name, view_name):
        return self._remembered(
            ("public", permission_name, view_name),
            lambda: super(RememberedChecks, self).is_item_public(permission_name, view_name),
        )

    def _has_view_access(self, user, permission_name, view_name) -> bool:
        user_id = getattr(user, "id", None)
        if not isinstance(user, self.user_model) or not isinstance(user_id, int) or not user.is_authenticated:
            return super()._has_view_access(user, permission_name, view_name)  # a guest, the public: as Superset
        return self._remembered(
            ("user", user_id, permission_name, view_name),
            lambda: super(RememberedChecks, self)._has_view_access(user, permission_name, view_name),
        )
