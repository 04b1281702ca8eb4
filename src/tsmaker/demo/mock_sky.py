"""Where mock objects sit: clustered around the real DP1 fields, with close companions.

Also the position-derived columns of a mock Object table: a smooth mock E(B-V) and a
pseudo tract/patch grid.
"""

from __future__ import annotations

import numpy as np

from tsmaker.matching.sphere import unit_vectors

DP1_FIELDS: dict[str, tuple[float, float]] = {
    "ECDFS": (53.13, -28.10),
    "EDFS": (59.10, -48.73),
    "Rubin_SV_95_-25": (95.00, -25.00),
    "Fornax_dSph": (40.00, -34.45),
    "47_Tuc": (6.02, -72.08),
    "Seagull": (106.30, -10.51),
    "Rubin_SV_38_7": (37.86, 6.98),
}
"""Centres (RA, Dec in degrees) of the seven Rubin DP1 fields."""


ARCSEC_PER_DEG = 3600.0
# ICRS direction of the north Galactic pole, for the dust model.
_NGP_RA_DEG = 192.85948
_NGP_DEC_DEG = 27.12825
# Pseudo tract/patch grid: rings of equal declination, tracts of ~1.75 deg, 10x10 patches.
_TRACT_SIZE_DEG = 1.75
_PATCHES_PER_SIDE = 10


def offset_by(
    ra_deg: np.ndarray,
    dec_deg: np.ndarray,
    separation_deg: np.ndarray,
    position_angle_rad: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Move points by an angular separation along a position angle, on the sphere.

    Exact spherical trigonometry, so it is right near the poles and across RA 0.

    Parameters
    ----------
    ra_deg, dec_deg : numpy.ndarray
        Starting positions, degrees.
    separation_deg : numpy.ndarray
        Great-circle distance to move, degrees.
    position_angle_rad : numpy.ndarray
        Direction, radians east of north.

    Returns
    -------
    tuple of numpy.ndarray
        New RA in ``[0, 360)`` and Dec in ``[-90, 90]``, degrees.
    """
    ra = np.radians(ra_deg)
    dec = np.radians(dec_deg)
    sep = np.radians(separation_deg)
    sin_dec, cos_dec = np.sin(dec), np.cos(dec)
    sin_sep, cos_sep = np.sin(sep), np.cos(sep)
    new_sin_dec = np.clip(
        sin_dec * cos_sep + cos_dec * sin_sep * np.cos(position_angle_rad), -1.0, 1.0
    )
    new_dec = np.arcsin(new_sin_dec)
    delta_ra = np.arctan2(
        np.sin(position_angle_rad) * sin_sep * cos_dec, cos_sep - sin_dec * new_sin_dec
    )
    new_ra_deg = np.degrees(ra + delta_ra) % 360.0
    # `%` can return exactly 360.0 for tiny negative inputs.
    new_ra_deg = np.where(new_ra_deg >= 360.0, 0.0, new_ra_deg)
    return new_ra_deg, np.degrees(new_dec)


def sample_cap(
    rng: np.random.Generator, n: int, ra_deg: float, dec_deg: float, radius_deg: float
) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in area inside a spherical cap."""
    cos_radius = np.cos(np.radians(radius_deg))
    cos_sep = rng.uniform(cos_radius, 1.0, n)
    separation_deg = np.degrees(np.arccos(cos_sep))
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    return offset_by(np.full(n, ra_deg), np.full(n, dec_deg), separation_deg, angle)


def field_positions(
    rng: np.random.Generator, n: int, centre: tuple[float, float], radius_deg: float
) -> tuple[np.ndarray, np.ndarray]:
    """Clustered positions in one field: a uniform disc plus Gaussian clumps."""
    n_clumped = int(0.35 * n)
    n_uniform = n - n_clumped
    ra_uniform, dec_uniform = sample_cap(rng, n_uniform, *centre, radius_deg)
    n_clumps = max(1, n // 3000)
    clump_ra, clump_dec = sample_cap(rng, n_clumps, *centre, 0.85 * radius_deg)
    clump_sigma_deg = rng.uniform(0.5, 3.0, n_clumps) / 60.0
    clump_weight = rng.lognormal(0.0, 0.7, n_clumps)
    members = rng.multinomial(n_clumped, clump_weight / clump_weight.sum())
    clump_index = np.repeat(np.arange(n_clumps), members)
    # Rayleigh radius = 2-D Gaussian offset of the given sigma per axis.
    radius = clump_sigma_deg[clump_index] * np.sqrt(-2.0 * np.log1p(-rng.random(n_clumped)))
    angle = rng.uniform(0.0, 2.0 * np.pi, n_clumped)
    ra_clumped, dec_clumped = offset_by(
        clump_ra[clump_index], clump_dec[clump_index], radius, angle
    )
    return (np.concatenate((ra_uniform, ra_clumped)), np.concatenate((dec_uniform, dec_clumped)))


def add_close_companions(
    rng: np.random.Generator, ra_deg: np.ndarray, dec_deg: np.ndarray, fraction: float
) -> None:
    """Move a share of objects next to the previous row, 0.6-2 arcsec away (in place).

    This gives the deblended close pairs that make crossmatches ambiguous.
    """
    n = len(ra_deg)
    if n < 2 or fraction <= 0:
        return
    companion = rng.random(n) < fraction
    companion[0] = False
    # A host must not move itself, so drop companions that follow a companion.
    companion[1:] &= ~companion[:-1]
    index = np.flatnonzero(companion)
    separation_deg = rng.uniform(0.6, 2.0, len(index)) / ARCSEC_PER_DEG
    angle = rng.uniform(0.0, 2.0 * np.pi, len(index))
    ra_deg[index], dec_deg[index] = offset_by(
        ra_deg[index - 1], dec_deg[index - 1], separation_deg, angle
    )


def dust_ebv(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """Smooth E(B-V): a cosecant law in Galactic latitude with patchy modulation."""
    pole = unit_vectors(np.array([_NGP_RA_DEG]), np.array([_NGP_DEC_DEG]))[0]
    ra = np.radians(ra_deg)
    dec = np.radians(dec_deg)
    cos_dec = np.cos(dec)
    sin_b = cos_dec * np.cos(ra) * pole[0] + cos_dec * np.sin(ra) * pole[1] + np.sin(dec) * pole[2]
    base = 0.012 / np.maximum(np.abs(sin_b), 0.02)
    # Cirrus-like structure on a ~1 degree scale.
    patchy = 1.0 + 0.3 * np.sin(ra * 23.0 + 1.3) * np.cos(dec * 31.0 + 0.4)
    return np.clip(base * patchy, 0.005, 0.3).astype(np.float32)


def tract_patch(ra_deg: np.ndarray, dec_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pseudo tract and patch numbers on a ring grid (not the real LSST sky map)."""
    n_rings = int(np.ceil(180.0 / _TRACT_SIZE_DEG))
    ring_centre = np.radians(-90.0 + (np.arange(n_rings) + 0.5) * _TRACT_SIZE_DEG)
    tracts_per_ring = np.maximum(1, np.floor(360.0 * np.cos(ring_centre) / _TRACT_SIZE_DEG)).astype(
        np.int64
    )
    ring_start = np.concatenate(([0], np.cumsum(tracts_per_ring)[:-1]))
    ring_position = np.clip((dec_deg + 90.0) / _TRACT_SIZE_DEG, 0.0, n_rings - 1e-9)
    ring = ring_position.astype(np.int64)
    ra_position = ra_deg / 360.0 * tracts_per_ring[ring]
    ra_index = np.minimum(ra_position.astype(np.int64), tracts_per_ring[ring] - 1)
    tract = ring_start[ring] + ra_index
    patch_x = np.minimum(
        ((ra_position - ra_index) * _PATCHES_PER_SIDE).astype(np.int64), _PATCHES_PER_SIDE - 1
    )
    patch_y = np.minimum(
        ((ring_position - ring) * _PATCHES_PER_SIDE).astype(np.int64), _PATCHES_PER_SIDE - 1
    )
    return tract, patch_y * _PATCHES_PER_SIDE + patch_x


# ------------------------------------------------------------------------ photometry
