"""Build the benchmark inputs: DP1-shaped mock Object collections and spec-z catalogs.

**Layout.** The partitions are the real DP1 ``object_lc`` partitions, read from
``../shared/data/dp1_object_collection/object_lc/partition_info.csv`` (389 HEALPix
pixels, orders 5 to 11). Scale 1x is one copy of that layout holding 2,299,726 rows (the
real DP1 row count). Scale Sx is S copies of it on different parts of the sky: copy j
moves every partition by the same number of order-5 pixels (its sub-pixel structure is
kept), the shifts chosen so that no two copies overlap or touch. The sky area grows with
the scale while the density and the partition sizes stay DP1's, as they will in a later
data release; every partition stays under DP1's ``hats_max_rows`` (15,000).

**Rows.** Each partition gets a share of its copy's rows (weights uniform in
[0.15, 1]), 65% placed uniformly in the pixel and 35% in clumps (a few order+4
sub-pixels with log-normal weights), then 4% moved 0.6-2 arcsec next to another object
(blends) when that keeps them in the pixel. Photometry and the other ~100 real DP1
columns come from ``tsmaker.demo.mock.mock_object_frame_at``. Rows are sorted by
``_healpix_29`` as hats-import writes them.

**Margin.** ``object_lc_5arcs`` is built the way hats-import builds a margin cache:
margin order 14 (``margin2order(5 arcsec)``), and for every partition the rows of other
partitions whose order-14 pixel is one of ``hats.pixel_math.get_margin`` of it.

**Metadata.** ``partition_info.csv``, ``hats.properties``, ``dataset/_metadata`` and
``_common_metadata`` are written with hats' own classes, ``collection.properties`` with
a default margin, so ``lsdb.open_catalog`` and ``hats.read_hats`` read the collection.

Spec-z catalogs ``specz_<S>x_<n>.parquet`` are drawn around the objects with
``tsmaker.demo.mock_specz.mock_specz_frame`` (80% with a counterpart, 5% blends).

Usage::

    /work/venv/bin/python bench/make_data.py --scales 1 10
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tsmaker.demo import mock, mock_sky, mock_specz
from tsmaker.matching.healpix import healpix29

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / "data"
DP1_LAYOUT = BENCH_DIR.parent.parent / "shared" / "data" / "dp1_object_collection"
DP1_ROWS = 2_299_726
DP1_MAX_ROWS = 15_000
SPECZ_SIZES = (10_000, 100_000, 1_000_000)
BASE_PIXELS_ORDER5 = 12 * 4**5
MARGIN_ARCSEC = 5.0
MARGIN_ORDER = 14
CLUMP_SHARE = 0.35
COMPANION_SHARE = 0.04
OBJECT_ID_BASE = 592_000_000_000_000_000
ROWS_PER_COPY_ID_BLOCK = 10**10
ROWS_PER_PARTITION_ID_BLOCK = 10**6


def object_dir(scale: float) -> Path:
    return DATA_DIR / f"object_{scale:g}x"


def specz_path(scale: float, n_rows: int) -> Path:
    return DATA_DIR / f"specz_{scale:g}x_{n_rows}.parquet"


def dp1_partitions() -> list[tuple[int, int]]:
    """The real DP1 object_lc partitions (order, pixel), in sky order."""
    with (DP1_LAYOUT / "object_lc" / "partition_info.csv").open() as handle:
        pixels = [(int(row["Norder"]), int(row["Npix"])) for row in csv.DictReader(handle)]
    return sorted(pixels, key=lambda p: p[1] << (2 * (29 - p[0])))


def copy_shifts(partitions: list[tuple[int, int]], copies: int) -> list[int]:
    """Shifts in order-5 pixels that put ``copies`` copies apart (no overlap, no contact)."""
    from cdshealpix.nested import neighbours

    ancestors = np.unique([pixel >> (2 * (order - 5)) for order, pixel in partitions])
    taken: set[int] = set()
    shifts = []
    rng = np.random.default_rng(5)
    candidates = [0, *rng.permutation(np.arange(1, BASE_PIXELS_ORDER5)).tolist()]
    for shift in candidates:
        moved = (ancestors + shift) % BASE_PIXELS_ORDER5
        near = np.unique(neighbours(moved.astype(np.uint64), 5))
        near = set(near[near >= 0].tolist()) | set(moved.tolist())
        if near & taken:
            continue
        taken |= near
        shifts.append(shift)
        if len(shifts) == copies:
            return shifts
    raise RuntimeError(f"cannot place {copies} disjoint copies of the DP1 layout")


def shifted(order: int, pixel: int, shift: int) -> int:
    depth = 2 * (order - 5)
    ancestor = ((pixel >> depth) + shift) % BASE_PIXELS_ORDER5
    return (ancestor << depth) | (pixel & ((1 << depth) - 1))


def positions_in_pixel(rng: np.random.Generator, order: int, pixel: int,
                       n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Clustered positions inside one HEALPix pixel (never outside it)."""
    from cdshealpix.nested import healpix_to_lonlat

    shift = 2 * (29 - order)
    n_clumped = int(CLUMP_SHARE * n_rows)
    uniform = rng.integers(pixel << shift, (pixel + 1) << shift, n_rows - n_clumped)
    sub_order = min(order + 4, 29)
    sub_shift = 2 * (29 - sub_order)
    n_clumps = max(1, n_rows // 3000)
    clump_cells = (pixel << (2 * (sub_order - order))) + rng.integers(
        0, 4 ** (sub_order - order), n_clumps)
    weights = rng.lognormal(0.0, 0.7, n_clumps)
    members = np.repeat(clump_cells, rng.multinomial(n_clumped, weights / weights.sum()))
    clumped = (members << sub_shift) + rng.integers(0, 1 << sub_shift, len(members))
    cells = np.concatenate((uniform, clumped)).astype(np.uint64)
    lon, lat = healpix_to_lonlat(cells, 29)
    ra, dec = lon.deg.astype(np.float64), lat.deg.astype(np.float64)
    # Blends: move a share of objects next to the previous one, if they stay in the pixel.
    index = np.flatnonzero(rng.random(n_rows) < COMPANION_SHARE)
    index = index[index > 0]
    separation_deg = rng.uniform(0.6, 2.0, len(index)) / 3600.0
    angle = rng.uniform(0.0, 2.0 * np.pi, len(index))
    new_ra, new_dec = mock_sky.offset_by(ra[index - 1], dec[index - 1], separation_deg, angle)
    inside = (healpix29(new_ra, new_dec) >> shift) == pixel
    ra[index[inside]], dec[index[inside]] = new_ra[inside], new_dec[inside]
    return ra, dec


def build_copy(copy: int, shift: int, partitions: list[tuple[int, int]],
               seed: int) -> tuple[list[tuple[int, int]], pa.Table]:
    """One copy of the layout: its partitions and all its rows, sorted by _healpix_29."""
    rng = np.random.default_rng([seed, copy])
    weights = rng.uniform(0.15, 1.0, len(partitions))
    counts = rng.multinomial(DP1_ROWS, weights / weights.sum())
    if counts.max() > DP1_MAX_ROWS:
        raise RuntimeError(f"a partition would hold {counts.max()} rows > {DP1_MAX_ROWS}")
    moved = [(order, shifted(order, pixel, shift)) for order, pixel in partitions]
    moved.sort(key=lambda p: p[1] << (2 * (29 - p[0])))
    ra_parts, dec_parts, id_parts = [], [], []
    for index, ((order, pixel), n_rows) in enumerate(zip(moved, counts, strict=True)):
        ra, dec = positions_in_pixel(rng, order, pixel, int(n_rows))
        ra_parts.append(ra)
        dec_parts.append(dec)
        id_parts.append(OBJECT_ID_BASE + copy * ROWS_PER_COPY_ID_BLOCK
                        + index * ROWS_PER_PARTITION_ID_BLOCK + np.arange(n_rows))
    ra, dec = np.concatenate(ra_parts), np.concatenate(dec_parts)
    frame = mock.mock_object_frame_at(ra, dec, np.concatenate(id_parts),
                                      seed=seed * 1000 + copy, extra_columns=True)
    frame["parentObjectId"] = np.where(frame["parentObjectId"] != 0,
                                       frame["objectId"] + 10**9, 0)
    healpix = healpix29(ra, dec)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.append_column("_healpix_29", pa.array(healpix))
    return moved, table.take(np.argsort(healpix, kind="stable"))


def pixel_file(catalog: Path, order: int, pixel: int) -> Path:
    return (catalog / "dataset" / f"Norder={order}" / f"Dir={pixel // 10000 * 10000}"
            / f"Npix={pixel}.parquet")


def write_partitions(table: pa.Table, moved: list[tuple[int, int]], main: Path,
                     margin: Path) -> tuple[int, list[tuple[int, int]], int]:
    """Write one copy's partition files and margin files; return row counts."""
    from hats.pixel_math import get_margin

    healpix = table.column("_healpix_29").to_numpy()
    margin_pixels, margin_rows = [], 0
    for order, pixel in moved:
        shift = 2 * (29 - order)
        start, stop = np.searchsorted(healpix, [pixel << shift, (pixel + 1) << shift])
        path = pixel_file(main, order, pixel)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.slice(start, stop - start), path)
        cells = np.asarray(get_margin(order, pixel, MARGIN_ORDER - order), dtype=np.int64)
        margin_shift = 2 * (29 - MARGIN_ORDER)
        lows = np.searchsorted(healpix, cells << margin_shift)
        highs = np.searchsorted(healpix, (cells + 1) << margin_shift)
        rows = np.concatenate([np.arange(lo, hi) for lo, hi in zip(lows, highs, strict=True)
                               if hi > lo]
                              or [np.empty(0, dtype=np.int64)])
        if len(rows):
            path = pixel_file(margin, order, pixel)
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table.take(np.sort(rows)), path)
            margin_pixels.append((order, pixel))
            margin_rows += len(rows)
    return table.num_rows, margin_pixels, margin_rows


def finish_catalog(catalog: Path, pixels: list[tuple[int, int]], rows: int,
                   **properties: object) -> None:
    from hats.catalog import PartitionInfo, TableProperties
    from hats.io.parquet_metadata import write_parquet_metadata
    from hats.pixel_math import HealpixPixel

    write_parquet_metadata(catalog)
    PartitionInfo.from_healpix([HealpixPixel(o, p) for o, p in pixels]).write_to_file(
        catalog / "partition_info.csv")
    TableProperties(catalog_name=catalog.name, ra_column="coord_ra", dec_column="coord_dec",
                    total_rows=rows, healpix_column="_healpix_29", healpix_order=29,
                    hats_max_rows=DP1_MAX_ROWS, npix_suffix=".parquet",
                    **properties).to_properties_file(catalog)


def build_objects(scale: int, seed: int) -> dict:
    out = object_dir(scale)
    partial = out.with_name(f".{out.name}-partial")
    shutil.rmtree(partial, ignore_errors=True)
    main, margin = partial / "object_lc", partial / "object_lc_5arcs"
    partitions = dp1_partitions()
    shifts = copy_shifts(partitions, scale)
    all_pixels, margin_pixels, rows, margin_rows = [], [], 0, 0
    positions = []
    for copy, shift in enumerate(shifts):
        started = time.monotonic()
        moved, table = build_copy(copy, shift, partitions, seed)
        copy_rows, copy_margin_pixels, copy_margin_rows = write_partitions(
            table, moved, main, margin)
        positions.append(table.select(["coord_ra", "coord_dec", "r_cModelFlux"]))
        all_pixels += moved
        margin_pixels += copy_margin_pixels
        rows += copy_rows
        margin_rows += copy_margin_rows
        print(f"  copy {copy} (shift {shift} order-5 pixels): {copy_rows} rows, "
              f"{copy_margin_rows} margin rows, {time.monotonic() - started:.1f} s", flush=True)
        del table
    finish_catalog(main, all_pixels, rows, catalog_type="object")
    finish_catalog(margin, margin_pixels, margin_rows, catalog_type="margin",
                   primary_catalog="../object_lc", margin_threshold=MARGIN_ARCSEC)
    (partial / "collection.properties").write_text(
        "#HATS Collection\nobs_collection=object_collection\n"
        "hats_primary_table_url=object_lc\nall_margins=object_lc_5arcs\n"
        "default_margin=object_lc_5arcs\nhats_version=v1.0\n")
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    return {"rows": rows, "partitions": len(all_pixels), "margin_rows": margin_rows,
            "shifts": shifts, "positions": pa.concat_tables(positions)}


def write_specz(scale: int, positions: pa.Table, seed: int, sizes: tuple[int, ...]) -> None:
    objects = positions.to_pandas()
    for n_rows in sizes:
        started = time.monotonic()
        frame = mock_specz.mock_specz_frame(objects, n_rows=n_rows, seed=seed + n_rows)
        frame.to_parquet(specz_path(scale, n_rows), index=False)
        print(f"  {specz_path(scale, n_rows).name}: {len(frame)} rows "
              f"({time.monotonic() - started:.1f} s)", flush=True)


def read_positions(scale: int) -> pa.Table:
    """Positions and r fluxes of an object catalog already built (for --specz-only)."""
    import pyarrow.dataset as ds

    dataset = ds.dataset(object_dir(scale) / "object_lc" / "dataset", format="parquet",
                         partitioning="hive")
    return dataset.to_table(columns=["coord_ra", "coord_dec", "r_cModelFlux"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1])
    parser.add_argument("--seed", type=int, default=20250)
    parser.add_argument("--specz-sizes", type=int, nargs="+", default=list(SPECZ_SIZES))
    parser.add_argument("--specz-only", action="store_true",
                        help="draw spec-z catalogs around an object catalog already built")
    args = parser.parse_args()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    log = DATA_DIR / "make_data_log.json"
    record = json.loads(log.read_text()) if log.exists() else {}
    for scale in args.scales:
        print(f"scale {scale}x: {scale} cop{'y' if scale == 1 else 'ies'} of the DP1 layout",
              flush=True)
        started = time.monotonic()
        if args.specz_only:
            write_specz(scale, read_positions(scale), args.seed + scale, tuple(args.specz_sizes))
            continue
        built = build_objects(scale, args.seed)
        objects_s = time.monotonic() - started
        started = time.monotonic()
        write_specz(scale, built.pop("positions"), args.seed + scale, (10, *args.specz_sizes))
        built.update(objects_s=round(objects_s, 1),
                     specz_s=round(time.monotonic() - started, 1))
        record[f"{scale}x"] = built
        log.write_text(json.dumps(record, indent=2))
        print(f"scale {scale}x done: {built}", flush=True)


if __name__ == "__main__":
    main()
