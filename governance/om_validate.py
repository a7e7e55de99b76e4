"""Validate a payload folder with openmetadata-ingestion's generated models.

Runs in the optional OpenMetadata venv (standalone: imports nothing from the repo).
Usage: ``.venv-om/bin/python governance/om_validate.py <folder>``; prints counts as JSON,
exits 1 naming the first invalid payload.
"""

import json
import sys
from pathlib import Path

from metadata.generated.schema.api.classification.createClassification import CreateClassificationRequest
from metadata.generated.schema.api.classification.createTag import CreateTagRequest
from metadata.generated.schema.api.data.createTable import CreateTableRequest
from metadata.generated.schema.api.lineage.addLineage import AddLineageRequest

MODELS = {
    "classifications": CreateClassificationRequest,
    "tags": CreateTagRequest,
    "tables": CreateTableRequest,
    "lineage": AddLineageRequest,
}


def main(folder: str) -> int:
    counts = {}
    for kind, model in MODELS.items():
        items = json.loads((Path(folder) / f"{kind}.json").read_text(encoding="utf-8"))
        for i, item in enumerate(items):
            try:
                model.model_validate(item)
            except Exception as exc:  # pydantic.ValidationError
                print(f"{kind}.json[{i}] ({item.get('name', '')}) : {exc}", file=sys.stderr)
                return 1
        counts[kind] = len(items)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
