"""Governance of the territory's data: classification (Presidio, French recognisers), steward
decisions as versioned files, level propagation through dbt lineage, masking policies, the
hash-chained audit log, the open-data export guard and OpenMetadata payloads."""
