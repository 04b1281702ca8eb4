"""Time the streaming writers on a product-shaped table (default 10^6 rows).

    python bench/writers_bench.py [--rows 1000000] [--batch 20000] [--formats ...]

The table has the columns of a demo product (spec-z columns, object id and coordinates,
12 fluxes as float32, 12 magnitudes as float64, match distance and rank, a string
column and a nullable integer), in batches of ``--batch`` rows as a run streams them.
Each format is written once into a temporary folder; the time (wall clock, including
the final rename) and the file size are printed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

BANDS = "ugrizy"


def product_batch(rows: int, start: int, rng: np.random.Generator) -> pd.DataFrame:
    columns: dict[str, object] = {
        "specz_id": np.arange(start, start + rows, dtype=np.int64) + 1_000_000,
        "ra": rng.uniform(0, 360, rows),
        "dec": rng.uniform(-60, 10, rows),
        "z": rng.uniform(0, 2, rows),
        "z_err": rng.uniform(0, 1e-3, rows),
        "z_flag": rng.integers(1, 5, rows),
        "survey": pd.array(rng.choice(["DESI", "OzDES", "2dFLenS"], rows), dtype="str"),
        "qop": pd.array(np.where(rng.random(rows) < 0.1, None, rng.integers(1, 5, rows)),
                        dtype="Int64"),
        "specz_row": np.arange(start, start + rows, dtype=np.int64),
        "objectId": rng.integers(0, 2**60, rows),
        "coord_ra": rng.uniform(0, 360, rows),
        "coord_dec": rng.uniform(-60, 10, rows),
        "ebv": rng.uniform(0, 0.1, rows).astype(np.float32),
    }
    for band in BANDS:
        columns[f"{band}_cModelFlux"] = rng.normal(1000, 300, rows).astype(np.float32)
        columns[f"{band}_cModelFluxErr"] = rng.uniform(10, 100, rows).astype(np.float32)
    columns["match_distance_arcsec"] = rng.uniform(0, 1, rows)
    columns["match_rank"] = np.ones(rows, dtype=np.int32)
    for band in BANDS:
        columns[f"{band}_cModelMag"] = rng.normal(23, 1, rows)
        columns[f"{band}_cModelMagErr"] = rng.uniform(0.01, 0.3, rows)
    return pd.DataFrame(columns)


def main() -> None:
    from tsmaker.formats import writer_for

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--formats", nargs="*",
                        default=["parquet", "csv", "fits", "hdf5", "hdf5:table"])
    options = parser.parse_args()
    rng = np.random.default_rng(1)
    batches = [product_batch(min(options.batch, options.rows - start), start, rng)
               for start in range(0, options.rows, options.batch)]
    units = {"ra": "deg", "dec": "deg", "coord_ra": "deg", "coord_dec": "deg"}
    metadata = {"tsmaker": {"name": "bench"}}
    for spec in options.formats:
        name, _, layout = spec.partition(":")
        writer_class = writer_for(name)
        extra = {"layout": layout} if layout else {}
        with tempfile.TemporaryDirectory(dir=Path.cwd()) as folder:
            path = Path(folder) / f"bench{writer_class.suffix}"
            started = time.perf_counter()
            try:
                writer = writer_class(path, units=units, metadata=metadata,
                                      string_widths={"survey": 8}, **extra)
            except TypeError:
                print(f"{spec:12s} not available in this version")
                continue
            with writer:
                for batch in batches:
                    writer.write(batch)
            elapsed = time.perf_counter() - started
            size = path.stat().st_size
        print(f"{spec:12s} {options.rows:>9,d} rows  {elapsed:7.2f} s  {size / 1e6:8.1f} MB")


if __name__ == "__main__":
    main()
