"""Brute-force matching oracle and synthetic catalogs for the crossmatch tests."""

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BANDS = ("u", "g", "r", "i", "z", "y")


def unit_vectors(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def separation_arcsec(ra1, dec1, ra2, dec2) -> np.ndarray:
    """Great-circle distance (Vincenty formula, stable at all separations)."""
    ra1, dec1, ra2, dec2 = map(np.radians, (ra1, dec1, ra2, dec2))
    delta = ra2 - ra1
    numerator = np.hypot(
        np.cos(dec2) * np.sin(delta),
        np.cos(dec1) * np.sin(dec2) - np.sin(dec1) * np.cos(dec2) * np.cos(delta),
    )
    denominator = np.sin(dec1) * np.sin(dec2) + np.cos(dec1) * np.cos(dec2) * np.cos(delta)
    return np.degrees(np.arctan2(numerator, denominator)) * 3600.0


def brute_force_matches(
    specz: pd.DataFrame, objects: pd.DataFrame, radius_arcsec: float, k: int,
    key: str = "specz_id", ra: str = "ra", dec: str = "dec",
) -> pd.DataFrame:
    """All-pairs distances; per spec-z the k nearest within the radius (ties: objectId)."""
    rows = []
    object_ra = objects["coord_ra"].to_numpy()
    object_dec = objects["coord_dec"].to_numpy()
    object_ids = objects["objectId"].to_numpy()
    for spec_key, spec_ra, spec_dec in zip(specz[key], specz[ra], specz[dec], strict=True):
        distances = separation_arcsec(spec_ra, spec_dec, object_ra, object_dec)
        inside = np.flatnonzero(distances <= radius_arcsec)
        order = np.lexsort((object_ids[inside], distances[inside]))[:k]
        for rank, index in enumerate(inside[order], start=1):
            rows.append((spec_key, object_ids[index], rank, distances[index]))
    return pd.DataFrame(rows, columns=[key, "objectId", "match_rank", "match_distance_arcsec"])


def offset_positions(ra_deg, dec_deg, separation_arcsec_value, position_angle_deg):
    """Points at an exact angular separation and position angle from (ra, dec)."""
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    rho = np.radians(np.asarray(separation_arcsec_value) / 3600.0)
    theta = np.radians(position_angle_deg)
    new_dec = np.arcsin(np.sin(dec) * np.cos(rho) + np.cos(dec) * np.sin(rho) * np.cos(theta))
    new_ra = ra + np.arctan2(
        np.sin(theta) * np.sin(rho) * np.cos(dec), np.cos(rho) - np.sin(dec) * np.sin(new_dec)
    )
    return np.mod(np.degrees(new_ra), 360.0), np.degrees(new_dec)


def _pixel_edge_midpoints(ra_deg: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Midpoints of the edges of the HEALPix pixels holding the given points."""
    import astropy.units as u
    import cdshealpix

    del ra_deg
    return _EDGE_CACHE.setdefault(order, _edges(order, u, cdshealpix))


_EDGE_CACHE: dict = {}


def _edges(order, u, cdshealpix):
    centres = [(0.0, 10.0), (123.0, 89.7), (200.0, -35.0)]
    ras, decs = [], []
    for ra, dec in centres:
        pixel = cdshealpix.nested.lonlat_to_healpix(ra * u.deg, dec * u.deg, order)
        lon, lat = cdshealpix.nested.vertices(pixel, order)
        corners = unit_vectors(lon.to_value(u.deg)[0], lat.to_value(u.deg)[0])
        for i in range(4):
            for fraction in (0.2, 0.4, 0.6, 0.8):
                point = (1 - fraction) * corners[i] + fraction * corners[(i + 1) % 4]
                point /= np.linalg.norm(point)
                ras.append(np.degrees(np.arctan2(point[1], point[0])) % 360.0)
                decs.append(np.degrees(np.arcsin(point[2])))
    return np.array(ras), np.array(decs)


def synthetic_catalogs(seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Objects and spec-z over three awkward regions: RA 0/360, near the pole, and a
    plain field, with clusters so that k > 1 matters and lonely spec-z with no match."""
    rng = np.random.default_rng(seed)
    centres = [(0.0, 10.0), (123.0, 89.7), (200.0, -35.0)]
    specz_ra, specz_dec = [], []
    for centre_ra, centre_dec in centres:
        n = 150
        separation = np.sqrt(rng.uniform(0, 1, n)) * 0.8 * 3600
        ra, dec = offset_positions(
            np.full(n, centre_ra), np.full(n, centre_dec), separation, rng.uniform(0, 360, n)
        )
        specz_ra.append(ra)
        specz_dec.append(dec)
    # Spec-z within 2 arcsec of RA = 0, so their neighbours fall on both sides of 0/360.
    specz_ra.append(np.mod(rng.uniform(-2.0, 2.0, 30) / 3600.0, 360.0))
    specz_dec.append(rng.uniform(9.5, 10.5, 30))
    # Spec-z on the edges of order-7 HEALPix pixels (the partitions' order here), so
    # their neighbours sit in the next partition.
    edge_ra, edge_dec = _pixel_edge_midpoints(np.concatenate(specz_ra)[::10], order=7)
    specz_ra.append(edge_ra)
    specz_dec.append(edge_dec)
    # Objects on those edges with two spec-z on opposite sides (1.2" and 1.6" away), so
    # one object is reached from two partitions.
    shared_ra, shared_dec = edge_ra, edge_dec
    angle = rng.uniform(0, 360, len(edge_ra))
    for separation, turn in ((1.2, 0.0), (1.6, 180.0)):
        ra, dec = offset_positions(shared_ra, shared_dec, np.full(len(edge_ra), separation),
                                   angle + turn)
        specz_ra.append(ra)
        specz_dec.append(dec)
    specz_ra = np.concatenate(specz_ra)
    specz_dec = np.concatenate(specz_dec)
    n_specz = len(specz_ra)
    # Each spec-z gets 0..4 objects within 0..4 arcsec; plus a uniform background.
    counts = rng.integers(0, 5, n_specz)
    parent = np.repeat(np.arange(n_specz), counts)
    near_ra, near_dec = offset_positions(
        specz_ra[parent], specz_dec[parent], rng.uniform(0.0, 4.0, len(parent)),
        rng.uniform(0, 360, len(parent)),
    )
    background = []
    for centre_ra, centre_dec in centres:
        n = 3000
        separation = np.sqrt(rng.uniform(0, 1, n)) * 0.85 * 3600
        background.append(offset_positions(
            np.full(n, centre_ra), np.full(n, centre_dec), separation, rng.uniform(0, 360, n)
        ))
    object_ra = np.concatenate([near_ra, shared_ra] + [b[0] for b in background])
    object_dec = np.concatenate([near_dec, shared_dec] + [b[1] for b in background])
    n_objects = len(object_ra)
    object_ids = rng.permutation(n_objects).astype(np.int64) + 650_000_000_000_000_000
    objects = pd.DataFrame({
        "objectId": object_ids,
        "coord_ra": object_ra,
        "coord_dec": object_dec,
        "ebv": rng.uniform(0.005, 0.05, n_objects).astype(np.float32),
    })
    for band in BANDS:
        flux = rng.lognormal(7.0, 1.5, n_objects).astype(np.float32)
        flux[rng.uniform(size=n_objects) < 0.05] *= -1
        objects[f"{band}_cModelFlux"] = flux
        objects[f"{band}_cModelFluxErr"] = (np.sqrt(np.abs(flux)) + 20).astype(np.float32)
        objects[f"{band}_psfFlux"] = (flux * 0.9).astype(np.float32)
        objects[f"{band}_psfFluxErr"] = (np.sqrt(np.abs(flux)) + 25).astype(np.float32)
    specz = pd.DataFrame({
        "specz_id": np.arange(1, n_specz + 1, dtype=np.int64) * 10,
        "ra": specz_ra,
        "dec": specz_dec,
        "z": rng.uniform(0.01, 2.0, n_specz),
        "z_err": rng.uniform(1e-5, 1e-3, n_specz),
        "z_flag": rng.integers(1, 5, n_specz),
    })
    return objects, specz


def write_collection(objects: pd.DataFrame, path: Path, *, margin_arcsec: float = 10.0,
                     partition_rows: int = 400, lowest_order: int = 2) -> Path:
    """A real HATS collection (catalog + margin) written by LSDB."""
    import lsdb

    from tsmaker.demo.compile_cache import enable_numba_caching

    enable_numba_caching()  # hats' kernels compile once per machine, not per test process

    catalog = lsdb.from_dataframe(
        objects, ra_column="coord_ra", dec_column="coord_dec", margin_threshold=margin_arcsec,
        partition_rows=partition_rows, catalog_name="object_lc", lowest_order=lowest_order,
        highest_order=max(9, lowest_order),
    )
    catalog.write_catalog(path, as_collection=True, progress_bar=False)
    return path


def partition_index(collection: Path, ra_deg, dec_deg) -> np.ndarray:
    """Which partition of a HATS catalog each position falls in (index in pixel order)."""
    import hats
    from hats.pixel_math.spatial_index import compute_spatial_index

    loaded = hats.read_hats(collection)
    catalog = getattr(loaded, "main_catalog", loaded)
    starts = np.sort([p.pixel << (2 * (29 - p.order)) for p in catalog.get_healpix_pixels()])
    index = compute_spatial_index(np.asarray(ra_deg, dtype=float),
                                  np.asarray(dec_deg, dtype=float))
    return np.searchsorted(starts, index, side="right") - 1


def oracle_collection(tmp_path_factory: Any, partition_rows: int) -> Path:
    """The oracle's synthetic objects as a real HATS collection, written once per session
    (the matching, pipeline, provenance, CLI and reliability tests share it) and moved
    into place only when complete."""
    target = tmp_path_factory.getbasetemp() / f"oracle_objects_{partition_rows}"
    if not (target / "collection.properties").exists():
        shutil.rmtree(target, ignore_errors=True)
        staging = tmp_path_factory.mktemp("collection_staging") / target.name
        write_collection(synthetic_catalogs()[0], staging, partition_rows=partition_rows)
        staging.rename(target)
    return target
