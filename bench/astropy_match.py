"""The plain astropy crossmatch a user would write, as the benchmark baseline.

Reads the needed object columns from every Parquet file of the HATS main catalog
(pyarrow.dataset, column projection only), matches with astropy, keeps separations
<= radius, ranks by distance (ties by objectId), adds cModel magnitudes and writes
one Parquet file.

* k = 1: ``SkyCoord.match_to_catalog_sky`` (nthneighbor=1);
* k > 1: ``SkyCoord.search_around_sky`` within the radius, then the k nearest per spec-z.

Usage::

    python bench/astropy_match.py SPECZ.parquet COLLECTION_DIR OUT.parquet --radius 1 --k 1
"""

from __future__ import annotations

import argparse
from pathlib import Path

import astropy.units as u
import numpy as np
import pandas as pd
import pyarrow.dataset as ds
from astropy.coordinates import SkyCoord

BANDS = "ugrizy"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("specz")
    parser.add_argument("objects", help="HATS collection folder (main catalog: object_lc)")
    parser.add_argument("output")
    parser.add_argument("--radius", type=float, default=1.0)
    parser.add_argument("--k", type=int, default=1)
    parser.add_argument("--flux-type", default="cModel")
    parser.add_argument("--main", default="object_lc")
    parser.add_argument("--report-memory", action="store_true",
                        help="print the RSS after each step (to stderr)")
    args = parser.parse_args()

    def step(label: str) -> None:
        if args.report_memory:
            import sys

            import psutil

            rss = psutil.Process().memory_info().rss / 2**20
            print(f"[memory] {label}: RSS {rss:.0f} MB", file=sys.stderr, flush=True)

    step("imports")

    flux_columns = [f"{b}_{args.flux_type}Flux{e}" for b in BANDS for e in ("", "Err")]
    columns = ["objectId", "coord_ra", "coord_dec", "ebv", *flux_columns]
    dataset = ds.dataset(Path(args.objects) / args.main / "dataset", format="parquet")
    table = dataset.to_table(columns=columns)
    step(f"object columns read as Arrow ({table.nbytes / 2**20:.0f} MB, {len(table)} rows)")
    objects = table.to_pandas()
    del table
    step("objects converted to pandas")
    specz = pd.read_parquet(args.specz)

    specz_coord = SkyCoord(specz["ra"].to_numpy() * u.deg, specz["dec"].to_numpy() * u.deg)
    object_coord = SkyCoord(objects["coord_ra"].to_numpy() * u.deg,
                            objects["coord_dec"].to_numpy() * u.deg)
    step("SkyCoord objects built")
    radius = args.radius * u.arcsec
    if args.k == 1:
        index, separation, _ = specz_coord.match_to_catalog_sky(object_coord, nthneighbor=1)
        keep = separation <= radius
        specz_index = np.flatnonzero(keep)
        object_index = index[keep]
        distance = separation[keep].to_value(u.arcsec)
    else:
        # The KD-tree is built on (and cached by) the object coordinates.
        specz_index, object_index, separation, _ = object_coord.search_around_sky(
            specz_coord, radius)
        distance = separation.to_value(u.arcsec)

    step("matched (KD-tree built and queried)")
    pairs = pd.DataFrame({"_s": specz_index, "_o": object_index,
                          "match_distance_arcsec": distance})
    pairs["_id"] = objects["objectId"].to_numpy()[pairs["_o"].to_numpy()]
    pairs = pairs.sort_values(["_s", "match_distance_arcsec", "_id"], kind="mergesort")
    pairs["match_rank"] = (pairs.groupby("_s", sort=False).cumcount() + 1).astype(np.int32)
    pairs = pairs[pairs["match_rank"] <= args.k]

    result = pd.concat([
        specz.iloc[pairs["_s"].to_numpy()].reset_index(drop=True),
        objects.iloc[pairs["_o"].to_numpy()].reset_index(drop=True),
    ], axis=1)
    result["match_distance_arcsec"] = pairs["match_distance_arcsec"].to_numpy()
    result["match_rank"] = pairs["match_rank"].to_numpy()
    for band in BANDS:
        flux = result[f"{band}_{args.flux_type}Flux"].to_numpy(dtype=np.float64)
        error = result[f"{band}_{args.flux_type}FluxErr"].to_numpy(dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            result[f"{band}_{args.flux_type}Mag"] = np.where(
                flux > 0, -2.5 * np.log10(flux) + 31.4, np.nan)
            result[f"{band}_{args.flux_type}MagErr"] = np.where(
                flux > 0, 2.5 / np.log(10) * error / flux, np.nan)
    step("result assembled with magnitudes")
    result.to_parquet(args.output, index=False)
    step("written")
    print(f"{len(result)} rows -> {args.output}")


if __name__ == "__main__":
    main()
