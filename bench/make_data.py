"""Build the benchmark inputs: DP1-shaped mock Object collections and spec-z catalogs.

For each scale (1x = 2,299,726 rows, the size of the real DP1 ``object_lc``):

* ``bench/data/object_<scale>x/``: a HATS collection laid out like DP1
  (``object_lc`` + 5 arcsec margin ``object_lc_5arcs``, ``partition_rows=15000``,
  fields at the DP1 field centres, ~100 real DP1 columns via ``extra_columns=True``);
* ``bench/data/specz_<scale>x_<n>.parquet`` for n in 1e4, 1e5, 1e6 (80% with a
  counterpart), plus ``specz_<scale>x_10.parquet`` for the fixed-overhead run.

Objects are generated in chunks of ``--chunk-rows`` rows (each chunk is an independent
``mock_object_frame`` call with its own seed and a disjoint objectId block), written to
staging Parquet files, and imported with the hats-import collection pipeline, so memory
stays bounded by one chunk plus what hats-import needs.

``tsmaker.mock.write_object_collection(engine="hats_import")`` takes one in-memory
frame; at 10x that frame is ~9 GB, so this script calls the same hats-import pipeline
on its own chunk files instead (same arguments as ``mock._write_with_hats_import``).

Usage::

    /work/venv/bin/python bench/make_data.py --scales 1 5
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from tsmaker import mock

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / "data"
DP1_ROWS = 2_299_726
SPECZ_SIZES = (10_000, 100_000, 1_000_000)
# Disjoint objectId blocks per chunk (mock ids are base + field * 1e12 + row in field).
CHUNK_ID_STRIDE = 10**9


def object_dir(scale: float) -> Path:
    return DATA_DIR / f"object_{scale:g}x"


def specz_path(scale: float, n_rows: int) -> Path:
    return DATA_DIR / f"specz_{scale:g}x_{n_rows}.parquet"


def write_chunks(scale: float, staging: Path, chunk_rows: int, seed: int) -> list[Path]:
    """Generate the objects chunk by chunk into staging Parquet files."""
    total = int(round(DP1_ROWS * scale))
    paths = []
    for index, start in enumerate(range(0, total, chunk_rows)):
        n = min(chunk_rows, total - start)
        frame = mock.mock_object_frame(n, seed=seed + index, extra_columns=True)
        frame["objectId"] += index * CHUNK_ID_STRIDE
        frame["parentObjectId"] = np.where(frame["parentObjectId"] != 0,
                                           frame["parentObjectId"] + index * CHUNK_ID_STRIDE,
                                           0)
        path = staging / f"chunk_{index:05d}.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path,
                       row_group_size=100_000)
        paths.append(path)
        print(f"  chunk {index}: {n} rows, {frame.shape[1]} columns", flush=True)
        del frame
    return paths


def import_collection(input_files: list[Path], out: Path, workers: int,
                      highest_order: int) -> None:
    """hats-import collection pipeline: object_lc + object_lc_5arcs, 15k rows/partition."""
    from dask.distributed import Client
    from hats_import.collection.arguments import CollectionArguments
    from hats_import.pipeline import pipeline_with_client

    tmp = out.parent / f".{out.name}-tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    arguments = (
        CollectionArguments(output_artifact_name=out.name, output_path=out.parent,
                            tmp_dir=tmp / "tmp", progress_bar=False, resume=False)
        .catalog(input_file_list=input_files, file_reader="parquet", ra_column="coord_ra",
                 dec_column="coord_dec", output_artifact_name="object_lc",
                 highest_healpix_order=highest_order,
                 pixel_threshold=mock.DP1_PARTITION_ROWS)
        .add_margin(margin_threshold=5.0, is_default=True)
    )
    with (Client(n_workers=workers, threads_per_worker=1, processes=True,
                 dashboard_address=None, local_directory=tmp / "dask") as client,
          warnings.catch_warnings()):
        warnings.filterwarnings("ignore", message="Computing partitions from catalog")
        pipeline_with_client(arguments, client)
    shutil.rmtree(tmp, ignore_errors=True)


def write_specz(scale: float, staging_files: list[Path], seed: int,
                sizes: tuple[int, ...] = SPECZ_SIZES, matched_fraction: float = 0.8) -> None:
    """Spec-z catalogs drawn around this scale's objects (``matched_fraction`` with a
    counterpart; at 10x the fields are too dense for 20% empty positions, use 1.0)."""
    dataset = ds.dataset([str(p) for p in staging_files], format="parquet")
    objects = dataset.to_table(columns=["coord_ra", "coord_dec", "r_cModelFlux"]).to_pandas()
    for n_rows in (10, *sizes):
        path = specz_path(scale, n_rows)
        if path.exists():
            continue
        started = time.monotonic()
        frame = mock.mock_specz_frame(objects, n_rows=n_rows, seed=seed + n_rows,
                                      matched_fraction=matched_fraction)
        frame.to_parquet(path, index=False)
        print(f"  {path.name}: {len(frame)} rows ({time.monotonic() - started:.1f} s)",
              flush=True)


def build_scale(scale: float, chunk_rows: int, workers: int, highest_order: int,
                seed: int, sizes: tuple[int, ...] = SPECZ_SIZES,
                matched_fraction: float = 0.8) -> dict:
    out = object_dir(scale)
    staging = DATA_DIR / f".staging_{scale:g}x"
    timings = {}
    started = time.monotonic()
    if staging.exists() and (staging / "done").exists():
        files = sorted(staging.glob("chunk_*.parquet"))
    else:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        files = write_chunks(scale, staging, chunk_rows, seed)
        (staging / "done").write_text("ok")
    timings["generate_s"] = round(time.monotonic() - started, 1)
    started = time.monotonic()
    write_specz(scale, files, seed, sizes, matched_fraction)
    timings["specz_s"] = round(time.monotonic() - started, 1)
    started = time.monotonic()
    if not out.exists():
        import_collection(files, out, workers, highest_order)
    timings["hats_import_s"] = round(time.monotonic() - started, 1)
    shutil.rmtree(staging, ignore_errors=True)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0])
    parser.add_argument("--chunk-rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--highest-order", type=int, default=12)
    parser.add_argument("--seed", type=int, default=20250)
    parser.add_argument("--specz-sizes", type=int, nargs="+", default=list(SPECZ_SIZES))
    parser.add_argument("--matched-fraction", type=float, default=0.8,
                        help="spec-z with a counterpart (1.0 at 10x: too dense for 0.8)")
    args = parser.parse_args()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    log = DATA_DIR / "make_data_log.json"
    record = json.loads(log.read_text()) if log.exists() else {}
    for scale in args.scales:
        print(f"scale {scale:g}x: {int(round(DP1_ROWS * scale))} rows", flush=True)
        started = time.monotonic()
        timings = build_scale(scale, args.chunk_rows, args.workers, args.highest_order,
                              args.seed + int(scale * 1000), tuple(args.specz_sizes),
                              args.matched_fraction)
        timings["total_s"] = round(time.monotonic() - started, 1)
        record[f"{scale:g}x"] = timings
        log.write_text(json.dumps(record, indent=2))
        print(f"scale {scale:g}x done: {timings}", flush=True)


if __name__ == "__main__":
    main()
