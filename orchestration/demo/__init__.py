"""The demo code location: the production graph plus the simulated Val-de-Lys territory.

Used by ``make run`` and ``hyperviseur demo …`` only. The production ``Definitions``
(``orchestration.definitions``, the Kubernetes code location) never import this package,
so a real deployment can never simulate, replay or write demo data.
"""
