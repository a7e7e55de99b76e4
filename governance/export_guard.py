"""The open-data export guard: nothing above PUBLIC, nothing tagged PII.*, nothing a
steward has not approved for publication may reach ``opendata/``."""

from __future__ import annotations

from governance.levels import PUBLIC, rank
from governance.state import Classifier


def refusal_reasons(lh, dataset_name: str, classifier: Classifier | None = None) -> list[str]:
    """French reasons why ``dataset_name`` may not be published; an empty list means allowed."""
    st = (classifier or Classifier(lh)).state(dataset_name)
    reasons = []
    if not st.classified:
        reasons.append(f"« {dataset_name} » n'a jamais été classifié (lancer « hyperviseur govern scan »)")
    if rank(st.level) > rank(PUBLIC):
        reasons.append(f"niveau {st.level} supérieur à PUBLIC")
    for col, tags in sorted(st.pii_columns.items()):
        reasons.append(f"la colonne « {col} » porte l'étiquette {', '.join(tags)}")
    if st.pending:
        reasons.append(f"revue de classification en attente pour : {', '.join(sorted(st.pending))}")
    if st.publication is None:
        reasons.append(
            "aucune approbation de publication par un responsable des données "
            "(« hyperviseur govern approve-publication »)"
        )
    return reasons
