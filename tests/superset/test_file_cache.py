"""Superset's file caches past their threshold (``superset/file_cache.py``), in Superset's own
virtualenv: pruned in batches down to 80 % of the threshold, soonest to expire first, the
expired before anything else, and the count of entries right afterwards, taken from the folder
(no count file). cachelib alone pruned at every write once full, reading every file each time."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

from superset import service

FILE_CACHE = Path(service.__file__).resolve().parent / "file_cache.py"

SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, os, sys, time
    from unittest import mock
    spec = importlib.util.spec_from_file_location("file_cache", sys.argv[1])
    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
    cache = module.BatchPrunedFileCache(sys.argv[2], threshold=50, default_timeout=3600)
    cache.set("expired", "x", timeout=1)
    for i in range(50):
        cache.set(f"k{i:02d}", i, timeout=100 + i)  # k00 expires first
    reads = []
    real_open = open
    def counting_open(name, *a, **k):
        reads.append(name)
        return real_open(name, *a, **k)
    with mock.patch("builtins.open", counting_open):
        time.sleep(1.1)  # "expired" now is
        cache.set("k50", 50, timeout=3600)  # 52 entries > 50: one batch prune
        pruned_reads = len(reads); reads.clear()
        for i in range(51, 55):
            cache.set(f"k{i:02d}", i, timeout=3600)  # under the threshold again: no prune
    names = [k for k in ["expired"] + [f"k{i:02d}" for i in range(55)] if cache.has(k)]
    print(json.dumps({"kept": names, "count": cache._file_count, "pruned_reads": pruned_reads,
                      "later_reads": len(reads), "files": len(os.listdir(sys.argv[2]))}))
    """
)


def test_a_full_cache_is_pruned_once_in_a_batch_soonest_to_expire_first(tmp_path):
    python = service.Instance.from_env().venv / "bin" / "python"
    out = subprocess.run(
        [str(python), "-c", SCRIPT, str(FILE_CACHE), str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    kept = result["kept"]
    assert "expired" not in kept
    # 51 entries: the expired one, then the 10 soonest to expire removed (80 % of 50 = 40 left),
    # then the new one and the next 4 written
    assert kept[0] == "k10" and len(kept) == 40 + 1 + 4
    assert result["count"] == 45 and result["files"] == 45  # counted in the folder: no count file
    assert result["pruned_reads"] >= 50  # the batch read every entry once...
    assert result["later_reads"] < 4 * 5  # ...and the next writes did not read them again
