"""Throughput of E(B-V) look-ups: 10^6 positions through ``tsmaker.science.dust_maps.ebv_at``.

Writes full-size (4096 x 4096) SFD maps in the real on-disk layout (the test fixture's
writer, constant per Galactic quadrant) into bench/data/dustmaps, then times
``ebv_at("sfd", ...)`` on 10^6 random positions, one thread, after one warm-up call
that loads the map. Prints one JSON line and appends a section to bench/RESULTS.md.

Usage::

    OMP_NUM_THREADS=1 python bench/dust_bench.py [--positions 1000000] [--repeats 5]
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()

    from dustmap_fixtures import write_sfd

    from tsmaker.science import dust_maps as dust

    maps = ROOT / "bench" / "data" / "dustmaps"
    if not (maps / "sfd" / "SFD_dust_4096_sgp.fits").exists():
        write_sfd(maps / "sfd", size_pixels=4096)
    location = dust.require_map("sfd", maps)
    rng = np.random.default_rng(0)
    ra = rng.uniform(0.0, 360.0, arguments.positions)
    dec = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, arguments.positions)))
    started = time.perf_counter()
    dust.ebv_at("sfd", ra[:10], dec[:10], location)
    load_seconds = time.perf_counter() - started
    timings = []
    for _ in range(arguments.repeats):
        started = time.perf_counter()
        values = dust.ebv_at("sfd", ra, dec, location)
        timings.append(time.perf_counter() - started)
    assert np.isfinite(values).all()
    result = {
        "positions": arguments.positions,
        "map_load_seconds": round(load_seconds, 3),
        "median_seconds": round(float(np.median(timings)), 3),
        "min_seconds": round(min(timings), 3),
        "max_seconds": round(max(timings), 3),
    }
    print(json.dumps(result))
    with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as handle:
        handle.write(
            "\n## Dust maps (bench/dust_bench.py)\n\n"
            f"`ebv_at('sfd', ...)` on {arguments.positions:,} positions, one thread, "
            "4096 x 4096 SFD maps in the real layout: median "
            f"{result['median_seconds']} s (min {result['min_seconds']}, max "
            f"{result['max_seconds']}, {arguments.repeats} runs) after a one-off map load of "
            f"{result['map_load_seconds']} s. Most of the time is the ICRS to Galactic "
            "conversion; the map look-up itself is a vectorised array index.\n"
        )


if __name__ == "__main__":
    main()
