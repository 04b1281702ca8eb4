"""A mock spectroscopic-redshift catalog drawn around a mock Object catalog.

:func:`mock_specz_frame` gives a known share of clean matches, blends (two objects
within 2 arcsec) and rows without any counterpart, so that tests know which rows a
correct match must find.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tsmaker.demo.mock_sky import ARCSEC_PER_DEG, offset_by
from tsmaker.matching.sphere import unit_vectors
from tsmaker.science.photometry import AB_ZERO_POINT_NJY

if TYPE_CHECKING:
    import pandas as pd

SPECZ_SURVEYS: dict[str, float] = {
    "DESI": 0.45,
    "2dFLenS": 0.2,
    "OzDES": 0.2,
    "GAMA": 0.1,
    "VVDS": 0.05,
}
"""Survey names written in the mock ``survey`` column, with their share of rows."""

_SPECZ_FLAG_SHARE = {1: 0.04, 2: 0.08, 3: 0.23, 4: 0.65}
_BLEND_PAIR_MAX_ARCSEC = 2.0
UNMATCHED_MIN_SEPARATION_ARCSEC = 6.0
"""Rows without a counterpart have no object closer than this."""


def _redshift_for_magnitude(rng: np.random.Generator, r_mag: np.ndarray) -> np.ndarray:
    """Spectroscopic redshifts that grow with magnitude, plus a few QSOs."""
    median_z = 0.6 * 10.0 ** (0.2 * (np.clip(r_mag, 16.0, 25.0) - 22.0))
    z = median_z * rng.lognormal(0.0, 0.35, len(r_mag))
    quasar = rng.random(len(r_mag)) < 0.04
    z[quasar] = rng.uniform(0.5, 3.0, int(quasar.sum()))
    return np.clip(z, 0.01, 3.0)


def mock_specz_frame(
    objects: pd.DataFrame,
    *,
    n_rows: int,
    seed: int,
    matched_fraction: float = 0.8,
    offset_arcsec: float = 0.3,
    blend_fraction: float = 0.05,
    ra_column: str = "ra",
    dec_column: str = "dec",
    with_sentinels: bool = False,
) -> pd.DataFrame:
    """A deterministic spectroscopic-redshift catalog drawn around mock objects.

    Three kinds of rows, shuffled together:

    * clean matches: at a (preferentially bright) object, moved by a 2-D Gaussian of
      ``offset_arcsec`` per axis;
    * blends: at the midpoint of two objects at most 2 arcsec apart, moved the same way,
      so at least two objects lie within ~1.5 arcsec;
    * no counterpart: 8-60 arcsec from an object, with no object closer than
      :data:`UNMATCHED_MIN_SEPARATION_ARCSEC`.

    ``matched_fraction`` counts clean matches and blends; ``blend_fraction`` is the part
    of all rows that are blends.

    Parameters
    ----------
    objects : pandas.DataFrame
        Objects with ``coord_ra`` / ``coord_dec`` (degrees), e.g. from
        :func:`tsmaker.demo.mock.mock_object_frame`; ``r_cModelFlux`` (nJy), if
        present, favours bright objects and sets the redshift.
    n_rows : int
        Number of redshifts.
    seed : int
        Random seed.
    matched_fraction : float
        Share of rows with a counterpart, in ``[0, 1]``.
    offset_arcsec : float
        Gaussian scatter of matched positions per axis, arcsec.
    blend_fraction : float
        Share of rows placed between two close objects, at most ``matched_fraction``.
    ra_column, dec_column : str
        Names of the position columns written (degrees).
    with_sentinels : bool
        Replace about 2% of redshifts with -1 and 1% with 99 (missing-value codes that
        real catalogs use), with NaN errors.

    Returns
    -------
    pandas.DataFrame
        Columns ``specz_id`` (int64), ``ra_column``, ``dec_column``, ``z``, ``z_err``
        (float64), ``z_flag`` (int64, 1-4) and ``survey`` (str).

    Raises
    ------
    ValueError
        If a fraction is outside ``[0, 1]``, ``blend_fraction > matched_fraction``, or the
        objects cannot provide the requested matches, blends or empty positions.
    """
    import pandas as pd
    from scipy.spatial import cKDTree

    if not 0.0 <= matched_fraction <= 1.0 or not 0.0 <= blend_fraction <= 1.0:
        raise ValueError(
            f"Fractions must lie in [0, 1], got matched_fraction="
            f"{matched_fraction}, blend_fraction={blend_fraction}."
        )
    if blend_fraction > matched_fraction:
        raise ValueError(
            f"blend_fraction ({blend_fraction}) cannot exceed matched_fraction "
            f"({matched_fraction}): blends are matched rows."
        )
    rng = np.random.default_rng(seed)
    object_ra = objects["coord_ra"].to_numpy(dtype=np.float64)
    object_dec = objects["coord_dec"].to_numpy(dtype=np.float64)
    n_objects = len(object_ra)
    if "r_cModelFlux" in objects:
        flux = objects["r_cModelFlux"].to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            object_mag = np.where(flux > 0, AB_ZERO_POINT_NJY - 2.5 * np.log10(flux), 30.0)
    else:
        object_mag = np.full(n_objects, 21.0)

    n_matched = round(matched_fraction * n_rows)
    n_blend = round(blend_fraction * n_rows)
    n_clean = n_matched - n_blend
    n_unmatched = n_rows - n_matched
    if n_rows and n_objects == 0:
        raise ValueError("objects is empty; cannot place redshifts around it.")
    if n_clean > n_objects:
        raise ValueError(f"{n_clean} clean matches requested but only {n_objects} objects.")
    tree = cKDTree(unit_vectors(object_ra, object_dec))

    # Clean matches: distinct objects, favouring those bright enough for a spectrum
    # (Gumbel top-k = weighted sampling without replacement).
    weight = 1.0 / (1.0 + 10.0 ** (0.8 * (object_mag - 22.5)))
    keys = np.log(weight) + rng.gumbel(size=n_objects)
    chosen = np.argpartition(-keys, n_clean - 1)[:n_clean] if n_clean else np.empty(0, int)
    chosen = np.sort(chosen)
    clean_ra, clean_dec = object_ra[chosen], object_dec[chosen]
    clean_mag = object_mag[chosen]

    # Blends: midpoints of close pairs.
    blend_ra = blend_dec = blend_mag = np.empty(0)
    if n_blend:
        pairs = tree.query_pairs(_chord(_BLEND_PAIR_MAX_ARCSEC), output_type="ndarray")
        if len(pairs) == 0:
            raise ValueError(
                f"No object pairs closer than {_BLEND_PAIR_MAX_ARCSEC} arcsec "
                "to place blends at; use blend_fraction=0 or more objects."
            )
        pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
        pick = rng.choice(len(pairs), n_blend, replace=n_blend > len(pairs))
        first, second = pairs[pick, 0], pairs[pick, 1]
        midpoint = unit_vectors(object_ra[first], object_dec[first]) + unit_vectors(
            object_ra[second], object_dec[second]
        )
        blend_ra = np.degrees(np.arctan2(midpoint[:, 1], midpoint[:, 0])) % 360.0
        blend_dec = np.degrees(np.arctan2(midpoint[:, 2], np.hypot(midpoint[:, 0], midpoint[:, 1])))
        blend_mag = np.minimum(object_mag[first], object_mag[second])

    matched_ra = np.concatenate((clean_ra, blend_ra))
    matched_dec = np.concatenate((clean_dec, blend_dec))
    offset_deg = (offset_arcsec / ARCSEC_PER_DEG) * np.sqrt(
        -2.0 * np.log1p(-rng.random(n_matched))
    )
    matched_ra, matched_dec = offset_by(
        matched_ra, matched_dec, offset_deg, rng.uniform(0.0, 2.0 * np.pi, n_matched)
    )

    empty_ra, empty_dec = _empty_positions(rng, tree, object_ra, object_dec, n_unmatched)
    empty_mag = rng.uniform(17.5, 23.5, n_unmatched)

    ra_deg = np.concatenate((matched_ra, empty_ra))
    dec_deg = np.concatenate((matched_dec, empty_dec))
    r_mag = np.concatenate((clean_mag, blend_mag, empty_mag))
    z = _redshift_for_magnitude(rng, r_mag)
    z_flag = rng.choice(
        np.array(list(_SPECZ_FLAG_SHARE), dtype=np.int64),
        n_rows,
        p=list(_SPECZ_FLAG_SHARE.values()),
    )
    # Low-quality redshifts are often simply wrong.
    wrong = (z_flag <= 2) & (rng.random(n_rows) < 0.5)
    z[wrong] = rng.uniform(0.01, 1.5, int(wrong.sum()))
    z_err = (1.0 + z) * 10.0 ** rng.normal(np.log10(5e-5), 0.3, n_rows)
    if with_sentinels:
        sentinel = rng.random(n_rows)
        z[sentinel < 0.02] = -1.0
        z[(sentinel >= 0.02) & (sentinel < 0.03)] = 99.0
        z_err[sentinel < 0.03] = np.nan
    survey = rng.choice(
        np.array(list(SPECZ_SURVEYS), dtype=object), n_rows, p=list(SPECZ_SURVEYS.values())
    )

    order = rng.permutation(n_rows)
    return pd.DataFrame(
        {
            "specz_id": np.arange(1, n_rows + 1, dtype=np.int64) + 1_000_000,
            ra_column: ra_deg[order],
            dec_column: dec_deg[order],
            "z": z[order].astype(np.float64),
            "z_err": z_err[order].astype(np.float64),
            "z_flag": z_flag[order],
            "survey": pd.array(survey[order], dtype="str"),
        }
    )


def _empty_positions(
    rng: np.random.Generator,
    tree: object,
    object_ra: np.ndarray,
    object_dec: np.ndarray,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions near objects (8-60 arcsec) with no object within the minimum separation."""
    found_ra: list[np.ndarray] = []
    found_dec: list[np.ndarray] = []
    missing = n
    for _attempt in range(100):
        if missing <= 0:
            break
        n_try = 2 * missing + 16
        anchor = rng.integers(0, len(object_ra), n_try)
        separation_deg = rng.uniform(8.0, 60.0, n_try) / ARCSEC_PER_DEG
        ra_try, dec_try = offset_by(
            object_ra[anchor],
            object_dec[anchor],
            separation_deg,
            rng.uniform(0.0, 2.0 * np.pi, n_try),
        )
        distance, _ = tree.query(unit_vectors(ra_try, dec_try), k=1)  # type: ignore[attr-defined]
        empty = distance > _chord(UNMATCHED_MIN_SEPARATION_ARCSEC)
        found_ra.append(ra_try[empty][:missing])
        found_dec.append(dec_try[empty][:missing])
        missing -= len(found_ra[-1])
    if missing > 0:
        raise ValueError(
            f"Could not find {n} positions free of objects within "
            f"{UNMATCHED_MIN_SEPARATION_ARCSEC} arcsec; lower matched_fraction."
        )
    if not found_ra:
        return np.empty(0), np.empty(0)
    return np.concatenate(found_ra), np.concatenate(found_dec)


def _chord(separation_arcsec: float) -> float:
    """Chord length on the unit sphere for an angular separation."""
    return 2.0 * np.sin(np.radians(separation_arcsec / ARCSEC_PER_DEG) / 2.0)
