"""Child process for test_interrupted_write: writes one large batch, announcing each phase."""

import sys

import numpy as np
import pyarrow as pa

from lakehouse.lake import Zone
from lakehouse.platform import Lakehouse


def main(rows: int) -> None:
    lh = Lakehouse.from_env()
    rng = np.random.default_rng(7)  # same rows every run, hence the same batch id
    table = pa.table({"a": rng.random(rows), "b": rng.integers(0, 1 << 62, rows)})
    original_put = lh.storage.put_file

    def announced_put(key, path):
        print("UPLOADING", flush=True)
        original_put(key, path)

    lh.storage.put_file = announced_put
    print("WRITING", flush=True)
    m = lh.lake.write_batch(Zone.RAW, "big", "readings", table, origin="interrupted-writer")
    print("DONE", m.batch_id, flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
