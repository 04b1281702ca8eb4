"""The plain LSDB crossmatch recipe from the LSDB docs, as the benchmark baseline.

``lsdb.from_dataframe(specz)`` as the left catalog, ``lsdb.open_catalog(collection,
columns=[...])`` as the right (its default 5 arcsec margin is used), ``crossmatch``
with ``n_neighbors=k`` and ``radius_arcsec=r``; rank and cModel magnitudes are added
per partition with ``map_partitions``; the result is computed (Dask's default threaded
scheduler) and written as one Parquet file.

Usage::

    python bench/lsdb_match.py SPECZ.parquet COLLECTION_DIR OUT.parquet --radius 1 --k 1
"""

from __future__ import annotations

import argparse

import lsdb
import numpy as np
import pandas as pd

BANDS = "ugrizy"


def add_rank_and_mags(frame: pd.DataFrame, flux_type: str) -> pd.DataFrame:
    frame = frame.rename(columns={"_dist_arcsec": "match_distance_arcsec"})
    frame = frame.sort_values(["specz_id", "match_distance_arcsec", "objectId"],
                              kind="mergesort")
    frame["match_rank"] = (frame.groupby("specz_id", sort=False).cumcount() + 1).astype(
        np.int32)
    for band in BANDS:
        flux = frame[f"{band}_{flux_type}Flux"].to_numpy(dtype=np.float64, na_value=np.nan)
        error = frame[f"{band}_{flux_type}FluxErr"].to_numpy(dtype=np.float64,
                                                             na_value=np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            frame[f"{band}_{flux_type}Mag"] = np.where(flux > 0, -2.5 * np.log10(flux) + 31.4,
                                                       np.nan)
            frame[f"{band}_{flux_type}MagErr"] = np.where(flux > 0,
                                                          2.5 / np.log(10) * error / flux,
                                                          np.nan)
    return frame


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("specz")
    parser.add_argument("objects", help="HATS collection folder")
    parser.add_argument("output")
    parser.add_argument("--radius", type=float, default=1.0)
    parser.add_argument("--k", type=int, default=1)
    parser.add_argument("--flux-type", default="cModel")
    args = parser.parse_args()

    flux_columns = [f"{b}_{args.flux_type}Flux{e}" for b in BANDS for e in ("", "Err")]
    specz = pd.read_parquet(args.specz)
    left = lsdb.from_dataframe(specz, ra_column="ra", dec_column="dec", margin_threshold=None)
    right = lsdb.open_catalog(args.objects,
                              columns=["objectId", "coord_ra", "coord_dec", "ebv",
                                       *flux_columns])
    matched = left.crossmatch(right, n_neighbors=args.k, radius_arcsec=args.radius,
                              suffix_method="overlapping_columns")
    matched = matched.map_partitions(add_rank_and_mags, args.flux_type)
    result = matched.compute()
    pd.DataFrame(result).reset_index(drop=True).to_parquet(args.output, index=False)
    print(f"{len(result)} rows -> {args.output}")


if __name__ == "__main__":
    main()
