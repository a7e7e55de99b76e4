"""Records API of the portal at 10 M rows: p50/p95 latency per query kind vs raw DuckDB.

A mart-like Parquet (``bench_opendata.make_source``) is placed in a local lake as a
published version (manifest written directly: exporting 10 M rows to every format is
``bench_opendata.py``'s subject, not this one's). The portal serves it on loopback, once
the API's local DuckDB copy of that version is built (its time is printed). Each query kind
is requested over HTTP ``--repeat`` times after a first request (reported apart: nothing
remembered yet), paginated kinds walking through successive pages (the API remembers a
query's total and its pages per published version: later pages cost one query, an identical
request none). Baseline in the same run: the SQL of one page (count + page, or the
aggregate) run directly by DuckDB on the same Parquet file, same number of repetitions.
Goal: API p95 < 100 ms.
Usage: ``python benchmarks/bench_opendata_api.py [--quick] [--rows N] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_opendata import make_source
from common import report

DEFAULT_ROWS = 10_000_000
QUICK_ROWS = 200_000
DATASET = "bench_air"
VERSION = "20260301T000000000Z"
SRC = "read_parquet(?)"
QUERIES = {
    # name: (API parameters, raw DuckDB statements on the same Parquet)
    "filtre + page": (
        {"where": "station_id = 'ST07' and no2_ugm3 > 30", "limit": "20", "offset": "40"},
        [
            f"SELECT count(*) FROM {SRC} WHERE station_id = 'ST07' AND no2_ugm3 > 30",
            f"SELECT * FROM {SRC} WHERE station_id = 'ST07' AND no2_ugm3 > 30 LIMIT 20 OFFSET 40",
        ],
    ),
    "filtre + tri + page": (
        {"where": "no2_ugm3 >= 40", "order_by": "observed_at desc", "limit": "50", "offset": "100"},
        [
            f"SELECT count(*) FROM {SRC} WHERE no2_ugm3 >= 40",
            f"SELECT * FROM {SRC} WHERE no2_ugm3 >= 40 ORDER BY observed_at DESC LIMIT 50 OFFSET 100",
        ],
    ),
    "agrégat (group_by)": (
        {
            "select": "station_id, count(*) as n, avg(no2_ugm3) as moyenne, max(no2_ugm3)",
            "group_by": "station_id",
            "order_by": "moyenne desc",
            "limit": "100",
        },
        [
            f"SELECT count(*) FROM (SELECT station_id FROM {SRC} GROUP BY station_id)",
            f"SELECT station_id, count(*), avg(no2_ugm3) AS m, max(no2_ugm3) FROM {SRC} GROUP BY station_id "
            "ORDER BY m DESC LIMIT 100",
        ],
    ),
}


def publish_source(lh, source: Path, rows: int) -> None:
    """Put ``source`` in the lake as the published version of :data:`DATASET`."""
    key = f"opendata/{DATASET}/{VERSION}/{DATASET}.parquet"
    lh.storage.put_file(key, source)
    columns = [
        {"name": "station_id", "type": "VARCHAR"},
        {"name": "observed_at", "type": "TIMESTAMP WITH TIME ZONE"},
        {"name": "no2_ugm3", "type": "DOUBLE"},
        {"name": "lat", "type": "DOUBLE"},
        {"name": "lon", "type": "DOUBLE"},
    ]
    manifest = {
        "dataset": DATASET,
        "version": VERSION,
        "published_at": "2026-03-01T00:00:00+00:00",
        "metadata": {"title": "Banc d'essai", "description": "Mesures synthétiques"},
        "columns": columns,
        "geometry": ["lat", "lon"],
        "files": [{"format": "parquet", "key": key}],
        "rows": rows,
    }
    lh.lake.write_json(f"opendata/{DATASET}/latest/manifest.json", manifest)


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_api(url: str, params: dict, repeat: int) -> list[float]:
    """Latencies of the first request then of ``repeat`` others, each on another page when paginated."""
    out = []
    for i in range(repeat + 1):
        page = (
            {**params, "offset": str(int(params["offset"]) + i * int(params["limit"]))}
            if "offset" in params
            else params
        )
        target = f"{url}api/explore/v2.1/catalog/datasets/{DATASET}/records?{urllib.parse.urlencode(page)}"
        t0 = time.perf_counter()
        with urllib.request.urlopen(target) as r:
            doc = json.loads(r.read())
        out.append(time.perf_counter() - t0)
    assert doc["total_count"] > 0, doc
    return out


def time_raw(con, source: Path, statements: list[str], repeat: int) -> list[float]:
    out = []
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        for sql in statements:
            con.execute(sql, [str(source)]).fetchall()
        if i:
            out.append(time.perf_counter() - t0)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS} lignes (test rapide)")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    rows = args.rows or (QUICK_ROWS if args.quick else DEFAULT_ROWS)

    from lakehouse import duck
    from lakehouse.platform import Lakehouse
    from opendata.serve import serve_in_thread

    with tempfile.TemporaryDirectory(prefix="bench-opendata-api-") as tmp:
        tmp = Path(tmp)
        env = {"HYPERVISEUR_DATA_DIR": str(tmp / "data"), "HYPERVISEUR_OPENDATA_API_RATE_PER_MINUTE": "1000000"}
        lh = Lakehouse.from_env(env)
        lh.storage.check()
        source = tmp / "source.parquet"
        t0 = time.perf_counter()
        make_source(source, rows)
        print(f"Source : {rows:,} lignes ({time.perf_counter() - t0:.1f} s)".replace(",", " "))
        publish_source(lh, source, rows)
        published = Path(lh.storage.uri(f"opendata/{DATASET}/{VERSION}/{DATASET}.parquet"))
        server, url = serve_in_thread(lh)
        t0 = time.perf_counter()
        assert server.api.copies.wait(DATASET, VERSION, str(published))
        print(f"Copie DuckDB locale de la version publiée : {time.perf_counter() - t0:.1f} s")
        raw = duck.connect(lh.settings)
        table = []
        try:
            for name, (params, statements) in QUERIES.items():
                first, *api = time_api(url, params, args.repeat)
                base = time_raw(raw, published, statements, args.repeat)
                api_p95, raw_p95 = p(api, 0.95) * 1000, p(base, 0.95) * 1000
                table.append(
                    [
                        name,
                        round(first * 1000, 1),
                        round(statistics.median(api) * 1000, 1),
                        round(api_p95, 1),
                        round(p(base, 0.5) * 1000, 1),
                        round(raw_p95, 1),
                        round(api_p95 / raw_p95, 2),
                        "oui" if api_p95 < 100 else "non",
                    ]
                )
        finally:
            raw.close()
            server.shutdown()
            server.server_close()
    report(
        "opendata_api",
        [
            "requête",
            "API 1re ms",
            "API p50 ms",
            "API p95 ms",
            "DuckDB p50 ms",
            "DuckDB p95 ms",
            "ratio p95",
            "p95 < 100 ms",
        ],
        table,
        f"{rows:,}".replace(",", " ") + f" lignes, {args.repeat} requêtes par type (HTTP loopback, un client).",
    )


if __name__ == "__main__":
    main()
