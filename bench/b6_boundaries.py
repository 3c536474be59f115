"""B6: loading the packaged regency boundaries that place a WhatsApp pin (target: <= 1.0 s, the
start-up budget an intake replica has before its readiness probe is expected to pass).

Measured: `RegencyBoundaries.from_geojson` on the packaged GeoJSON text, best of `--repeat` runs.
Baseline in the same run: `json.loads` of the same text, the least any loader must do, so the
ratio (load / parse) shows what building the spatial index costs over reading the file.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

from common import write_result

from aduan_intake.pins import RegencyBoundaries

TARGET_SECONDS = 1.0


def best_of(repeat: int, work: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    text = (
        resources.files("aduan_intake")
        .joinpath("data", "boundaries", "regencies.geojson")
        .read_text(encoding="utf-8")
    )
    parse = best_of(args.repeat, lambda: json.loads(text))
    load = best_of(args.repeat, lambda: RegencyBoundaries.from_geojson(text))
    write_result(
        "b6_boundaries",
        {
            "repeat": args.repeat,
            "geojson_bytes": len(text.encode()),
            "load_seconds": round(load, 4),
            "baseline_json_parse_seconds": round(parse, 4),
            "ratio_load_to_parse": round(load / parse, 2),
            "target_seconds": TARGET_SECONDS,
            "met": load <= TARGET_SECONDS,
        },
    )


if __name__ == "__main__":
    main()
