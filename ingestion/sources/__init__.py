"""Source connectors, registered by name.

Adding a source: write one module here with a :class:`~ingestion.sources.base.Source`
subclass decorated with ``@register``, and add the module name to ``MODULES``.
"""

from __future__ import annotations

import importlib

from ingestion.sources.base import Source

MODULES = (
    "fiware",
    "sensorthings",
    "open311",
    "dansmarue",
    "business",
    "meteofrance",
    "social",
    "cctv",
    "opendatasoft",
    "datagouv",
    "enedis",
)

_REGISTRY: dict[str, type[Source]] = {}


def register(cls: type[Source]) -> type[Source]:
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"connecteur « {cls.name} » déjà enregistré")
    _REGISTRY[cls.name] = cls
    return cls


def _load() -> None:
    for module in MODULES:
        importlib.import_module(f"ingestion.sources.{module}")


def get(name: str) -> Source:
    _load()
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise KeyError(f"connecteur inconnu « {name} » (disponibles : {', '.join(sorted(_REGISTRY))})") from None


def available() -> dict[str, type[Source]]:
    _load()
    return dict(sorted(_REGISTRY.items()))
