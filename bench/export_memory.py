"""How much memory a register download takes, and how soon its first byte leaves (issue #16): in a process of its
own, on a register seeded by ``register_seed.py``, one download is read piece by piece through the app; the peak
resident memory after a small warm-up download is the baseline, and the growth over it is what the download cost.

    python bench/export_memory.py --database sqlite:////tmp/register.sqlite3 --instance /tmp/inst --format json

Prints one JSON object: format, rows, bytes, first_byte_s, total_s, peak_growth_mb."""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from register_seed import make_app  # noqa: E402

PATHS = {"json": "/register.json", "jsonl": "/register.jsonl", "csv": "/register.csv"}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def measure(database: str, instance: str, fmt: str) -> dict:
    app = make_app(database, instance)
    client = app.test_client()
    warm = client.get(PATHS[fmt] + "?q=nothing-matches-this", buffered=False)
    b"".join(warm.iter_encoded())
    warm.close()
    baseline = _peak_mb()
    started = time.perf_counter()
    response = client.get(PATHS[fmt], buffered=False)
    first_byte = None
    size = 0
    tail = b""
    lines = 0
    for piece in response.iter_encoded():
        if first_byte is None:
            first_byte = time.perf_counter() - started
        size += len(piece)
        lines += piece.count(b"\n")
        tail = (tail + piece)[-64:]
    response.close()
    total = time.perf_counter() - started
    rows = {"jsonl": lines, "csv": lines - 1}.get(fmt, -1)
    return {
        "format": fmt,
        "status": response.status_code,
        "rows": rows,
        "bytes": size,
        "first_byte_s": round(first_byte or total, 3),
        "total_s": round(total, 3),
        "peak_growth_mb": round(_peak_mb() - baseline, 1),
        "ends": tail.decode("utf-8", "replace")[-8:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--format", choices=sorted(PATHS), default="json")
    args = parser.parse_args()
    print(json.dumps(measure(args.database, args.instance, args.format)))


if __name__ == "__main__":
    main()
